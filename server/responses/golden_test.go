package responses_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/goldentest"
	"github.com/opentoken/opentoken/internal/sse"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/responses"
)

var update = flag.Bool("update", false, "rewrite the Responses wire goldens under testdata/<provider>/")

// The goldens seal reasoning openly (base64 of its JSON), so that their
// encrypted_content is the same on every run; the gateway's sealer is
// internal/seal's, tested on its own.
func fakeSeal(d []llm.ReasoningDetail) string {
	return "sealed:" + base64.StdEncoding.EncodeToString(responses.SealDetails(d))
}

func fakeOpen(s string) ([]llm.ReasoningDetail, error) {
	raw, ok := strings.CutPrefix(s, "sealed:")
	if !ok {
		return nil, errors.New("not sealed")
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, err
	}
	return responses.OpenDetails(b)
}

// TestWireGoldens runs every case under testdata/<provider>/<case>/, the
// Responses door's beside the chat and Messages doors':
//
//	request.json            the client's Responses request
//	upstream_request.json   what the gateway sends upstream (url and body)
//	upstream_response.json  an upstream answer, buffered, or
//	upstream_response.sse   an upstream answer, streamed
//	response.json           the response object the client gets, or
//	response.sse            the event stream it gets
//
// go test ./server/responses -update rewrites the outputs.
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

func goldenCase(t *testing.T, a adapter.Adapter, dir string) {
	var req llm.Request
	var dec responses.Decoded
	if e := responses.Decode(goldentest.Read(t, filepath.Join(dir, "request.json")), nil, &req, &dec, fakeOpen); e != nil {
		t.Fatalf("request.json: %s (%s)", e.Message, e.Param)
	}
	m := generated.Lookup(dec.Model)
	req.Model = m.ID
	call, e := adapter.NewCall(&req, m)
	if e != nil {
		t.Fatalf("request.json: %s", e.Message)
	}
	hr := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(hr)
	body, e := a.BuildRequest(hr, nil, call, &adapter.Upstream{BaseURL: "https://upstream.test", APIKey: "upstream-key"})
	if e != nil {
		t.Fatalf("BuildRequest: %s", e.Message)
	}
	sent, _ := json.Marshal(map[string]any{"url": string(hr.URI().FullURI()), "body": json.RawMessage(body)})
	goldentest.JSON(t, *update, filepath.Join(dir, "upstream_request.json"), sent)

	meta := &responses.Meta{ID: "resp_golden", CreatedAt: 1700000000, Model: dec.Model, Request: &dec}
	if dec.EncryptedReasoning {
		meta.Seal = fakeSeal
	}
	if answer, err := os.ReadFile(filepath.Join(dir, "upstream_response.json")); err == nil {
		var out llm.Completion
		if err := a.ParseResponse(call, answer, &out); err != nil {
			t.Fatalf("upstream_response.json: %v", err)
		}
		goldentest.JSON(t, *update, filepath.Join(dir, "response.json"), responses.AppendResponse(nil, meta, &out))
	}
	if stream, err := os.ReadFile(filepath.Join(dir, "upstream_response.sse")); err == nil {
		goldentest.Stream(t, *update, filepath.Join(dir, "response.sse"), translateStream(a, call, meta, stream))
	}
}

// translateStream runs an upstream stream through a's translator as the
// server does: frames held until the first content, then Start.
func translateStream(a adapter.Adapter, call *adapter.Call, meta *responses.Meta, stream []byte) []byte {
	w := responses.NewEventWriter(meta)
	st := a.NewStream(call, w)
	events := sse.NewReader(bytes.NewReader(stream), 1<<20)
	var held []byte
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
		if st.Done() {
			held, e = st.End(held)
			break
		}
	}
	if e != nil {
		held = w.Fail(held, e)
	}
	u := st.Usage()
	return w.Close(append(w.Start(nil, &u), held...))
}
