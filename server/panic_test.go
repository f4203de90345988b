package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/openai"
)

// panicking is an adapter that fails as a bug would.
type panicking struct{ adapter.Anthropic }

func (panicking) BuildRequest(*fasthttp.Request, []byte, *adapter.Call, *adapter.Upstream) ([]byte, *openai.Error) {
	panic("adapter bug")
}

// TestPanicBecomes500 checks that a panic on the request path answers 500
// api_error with an event id that the log line carries too.
func TestPanicBecomes500(t *testing.T) {
	var log bytes.Buffer
	s, err := New(Options{APIKeys: []string{"k"}, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s.upstreams[matrix.ProviderAnthropic].adapter = panicking{}
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/v1/chat/completions")
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.Header.Set("Authorization", "Bearer k")
	ctx.Request.SetBodyString(`{"model":"anthropic/claude-haiku-4-5","messages":[{"role":"user","content":"hi"}]}`)
	s.handle(&ctx)
	if ctx.Response.StatusCode() != 500 {
		t.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	var e struct {
		Error struct {
			Type    string `json:"type"`
			EventID string `json:"event_id"`
		} `json:"error"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &e); err != nil || e.Error.Type != "api_error" || e.Error.EventID == "" {
		t.Fatalf("body %s", ctx.Response.Body())
	}
	if !strings.Contains(log.String(), e.Error.EventID) {
		t.Errorf("the log does not carry event_id %s:\n%s", e.Error.EventID, log.String())
	}
}
