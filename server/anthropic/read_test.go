package anthropic

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/opentoken/opentoken/internal/json"
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
