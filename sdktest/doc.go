// Package sdktest drives OpenToken and its emulators with the official SDKs:
// openai-go through the gateway, and the Anthropic and Google SDKs straight
// at the strict emulators, proving that what real clients send is accepted
// and what they get back parses.
package sdktest
