package anthropic_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/goldentest"
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
	if e := anthropic.Decode(goldentest.Read(t, filepath.Join(dir, "request.json")), &req, &dec, false); e != nil {
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
	goldentest.JSON(t, *update, filepath.Join(dir, "upstream_request.json"), sent)

	if answer, err := os.ReadFile(filepath.Join(dir, "upstream_response.json")); err == nil {
		var out llm.Completion
		if err := a.ParseResponse(call, answer, &out); err != nil {
			t.Fatalf("upstream_response.json: %v", err)
		}
		goldentest.JSON(t, *update, filepath.Join(dir, "response.json"), anthropic.AppendMessage(nil, "msg_golden", dec.Model, &out))
	}
	if stream, err := os.ReadFile(filepath.Join(dir, "upstream_response.sse")); err == nil {
		goldentest.Stream(t, *update, filepath.Join(dir, "response.sse"), translateStream(a, call, dec.Model, stream))
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
