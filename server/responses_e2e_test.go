package server_test

import (
	"testing"

	"github.com/opentoken/opentoken/internal/gatewaytest"
)

func TestResponsesSmoke(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	for _, model := range []string{"anthropic/claude-sonnet-4-6", "google/gemini-3-flash"} {
		r := env.Do(t, "POST", "/v1/responses", gatewaytest.ClientKey, []byte(`{"model":"`+model+`","instructions":"Be brief.","input":"hi","store":false}`))
		t.Logf("%s: %d %v %s", model, r.Status, r.Header.Get("X-OpenToken-Dropped-Params"), r.Body)
		r = env.Do(t, "POST", "/v1/responses", gatewaytest.ClientKey, []byte(`{"model":"`+model+`","input":[{"role":"user","content":"get_weather for Oslo"}],"stream":true,"tools":[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}},{"type":"web_search"}],"reasoning":{"effort":"low","summary":"auto"},"include":["reasoning.encrypted_content"],"store":false}`))
		t.Logf("%s: %d %v %s", model, r.Status, r.Header.Get("X-OpenToken-Dropped-Params"), r.Body)
	}
}
