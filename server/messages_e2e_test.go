package server_test

import (
	"testing"

	"github.com/opentoken/opentoken/internal/gatewaytest"
)

func TestMessagesSmoke(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	for _, model := range []string{"claude-sonnet-4-6", "google/gemini-3-flash"} {
		r := env.Messages(t, "/v1/messages", `{"model":"`+model+`","max_tokens":100,"system":[{"type":"text","text":"Be brief."}],"messages":[{"role":"user","content":"hi"}],"temperature":0.5,"top_k":3}`,
			"anthropic-beta", "claude-code-20250219,oauth-2025-04-20")
		t.Logf("%s: %d %v %s", model, r.Status, r.Header.Get("X-OpenToken-Dropped-Params"), r.Body)
		r = env.Messages(t, "/v1/messages", `{"model":"`+model+`","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"enabled","budget_tokens":2000}}`)
		t.Logf("%s: %d %s", model, r.Status, r.Body)
		r = env.Messages(t, "/v1/messages/count_tokens", `{"model":"`+model+`","messages":[{"role":"user","content":"hi"}]}`)
		t.Logf("%s: %d %s", model, r.Status, r.Body)
	}
}
