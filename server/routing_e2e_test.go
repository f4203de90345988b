package server_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/server"
)

// TestProviderField: OpenRouter's provider object orders, picks and limits
// the model's suppliers (by their names or OpenRouter's slugs); its fields
// without meaning here are dropped and reported; require_parameters
// refuses what the model would drop.
func TestProviderField(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{VertexLocations: []string{"global"}, Limits: server.Limits{Cooldown429: time.Nanosecond}})
	chat := func(model, provider string) *gatewaytest.Response {
		return env.Chat(t, `{"model":"`+model+`",`+okMessages+`,"provider":`+provider+`}`)
	}
	for provider, supplier := range map[string]string{
		`{"order":["vertex:global"]}`:          "vertex:global",
		`{"order":["google-vertex","gemini"]}`: "vertex:global",
		`{"ignore":["google-ai-studio"]}`:      "vertex:global",
		`{"only":["gemini"]}`:                  "gemini",
		`{"allow_fallbacks":true}`:             "gemini",
	} {
		if r := chat("google/gemini-3-flash", provider); r.Status != 200 || r.Header.Get("X-OpenToken-Supplier") != supplier {
			t.Errorf("provider %s: %d %s, supplier %q, want %s", provider, r.Status, r.Body, r.Header.Get("X-OpenToken-Supplier"), supplier)
		}
	}
	// One supplier, no failover: the first's 429 answers.
	for _, provider := range []string{`{"only":["gemini"]}`, `{"allow_fallbacks":false}`} {
		env.Gemini.Faults.Push(emulator.Fault{Status: 429, Body: geminiOverloaded})
		if r := chat("google/gemini-3-flash", provider); r.Status != 429 || r.Header.Get("X-OpenToken-Attempts") != "" {
			t.Errorf("provider %s after a 429: %d, attempts %q", provider, r.Status, r.Header.Get("X-OpenToken-Attempts"))
		}
	}
	r := chat("google/gemini-3-flash", `{"only":["amazon-bedrock"]}`)
	if r.Status != 400 || !strings.Contains(string(r.Body), "served by gemini, vertex:global") {
		t.Errorf("only a supplier the model lacks: %d %s", r.Status, r.Body)
	}
	r = chat("google/gemini-3-flash", `{"sort":"price","data_collection":"deny"}`)
	if r.Status != 200 || r.Header.Get("X-OpenToken-Dropped-Params") != "provider.data_collection,provider.sort" {
		t.Errorf("fields without meaning here: %d, dropped %q", r.Status, r.Header.Get("X-OpenToken-Dropped-Params"))
	}
	r = env.Chat(t, `{"model":"anthropic/claude-sonnet-4-5",`+okMessages+`,"seed":7,"provider":{"require_parameters":true}}`)
	if r.Status != 400 || !strings.Contains(string(r.Body), `"unsupported_parameter"`) || !strings.Contains(string(r.Body), "seed") {
		t.Errorf("require_parameters with a parameter Claude drops: %d %s", r.Status, r.Body)
	}
	// The other routing fields are accepted, dropped and reported.
	r = env.Chat(t, `{"model":"google/gemini-3-flash",`+okMessages+`,"route":"fallback","usage":{"include":true},"transforms":["middle-out"],"plugins":[{"id":"web"}],"debug":{"echo_upstream_body":true}}`)
	if r.Status != 200 || r.Header.Get("X-OpenToken-Dropped-Params") != "route,usage,transforms,plugins,debug" {
		t.Errorf("OpenRouter's other fields: %d %s, dropped %q", r.Status, r.Body, r.Header.Get("X-OpenToken-Dropped-Params"))
	}
}

// TestModelsFallback: when every supplier of the request's model fails
// before its answer commits, the next of models is tried, with its own
// filtering; the answer names the model that served. An error of the
// request itself does not move on; an unknown fallback id is a 400.
func TestModelsFallback(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{VertexLocations: []string{"global"}})
	body := `{"model":"anthropic/claude-opus-4-7",` + okMessages + `,"top_k":5,"models":["google/gemini-3-flash"]}`
	env.Anthropic.Faults.Push(emulator.Fault{Status: 529, Body: claudeOverloaded})
	env.Vertex.Faults.Push(emulator.Fault{Status: 429, Body: vertexExhausted})
	r := env.Chat(t, body)
	var out struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(r.Body, &out)
	if r.Status != 200 || out.Model != "google/gemini-3-flash" || r.Header.Get("X-OpenToken-Supplier") != "gemini" || r.Header.Get("X-OpenToken-Attempts") != "3" {
		t.Errorf("fallback to the next model: %d %s, supplier %q, attempts %q", r.Status, r.Body, r.Header.Get("X-OpenToken-Supplier"), r.Header.Get("X-OpenToken-Attempts"))
	}
	// Gemini 3 forwards top_k, which Opus 4.7 drops: the served model's
	// filtering is the one reported.
	if d := r.Header.Get("X-OpenToken-Dropped-Params"); strings.Contains(d, "top_k") {
		t.Errorf("dropped %q: the fallback's own filtering forwards top_k", d)
	}
	env.Anthropic.Faults.Push(emulator.Fault{Status: 400, Body: claudeTooLong})
	if r := env.Chat(t, body); r.Status != 400 || !strings.Contains(string(r.Body), "prompt is too long") {
		t.Errorf("the request's own error: %d %s, want no fallback", r.Status, r.Body)
	}
	r = env.Chat(t, `{"model":"anthropic/claude-opus-4-7",`+okMessages+`,"models":["openai/gpt-5"]}`)
	if r.Status != 400 || !strings.Contains(string(r.Body), `"param":"models[0]"`) {
		t.Errorf("an unknown fallback: %d %s", r.Status, r.Body)
	}
}

// TestEmbeddingsServiceTier: service_tier on embeddings is accepted,
// ignored, and reported as dropped (it was a 400).
func TestEmbeddingsServiceTier(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	r := env.Do(t, "POST", "/v1/embeddings", gatewaytest.ClientKey, []byte(`{"model":"google/gemini-embedding-001","input":"x","service_tier":"flex"}`))
	if r.Status != 200 || r.Header.Get("X-OpenToken-Dropped-Params") != "service_tier" {
		t.Errorf("service_tier on embeddings: %d %s, dropped %q", r.Status, r.Body, r.Header.Get("X-OpenToken-Dropped-Params"))
	}
}
