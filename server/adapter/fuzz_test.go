package adapter

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/sse"
	"github.com/opentoken/opentoken/server/openai"
)

// The fuzzers feed the translators what a broken or hostile upstream could
// send. Whatever it is, a translator must not panic, and what it writes to
// the client must be well-formed: a chat.completion that is valid JSON, or
// data: frames that each hold valid JSON. Their seed corpora under
// testdata/fuzz run in every go test; findings are kept there as
// regression cases.

func fuzzCall(t testing.TB, model string, stream bool) *Call {
	t.Helper()
	var req llm.Request
	body := `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}],"reasoning":{"effort":"low"},"tools":[{"type":"function","function":{"name":"f"}}]`
	if stream {
		body += `,"stream":true`
	}
	if e := openai.DecodeChat([]byte(body+"}"), &req); e != nil {
		t.Fatal(e.Message)
	}
	c, e := NewCall(&req, generated.Lookup(model))
	if e != nil {
		t.Fatal(e.Message)
	}
	return c
}

// seedFiles adds the files of testdata/<dir> to f's corpus.
func seedFiles(f *testing.F, dir string) {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func fuzzResponse(f *testing.F, a Adapter, model, seeds string) {
	seedFiles(f, seeds)
	f.Add([]byte(`{"unexpected":true}`))
	f.Add([]byte(`{"content":null,"stop_reason":"end_turn"}`))
	f.Add([]byte(`{"candidates":[{"content":{"parts":[{"text":"\ud800"}]}}]}`))
	c := fuzzCall(f, model, false)
	f.Fuzz(func(t *testing.T, body []byte) {
		var out llm.Completion
		if err := a.ParseResponse(c, body, &out); err != nil {
			return
		}
		got := openai.AppendCompletion(nil, "chatcmpl-1", 1, model, &out, !c.Thinking.Exclude)
		if !json.Valid(got) {
			t.Fatalf("invalid completion JSON for %q:\n%s", body, got)
		}
	})
}

func FuzzAnthropicResponse(f *testing.F) {
	fuzzResponse(f, Anthropic{}, "anthropic/claude-sonnet-4-5", "anthropic-responses")
}

func FuzzGeminiResponse(f *testing.F) {
	fuzzResponse(f, Gemini{}, "google/gemini-2.5-pro", "gemini-responses")
}

func fuzzStream(f *testing.F, a Adapter, model, seeds string) {
	seedFiles(f, seeds)
	f.Add([]byte("event: ping\ndata: {}\n\n"))
	f.Add([]byte("data: {\"candidates\":[]}\n\ndata: [DONE]\n\n"))
	c := fuzzCall(f, model, true)
	f.Fuzz(func(t *testing.T, stream []byte) {
		prefix := openai.NewChunkPrefix(nil, "chatcmpl-1", 1, model)
		st := a.NewStream(c, &openai.ChunkWriter{Prefix: prefix, Exclude: c.Thinking.Exclude, Legacy: c.Legacy()})
		events := sse.NewReader(bytes.NewReader(stream), 1<<16)
		var out []byte
		for {
			ev, data, err := events.Next()
			if err != nil {
				if err == io.EOF {
					out, _ = st.End(out)
				}
				break
			}
			var e *llm.Error
			if out, e = st.Event(out, ev, data); e != nil || st.Done() {
				break
			}
		}
		for _, frame := range strings.Split(string(out), "\n\n") {
			if frame == "" {
				continue
			}
			data, ok := strings.CutPrefix(frame, "data: ")
			if !ok || strings.Contains(data, "\n") || !json.Valid([]byte(data)) {
				t.Fatalf("malformed frame %q from stream %q", frame, stream)
			}
		}
	})
}

func FuzzAnthropicStream(f *testing.F) {
	fuzzStream(f, Anthropic{}, "anthropic/claude-sonnet-4-5", "anthropic-streams")
}

func FuzzGeminiStream(f *testing.F) {
	fuzzStream(f, Gemini{}, "google/gemini-2.5-pro", "gemini-streams")
}

// FuzzBuildRequest feeds arbitrary chat requests through decoding, the
// call's resolution and both adapters' upstream bodies (tools, schemas,
// histories): a request is refused with a 400 or becomes valid JSON, never
// a panic or a malformed body.
func FuzzBuildRequest(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*", "request.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var chat llm.Request
		if e := openai.DecodeChat(body, &chat); e != nil {
			return
		}
		for _, id := range []string{"anthropic/claude-haiku-4-5", "anthropic/claude-opus-4-7", "google/gemini-3-flash", "google/gemini-2.5-pro"} {
			req := chat
			call, e := NewCall(&req, generated.Lookup(id))
			if e != nil {
				if e.Status != 400 {
					t.Fatalf("%s: status %d", id, e.Status)
				}
				continue
			}
			var a Adapter = Anthropic{}
			if strings.HasPrefix(id, "google/") {
				a = Gemini{}
			}
			r := fasthttp.AcquireRequest()
			out, e := a.BuildRequest(r, nil, call, &Upstream{BaseURL: "http://u", APIKey: "k"})
			fasthttp.ReleaseRequest(r)
			if e == nil && !json.Valid(out) {
				t.Fatalf("%s: invalid upstream body for %q:\n%s", id, body, out)
			}
			if e != nil && e.Status != 400 {
				t.Fatalf("%s: status %d", id, e.Status)
			}
		}
	})
}
