package responses_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/responses"
)

// FuzzDecode: no Responses body panics the decoder; one it accepts becomes
// a valid upstream body on a Claude and a Gemini model, or a clear 400.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"model":"google/gemini-3-flash","input":"hi"}`,
		`{"model":"m","instructions":"s","input":[{"role":"developer","content":"d"},{"role":"user","content":[{"type":"input_text","text":"a"},{"type":"input_image","image_url":"data:image/png;base64,AAAA"}]},` +
			`{"type":"reasoning","encrypted_content":"sealed:W10="},{"type":"function_call","call_id":"c","name":"f","namespace":"n","arguments":"{}"},` +
			`{"type":"function_call_output","call_id":"c","output":"r"}],"tools":[{"type":"namespace","name":"n","tools":[{"type":"function","name":"f"}]},{"type":"web_search"}],` +
			`"reasoning":{"effort":"low","summary":"auto"},"text":{"format":{"type":"json_schema","name":"x","schema":{"type":"object"}}},"max_output_tokens":9}`,
	} {
		f.Add([]byte(seed))
	}
	models := []string{"anthropic/claude-sonnet-4-6", "google/gemini-3-flash"}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req llm.Request
		var dec responses.Decoded
		if e := responses.Decode(body, nil, &req, &dec, fakeOpen); e != nil {
			if (e.Status != 400 && e.Status != 500) || e.Message == "" {
				t.Fatalf("a refusal that is not a clear 400: %+v", e)
			}
			return
		}
		for i, id := range models {
			r := req
			r.Model = id
			call, e := adapter.NewCall(&r, generated.Lookup(id))
			if e != nil {
				continue
			}
			var a adapter.Adapter = adapter.Anthropic{}
			if i == 1 {
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

// FuzzEventWriter: in whatever order the adapters call it, the writer's
// stream is well-formed events whose data is JSON, numbered from 0, each
// item added before its deltas and done after them, ending with the
// response.
func FuzzEventWriter(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2, 3, 4, 5, 0}, "piece \"quoted\" \n", true)
	f.Add([]byte{3, 4, 4, 0, 2, 3, 4, 5}, "{\"a\":", false)
	f.Fuzz(func(t *testing.T, ops []byte, s string, summary bool) {
		dec := &responses.Decoded{Model: "m", Summary: summary, Namespaces: map[string][2]string{"ns__f": {"ns", "f"}}}
		w := responses.NewEventWriter(&responses.Meta{ID: "resp_f", Model: "m", Request: dec, Seal: fakeSeal})
		var out []byte
		for i, op := range ops {
			switch op % 6 {
			case 0:
				out = w.Text(out, s)
			case 1:
				out = w.Reasoning(out, s)
			case 2:
				out = w.Detail(out, llm.ReasoningDetail{Type: llm.DetailText, Text: s, Signature: "sig", Format: llm.FormatAnthropic})
			case 3:
				name := "f"
				if i%2 == 0 {
					name = "ns__f"
				}
				out = w.ToolStart(out, i, "call", name, "")
			case 4:
				out = w.ToolArgs(out, i, s)
			case 5:
				out = w.Detail(out, llm.ReasoningDetail{Type: llm.DetailEncrypted, Data: s, Format: llm.FormatGoogle})
			}
		}
		u := llm.Usage{Prompt: 3, Completion: 2}
		out = w.Close(w.End(append(w.Start(nil, &u), out...), llm.FinishStop, "", &u))
		open := map[string]bool{}
		evs := strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n")
		for i, ev := range evs {
			name, data, _ := strings.Cut(ev, "\n")
			var d struct {
				Type           string
				SequenceNumber int    `json:"sequence_number"`
				ItemID         string `json:"item_id"`
				Item           struct{ ID string }
			}
			if !strings.HasPrefix(name, "event: ") || json.Unmarshal([]byte(strings.TrimPrefix(data, "data: ")), &d) != nil ||
				"event: "+d.Type != name || d.SequenceNumber != i {
				t.Fatalf("event %d is malformed: %q", i, ev)
			}
			switch {
			case d.Type == "response.output_item.added":
				open[d.Item.ID] = true
			case d.Type == "response.output_item.done":
				if !open[d.Item.ID] {
					t.Fatalf("item %s done without being added:\n%s", d.Item.ID, out)
				}
				delete(open, d.Item.ID)
			case strings.HasSuffix(d.Type, ".delta") && !open[d.ItemID]:
				t.Fatalf("a delta of item %q, which is not open:\n%s", d.ItemID, out)
			}
		}
		if last := evs[len(evs)-1]; !strings.HasPrefix(last, "event: response.completed") || len(open) != 0 {
			t.Fatalf("the stream does not end with the response and every item done (%v open):\n%s", open, out)
		}
	})
}
