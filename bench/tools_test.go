// Benchmarks of the tool paths: translating a request with 20 tools and a
// 6-turn tool history, and a whole streamed answer with parallel calls.
//
//	go test ./bench -run '^$' -bench 'Tool' -benchmem -count 5
package bench

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/sse"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/openai"
)

// toolRequest is a chat request to model with 20 function tools and a
// history of 6 turns: three rounds of a call and its result.
func toolRequest(model string) []byte {
	var b strings.Builder
	b.WriteString(`{"model":"` + model + `","tools":[`)
	for i := range 20 {
		if i > 0 {
			b.WriteByte(',')
		}
		n := strconv.Itoa(i)
		b.WriteString(`{"type":"function","function":{"name":"tool_` + n + `","description":"Looks up record ` + n + ` of the inventory by key and region.",` +
			`"parameters":{"type":"object","properties":{"key":{"type":"string","description":"the record key"},"region":{"type":"string","enum":["eu","us","ap"]},` +
			`"limit":{"type":"integer","minimum":1,"maximum":100}},"required":["key"],"additionalProperties":false}}}`)
	}
	b.WriteString(`],"tool_choice":"auto","messages":[{"role":"system","content":"You manage an inventory."},{"role":"user","content":"Check records 3, 7 and 12."}`)
	for turn, tool := range []int{3, 7, 12} {
		id := "call_" + strconv.Itoa(turn) + "a1b2c3d4e5"
		b.WriteString(`,{"role":"assistant","content":null,"tool_calls":[{"id":"` + id + `","type":"function","function":{"name":"tool_` + strconv.Itoa(tool) +
			`","arguments":"{\"key\":\"rec-` + strconv.Itoa(tool) + `\",\"region\":\"eu\"}"}}]},` +
			`{"role":"tool","tool_call_id":"` + id + `","content":"{\"record\":` + strconv.Itoa(tool) + `,\"stock\":41,\"status\":\"ok\"}"}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func BenchmarkToolRequestTranslation(b *testing.B) {
	for _, m := range models {
		body := toolRequest(m.id)
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			var req fasthttp.Request
			buf := make([]byte, 0, 16384)
			for b.Loop() {
				sinkBytes = translateRequest(body, m.adapter, &req, buf)
			}
		})
	}
}

// toolStreams are whole streamed answers with parallel calls, from the wire
// goldens.
var toolStreams = []struct {
	name, golden string
	adapter      adapter.Adapter
}{
	{"claude-3-calls", "anthropic/parallel-calls", adapter.Anthropic{}},
	{"gemini-2-calls", "gemini/tools", adapter.Gemini{}},
}

// BenchmarkToolStream translates every event of a streamed answer that
// makes parallel calls; one op is the whole answer.
func BenchmarkToolStream(b *testing.B) {
	for _, ts := range toolStreams {
		b.Run(ts.name, func(b *testing.B) {
			var chat llm.Request
			if err := openai.DecodeChat(golden(ts.golden+"/request.json"), &chat); err != nil {
				b.Fatal(err.Message)
			}
			call, e := adapter.NewCall(&chat, generated.Lookup(chat.Model))
			if e != nil {
				b.Fatal(e.Message)
			}
			type event struct{ name, data []byte }
			var events []event
			r := sse.NewReader(bytes.NewReader(golden(ts.golden+"/upstream_response.sse")), 1<<20)
			for {
				name, data, err := r.Next()
				if err != nil {
					break
				}
				events = append(events, event{append([]byte(nil), name...), append([]byte(nil), data...)})
			}
			prefix := openai.NewChunkPrefix(nil, "chatcmpl-0123456789abcdef01234567", 1730000000, chat.Model)
			out := make([]byte, 0, 16384)
			b.ReportAllocs()
			for b.Loop() {
				st := ts.adapter.NewStream(call, &openai.ChunkWriter{Prefix: prefix, Exclude: call.Thinking.Exclude, Legacy: call.Legacy()})
				out = out[:0]
				for _, ev := range events {
					var err *llm.Error
					if out, err = st.Event(out, ev.name, ev.data); err != nil {
						b.Fatal(err)
					}
				}
				if out, e = st.End(out); e != nil || !bytes.Contains(out, []byte(`"tool_calls"`)) {
					b.Fatal(e)
				}
			}
		})
	}
}
