package anthropic_test

import (
	"encoding/json"
	"strings"
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

// FuzzEventWriter: whatever order the adapters call it in, the writer's
// stream is a sequence of well-formed events whose data is JSON, every
// block started is stopped, and indexes count up from 0.
func FuzzEventWriter(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2, 3, 4, 5, 6}, "piece \"quoted\" \n")
	f.Add([]byte{3, 4, 4, 0, 2, 3, 4, 6}, "{\"a\":")
	f.Fuzz(func(t *testing.T, ops []byte, s string) {
		w := &anthropic.EventWriter{ID: "msg_f", Model: "m"}
		u := llm.Usage{Prompt: 3, Completion: 2}
		out := w.Start(nil, &u)
		for i, op := range ops {
			switch op % 7 {
			case 0:
				out = w.Text(out, s)
			case 1:
				out = w.Reasoning(out, s)
			case 2:
				out = w.Detail(out, llm.ReasoningDetail{Type: llm.DetailText, Text: s, Signature: "sig", Format: llm.FormatAnthropic})
			case 3:
				out = w.ToolStart(out, i, "id", "name", "")
			case 4:
				out = w.ToolArgs(out, i, s)
			case 5:
				out = w.Detail(out, llm.ReasoningDetail{Type: llm.DetailEncrypted, Data: s, Format: llm.FormatGoogle})
			case 6:
				out = w.Detail(out, llm.ReasoningDetail{Type: llm.DetailEncrypted, Data: s, Format: llm.FormatAnthropic})
			}
		}
		out = w.Close(w.End(out, llm.FinishStop, "", &u))
		open, next := -1, 0
		for _, ev := range strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n") {
			name, data, _ := strings.Cut(ev, "\n")
			var d struct {
				Type  string
				Index *int
			}
			if !strings.HasPrefix(name, "event: ") || json.Unmarshal([]byte(strings.TrimPrefix(data, "data: ")), &d) != nil || "event: "+d.Type != name {
				t.Fatalf("a malformed event %q in\n%s", ev, out)
			}
			switch d.Type {
			case "content_block_start":
				if open >= 0 || d.Index == nil || *d.Index != next {
					t.Fatalf("a block started at %v with %d open, %d next:\n%s", d.Index, open, next, out)
				}
				open = next
			case "content_block_delta":
				if d.Index == nil || *d.Index != open {
					t.Fatalf("a delta for %v with %d open:\n%s", d.Index, open, out)
				}
			case "content_block_stop":
				if d.Index == nil || *d.Index != open {
					t.Fatalf("a stop for %v with %d open:\n%s", d.Index, open, out)
				}
				open, next = -1, next+1
			case "message_delta", "message_stop":
				if open >= 0 {
					t.Fatalf("%s with block %d open:\n%s", d.Type, open, out)
				}
			}
		}
	})
}
