// Package gateway owns the assembly of one OpenToken process: it reads the
// settings (the environment and an optional TOML file, config.go), checks
// that they are safe to serve, starts the built-in upstream emulators for
// providers without a key, builds the server with every provider's
// upstreams, and runs it until its context ends.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime/debug"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/admin"
	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/gcpauth"
	"github.com/opentoken/opentoken/internal/seal"
	"github.com/opentoken/opentoken/internal/telemetry"
	"github.com/opentoken/opentoken/server"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/console"
	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
)

// DemoKey is the client key accepted when no keys are configured and every
// upstream is emulated, so that a fresh checkout answers at once.
const DemoKey = "sk-optk-demo"

// emulatorKey is the credential the gateway and its embedded emulators share.
const emulatorKey = "emulator-key"

// Gateway is a running gateway.
type Gateway struct {
	Addr      string // the listening address, host:port
	APIKeys   []string
	srv       *server.Server
	ln        net.Listener
	emulators []*emulator.Server
	pprof     *http.Server
	console   *http.Server
	tracing   *telemetry.Tracing
	store     store.Store
	tenancy   *tenancy.Tenancy
	tokens    []*gcpauth.Source // Vertex AI's, refreshed until Close
	done      chan error
	// PprofAddr is where the profiler listens, when it does.
	PprofAddr string
	// ConsoleAddr is where the web console listens, when it does.
	ConsoleAddr string
	// stopPurge stops the hourly purge of expired stored responses.
	stopPurge func()
}

// Start builds and starts the gateway for cfg.
func Start(cfg *Config, log *slog.Logger) (*Gateway, error) {
	if err := Check(cfg); err != nil {
		return nil, err
	}
	suppliers, err := plan(cfg)
	if err != nil {
		return nil, err
	}
	g := &Gateway{APIKeys: cfg.APIKeys, done: make(chan error, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	demo := len(g.APIKeys) == 0 && !realUpstream(cfg)
	if err := g.startTenancy(ctx, cfg, log, demo); err != nil {
		return nil, err
	}
	if demo {
		log.Warn("no client keys configured and every upstream is emulated: accepting the demo key, of the demo workspace", "key", DemoKey)
	}
	upstreams, err := g.startSuppliers(cfg, suppliers, log)
	if err != nil {
		g.closeEmulators()
		g.closeTenancy()
		return nil, err
	}
	var accessLog io.Writer
	if cfg.AccessLog && cfg.LogLevel <= slog.LevelInfo {
		accessLog = os.Stderr // beside the log, in its format, at level INFO
	}
	sealer, err := g.sealer(ctx, cfg)
	if err != nil {
		g.closeEmulators()
		g.closeTenancy()
		return nil, err
	}
	tracing, err := telemetry.FromEnv(ctx, buildVersion())
	if err != nil {
		g.closeEmulators()
		g.closeTenancy()
		return nil, err
	}
	if tracing != nil {
		g.tracing = tracing
		log.Info("tracing: spans go to the OTLP endpoint the OTEL_* variables name")
	}
	srv, err := server.New(server.Options{
		APIKeys:   g.APIKeys,
		Tenancy:   g.tenancy,
		Upstreams: upstreams,
		Limits:    cfg.Limits, Metrics: cfg.Metrics, AccessLog: accessLog, AccessLogJSON: cfg.LogFormat == "json", AccessLogFlush: cfg.AccessLogFlush, Logger: log,
		CORSOrigins: cfg.CORSOrigins,
		Sealer:      sealer,
		Responses:   g.store,
		OperatorRPM: cfg.OperatorRPM,
		Tracing:     tracing,
	})
	if err != nil {
		g.closeTracing()
		g.closeEmulators()
		g.closeTenancy()
		return nil, err
	}
	ln, err := listen("OPENTOKEN_ADDR", cfg.Addr)
	if err != nil {
		_ = srv.Shutdown()
		g.closeEmulators()
		g.closeTenancy()
		g.closeTracing()
		return nil, err
	}
	g.srv, g.ln, g.Addr = srv, ln, ln.Addr().String()
	if cfg.PprofAddr != "" {
		if err := g.servePprof(cfg.PprofAddr, log); err != nil {
			_ = srv.Shutdown()
			_ = ln.Close()
			g.closeEmulators()
			g.closeTenancy()
			g.closeTracing()
			return nil, err
		}
	}
	if cfg.ConsoleAddr != "" {
		if err := g.serveConsole(cfg.ConsoleAddr, sealer, log); err != nil {
			_ = srv.Shutdown()
			_ = ln.Close()
			if g.pprof != nil {
				_ = g.pprof.Close()
			}
			g.closeEmulators()
			g.closeTenancy()
			g.closeTracing()
			return nil, err
		}
	}
	g.purgeResponses(log)
	go func() { g.done <- srv.Serve(ln) }()
	log.Info("OpenToken is serving", "url", "http://"+g.Addr+"/v1")
	return g, nil
}

// MinKeyLength is the shortest upstream or client key the gateway takes.
// Real keys are far longer (Anthropic's about 100 characters, Gemini's
// 39), and every configured key is replaced by a placeholder in whatever
// the gateway writes: a short one would mangle text (with a key "x",
// every x).
const MinKeyLength = 16

// Check reports whether cfg is safe to serve, beyond what Load checks of
// each setting alone. Start and check-config both run it.
func Check(cfg *Config) error {
	var errs []error
	if len(cfg.APIKeys) == 0 && realUpstream(cfg) {
		errs = append(errs, errors.New("refusing to start: an upstream API key is set but OPENTOKEN_API_KEYS is empty, "+
			"so anyone who can reach the gateway could spend that upstream's credit; set OPENTOKEN_API_KEYS"))
	}
	short := func(setting, key string) {
		if key != "" && len(key) < MinKeyLength {
			errs = append(errs, fmt.Errorf("%s: a key of %d characters is too short to be real (at least %d); "+
				"keys are redacted from every log line and answer, and a short one would mangle their text", setting, len(key), MinKeyLength))
		}
	}
	short("ANTHROPIC_API_KEY", cfg.Anthropic.APIKey)
	short("GEMINI_API_KEY", cfg.Gemini.APIKey)
	for i, k := range cfg.APIKeys {
		short(fmt.Sprintf("OPENTOKEN_API_KEYS (key %d)", i+1), k)
	}
	for _, a := range listenAddrs(cfg) {
		if _, port, err := net.SplitHostPort(a.addr); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("%s=%q: want host:port, such as 127.0.0.1:8080 or :8080", a.setting, a.addr))
		}
	}
	if _, err := plan(cfg); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// realUpstream reports whether any upstream is real: a provider's key, or
// Vertex AI's service account.
func realUpstream(cfg *Config) bool {
	return cfg.Anthropic.APIKey != "" || cfg.Gemini.APIKey != "" || cfg.Vertex.Credentials != ""
}

// listenAddr is an address the gateway listens on, and its setting.
type listenAddr struct{ setting, addr string }

// listenAddrs lists the addresses cfg has the gateway listen on.
func listenAddrs(cfg *Config) []listenAddr {
	addrs := []listenAddr{{"OPENTOKEN_ADDR", cfg.Addr}}
	if cfg.PprofAddr != "" {
		addrs = append(addrs, listenAddr{"OPENTOKEN_PPROF_ADDR", cfg.PprofAddr})
	}
	if cfg.ConsoleAddr != "" {
		addrs = append(addrs, listenAddr{"OPENTOKEN_CONSOLE_ADDR", cfg.ConsoleAddr})
	}
	return addrs
}

// listen listens on the address of a setting; its error names the
// setting.
func listen(setting, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: %w", setting, addr, err)
	}
	return ln, nil
}

// Inspection is what Inspect found: where the database is and how its
// schema stands.
type Inspection struct {
	Database string // its URL, without a password
	Schema   store.Schema
	// Routes are the served models, each with its suppliers in order and
	// its id at each.
	Routes []string
	// VertexProject is the project Vertex AI is called for, when it is.
	VertexProject string
}

// Inspect checks cfg as Start does, through the same code, without
// serving: the settings (Check), the database (reached, and its schema
// not newer than this binary's), and the listen addresses (bound, then
// let go). It changes nothing but what Start would create: a default
// SQLite file and its directory.
func Inspect(ctx context.Context, cfg *Config) (*Inspection, error) {
	if err := Check(cfg); err != nil {
		return nil, err
	}
	suppliers, _ := plan(cfg) // Check refused a plan that fails
	in := &Inspection{Routes: routes(suppliers)}
	if cfg.Vertex.Credentials != "" {
		src, project, err := loadVertex(cfg)
		if err != nil {
			return nil, err
		}
		src.Close()
		in.VertexProject = project
	}
	db, where, err := openDatabase(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	schema, err := db.Schema(ctx)
	if err == nil {
		err = schema.Check()
	}
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	for _, a := range listenAddrs(cfg) {
		ln, err := listen(a.setting, a.addr)
		if err != nil {
			return nil, err
		}
		ln.Close()
	}
	in.Database, in.Schema = where, schema
	return in, nil
}

// Run serves until ctx ends, then shuts down gracefully.
func (g *Gateway) Run(ctx context.Context) error {
	select {
	case err := <-g.done:
		g.closeEmulators()
		g.closeTenancy()
		return err
	case <-ctx.Done():
		return g.Close()
	}
}

// Close stops the gateway and its emulators, waiting for requests in
// flight, then writes every billed answer to the ledger (or its spill file).
func (g *Gateway) Close() error {
	err := g.srv.Shutdown()
	<-g.done
	if g.stopPurge != nil {
		g.stopPurge()
	}
	if g.pprof != nil {
		_ = g.pprof.Close()
	}
	if g.console != nil {
		_ = g.console.Close()
	}
	g.closeEmulators()
	g.closeTenancy()
	g.closeTracing()
	return err
}

// closeTracing exports the spans still queued, for at most 5 s.
func (g *Gateway) closeTracing() {
	if g.tracing == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = g.tracing.Shutdown(ctx)
	g.tracing = nil
}

// buildVersion is the module's version, for the traces' service.version.
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		return info.Main.Version
	}
	return "(unknown)"
}

// serveConsole serves the web console on addr, over the tenancy's
// database, its sessions sealed with the gateway's sealing key.
func (g *Gateway) serveConsole(addr string, sealer *seal.Sealer, log *slog.Logger) error {
	c, err := console.New(console.Options{Admin: &admin.Service{Store: g.store}, Sealer: sealer, Log: log})
	if err != nil {
		return err
	}
	ln, err := listen("OPENTOKEN_CONSOLE_ADDR", addr)
	if err != nil {
		return err
	}
	g.console = &http.Server{Handler: c, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	g.ConsoleAddr = ln.Addr().String()
	go func() { _ = g.console.Serve(ln) }()
	log.Info("web console serving; sign in with a token from `opentoken admin-token create --name you`", "url", "http://"+g.ConsoleAddr+"/")
	return nil
}

// servePprof serves net/http/pprof's profiles on addr, a loopback address
// (config checks it): profiles show internals no client should reach.
func (g *Gateway) servePprof(addr string, log *slog.Logger) error {
	ln, err := listen("OPENTOKEN_PPROF_ADDR", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	g.pprof = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	g.PprofAddr = ln.Addr().String()
	go func() { _ = g.pprof.Serve(ln) }()
	log.Info("profiler serving", "url", "http://"+g.PprofAddr+"/debug/pprof/")
	return nil
}

// emulate starts a built-in emulator on loopback and points up at it,
// saying so loudly: nothing served by it reaches the real API.
func (g *Gateway) emulate(up *adapter.Upstream, env string, h fasthttp.RequestHandler, log *slog.Logger) error {
	s, err := emulator.Start("127.0.0.1:0", h)
	if err != nil {
		return fmt.Errorf("starting the built-in emulator for %s: %w", env, err)
	}
	g.emulators = append(g.emulators, s)
	up.BaseURL, up.APIKey = s.URL, emulatorKey
	log.Warn("!!! " + env + " is not set: these models are served by the BUILT-IN EMULATOR at " + s.URL +
		", answers are synthetic and nothing reaches the real API !!!")
	return nil
}

// closeEmulators stops the built-in emulators, and the token refreshes.
func (g *Gateway) closeEmulators() {
	for _, e := range g.emulators {
		_ = e.Close()
	}
	g.emulators = nil
	for _, t := range g.tokens {
		t.Close()
	}
	g.tokens = nil
}
