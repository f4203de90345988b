// Package gatewaytest starts a gateway in front of the strict emulators, on
// loopback ports chosen by the kernel, for tests. Everything it starts is
// stopped by t.Cleanup.
package gatewaytest

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/emulator"
	emuanthropic "github.com/opentoken/opentoken/emulator/anthropic"
	emugemini "github.com/opentoken/opentoken/emulator/gemini"
	emuvertex "github.com/opentoken/opentoken/emulator/vertex"
	"github.com/opentoken/opentoken/internal/gcpauth"
	"github.com/opentoken/opentoken/internal/telemetry"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/tenancy"
)

// Keys used by the test gateway, and the Vertex project.
const (
	ClientKey     = "sk-optk-test-client-key"
	UpstreamKey   = "upstream-secret-key"
	VertexProject = "opentoken-test"
)

// Env is a running gateway with its emulated upstreams.
type Env struct {
	URL                     string // the gateway's origin, http://127.0.0.1:port
	Anthropic               *emuanthropic.Emulator
	Gemini                  *emugemini.Emulator
	AnthropicURL, GeminiURL string
	// Log holds everything the gateway logged.
	Log *SyncBuffer
	// Server is the gateway itself.
	Server *server.Server
	// Vertex is the Vertex AI emulator, when Options.VertexLocations
	// asked for one; VertexAuth is the gateway's token source for it.
	Vertex     *emuvertex.Emulator
	VertexURL  string
	VertexAuth *gcpauth.Source
}

// Options adjust the gateway under test.
type Options struct {
	// Limits are the gateway's; UpstreamTimeout defaults to 30 s here.
	Limits server.Limits
	// AnthropicURL and GeminiURL replace the emulators' addresses, to point
	// the gateway at a dead port.
	AnthropicURL, GeminiURL string
	OnStreamEnd             func(reason string)
	// Metrics is the server's option; AccessLog sends the access log to
	// Env.Log.
	Metrics, AccessLog bool
	// AccessLogFlush is the server's option: 0, each line written as its
	// request ends.
	AccessLogFlush time.Duration
	// Tenancy, when set, serves the keys it issued too.
	Tenancy *tenancy.Tenancy
	// CORSOrigins is the server's option.
	CORSOrigins []string
	// Responses keeps the Responses door's stored responses (a store.Store).
	Responses server.ResponseStore
	// OperatorRPM is the server's option: the operator keys' rate.
	OperatorRPM int64
	// Tracing is the server's option: the tracer, nil for none.
	Tracing *telemetry.Tracing
	// FetchAllow is the server's option: addresses the URL fetcher may
	// reach beyond public ones (a test's loopback server).
	FetchAllow func(netip.Addr) bool
	// VertexLocations, when set, start a Vertex AI emulator and add a
	// supplier per location to both providers, after their own APIs.
	VertexLocations []string
	// Suppliers, when set, replace the suppliers of a provider; the own
	// APIs' and Vertex's are in Env (AnthropicSupplier, …) to pick from.
	Suppliers func(env *Env) map[matrix.Provider][]adapter.Upstream
}

// Supplier returns the upstream of a named supplier of the test gateway:
// "anthropic", "gemini" or "vertex:<location>".
func (e *Env) Supplier(name string) adapter.Upstream {
	switch name {
	case "anthropic":
		return adapter.Upstream{BaseURL: e.AnthropicURL, APIKey: UpstreamKey}
	case "gemini":
		return adapter.Upstream{BaseURL: e.GeminiURL, APIKey: UpstreamKey}
	}
	location, _ := strings.CutPrefix(name, "vertex:")
	return adapter.Upstream{BaseURL: e.VertexURL, Kind: matrix.SupplierVertex,
		Vertex: &adapter.Vertex{Project: VertexProject, Location: location, Token: e.VertexAuth.Token}}
}

// Start runs a gateway and two emulators until the test ends.
func Start(t testing.TB, opt Options) *Env {
	t.Helper()
	env := &Env{Anthropic: emuanthropic.New(UpstreamKey), Gemini: emugemini.New(UpstreamKey), Log: &SyncBuffer{}}
	env.Anthropic.Requests.Enable()
	env.Gemini.Requests.Enable()
	ea := startEmulator(t, env.Anthropic.Handle)
	eg := startEmulator(t, env.Gemini.Handle)
	env.AnthropicURL, env.GeminiURL = ea.URL, eg.URL
	if opt.AnthropicURL != "" {
		env.AnthropicURL = opt.AnthropicURL
	}
	if opt.GeminiURL != "" {
		env.GeminiURL = opt.GeminiURL
	}
	if opt.Limits.UpstreamTimeout == 0 {
		opt.Limits.UpstreamTimeout = 30 * time.Second
	}
	upstreams := map[matrix.Provider][]adapter.Upstream{
		matrix.ProviderAnthropic: {env.Supplier("anthropic")},
		matrix.ProviderGoogle:    {env.Supplier("gemini")},
	}
	if len(opt.VertexLocations) > 0 || opt.Suppliers != nil {
		v, err := emuvertex.New(VertexProject)
		if err != nil {
			t.Fatal(err)
		}
		env.Vertex = v
		env.Vertex.Requests.Enable()
		env.VertexURL = startEmulator(t, v.Handle).URL
		if env.VertexAuth, err = gcpauth.FromJSON(v.Credentials(env.VertexURL)); err != nil {
			t.Fatal(err)
		}
		for _, l := range opt.VertexLocations {
			for p := range upstreams {
				upstreams[p] = append(upstreams[p], env.Supplier("vertex:"+l))
			}
		}
	}
	if opt.Suppliers != nil {
		upstreams = opt.Suppliers(env)
	}
	srv, err := server.New(server.Options{
		APIKeys:        []string{ClientKey, "sk-optk-second-key"},
		Upstreams:      upstreams,
		Limits:         opt.Limits,
		Tenancy:        opt.Tenancy,
		OnStreamEnd:    opt.OnStreamEnd,
		Metrics:        opt.Metrics,
		CORSOrigins:    opt.CORSOrigins,
		Responses:      opt.Responses,
		FetchAllow:     opt.FetchAllow,
		OperatorRPM:    opt.OperatorRPM,
		Tracing:        opt.Tracing,
		AccessLog:      accessLog(opt.AccessLog, env.Log),
		AccessLogFlush: opt.AccessLogFlush,
		Logger:         slog.New(slog.NewTextHandler(env.Log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env.URL = "http://" + ln.Addr().String()
	env.Server = srv
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		_ = srv.Shutdown()
		<-done
		NoSecret(t, "the gateway's log", env.Log.String())
	})
	return env
}

func startEmulator(t testing.TB, h fasthttp.RequestHandler) *emulator.Server {
	t.Helper()
	s, err := emulator.Start("127.0.0.1:0", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// DeadURL returns the origin of a loopback port that nothing listens on.
func DeadURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request to the gateway with the given bearer key ("" for none)
// and reads the whole answer.
func (e *Env) Do(t testing.TB, method, path, key string, body []byte) *Response {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return ReadResponse(t, resp)
}

// ReadResponse reads and closes resp's body, and fails the test if the
// answer carries the upstream key.
func ReadResponse(t testing.TB, resp *http.Response) *Response {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	NoSecret(t, "an answer", string(b))
	for k, v := range resp.Header {
		NoSecret(t, "answer header "+k, strings.Join(v, ","))
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// NoSecret fails the test if text carries the gateway's upstream key: no
// answer, frame or log line may, whatever an upstream quotes. Every helper
// that reads what the gateway said calls it.
func NoSecret(t testing.TB, what, text string) {
	t.Helper()
	if strings.Contains(text, UpstreamKey) {
		t.Errorf("%s carries the upstream key: %s", what, text)
	}
}

// Chat posts a chat completion with the client key.
func (e *Env) Chat(t testing.TB, body string) *Response {
	t.Helper()
	return e.Do(t, http.MethodPost, "/v1/chat/completions", ClientKey, []byte(body))
}

// SyncBuffer is a bytes.Buffer safe for a logger and a test to share.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func accessLog(on bool, w io.Writer) io.Writer {
	if on {
		return w
	}
	return nil
}

// AnthropicVersion is the anthropic-version the Messages helpers send.
const AnthropicVersion = "2023-06-01"

// Messages posts to a Messages door path (/v1/messages,
// /v1/messages/count_tokens) as the Anthropic SDKs do: the client key as
// x-api-key, anthropic-version, and each extra header given as name, value.
func (e *Env) Messages(t testing.TB, path, body string, headers ...string) *Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-api-key", ClientKey)
	req.Header.Set("anthropic-version", AnthropicVersion)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return ReadResponse(t, resp)
}
