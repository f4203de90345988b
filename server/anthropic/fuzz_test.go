package anthropic_test

import (
	"encoding/json"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/anthropic"
)

// FuzzDecode: no Messages body panics the decoder, and every body it
// accepts becomes a valid JSON upstream body on a Claude and a Gemini
// model, or a clear 400.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"model":"claude-sonnet-4-6","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"x","max_tokens":10,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]},` +
			`{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"sig"},{"type":"tool_use","id":"t1","name":"f","input":{"a":1}}]},` +
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"r","is_error":true}]}],"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{"type":"any"},"thinking":{"type":"enabled","budget_tokens":2048}}`,
		`{"model":"g","max_tokens":5,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","data":"doc"}}]}],"output_config":{"effort":"low","format":{"type":"json_schema","schema":{"type":"object"}}}}`,
	} {
		f.Add([]byte(seed))
	}
	models := []string{"anthropic/claude-sonnet-4-6", "google/gemini-3-flash"}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req llm.Request
		var dec anthropic.Decoded
		if e := anthropic.Decode(body, &req, &dec, false); e != nil {
			if e.Status != 400 || e.Message == "" {
				t.Fatalf("a refusal that is not a clear 400: %+v", e)
			}
			return
		}
		for _, id := range models {
			r := req
			r.Model = id
			m := generated.Lookup(id)
			call, e := adapter.NewCall(&r, m)
			if e != nil {
				continue
			}
			var a adapter.Adapter = adapter.Anthropic{}
			if m.Provider != generated.Lookup(models[0]).Provider {
				a = adapter.Gemini{}
			}
			var hr fasthttp.Request
			out, e := a.BuildRequest(&hr, nil, call, &adapter.Upstream{BaseURL: "http://u", APIKey: "k"})
			if e == nil && !json.Valid(out) {
				t.Fatalf("%s: an invalid upstream body %s from %s", id, out, body)
			}
		}
	})
}
