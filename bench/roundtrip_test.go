// BenchmarkRoundTrip measures whole requests in one process: a fasthttp
// client → OpenToken (or the bare proxy, as the baseline) → the mock
// upstream, so that a CPU profile of it shows where the gateway's own time
// goes beside the cost of a plain hop.
//
//	go test ./bench -run '^$' -bench RoundTrip -benchmem -cpuprofile cpu.out
package bench

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/bench/loadtest"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server"
	"github.com/opentoken/opentoken/server/adapter"
)

func serve(b *testing.B, h fasthttp.RequestHandler) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h, NoDefaultServerHeader: true}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

// gateway starts an OpenToken server in front of mock and returns its
// address; logged turns the access log on (the metrics are always kept).
func gateway(b *testing.B, mock string, logged bool) string {
	gw, err := server.New(server.Options{
		APIKeys: []string{"k"},
		Upstreams: map[matrix.Provider][]adapter.Upstream{
			matrix.ProviderAnthropic: {{BaseURL: "http://" + mock, APIKey: "u"}},
			matrix.ProviderGoogle:    {{BaseURL: "http://" + mock, APIKey: "u"}},
		},
		AccessLog: accessTo(logged),
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = gw.Serve(ln) }()
	b.Cleanup(func() { _ = gw.Shutdown() })
	return ln.Addr().String()
}

func BenchmarkRoundTrip(b *testing.B) {
	mock := serve(b, loadtest.NewMock(0, 600, 8).Handle)
	plain, logged := gateway(b, mock, false), gateway(b, mock, true)
	proxy := serve(b, loadtest.NewBareProxy(mock).Handle)

	claude := loadtest.GatewayRequest("anthropic/claude-sonnet-4-5")
	native := []byte(`{"model":"claude-sonnet-4-5","max_tokens":512,"messages":[{"role":"user","content":"hi"}]}`)
	cases := []struct {
		name, url string
		body      []byte
	}{
		{"bare-proxy", "http://" + proxy + "/v1/messages", native},
		{"opentoken-claude", "http://" + plain + "/v1/chat/completions", claude},
		{"opentoken-claude-access-log", "http://" + logged + "/v1/chat/completions", claude},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			client := &fasthttp.Client{ReadTimeout: time.Minute}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI(c.url)
			req.Header.SetMethod("POST")
			req.Header.Set("Authorization", "Bearer k")
			req.SetBodyRaw(c.body)
			b.ReportAllocs()
			for b.Loop() {
				if err := client.Do(req, resp); err != nil || resp.StatusCode() != 200 {
					b.Fatalf("%v %d %s", err, resp.StatusCode(), resp.Body())
				}
			}
		})
	}
}

func accessTo(on bool) io.Writer {
	if on {
		return io.Discard
	}
	return nil
}
