package adapter

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

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/sse"
	"github.com/opentoken/opentoken/server/openai"
)

var update = flag.Bool("update", false, "rewrite the wire golden files under testdata/<provider>/")

// TestWireGoldens runs every case under testdata/<provider>/<case>/, each a
// few files that show exactly what crosses the wire:
//
//	request.json            the client's OpenAI request
//	upstream_request.json   what the gateway sends upstream (url and body)
//	upstream_response.json  an upstream answer, buffered, or
//	upstream_response.sse   an upstream answer, streamed
//	response.json           what the client gets, buffered, or
//	response.sse            what the client gets, streamed
//
// The outputs are compared as normalised JSON (frame by frame for
// streams). go test ./server/adapter -update rewrites them. The benchmarks
// in bench/ read the same files.
func TestWireGoldens(t *testing.T) {
	for provider, a := range map[string]Adapter{"anthropic": Anthropic{}, "gemini": Gemini{}} {
		dirs, _ := filepath.Glob(filepath.Join("testdata", provider, "*"))
		if len(dirs) == 0 {
			t.Fatalf("no golden cases for %s", provider)
		}
		for _, dir := range dirs {
			t.Run(provider+"/"+filepath.Base(dir), func(t *testing.T) { goldenCase(t, a, dir) })
		}
	}
}

func goldenCase(t *testing.T, a Adapter, dir string) {
	request := readFile(t, filepath.Join(dir, "request.json"))
	var chat llm.Request
	if e := openai.DecodeChat(request, &chat); e != nil {
		t.Fatalf("request.json: %s", e.Message)
	}
	call, e := NewCall(&chat, generated.Lookup(chat.Model))
	if e != nil {
		t.Fatalf("request.json: %s", e.Message)
	}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	body, e := a.BuildRequest(req, nil, call, &Upstream{BaseURL: "https://upstream.test", APIKey: "upstream-key"})
	if e != nil {
		t.Fatalf("BuildRequest: %s", e.Message)
	}
	sent, _ := json.Marshal(map[string]json.RawMessage{"url": mustJSON(t, string(req.URI().FullURI())), "body": body})
	compareJSON(t, filepath.Join(dir, "upstream_request.json"), sent)

	if answer, err := os.ReadFile(filepath.Join(dir, "upstream_response.json")); err == nil {
		var out llm.Completion
		var got []byte
		if err := a.ParseResponse(call, answer, &out); err != nil {
			got, _ = json.Marshal(map[string]string{"unreadable": err.Error()})
		} else {
			out.Legacy = call.Legacy()
			got = openai.AppendCompletion(nil, "chatcmpl-golden", 1700000000, chat.Model, &out, !call.Thinking.Exclude)
		}
		compareJSON(t, filepath.Join(dir, "response.json"), got)
	}
	if stream, err := os.ReadFile(filepath.Join(dir, "upstream_response.sse")); err == nil {
		compareFrames(t, filepath.Join(dir, "response.sse"), translateStream(a, call, chat.Model, stream))
	}
}

// translateStream runs an upstream stream through a's translator as the
// server's pump does, error frame and [DONE] included.
func translateStream(a Adapter, call *Call, model string, stream []byte) []byte {
	prefix := openai.NewChunkPrefix(nil, "chatcmpl-golden", 1700000000, model)
	out := openai.AppendRoleChunk(nil, prefix)
	st := a.NewStream(call, &openai.ChunkWriter{Prefix: prefix, Exclude: call.Thinking.Exclude, Legacy: call.Legacy()})
	events := sse.NewReader(bytes.NewReader(stream), 1<<20)
	var e *llm.Error
	for {
		ev, data, err := events.Next()
		if err != nil {
			if err != io.EOF {
				e = streamError(err.Error())
				break
			}
			out, e = st.End(out)
			break
		}
		if out, e = st.Event(out, ev, data); e != nil {
			break
		}
		if st.Done() {
			out, e = st.End(out)
			break
		}
	}
	if e != nil {
		out = openai.AppendErrorFrame(out, e)
	}
	return openai.AppendDone(out)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// normal decodes JSON into a value whose comparison ignores formatting and
// key order.
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
	want := readFile(t, golden)
	if !reflect.DeepEqual(normal(t, golden, want), normal(t, "the output", got)) {
		t.Errorf("%s differs (go test ./server/adapter -update rewrites it); got:\n%s", golden, got)
	}
}

// compareFrames compares two event streams frame by frame, each frame's
// JSON normalised.
func compareFrames(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *update {
		writeGolden(t, golden, got)
		return
	}
	want := readFile(t, golden)
	w, g := frames(t, want), frames(t, got)
	if len(w) != len(g) {
		t.Fatalf("%s: %d frames, want %d (go test ./server/adapter -update rewrites it); got:\n%s", golden, len(g), len(w), got)
	}
	for i := range w {
		if w[i] == "[DONE]" || g[i] == "[DONE]" {
			if w[i] != g[i] {
				t.Errorf("%s frame %d: %s, want %s", golden, i, g[i], w[i])
			}
			continue
		}
		if !reflect.DeepEqual(normal(t, golden, []byte(w[i])), normal(t, "the output", []byte(g[i]))) {
			t.Errorf("%s frame %d differs:\n got %s\nwant %s", golden, i, g[i], w[i])
		}
	}
}

func frames(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for _, f := range strings.Split(strings.TrimSuffix(string(b), "\n\n"), "\n\n") {
		data, ok := strings.CutPrefix(f, "data: ")
		if !ok {
			t.Fatalf("not a data frame: %q", f)
		}
		out = append(out, data)
	}
	return out
}

func writeGolden(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
