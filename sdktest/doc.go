// Package sdktest drives OpenToken and its emulators with the official SDKs:
// openai-go through the gateway, and the Anthropic and Google SDKs straight
// at the strict emulators, proving that what real clients send is accepted
// and what they get back parses.
//
// It is a module of its own (replace => ../), so that the gateway's go.mod
// and go.sum hold only what the gateway and its tools link, never a test
// client.
package sdktest
