package openai

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/llm"
)

// goldenRequests are the chat requests of the adapter's wire goldens and
// the server's own: what real clients send.
func goldenRequests(t testing.TB) map[string][]byte {
	paths, err := filepath.Glob("../adapter/testdata/*/*/request.json")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("../adapter/testdata/*/request.json")
	paths = append(paths, more...)
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = b
	}
	if len(out) < 20 {
		t.Fatalf("found only %d golden requests", len(out))
	}
	return out
}

// tricky are bodies at the edges of what the fast decoder takes: each
// decoder must answer them as the other does.
var tricky = []string{
	`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.5,"stop":["a"]}`,
	`{"model":"m","messages":[],"stop":["a","b\n","c","d","e"]}`, // more than the scalars' block has room for
	`{"model":"m","messages":[],"stop":"a","temperature":0}`,
	`{"model":"m","messages":[],"stop":["a",1]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:x"}}]}],"reasoning":{"effort":"high"}}`,
	`{"model":"m","messages":[{"role":"user","content":"a \"quoted\" \u00e9 \ud83d\ude00 \ud800 \\ \/ \b\f\n\r\t"}]}`,
	"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"caf\xc3\xa9 \xe2\x82\xac\"}]}",
	"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"bad \xff utf-8\"}]}",
	"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"raw \x01 control\"}]}",
	`{"Model":"m","messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"m","messages":[{"ROLE":"user","content":"hi"}]}`,
	`{"model":"m","messages":[{"role":"user","Content":"hi","content":"there"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"hi","content":"there"}]}`,
	`{"model":"a","model":"b","messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":1,"temperature":null}`,
	`{"\u006dodel":"m","messages":[{"role":"user","content":"hi"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"hi","x-unknown":{"a":[1,2,{"b":null}]}}]}`,
	`{"model":"m","messages":[{"role":"user","content":"hi","ſ":1}]}`,
	`{"model":"m","messages":[{"role":"user","content":null},{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"},"index":0}]},{"role":"tool","tool_call_id":"c","content":"ok"}]}`,
	`{"model":"m","messages":[{"role":"assistant","function_call":{"name":"f","arguments":"{}"},"reasoning_details":[{"type":"reasoning.text","text":"t","signature":"s","index":0}]},{"role":"function","name":"f","content":"r"}]}`,
	`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":null},"extra_content":{"google":{"thought_signature":"sig"}}}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral","ttl":"1h"}},{"type":"file","file":{"file_data":"data:application/pdf;base64,AA=="}},{"type":"input_audio","input_audio":null}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[]}],"stop":[],"metadata":null,"tools":null,"seed":-0,"top_k":0,"logprobs":false}`,
	`{"model":"m","messages":[],"seed":1.0}`,
	`{"model":"m","messages":[],"seed":1e2}`,
	`{"model":"m","messages":[],"seed":99999999999999999999}`,
	`{"model":"m","messages":[],"temperature":1e400}`,
	`{"model":"m","messages":[],"temperature":-0.0e-0}`,
	`{"model":"m","messages":[],"temperature":01}`,
	`{"model":"m","messages":[],"temperature":1.}`,
	`{"model":"m","messages":[],"temperature":"1"}`,
	`{"model":"m","messages":[],"logprobs":1}`,
	`{"model":"m","messages":[],"stop":"\ud800"}`,
	`{"model":"m","messages":[],"stop":["a",null]}`,
	`{"model":"m","messages":[],"stop":{"a":1}}`,
	`{"model":"m","messages":null}`,
	`{"model":null,"messages":[null]}`,
	`{"model":"m","messages":[1]}`,
	`{"model":"m","messages":[{"role":"user","content":7}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":"https://x"}]}]}`,
	`{"model":"m"} x`,
	`{"model":"m",}`,
	`{"model":"m","messages":[{"role":"user","content":"hi"},]}`,
	`{"model":"m" "messages":[]}`,
	`{"model":"m","messages":[{"role":"user","content":"hi"}]`,
	` { "model" : "m" , "messages" : [ { "role" : "user" , "content" : "hi" } ] , "max_tokens" : 5 } `,
	`{"model":"m","messages":[],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}},"tool_choice":"auto","tools":[{"type":"function","function":{"name":"f","parameters":{}}}]}`,
	`{"model":"m","messages":[],"provider":{"order":["a"],"allow_fallbacks":false},"models":["x","y"],"user":"u","service_tier":"flex","stream":true,"stream_options":{"include_usage":true}}`,
	`{"model":"m","messages":[],"metadata":{"a":tru}}`,
	`{"model":"m","messages":[],"metadata":{"a":[1,2}}`,
	`{"model":"m","messages":[],"metadata":{"a":"\x"}}`,
	`{"model":"m","messages":[],"metadata":{"a":"\u12"}}`,
	`{"model":"m","messages":[],"metadata":` + strings.Repeat("[", 600) + strings.Repeat("]", 600) + `}`,
	`{"model":"m","messages":[{"role":"user","content":"hi"}],"bogus":1}`,
}

// agree decodes body with both decoders and fails t where the fast one
// takes a body the careful one refuses, or decodes it to other values.
// It reports whether the fast decoder took the body.
func agree(t testing.TB, body []byte) bool {
	t.Helper()
	var fast, careful llm.Request
	read, ok := decodeFast(body, &fast)
	if !ok {
		return false
	}
	var tools []tool
	if read != nil {
		tools = *read
	}
	if e := decodeCareful(body, &careful); e != nil {
		t.Fatalf("the fast decoder takes %q, the careful one refuses it: %s", body, e.Message)
	}
	if !reflect.DeepEqual(fast, careful) {
		t.Fatalf("the decoders differ on %q:\nfast:    %+v\ncareful: %+v", body, fast, careful)
	}
	// The tools read in the same pass are what goccy/go-json reads of them.
	var carefulTools []tool
	if tools != nil && (json.Unmarshal(careful.Tools, &carefulTools) != nil || !reflect.DeepEqual(tools, carefulTools)) {
		t.Fatalf("the tools of %q differ:\nfast:    %+v\ncareful: %+v", body, tools, carefulTools)
	}
	return true
}

// FuzzDecoders holds the fast decoder to the careful one on any input:
// the same bodies taken, decoded to the same values.
func FuzzDecoders(f *testing.F) {
	for _, b := range goldenRequests(f) {
		f.Add(b)
	}
	for _, s := range tricky {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { agree(t, body) })
}

// FuzzToolDecoders holds readTools to goccy/go-json on any tools value.
func FuzzToolDecoders(f *testing.F) {
	for _, b := range goldenRequests(f) {
		var req llm.Request
		if _, ok := decodeFast(b, &req); ok && req.Tools != nil {
			f.Add([]byte(req.Tools))
		}
	}
	for _, s := range []string{
		`[]`, `[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"},"strict":true},"cache_control":{"type":"ephemeral"}}]`,
		`[{"type":"custom","custom":{"name":"x"}},{"type":"function","function":null,"strict":null}]`,
		`[{"type":"function","function":{"name":"f","strict":1}}]`, `[{"TYPE":"function"}]`, `[{"type":"a","type":"b"}]`, `[null]`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := readTools(raw)
		if !ok {
			return
		}
		var careful []tool
		if err := json.Unmarshal(raw, &careful); err != nil {
			t.Fatalf("readTools takes %q, goccy/go-json refuses it: %v", raw, err)
		}
		if !reflect.DeepEqual(fast, careful) {
			t.Fatalf("the decoders differ on %q:\nfast:    %+v\ncareful: %+v", raw, fast, careful)
		}
	})
}

// The fast decoder must take what clients send, not leave it all to the
// careful one (which FuzzDecoders alone would allow).
func TestFastDecoderTakesTheGoldens(t *testing.T) {
	tools := 0
	for path, body := range goldenRequests(t) {
		if !agree(t, body) {
			t.Errorf("the fast decoder does not take %s", path)
		}
		var req llm.Request
		if _, ok := decodeFast(body, &req); ok && req.Tools != nil {
			tools++
			if _, ok := readTools(req.Tools); !ok {
				t.Errorf("readTools does not take the tools of %s", path)
			}
		}
	}
	if tools == 0 {
		t.Error("no golden request declares tools")
	}
}

// A schema's property names are any strings: the fast decoder takes them
// whatever letters they are in, and escaped.
func TestFastDecoderTakesAnySchemaKey(t *testing.T) {
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":` +
		`{"type":"object","properties":{"ключ":{"type":"string"},"caf\u00e9":{"type":"integer"},"名前":{"type":"string"}}}}}],"metadata":{"région":"eu"}}`)
	if !agree(t, body) {
		t.Error("the fast decoder leaves a schema with non-ASCII property names to the careful one")
	}
}

// Bodies the careful decoder alone must answer: DecodeChat's answer to each
// is the careful decoder's, error message and all.
func TestFastDecoderLeavesTheRestToTheCareful(t *testing.T) {
	for _, s := range []string{
		`{"Model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","messages":[{"ROLE":"user","content":"hi"}]}`,
		`{"model":"a","model":"b","messages":[{"role":"user","content":"hi"}]}`,
		`{"\u006dodel":"m","messages":[{"role":"user","content":"hi"}]}`,
		"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"bad \xff utf-8\"}]}",
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"seed":99999999999999999999}`,
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"seed":1.5}`,
		`{"model":"m","messages":[{"role":"user","content":"hi"}],"bogus":1}`,
		`{"model":"m","messages":[{"role":"user","content":"hi"}],}`,
	} {
		body := []byte(s)
		var fast, careful, got llm.Request
		if _, ok := decodeFast(body, &fast); ok {
			t.Errorf("the fast decoder takes %q", s)
		}
		want := decodeCareful(body, &careful)
		e := DecodeChat(body, &got)
		if (want == nil) != (e == nil) || want != nil && (e.Message != want.Message || e.Param != want.Param) {
			t.Errorf("DecodeChat(%q) = %+v; the careful decoder says %+v", s, e, want)
		}
	}
}

// BenchmarkDecoders runs both decoders on the load test's 1.1 KB request
// (the whole sampling superset), side by side.
//
//	go test ./server/openai -run '^$' -bench Decoders -benchmem -count 6
func BenchmarkDecoders(b *testing.B) {
	body, err := os.ReadFile("../../bench/loadtest/request-1k.json")
	if err != nil {
		b.Fatal(err)
	}
	body = []byte(strings.Replace(strings.TrimSpace(string(body)), "MODEL", "anthropic/claude-sonnet-4-5", 1))
	for _, d := range []struct {
		name   string
		decode func([]byte, *llm.Request) bool
	}{
		{"fast", func(body []byte, req *llm.Request) bool { _, ok := decodeFast(body, req); return ok }},
		{"careful", func(body []byte, req *llm.Request) bool { return decodeCareful(body, req) == nil }},
	} {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var req llm.Request
				if !d.decode(body, &req) {
					b.Fatal("refused")
				}
			}
		})
	}
}
