package anthropic

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/llm"
)

// requestTricky are bodies at the edges of what readRequest takes.
var requestTricky = []string{
	`{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"m","max_tokens":10,"system":[{"type":"text","text":"s"}],"messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],` +
		`"temperature":0.5,"top_p":1,"top_k":40,"stop_sequences":["x","y\n"],"stream":true,"service_tier":"auto","metadata":{"user_id":"u"},` +
		`"tools":[{"name":"f","input_schema":{"type":"object","properties":{"ключ":{}}}}],"tool_choice":{"type":"auto"},"thinking":{"type":"enabled","budget_tokens":2048},"output_config":{"effort":"low"}}`,
	`{"model":"m","max_tokens":null,"system":null,"messages":null,"stop_sequences":[],"metadata":null,"tools":null}`,
	`{"model":"m","messages":[{"role":"user","content":null}]}`,
	`{"Model":"m","messages":[]}`, `{"model":"a","model":"b"}`, `{"model":"m","max_tokens":1.0}`, `{"model":"m","max_tokens":"1"}`,
	`{"model":"m","messages":[{"role":"user","content":"hi","extra":[1,{"a":null}]}],"container":{"x":1}}`,
	`{"model":"m","messages":[{"ROLE":"user","content":"hi"}]}`, `{"model":"m","stream":1}`, `{"model":"m","service_tier":null}`,
	`{"model":"m","messages":{}}`, `[]`, `{"model":"m"} x`,
	`{"model":"m","tools":[{"type":"custom","name":"f","description":"d","input_schema":{"type":"object"},"strict":true,"cache_control":{"type":"ephemeral","ttl":"1h"}},` +
		`{"type":"web_search_20250305","name":"web_search","max_uses":3}]}`,
	`{"model":"m","tools":[]}`, `{"model":"m","tools":[null]}`, `{"model":"m","tools":[{"input_schema":null,"strict":null,"cache_control":null}]}`,
	`{"model":"m","tools":[{"Name":"f"}]}`, `{"model":"m","tools":[{"name":"f","name":"g"}]}`, `{"model":"m","tools":[{"strict":"yes"}]}`,
}

// FuzzRequestReader holds readRequest to goccy/go-json: a body it takes,
// goccy/go-json takes too, to the same values.
func FuzzRequestReader(f *testing.F) {
	for _, b := range requestGoldens(f) {
		f.Add(b)
	}
	for _, s := range requestTricky {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		agreeRequest(t, body)
	})
}

// The reader must take what the Messages door's clients send, not leave it
// all to goccy/go-json.
func TestRequestReaderTakesTheGoldens(t *testing.T) {
	bodies := requestGoldens(t)
	if len(bodies) == 0 {
		t.Fatal("no Messages request goldens")
	}
	for _, b := range append(bodies, []byte(requestTricky[1])) {
		if !agreeRequest(t, b) {
			t.Errorf("readRequest does not take %s", b)
		}
	}
}

func agreeRequest(t testing.TB, body []byte) bool {
	t.Helper()
	var fast, careful request
	if !readRequest(body, &fast) {
		return false
	}
	if err := json.UnmarshalNoCopy(body, &careful); err != nil {
		t.Fatalf("readRequest takes %q, goccy/go-json refuses it: %v", body, err)
	}
	if !reflect.DeepEqual(fast, careful) {
		t.Fatalf("the decoders differ on %q:\nfast:    %+v\ncareful: %+v", body, fast, careful)
	}
	return true
}

// requestGoldens are the Messages door's golden requests.
func requestGoldens(t testing.TB) [][]byte {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*", "*", "request.json"))
	var bodies [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	return bodies
}

// blocksTricky are content-block arrays at the edges of what readBlocks takes.
var blocksTricky = []string{
	`[{"type":"text","text":"a","cache_control":{"type":"ephemeral","ttl":"1h"}},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]`,
	`[{"type":"tool_use","id":"t","name":"f","input":{"a":[1,{"b":null}]}},{"type":"thinking","thinking":"t","signature":"s"},{"type":"redacted_thinking","data":"d"}]`,
	`[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r"}],"is_error":true},{"type":"tool_result","tool_use_id":"u","content":"ok","is_error":null}]`,
	`[{"type":"document","source":{"type":"url","url":"https://x"},"title":"T","context":"C","citations":{"enabled":true}}]`,
	`[{"type":"text","text":null,"cache_control":null,"source":null}]`, `[{"type":"text","input":null}]`, `[null]`, `[]`, `{}`,
	`[{"Type":"text"}]`, `[{"type":"text","type":"image"}]`, `[{"type":"text","is_error":"yes"}]`, `[{"type":"text","cache_control":{"type":1}}]`,
}

// FuzzBlocksReader holds readBlocks to goccy/go-json: an array it takes,
// goccy/go-json takes too, to the same blocks.
func FuzzBlocksReader(f *testing.F) {
	for _, b := range requestGoldens(f) {
		var r request
		if readRequest(b, &r) {
			for _, m := range r.Messages {
				f.Add([]byte(m.Content))
			}
			f.Add([]byte(r.System))
		}
	}
	for _, s := range blocksTricky {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		agreeBlocks(t, raw)
	})
}

func TestBlocksReaderTakesTheGoldens(t *testing.T) {
	n := 0
	for _, b := range requestGoldens(t) {
		var r request
		if !readRequest(b, &r) {
			continue
		}
		for _, m := range r.Messages {
			if len(m.Content) > 0 && m.Content[0] == '[' {
				n++
				if !agreeBlocks(t, m.Content) {
					t.Errorf("readBlocks does not take %s", m.Content)
				}
			}
		}
	}
	for _, s := range blocksTricky[:4] {
		if !agreeBlocks(t, []byte(s)) {
			t.Errorf("readBlocks does not take %s", s)
		}
	}
	if n == 0 {
		t.Error("no golden request has content blocks")
	}
}

func agreeBlocks(t testing.TB, raw []byte) bool {
	t.Helper()
	var fast, careful []block
	if !readBlocks(raw, &fast) {
		return false
	}
	if err := json.UnmarshalNoCopy(raw, &careful); err != nil {
		t.Fatalf("readBlocks takes %q, goccy/go-json refuses it: %v", raw, err)
	}
	if !reflect.DeepEqual(fast, careful) {
		t.Fatalf("the decoders differ on %q:\nfast:    %+v\ncareful: %+v", raw, fast, careful)
	}
	return true
}

// BenchmarkDecode decodes the Messages door's golden requests, a tool loop
// (content blocks of text, tool_use and tool_result) among them, and a
// request declaring 20 tools, as Claude Code's do.
func BenchmarkDecode(b *testing.B) {
	bodies := map[string][]byte{"20-tools": twentyTools()}
	for _, name := range []string{"text", "tool-loop"} {
		body, err := os.ReadFile(filepath.Join("testdata", "anthropic", name, "request.json"))
		if err != nil {
			b.Fatal(err)
		}
		bodies[name] = body
	}
	for _, name := range []string{"text", "tool-loop", "20-tools"} {
		body := bodies[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var req llm.Request
				var dec Decoded
				if e := Decode(body, &req, &dec, false); e != nil {
					b.Fatal(e.Message)
				}
			}
		})
	}
}

// twentyTools is a Messages request declaring 20 tools with their input
// schemas, the last one cached.
func twentyTools() []byte {
	var b strings.Builder
	b.WriteString(`{"model":"claude-sonnet-4-6","max_tokens":1024,"tools":[`)
	for i := range 20 {
		if i > 0 {
			b.WriteByte(',')
		}
		n := strconv.Itoa(i)
		b.WriteString(`{"name":"tool_` + n + `","description":"Looks up record ` + n + ` of the inventory by key and region.",` +
			`"input_schema":{"type":"object","properties":{"key":{"type":"string","description":"the record key"},"region":{"type":"string","enum":["eu","us","ap"]},` +
			`"limit":{"type":"integer","minimum":1,"maximum":100}},"required":["key"],"additionalProperties":false}`)
		if i == 19 {
			b.WriteString(`,"cache_control":{"type":"ephemeral"}`)
		}
		b.WriteByte('}')
	}
	b.WriteString(`],"messages":[{"role":"user","content":"Check records 3, 7 and 12."}]}`)
	return []byte(b.String())
}
