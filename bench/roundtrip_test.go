// BenchmarkRoundTrip measures whole requests in one process: a fasthttp
// client → OpenToken (or the bare proxy, as the baseline) → the mock
// upstream, so that a CPU profile of it shows where the gateway's own time
// goes beside the cost of a plain hop.
//
//	go test ./bench -run '^$' -bench RoundTrip -benchmem -cpuprofile cpu.out
package bench

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/bench/loadtest"
	"github.com/opentoken/opentoken/internal/telemetry"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
)

func serve(b testing.TB, h fasthttp.RequestHandler) string {
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
	return gatewayWith(b, mock, logged, nil)
}

// gatewayWith is gateway serving tn's issued keys too.
func gatewayWith(b testing.TB, mock string, logged bool, tn *tenancy.Tenancy) string {
	return gatewayOf(b, mock, logged, tn, false)
}

// gatewayOf is gatewayWith, where failover gives every model a second
// supplier (a Vertex location, never reached while the first answers):
// the attempt loop with its breakers, on the path of a first-attempt
// success.
func gatewayOf(b testing.TB, mock string, logged bool, tn *tenancy.Tenancy, failover bool) string {
	return gatewayTraced(b, mock, logged, tn, failover, nil)
}

// tracedTo is tracing of every request as the environment sets it up
// in production (OTLP/HTTP), to a collector that takes and discards the
// spans.
func tracedTo(b testing.TB) *telemetry.Tracing {
	sink := serve(b, func(ctx *fasthttp.RequestCtx) { ctx.SetContentType("application/x-protobuf") })
	b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+sink)
	tr, err := telemetry.FromEnv(context.Background(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr
}

// gatewayTraced is gatewayOf, traced by tr when it is set.
func gatewayTraced(b testing.TB, mock string, logged bool, tn *tenancy.Tenancy, failover bool, tr *telemetry.Tracing) string {
	upstreams := map[matrix.Provider][]adapter.Upstream{
		matrix.ProviderAnthropic: {{BaseURL: "http://" + mock, APIKey: "u"}},
		matrix.ProviderGoogle:    {{BaseURL: "http://" + mock, APIKey: "u"}},
	}
	if failover {
		for p := range upstreams {
			upstreams[p] = append(upstreams[p], adapter.Upstream{BaseURL: "http://" + mock, Kind: matrix.SupplierVertex,
				Vertex: &adapter.Vertex{Project: "bench", Location: "global", Token: func() (string, error) { return "t", nil }}})
		}
	}
	gw, err := server.New(server.Options{
		Tenancy:   tn,
		APIKeys:   []string{"k"},
		Upstreams: upstreams,
		AccessLog: accessTo(logged),
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Tracing:   tr,
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
	tn, issued := issuedKey(b)
	tenant := gatewayWith(b, mock, false, tn)
	failover := gatewayOf(b, mock, false, nil, true)
	traced := gatewayTraced(b, mock, false, nil, false, tracedTo(b))

	claude := loadtest.GatewayRequest("anthropic/claude-sonnet-4-5")
	native := []byte(`{"model":"claude-sonnet-4-5","max_tokens":512,"messages":[{"role":"user","content":"hi"}]}`)
	// The same conversation through each front door, for their ratio.
	small := `"max_tokens":512,"temperature":0.4,"messages":[{"role":"user","content":"hi"}]`
	chatSmall := []byte(`{"model":"anthropic/claude-sonnet-4-5",` + small + `}`)
	messagesSmall := []byte(`{"model":"claude-sonnet-4-5",` + small + `}`)
	responsesSmall := []byte(`{"model":"anthropic/claude-sonnet-4-5","max_output_tokens":512,"temperature":0.4,"store":false,"input":[{"role":"user","content":"hi"}]}`)
	cases := []struct {
		name, url string
		body      []byte
		key       string
	}{
		{"bare-proxy", "http://" + proxy + "/v1/messages", native, "k"},
		{"opentoken-claude", "http://" + plain + "/v1/chat/completions", claude, "k"},
		{"opentoken-claude-access-log", "http://" + logged + "/v1/chat/completions", claude, "k"},
		// An issued key with a spend limit: the tenancy check, the limit's
		// lease, and the ledger written to SQLite (on another core).
		{"opentoken-claude-issued-key", "http://" + tenant + "/v1/chat/completions", claude, issued},
		// Two suppliers: the attempt loop, its breaker and budget, served
		// by the first.
		{"opentoken-claude-two-suppliers", "http://" + failover + "/v1/chat/completions", claude, "k"},
		// Every request traced: a server span, an attempt's client span,
		// both exported.
		{"opentoken-claude-traced", "http://" + traced + "/v1/chat/completions", claude, "k"},
		{"door-chat", "http://" + plain + "/v1/chat/completions", chatSmall, "k"},
		{"door-messages", "http://" + plain + "/v1/messages", messagesSmall, "k"},
		{"door-responses", "http://" + plain + "/v1/responses", responsesSmall, "k"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			client := &fasthttp.Client{ReadTimeout: time.Minute}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			req.SetRequestURI(c.url)
			req.Header.SetMethod("POST")
			req.Header.Set("Authorization", "Bearer "+c.key)
			req.Header.Set("anthropic-version", "2023-06-01") // read by the Messages door only
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

// issuedKey starts tenancy on a fresh SQLite database holding a funded
// workspace and a key with a daily limit far above what a run spends.
func issuedKey(b testing.TB) (*tenancy.Tenancy, string) {
	ctx := context.Background()
	dir := b.TempDir()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := db.CreateWorkspace(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	if err := db.AddCredit(ctx, "bench", store.FromDollars(1e6), "bench"); err != nil {
		b.Fatal(err)
	}
	limit := store.FromDollars(1e6)
	_, secret, err := db.CreateKey(ctx, store.NewKey{Workspace: "bench", Name: "bench", SpendLimit: &limit, LimitReset: store.ResetDaily})
	if err != nil {
		b.Fatal(err)
	}
	tn, err := tenancy.Start(ctx, tenancy.Options{Store: db, SpillPath: filepath.Join(dir, "spill"),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tn.Close() })
	return tn, secret
}

func accessTo(on bool) io.Writer {
	if on {
		return io.Discard
	}
	return nil
}
