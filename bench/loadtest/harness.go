package loadtest

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/store"
)

// Config is one harness run.
type Config struct {
	Root        string         // the module root, where binaries are built from
	Work        string         // scratch directory for binaries
	Trials      int            // interleaved rounds over every target
	Duration    time.Duration  // one measurement
	Warmup      time.Duration  // before each target's measurements in a round
	Concurrency int            // the fixed concurrency of the throughput run
	Rate        int            // the open-loop rate, requests/s, well below every target's saturation
	Sweep       []int          // concurrencies of the saturation sweep
	Latency     time.Duration  // the mock's fixed latency
	Portkey     string         // directory of an installed @portkey-ai/gateway; "" to skip
	Only        *regexp.Regexp // when set, only the targets whose names match are measured, and direct
	Log         func(format string, args ...any)
}

// Measured is everything the report shows about one target.
type Measured struct {
	Target   *Target
	Conc1    []*Result // concurrency 1, per trial
	ConcN    []*Result // Config.Concurrency, per trial
	OpenLoop []*Result // Config.Rate, per trial
	Sweep    map[int]float64
	PeakRSS  int64
	// Anon and File split the resident set after the saturation sweep:
	// heaps and stacks, and the touched pages of the executable.
	Anon, File int64
	ColdStart  time.Duration
	StreamTTFB time.Duration // p50 time to first byte of a stream
	StreamFull time.Duration // p50 time to the end of a stream
}

// Run is a whole harness run's outcome.
type Run struct {
	Config   Config
	Measured []*Measured
	Stream   []*Measured
	Notes    []string
	Chunks   int
	Started  time.Time
}

const (
	benchKey    = "sk-optk-bench-client-key"
	upstreamKey = "mock-upstream-key"
)

// requestTemplate is a realistic 1.1 KB chat request carrying the whole
// sampling superset, with MODEL in place of the model id. The benchmarks in
// bench/ send the same bytes.
//
//go:embed request-1k.json
var requestTemplate []byte

// GatewayRequest returns the 1.1 KB superset request for model.
func GatewayRequest(model string) []byte {
	return bytes.Replace(bytes.TrimSpace(requestTemplate), []byte("MODEL"), []byte(model), 1)
}

// nativeBody is the same conversation in Anthropic's shape, for the direct
// call and the bare proxy.
var nativeBody = []byte(`{"model":"claude-sonnet-4-5","max_tokens":512,"system":[{"type":"text","text":"You are a concise assistant for a logistics company. Answer in plain English, cite shipment ids when you use them, and never invent tracking numbers."}],"messages":[{"role":"user","content":"Shipment SH-20931 left Rotterdam on Monday and was due in Hamburg on Wednesday. The carrier portal still shows it as in transit. What are the likely causes, and what should I ask the carrier?"},{"role":"assistant","content":"Likely causes are a missed scan at the Hamburg hub, a customs hold, or a rerouting through Bremen. Ask the carrier for the last physical scan location and time."},{"role":"user","content":"They say the last scan was Bremen on Tuesday night. Draft a short, polite follow-up asking for an ETA and whether customs is involved."}],"temperature":0.7,"top_k":40,"stop_sequences":["\n\nUser:","END"]}`)

// Execute runs the harness: it builds and starts every target, measures
// them interleaved, and stops everything it started.
func Execute(cfg Config) (*Run, error) {
	run := &Run{Config: cfg, Started: time.Now(), Chunks: 32}
	logf := cfg.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	gw, proxyBin, err := build(cfg.Root, cfg.Work)
	if err != nil {
		return nil, err
	}
	mockAddr, stopMock, err := startMock(cfg.Latency, run.Chunks)
	if err != nil {
		return nil, err
	}
	defer stopMock()
	mockURL := "http://" + mockAddr

	var procs []*Process
	defer func() {
		for _, p := range procs {
			p.Stop()
		}
	}()
	ready, closeProbe := readiness()
	defer closeProbe()

	direct := &Target{Name: "direct (mock)", URL: mockURL + "/v1/messages", Body: nativeBody}
	directGemini := &Target{Name: "direct (mock, Gemini shape)", URL: mockURL + "/v1beta/models/gemini-2.5-pro:generateContent",
		Body: []byte(`{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`)}

	bare, proxyAddr, err := startBare(proxyBin, mockAddr, ready)
	if err != nil {
		return nil, err
	}
	procs = append(procs, bare.Process)

	gwAddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	auth := map[string]string{"Authorization": "Bearer " + benchKey}
	claude := &Target{Name: "OpenToken → Claude", URL: "http://" + gwAddr + "/v1/chat/completions", Header: auth, Body: GatewayRequest("anthropic/claude-sonnet-4-5")}
	gemini := &Target{Name: "OpenToken → Gemini", URL: claude.URL, Header: auth, Body: GatewayRequest("google/gemini-2.5-pro")}
	env := []string{"OPENTOKEN_API_KEYS=" + benchKey,
		"ANTHROPIC_API_KEY=" + upstreamKey, "ANTHROPIC_BASE_URL=" + mockURL,
		"GEMINI_API_KEY=" + upstreamKey, "GEMINI_BASE_URL=" + mockURL}
	// The gateway as operators run it: metrics served, the access log on
	// (to the process's stderr, discarded here as a log shipper would read it).
	if claude.Process, err = Start(gw, nil, append(env, "OPENTOKEN_ADDR="+gwAddr, "OPENTOKEN_METRICS=on", "OPENTOKEN_ACCESS_LOG=on"),
		ready(claude), 10*time.Second); err != nil {
		return nil, err
	}
	gemini.Process = claude.Process
	procs = append(procs, claude.Process)
	// The same with the access log off, to show what the log costs.
	quietAddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	quiet := &Target{Name: "OpenToken → Claude, access log off", URL: "http://" + quietAddr + "/v1/chat/completions", Header: auth, Body: claude.Body}
	if quiet.Process, err = Start(gw, nil, append(env, "OPENTOKEN_ADDR="+quietAddr, "OPENTOKEN_ACCESS_LOG=off"), ready(quiet), 10*time.Second); err != nil {
		return nil, err
	}
	procs = append(procs, quiet.Process)

	// The same as quiet with an issued key: the tenancy check (and its
	// spend limit) on every request and every answer written to the
	// ledger (SQLite).
	tenant, err := startTenant(gw, tenantTarget, env, quiet.Body, ready)
	if err != nil {
		return nil, err
	}
	procs = append(procs, tenant.Process)

	// A production gateway: the issued key, its spend limit and the ledger
	// with the access log and metrics on too.
	full, err := startTenant(gw, fullTarget, append(env, "OPENTOKEN_METRICS=on", "OPENTOKEN_ACCESS_LOG=on"), quiet.Body, ready)
	if err != nil {
		return nil, err
	}
	procs = append(procs, full.Process)

	// The same as quiet with every request traced: every span sampled
	// and exported to an OTLP collector (a sink in this process that takes
	// and discards them), to show what tracing costs.
	traced, err := startTraced(gw, env, quiet.Body, ready)
	if err != nil {
		return nil, err
	}
	procs = append(procs, traced.Process)

	targets := []*Target{direct, directGemini, bare, claude, quiet, tenant, full, traced, gemini}
	if cfg.Portkey != "" {
		if pk, err := startPortkey(cfg.Portkey, mockURL, ready); err != nil {
			run.Notes = append(run.Notes, "Portkey skipped: "+err.Error())
		} else {
			procs = append(procs, pk.Process)
			targets = append(targets, pk)
		}
	} else {
		run.Notes = append(run.Notes, "Portkey skipped: not installed (run without -no-portkey to install it with npm)")
	}

	for _, t := range targets {
		if cfg.Only != nil && !cfg.Only.MatchString(t.Name) && t != direct { // every latency is shown against direct's
			continue
		}
		m := &Measured{Target: t, Sweep: map[int]float64{}}
		if t.Process != nil {
			m.ColdStart = t.Process.ColdStart
		}
		run.Measured = append(run.Measured, m)
	}
	for trial := 1; trial <= cfg.Trials; trial++ {
		for _, m := range run.Measured {
			logf("trial %d/%d: %s", trial, cfg.Trials, m.Target.Name)
			Closed(m.Target, cfg.Concurrency, cfg.Warmup)
			m.Conc1 = append(m.Conc1, Closed(m.Target, 1, cfg.Duration))
			m.ConcN = append(m.ConcN, Closed(m.Target, cfg.Concurrency, cfg.Duration))
			m.OpenLoop = append(m.OpenLoop, Open(m.Target, cfg.Rate, cfg.Duration))
		}
	}
	for _, c := range cfg.Sweep {
		for _, m := range run.Measured {
			logf("sweep c=%d: %s", c, m.Target.Name)
			m.Sweep[c] = Closed(m.Target, c, cfg.Duration).Throughput()
		}
	}
	for _, m := range run.Measured {
		if m.Target.Process != nil {
			m.PeakRSS = m.Target.Process.PeakRSS()
			m.Anon, m.File = m.Target.Process.Resident()
		}
	}

	streamTargets := []*Target{
		{Name: "direct (mock)", URL: mockURL + "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", Body: directGemini.Body, Stream: true},
		{Name: "bare fasthttp proxy", URL: "http://" + proxyAddr + "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", Body: directGemini.Body, Stream: true, Process: bare.Process},
		{Name: "OpenToken → Gemini", URL: claude.URL, Header: auth, Body: bytes.Replace(GatewayRequest("google/gemini-2.5-pro"), []byte(`"stream":false`), []byte(`"stream":true`), 1), Stream: true, Process: claude.Process},
	}
	for _, t := range streamTargets {
		if cfg.Only != nil && !cfg.Only.MatchString(t.Name) {
			continue
		}
		Closed(t, 1, cfg.Warmup)
		r := Closed(t, 1, cfg.Duration)
		if r.Errors > 0 {
			return nil, fmt.Errorf("streaming %s: %d errors: %s", t.Name, r.Errors, r.FirstError)
		}
		run.Stream = append(run.Stream, &Measured{Target: t, StreamTTFB: Percentile(r.FirstByte, 0.5), StreamFull: Percentile(r.Latencies, 0.5)})
	}
	for _, m := range run.Measured {
		for _, r := range append(append(m.Conc1, m.ConcN...), m.OpenLoop...) {
			if r.Errors > 0 {
				run.Notes = append(run.Notes, fmt.Sprintf("%s: %d of %d requests failed (%s)", m.Target.Name, r.Errors, r.Requests, r.FirstError))
				break
			}
		}
	}
	return run, nil
}

// build builds the gateway and the bare proxy from root into work and
// returns the two binaries.
func build(root, work string) (gw, proxy string, err error) {
	gw, proxy = filepath.Join(work, "opentoken"), filepath.Join(work, "bareproxy")
	for bin, pkg := range map[string]string{gw: "./cmd/opentoken", proxy: "./bench/cmd/bareproxy"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return gw, proxy, nil
}

// startMock serves the mock upstream on a free loopback port, streams of
// chunks pieces, until stop.
func startMock(latency time.Duration, chunks int) (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &fasthttp.Server{Handler: NewMock(latency, 600, chunks).Handle, NoDefaultServerHeader: true, Concurrency: 1 << 16}
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), func() { _ = srv.Shutdown() }, nil
}

// readiness returns the check Start waits on for a target: one real
// request that succeeds.
func readiness() (ready func(*Target) func() error, closeProbe func()) {
	probe := newClient(4)
	return func(t *Target) func() error {
		return func() error { _, err := once(probe, t); return err }
	}, probe.CloseIdleConnections
}

// startBare starts the bare proxy in front of the mock at mockAddr.
func startBare(bin, mockAddr string, ready func(*Target) func() error) (*Target, string, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, "", err
	}
	t := &Target{Name: "bare fasthttp proxy", URL: "http://" + addr + "/v1/messages", Body: nativeBody}
	t.Process, err = Start(bin, []string{"-listen", addr, "-upstream", mockAddr}, nil, ready(t), 10*time.Second)
	return t, addr, err
}

// startPortkey runs the Portkey gateway installed in dir, pointed at the
// mock through its custom-host header.
func startPortkey(dir, mockURL string, ready func(*Target) func() error) (*Target, error) {
	script := filepath.Join(dir, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js")
	if _, err := os.Stat(script); err != nil {
		return nil, errors.New("not installed in " + dir)
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	t := &Target{Name: "Portkey → Claude", URL: "http://" + addr + "/v1/chat/completions",
		Header: map[string]string{"x-portkey-provider": "anthropic", "x-portkey-custom-host": mockURL + "/v1",
			"Authorization": "Bearer " + upstreamKey},
		Body: GatewayRequest("claude-sonnet-4-5")}
	t.Process, err = Start("node", []string{script, "--port=" + port, "--headless"}, []string{"NODE_ENV=production"}, ready(t), 30*time.Second)
	return t, err
}

// tracedTarget names the gateway tracing every request.
const tracedTarget = "OpenToken → Claude, access log off, every request traced"

// startTraced starts an OTLP/HTTP sink and a gateway that sends it a
// span of every request and of its upstream attempt.
func startTraced(gw string, env []string, body []byte, ready func(*Target) func() error) (*Target, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	sink := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.SetContentType("application/x-protobuf") // an empty ExportTraceServiceResponse
	}, MaxRequestBodySize: 64 << 20}
	go func() { _ = sink.Serve(ln) }()
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	t := &Target{Name: tracedTarget, URL: "http://" + addr + "/v1/chat/completions", Header: map[string]string{"Authorization": "Bearer " + benchKey}, Body: body}
	t.Process, err = Start(gw, nil, append(env, "OPENTOKEN_ADDR="+addr, "OPENTOKEN_ACCESS_LOG=off",
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+ln.Addr().String(), "OTEL_TRACES_SAMPLER=always_on"), ready(t), 10*time.Second)
	return t, err
}

// tenantTarget names the gateway serving an issued key.
const tenantTarget = "OpenToken → Claude, issued key (tenancy), access log off"

// fullTarget names the gateway with every feature on but traces.
const fullTarget = "OpenToken → Claude, every feature on (access log, metrics, issued key, ledger)"

// startTenant starts a gateway whose database holds a funded workspace and
// an issued key, and the target called name that uses that key. The
// access log is off unless env turns it on.
func startTenant(gw, name string, env []string, body []byte, ready func(*Target) func() error) (*Target, error) {
	dir, err := os.MkdirTemp("", "opentoken-tenancy-")
	if err != nil {
		return nil, err
	}
	url := "sqlite://" + filepath.Join(dir, "opentoken.db")
	ctx := context.Background()
	db, err := store.Open(ctx, url)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return nil, err
	}
	if _, err := db.CreateWorkspace(ctx, "bench"); err != nil {
		return nil, err
	}
	if err := db.AddCredit(ctx, "bench", store.FromDollars(1e6), "bench"); err != nil {
		return nil, err
	}
	// With a daily spend limit, so that every request also passes the
	// limit's lease (tenancy/lease.go); the limit is far above what the run
	// spends.
	limit := store.FromDollars(1e6)
	_, secret, err := db.CreateKey(ctx, store.NewKey{Workspace: "bench", Name: "bench", SpendLimit: &limit, LimitReset: store.ResetDaily})
	if err != nil {
		return nil, err
	}
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	t := &Target{Name: name, URL: "http://" + addr + "/v1/chat/completions",
		Header: map[string]string{"Authorization": "Bearer " + secret}, Body: body}
	if t.Process, err = Start(gw, nil, append([]string{"OPENTOKEN_ACCESS_LOG=off"}, append(env, "OPENTOKEN_ADDR="+addr, "OPENTOKEN_DATABASE_URL="+url)...),
		ready(t), 10*time.Second); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	t.Process.Remove = append(t.Process.Remove, dir)
	return t, nil
}
