package responses

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonscan"
	"github.com/opentoken/opentoken/llm"
)

// requestItems returns the input items of the door's golden requests and
// of the Codex capture, each as its raw text.
func requestItems(t testing.TB) [][]byte {
	t.Helper()
	var items [][]byte
	for _, body := range requestBodies(t) {
		obj := jsonscan.NewObject(body)
		for key, val, ok := obj.Next(); ok; key, val, ok = obj.Next() {
			if string(key) != "input" {
				continue
			}
			arr := jsonscan.NewArray(val)
			for raw, ok := arr.Next(); ok; raw, ok = arr.Next() {
				items = append(items, raw)
			}
		}
	}
	if len(items) == 0 {
		t.Fatal("no golden request has input items")
	}
	return items
}

// Bodies the readers must leave to goccy/go-json, or read as it does.
var itemsTricky = []string{
	`{"type":"message","role":"user","content":[{"type":"input_text","text":"a\nb"}]}`,
	`{"type":"function_call","call_id":"c","name":"f","arguments":"{\"k\":\"v\"}"}`,
	`{"type":"function_call_output","call_id":"c","output":[{"type":"input_text","text":"r"}]}`,
	`{"role":"user","content":"hi","extra":{"deep":[1,2,{"x":null}]}}`,
	`{"type":null,"role":null,"call_id":null}`,
	`{"TYPE":"message"}`,
	`{"type":"a","type":"b"}`,
	`{"content":null}`,
	`{"content":  [ 1 , 2 ] }`,
	`null`,
	`{"name":1}`,
	`[{"type":"input_text","text":"t"},{"TEXT":"x"}]`,
	`[null]`,
	`[]`,
	`[{"type":"input_image","image_url":"data:image/png;base64,AAAA","detail":"auto"}]`,
}

func agreeItem(t testing.TB, raw []byte) bool {
	t.Helper()
	var fast, careful item
	if !readItem(raw, &fast) {
		return false
	}
	if err := json.UnmarshalNoCopy(raw, &careful); err != nil {
		t.Fatalf("readItem takes %q, goccy/go-json refuses it: %v", raw, err)
	}
	if !reflect.DeepEqual(fast, careful) {
		t.Fatalf("the decoders differ on %q:\nfast:    %+v\ncareful: %+v", raw, fast, careful)
	}
	return true
}

func agreeParts(t testing.TB, raw []byte) bool {
	t.Helper()
	fast, ok := readParts(raw)
	if !ok {
		return false
	}
	var careful []part
	if err := json.UnmarshalNoCopy(raw, &careful); err != nil {
		t.Fatalf("readParts takes %q, goccy/go-json refuses it: %v", raw, err)
	}
	if !reflect.DeepEqual(fast, careful) {
		t.Fatalf("the decoders differ on %q:\nfast:    %+v\ncareful: %+v", raw, fast, careful)
	}
	return true
}

// FuzzItemReader: an item the one-pass reader takes, goccy/go-json decodes
// to the same values.
func FuzzItemReader(f *testing.F) {
	for _, raw := range requestItems(f) {
		f.Add(raw)
	}
	for _, s := range itemsTricky {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		agreeItem(t, raw)
	})
}

// FuzzPartsReader: content parts the one-pass reader takes, goccy/go-json
// decodes to the same values.
func FuzzPartsReader(f *testing.F) {
	for _, raw := range requestItems(f) {
		var it item
		if readItem(raw, &it) {
			f.Add([]byte(it.Content))
			f.Add([]byte(it.Output))
		}
	}
	for _, s := range itemsTricky {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		agreeParts(t, raw)
	})
}

// TestReadersTakeTheGoldens: the one-pass readers take every item of the
// golden requests and of the Codex capture, and their content parts, so
// that what clients send is read without goccy/go-json.
func TestReadersTakeTheGoldens(t *testing.T) {
	parts := 0
	for _, raw := range requestItems(t) {
		if !agreeItem(t, raw) {
			t.Errorf("readItem does not take %s", raw)
			continue
		}
		var it item
		readItem(raw, &it)
		for _, p := range [][]byte{it.Content, it.Output} {
			if len(p) > 0 && p[0] == '[' {
				parts++
				if !agreeParts(t, p) {
					t.Errorf("readParts does not take %s", p)
				}
			}
		}
	}
	if parts == 0 {
		t.Error("no golden item has content parts")
	}
	for _, s := range itemsTricky[:4] {
		if !agreeItem(t, []byte(s)) {
			t.Errorf("readItem does not take %s", s)
		}
	}
}

// BenchmarkDecode decodes the door's tool-loop golden (a message, reasoning,
// a call and its output) and the Codex capture (instructions in messages
// of content parts, and tools).
func BenchmarkDecode(b *testing.B) {
	for _, c := range []struct{ name, path string }{
		{"tool-loop", filepath.Join("testdata", "anthropic", "tool-loop", "request.json")},
		{"codex", filepath.Join("..", "testdata", "codex-responses-request.json")},
	} {
		body, err := os.ReadFile(c.path)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var req llm.Request
				var dec Decoded
				if e := Decode(body, nil, &req, &dec, benchOpen); e != nil {
					b.Fatal(e.Message)
				}
			}
		})
	}
}

// benchOpen unseals nothing: the benchmark's reasoning items carry what a
// test sealed, and the decode's cost is what is measured.
func benchOpen(string) ([]llm.ReasoningDetail, error) { return nil, nil }

// requestBodies returns the door's golden requests and the Codex capture.
func requestBodies(t testing.TB) [][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*", "request.json"))
	files = append(files, filepath.Join("..", "testdata", "codex-responses-request.json"))
	var bodies [][]byte
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, body)
	}
	return bodies
}

// Whole bodies the reader reads as the careful path does (requestsRead),
// and bodies it must leave to the careful path (requestsLeft): a key in
// other letters, repeated, unknown; a number or a list goccy/go-json reads
// otherwise; namespaces nested past maxToolNesting; text after the object.
var (
	requestsRead = []string{
		`{"model":"m","input":"hi","tools":[{"type":"namespace","name":"n","tools":[{"type":"function","name":"f","parameters":{"type":"object"},"strict":true}]},{"type":"web_search"}],` +
			`"reasoning":{"effort":"low","summary":null},"text":{"format":{"type":"json_schema","name":"x","schema":{"type":"object"},"strict":false},"verbosity":"low"},` +
			`"max_output_tokens":9,"temperature":0.5,"top_p":1,"include":["reasoning.encrypted_content"],"store":false,"metadata":{"a":"b"},"truncation":"auto","truncation":"auto"}`,
		`{"model":null,"tools":null,"reasoning":null,"text":null,"include":null,"temperature":null,"top_p":null,"stream":null,"user":null}`,
		`{"model":"m","include":[],"tools":[]}`,
		` { "model" : "m" , "input" : [ ] , "text" : { "format" : { "type" : "text" } } } `,
	}
	requestsLeft = []string{
		`{"model":"m","include":[]," tools":[]}`,
		`{"Model":"m"}`,
		`{"model":"a","model":"b"}`,
		`{"model":"m","mystery":1}`,
		`{"model":"m","max_output_tokens":1e3}`,
		`{"model":"m","temperature":"1"}`,
		`{"model":"m","include":"x"}`,
		`{"model":"m","reasoning":{"Effort":"high"}}`,
		`{"model":"m","tools":[{"type":"namespace","tools":[{"type":"namespace","tools":[{"type":"namespace","tools":[{"type":"namespace","tools":[{"type":"namespace","tools":[]}]}]}]}]}]}`,
		`{"model":"m"} x`,
	}
)

func agreeRequest(t testing.TB, body []byte) bool {
	t.Helper()
	var fast request
	var fastOut Decoded
	if !readRequest(body, &fast, &fastOut) {
		return false
	}
	var careful request
	var carefulOut Decoded
	if err := json.UnmarshalNoCopy(body, &careful); err != nil {
		t.Fatalf("readRequest takes %q, goccy/go-json refuses it: %v", body, err)
	}
	if e := scanFields(body, &careful, &carefulOut); e != nil {
		t.Fatalf("readRequest takes %q, scanFields refuses it: %s", body, e.Message)
	}
	if !reflect.DeepEqual(fast, careful) {
		t.Fatalf("the decoders differ on %q:\nfast:    %+v\ncareful: %+v", body, fast, careful)
	}
	if !reflect.DeepEqual(fastOut.Dropped, carefulOut.Dropped) || !reflect.DeepEqual(fastOut.Echo, carefulOut.Echo) {
		t.Fatalf("the decoders note %q differently:\nfast:    %q %+v\ncareful: %q %+v", body, fastOut.Dropped, fastOut.Echo, carefulOut.Dropped, carefulOut.Echo)
	}
	return true
}

// FuzzRequestReader: a body the one-pass reader takes, goccy/go-json and
// the scan of its keys decode to the same request and the same notes.
func FuzzRequestReader(f *testing.F) {
	for _, b := range requestBodies(f) {
		f.Add(b)
	}
	for _, s := range append(requestsRead, requestsLeft...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		agreeRequest(t, body)
	})
}

// TestRequestReaderTakesTheGoldens: the door's golden requests and the
// Codex capture are read in one pass, as are the readable tricky bodies.
func TestRequestReaderTakesTheGoldens(t *testing.T) {
	for _, b := range requestBodies(t) {
		if !agreeRequest(t, b) {
			t.Errorf("readRequest does not take %.200s", b)
		}
	}
	for _, s := range requestsRead {
		if !agreeRequest(t, []byte(s)) {
			t.Errorf("readRequest does not take %s", s)
		}
	}
	for _, s := range requestsLeft {
		if agreeRequest(t, []byte(s)) {
			t.Errorf("readRequest takes %s, which it must leave to the careful path", s)
		}
	}
}
