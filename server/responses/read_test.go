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
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*", "request.json"))
	files = append(files, filepath.Join("..", "testdata", "codex-responses-request.json"))
	var items [][]byte
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
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
