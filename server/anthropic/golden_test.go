package anthropic_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/sse"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/anthropic"
)

var update = flag.Bool("update", false, "rewrite the Messages wire goldens under testdata/<provider>/")

// TestWireGoldens runs every case under testdata/<provider>/<case>/, the
// Messages door's beside the chat door's (server/adapter/testdata):
//
//	request.json            the client's Messages request (model: an alias or an id)
//	upstream_request.json   what the gateway sends upstream (url, anthropic-beta and body)
//	upstream_response.json  an upstream answer, buffered, or
//	upstream_response.sse   an upstream answer, streamed
//	response.json           the Anthropic message the client gets, or
//	response.sse            the Anthropic event stream it gets
//
// go test ./server/anthropic -update rewrites the outputs.
func TestWireGoldens(t *testing.T) {
	for provider, a := range map[string]adapter.Adapter{"anthropic": adapter.Anthropic{}, "gemini": adapter.Gemini{}} {
		dirs, _ := filepath.Glob(filepath.Join("testdata", provider, "*"))
		if len(dirs) == 0 {
			t.Fatalf("no golden cases for %s", provider)
		}
		for _, dir := range dirs {
			t.Run(provider+"/"+filepath.Base(dir), func(t *testing.T) { goldenCase(t, a, dir) })
		}
	}
}

// betas is what the golden requests' anthropic-beta header holds.
var betas = []string{"claude-code-20250219", "interleaved-thinking-2025-05-14", "oauth-2025-04-20"}

func goldenCase(t *testing.T, a adapter.Adapter, dir string) {
	var req llm.Request
	var dec anthropic.Decoded
	if e := anthropic.Decode(readFile(t, filepath.Join(dir, "request.json")), &req, &dec, false); e != nil {
		t.Fatalf("request.json: %s", e.Message)
	}
	m := generated.LookupAlias(dec.Model)
	if m == nil {
		m = generated.Lookup(dec.Model)
	}
	req.Model, req.Betas = m.ID, betas
	call, e := adapter.NewCall(&req, m)
	if e != nil {
		t.Fatalf("request.json: %s", e.Message)
	}
	call.Betas = m.Supplies[0].Betas // the provider's own API
	hr := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(hr)
	body, e := a.BuildRequest(hr, nil, call, &adapter.Upstream{BaseURL: "https://upstream.test", APIKey: "upstream-key"})
	if e != nil {
		t.Fatalf("BuildRequest: %s", e.Message)
	}
	sent, _ := json.Marshal(map[string]any{"url": string(hr.URI().FullURI()), "anthropic-beta": string(hr.Header.Peek("anthropic-beta")),
		"body": json.RawMessage(body)})
	compareJSON(t, filepath.Join(dir, "upstream_request.json"), sent)

	if answer, err := os.ReadFile(filepath.Join(dir, "upstream_response.json")); err == nil {
		var out llm.Completion
		if err := a.ParseResponse(call, answer, &out); err != nil {
			t.Fatalf("upstream_response.json: %v", err)
		}
		compareJSON(t, filepath.Join(dir, "response.json"), anthropic.AppendMessage(nil, "msg_golden", dec.Model, &out))
	}
	if stream, err := os.ReadFile(filepath.Join(dir, "upstream_response.sse")); err == nil {
		compareEvents(t, filepath.Join(dir, "response.sse"), translateStream(a, call, dec.Model, stream))
	}
}

// translateStream runs an upstream stream through a's translator as the
// server does: the frames held until the first content, then Start with
// the usage reported so far before them, an error event on a failure.
func translateStream(a adapter.Adapter, call *adapter.Call, model string, stream []byte) []byte {
	w := &anthropic.EventWriter{ID: "msg_golden", Model: model}
	st := a.NewStream(call, w)
	events := sse.NewReader(bytes.NewReader(stream), 1<<20)
	var held, head []byte
	var e *llm.Error
	for {
		ev, data, err := events.Next()
		if err != nil {
			if err != io.EOF {
				e = &llm.Error{Status: 502, Type: llm.TypeUpstream, Message: err.Error()}
				break
			}
			held, e = st.End(held)
			break
		}
		if held, e = st.Event(held, ev, data); e != nil {
			break
		}
		if head == nil && len(held) > 0 {
			u := st.Usage()
			head = w.Start(nil, &u)
		}
		if st.Done() {
			held, e = st.End(held)
			break
		}
	}
	if head == nil {
		u := st.Usage()
		head = w.Start(nil, &u)
	}
	if e != nil {
		held = w.Fail(held, e)
	}
	return w.Close(append(head, held...))
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func normal(t *testing.T, what string, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s is not JSON: %v\n%s", what, err, b)
	}
	return v
}

func compareJSON(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, got, "", "  "); err != nil {
			t.Fatal(err)
		}
		writeGolden(t, golden, append(pretty.Bytes(), '\n'))
		return
	}
	if !reflect.DeepEqual(normal(t, golden, readFile(t, golden)), normal(t, "the output", got)) {
		t.Errorf("%s differs (go test ./server/anthropic -update rewrites it); got:\n%s", golden, got)
	}
}

// compareEvents compares two Messages event streams event by event: the
// event's name, and its data as normalised JSON.
func compareEvents(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		writeGolden(t, golden, got)
		return
	}
	w, g := events(t, readFile(t, golden)), events(t, got)
	if len(w) != len(g) {
		t.Fatalf("%s: %d events, want %d (go test ./server/anthropic -update rewrites it); got:\n%s", golden, len(g), len(w), got)
	}
	for i := range w {
		if w[i][0] != g[i][0] || !reflect.DeepEqual(normal(t, golden, []byte(w[i][1])), normal(t, "the output", []byte(g[i][1]))) {
			t.Errorf("%s event %d differs:\n got %s %s\nwant %s %s", golden, i, g[i][0], g[i][1], w[i][0], w[i][1])
		}
	}
}

// events splits a stream into (name, data) pairs; every event has both.
func events(t *testing.T, b []byte) [][2]string {
	t.Helper()
	var out [][2]string
	for _, f := range strings.Split(strings.TrimSuffix(string(b), "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(f, "\n")
		name, ok1 := strings.CutPrefix(name, "event: ")
		data, ok2 := strings.CutPrefix(data, "data: ")
		if !ok || !ok1 || !ok2 {
			t.Fatalf("not an event: %q", f)
		}
		out = append(out, [2]string{name, data})
	}
	return out
}

func writeGolden(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
