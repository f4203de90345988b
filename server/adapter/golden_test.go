package adapter

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/goldentest"
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
	request := goldentest.Read(t, filepath.Join(dir, "request.json"))
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
	goldentest.JSON(t, *update, filepath.Join(dir, "upstream_request.json"), sent)

	if answer, err := os.ReadFile(filepath.Join(dir, "upstream_response.json")); err == nil {
		var out llm.Completion
		var got []byte
		if err := a.ParseResponse(call, answer, &out); err != nil {
			got, _ = json.Marshal(map[string]string{"unreadable": err.Error()})
		} else {
			out.Legacy = call.Legacy()
			got = openai.AppendCompletion(nil, "chatcmpl-golden", 1700000000, chat.Model, &out, !call.Thinking.Exclude)
		}
		goldentest.JSON(t, *update, filepath.Join(dir, "response.json"), got)
	}
	if stream, err := os.ReadFile(filepath.Join(dir, "upstream_response.sse")); err == nil {
		goldentest.Stream(t, *update, filepath.Join(dir, "response.sse"), translateStream(a, call, chat.Model, stream))
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

func mustJSON(t *testing.T, v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
