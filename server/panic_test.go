package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/emulator"
	emugemini "github.com/opentoken/opentoken/emulator/gemini"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/adapter"
)

// panicking is an adapter that fails as a bug would.
type panicking struct{ adapter.Anthropic }

func (panicking) BuildRequest(*fasthttp.Request, []byte, *adapter.Call, *adapter.Upstream) ([]byte, *llm.Error) {
	panic("adapter bug")
}

// TestPanicBecomes500 checks that a panic on the request path answers 500
// api_error with an event id that the log line carries too.
func TestPanicBecomes500(t *testing.T) {
	var log bytes.Buffer
	s, err := New(Options{APIKeys: []string{"k"}, Upstreams: anthropicOnly("http://127.0.0.1:1"), Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
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
	if got := string(ctx.Response.Header.Peek("X-Request-Id")); got != e.Error.EventID {
		t.Errorf("X-Request-Id %q, event_id %q: the 500 must name its request", got, e.Error.EventID)
	}
	if !strings.Contains(log.String(), e.Error.EventID) {
		t.Errorf("the log does not carry event_id %s:\n%s", e.Error.EventID, log.String())
	}
}

// panickingStream fails as a bug in a stream translator would.
type panickingStream struct{ adapter.Gemini }

func (panickingStream) NewStream(*adapter.Call, llm.StreamWriter) adapter.Stream { return &boom{} }

// boom translates its first event into a frame, which commits the
// stream, and panics on the next.
type boom struct{ events int }

func (b *boom) Event(dst []byte, _, _ []byte) ([]byte, *llm.Error) {
	if b.events++; b.events > 1 {
		panic("translator bug")
	}
	return append(dst, "data: {}\n\n"...), nil
}
func (*boom) Done() bool                      { return false }
func (*boom) End([]byte) ([]byte, *llm.Error) { return nil, nil }
func (*boom) Usage() llm.Usage                { return llm.Usage{} }
func (*boom) Finish() llm.Finish              { return llm.FinishStop }

// TestPanicInStream checks that a panic after the stream began ends only
// that stream, with an api_error frame and [DONE], and frees its resources.
func TestPanicInStream(t *testing.T) {
	emu, err := emulator.Start("127.0.0.1:0", emugemini.New("k").Handle)
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	ended := make(chan string, 1)
	var log bytes.Buffer
	s, err := New(Options{APIKeys: []string{"k"}, Upstreams: map[matrix.Provider][]adapter.Upstream{matrix.ProviderGoogle: {{BaseURL: emu.URL, APIKey: "k"}}},
		OnStreamEnd: func(r string) { ended <- r }, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s.upstreams[matrix.ProviderGoogle].adapter = panickingStream{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	defer s.Shutdown()
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/chat/completions",
		strings.NewReader(`{"model":"google/gemini-3-flash","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if !strings.Contains(string(body), `"type":"api_error"`) || !strings.HasSuffix(string(body), "data: [DONE]\n\n") {
		t.Errorf("stream after a panic: %s", body)
	}
	if r := <-ended; r != StreamPanic || s.ActiveStreams() != 0 {
		t.Errorf("ended %q with %d streams active", r, s.ActiveStreams())
	}
}

// TestReadyWithoutAnUpstream: a provider with no upstream is not ready;
// neither is a server that drains.
func TestReadyWithoutAnUpstream(t *testing.T) {
	s, err := New(Options{APIKeys: []string{"k"}, Upstreams: anthropicOnly("http://127.0.0.1:1")})
	if err != nil {
		t.Fatal(err)
	}
	get := func() (int, string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/ready")
		s.handle(&ctx)
		return ctx.Response.StatusCode(), string(ctx.Response.Body())
	}
	if status, body := get(); status != 503 || !strings.Contains(body, "no google upstream") {
		t.Errorf("gemini unconfigured: %d %s", status, body)
	}
	_ = s.Shutdown()
	if status, body := get(); status != 503 || body != `{"status":"draining"}` {
		t.Errorf("draining: %d %s", status, body)
	}
}

// anthropicOnly is an Upstreams option with one Anthropic upstream.
func anthropicOnly(url string) map[matrix.Provider][]adapter.Upstream {
	return map[matrix.Provider][]adapter.Upstream{matrix.ProviderAnthropic: {{BaseURL: url}}}
}
