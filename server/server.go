// Package server is the OpenToken HTTP front: a fasthttp server that
// authenticates, decodes, filters through the generated capability matrix,
// and forwards to the upstream adapters.
package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/fetch"
	"github.com/opentoken/opentoken/internal/hangup"
	"github.com/opentoken/opentoken/internal/redact"
	"github.com/opentoken/opentoken/internal/seal"
	"github.com/opentoken/opentoken/internal/telemetry"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/transport"
	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
)

// Options configures a Server.
type Options struct {
	// APIKeys are the client keys accepted as Bearer tokens: operator
	// keys, never metered.
	APIKeys []string
	// Tenancy, when set, accepts the keys it issued too, checks their
	// credit and limits, and bills their answers.
	Tenancy *tenancy.Tenancy
	// Upstreams gives, per provider, the upstreams that serve its models, in
	// order of preference. Today the first serves; several suppliers of one
	// provider (a Gemini API key, Vertex AI regions) with failover between
	// them will walk the list. A provider without one answers 503.
	Upstreams map[matrix.Provider][]adapter.Upstream
	// Limits are the timeouts and size limits; zero fields take defaults.
	Limits Limits
	// Metrics serves GET /metrics (Prometheus text) on the main listener,
	// without a client key, as /health is.
	Metrics bool
	// AccessLog, when set, receives one line per request, in the shape of
	// slog's JSON handler when AccessLogJSON is set and of its text
	// handler otherwise.
	AccessLog     io.Writer
	AccessLogJSON bool
	// AccessLogFlush, when above zero, batches the access log's lines:
	// each is written at most this long after it ends (accessLog has the
	// rules); zero writes each line as its request ends.
	AccessLogFlush time.Duration
	// OnStreamEnd, if set, is told how each stream ended (StreamComplete,
	// StreamUpstreamError, StreamClientGone, StreamPanic), after its
	// resources are freed.
	OnStreamEnd func(reason string)
	// Logger receives the server's log lines, with every configured key
	// replaced by a placeholder.
	Logger *slog.Logger
	// CORSOrigins are the browser origins whose preflights are answered
	// without a key, and whose answers carry CORS headers.
	CORSOrigins []string
	// Sealer seals the reasoning the Responses door hands clients in
	// encrypted_content; nil draws a key for this process alone (items
	// sealed before a restart are then refused).
	Sealer *seal.Sealer
	// Responses keeps the responses of store: true; nil keeps none.
	Responses ResponseStore
	// Tracing, when set, traces every request (trace.go); nil traces
	// nothing and costs nothing.
	Tracing *telemetry.Tracing
	// OperatorRPM, when above zero, limits each operator key to that many
	// requests per minute, counted by each replica alone.
	OperatorRPM int64
	// FetchAllow admits addresses the URL fetcher refuses (a test's
	// loopback server); nil in production: public addresses only.
	FetchAllow func(netip.Addr) bool
}

// Server serves the OpenAI-compatible API.
type Server struct {
	keys [][sha256.Size]byte
	// operatorRates and operatorMeters limit the operator keys, by index.
	operatorRates  store.Rates
	operatorMeters []tenancy.Meter
	upstreams      [3]route // indexed by matrix.Provider
	// candidates are, by model index, the suppliers that serve the model.
	candidates  [][]candidate
	lim         Limits
	cache       promptCache // Gemini explicit caching
	tenancy     *tenancy.Tenancy
	secrets     *redact.Redactor
	onStreamEnd func(string)
	streams     atomic.Int64 // streams in flight
	draining    atomic.Bool  // Shutdown has begun: /ready answers 503
	// The listeners Serve was given, which Shutdown closes.
	lnMu      sync.Mutex
	listeners []net.Listener
	inflight  inflight // upstream exchanges in flight, for the drain
	budget    failoverBudget
	hangups   *hangup.Notifier
	meters    *meters
	metricsOn bool
	access    *accessLog // nil when off
	cors      cors
	log       *slog.Logger
	models    []byte // the GET /v1/models body, built once
	ids       idSource
	srv       *fasthttp.Server
	// trace is the tracer, nil when tracing is off.
	trace *tracing
	// The Responses door: its sealing key and the stored responses.
	sealer *seal.Sealer
	stored ResponseStore
	// fetcher fetches the URLs of images and PDFs for upstreams that do
	// not fetch them.
	fetcher *fetch.Fetcher
	// seal and unseal are sealDetails and openSealed as func values.
	seal   func([]llm.ReasoningDetail) string
	unseal func(string) ([]llm.ReasoningDetail, error)
}

// providers is the table of the providers the gateway serves, each with
// the adapter that speaks its API. A provider's one name is
// matrix.Provider's String: in routes, logs, metrics and messages alike.
var providers = [...]struct {
	provider matrix.Provider
	adapter  adapter.Adapter
}{
	{matrix.ProviderAnthropic, adapter.Anthropic{}},
	{matrix.ProviderGoogle, adapter.Gemini{}},
}

// route is how a provider's models are served: its adapter and its
// suppliers, in order of preference.
type route struct {
	name      string
	adapter   adapter.Adapter
	suppliers []*supplier
}

// supplier is one upstream of a provider, with the client that reaches it.
type supplier struct {
	name     string // as configured: "anthropic", "gemini", "vertex:global"
	kind     matrix.SupplierKind
	upstream adapter.Upstream
	client   *transport.Client
}

// candidate is a supplier that serves a model, the model's id there, and
// the pair's circuit breaker (nil when the model has one supplier: its
// every request and every error pass as they would without failover).
type candidate struct {
	sup        *supplier
	upstreamID string
	br         *breaker
	flex       bool     // serves the model's flex lane
	batch      int      // the most embedding inputs a call takes there, 0 for the model's own
	betas      []string // the anthropic-beta values it takes for the model
}

// candidatesOf lists, in the route's order, the suppliers that serve m:
// those of a kind the model's spec names, at a location it is served in.
func candidatesOf(rt *route, m *matrix.Model) []candidate {
	var out []candidate
	for _, sup := range rt.suppliers {
		location := ""
		if v := sup.upstream.Vertex; v != nil {
			location = v.Location
		}
		if id, ok := m.ServedBy(sup.kind, location); ok {
			supply := m.Supply(sup.kind)
			flex := location == "global" && supply.Flex && m.Pricing.Flex != nil
			out = append(out, candidate{sup: sup, upstreamID: id, flex: flex, batch: supply.MaxBatch, betas: supply.Betas})
		}
	}
	return out
}

// New builds a Server. It does not listen; call Serve.
func New(opt Options) (*Server, error) {
	if len(opt.APIKeys) == 0 && opt.Tenancy == nil {
		return nil, errors.New("server: no client API keys and no tenancy")
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	secrets := append([]string(nil), opt.APIKeys...)
	for _, ups := range opt.Upstreams {
		for _, up := range ups {
			secrets = append(secrets, up.APIKey)
		}
	}
	s := &Server{
		lim:         opt.Limits.WithDefaults(),
		secrets:     redact.New(secrets...),
		onStreamEnd: opt.OnStreamEnd,
		metricsOn:   opt.Metrics,
		cors:        newCORS(opt.CORSOrigins),
	}
	if opt.AccessLog != nil {
		s.access = newAccessLog(opt.AccessLog, opt.AccessLogJSON, opt.AccessLogFlush)
	}
	s.meters = newMeters(func() float64 { return float64(s.streams.Load()) })
	if t := opt.Tracing; t != nil {
		s.trace = &tracing{tracer: t.Tracer(), content: t.CaptureContent}
		dropped := s.meters.set.NewCounter("opentoken_trace_spans_dropped_total")
		t.OnDrop(func(n int) { dropped.Add(n) })
	}
	s.log = slog.New(s.secrets.Handler(opt.Logger.Handler()))
	s.cache = promptCache{s: s, max: s.lim.PromptCacheEntries}
	s.tenancy = opt.Tenancy
	s.sealer, s.stored = opt.Sealer, opt.Responses
	if s.sealer == nil {
		s.sealer, _ = seal.New(seal.NewKey())
	}
	s.seal, s.unseal = s.sealDetails, s.openSealed // made once, not per request
	s.fetcher = fetch.New(fetch.Options{MaxBytes: int64(s.lim.FetchMaxBytes), Timeout: s.lim.FetchTimeout, Allow: opt.FetchAllow})

	s.ids.init()
	for _, k := range opt.APIKeys {
		s.keys = append(s.keys, sha256.Sum256([]byte(k)))
	}
	s.operatorRates = store.Rates{RPM: max(opt.OperatorRPM, 0)}
	s.operatorMeters = make([]tenancy.Meter, len(s.keys))
	for _, p := range providers {
		rt := route{name: p.provider.String(), adapter: p.adapter}
		seen := map[string]bool{}
		for _, up := range opt.Upstreams[p.provider] {
			name := up.Name(p.provider)
			if seen[name] {
				return nil, fmt.Errorf("server: %s is given twice as a supplier of %s", name, rt.name)
			}
			seen[name] = true
			kind := up.Kind
			if kind == 0 {
				kind = matrix.SupplierAnthropic
				if p.provider == matrix.ProviderGoogle {
					kind = matrix.SupplierGemini
				}
			}
			if up.Vertex != nil {
				kind = matrix.SupplierVertex
			}
			c, err := transport.New(transport.Options{
				Origin:           up.BaseURL,
				MaxConns:         4096,
				IdleConnTimeout:  s.lim.UpstreamIdleConnTimeout,
				MaxResponseBytes: s.lim.MaxResponseBytes,
				MaxHeaderBytes:   s.lim.MaxUpstreamHeaderBytes,
			})
			if err != nil {
				return nil, fmt.Errorf("server: %s upstream: %w", rt.name, err)
			}
			rt.suppliers = append(rt.suppliers, &supplier{name: name, kind: kind, upstream: up, client: c})
		}
		s.upstreams[p.provider] = rt
	}
	s.candidates = make([][]candidate, len(generated.Models))
	breakers := s.lim.breakers()
	for _, m := range generated.Models {
		cands := candidatesOf(&s.upstreams[m.Provider], m)
		if len(cands) > 1 {
			for i := range cands {
				br := &breaker{cfg: breakers}
				cands[i].br = br
				s.meters.breakerGauge(cands[i].sup.name, m.ID, br.openState)
			}
		}
		for i := range cands {
			s.meters.supplier(cands[i].sup.name)
		}
		s.candidates[m.Index] = cands
	}
	s.models = appendModels(nil)
	s.srv = &fasthttp.Server{
		Handler: s.handle,
		Name:    "opentoken",
		// ReadTimeout bounds the head; HeaderReceived then gives the body its
		// own bound. Nothing reads a client connection while its answer runs
		// (hang-ups are watched through epoll), so a stream outlives both;
		// each of its frames sets its own write deadline.
		ReadTimeout:    s.lim.HeaderTimeout,
		HeaderReceived: s.headerReceived,
		WriteTimeout:   s.lim.WriteTimeout,
		IdleTimeout:    s.lim.IdleTimeout,
		// fasthttp reads the head into this buffer; larger heads get 431.
		ReadBufferSize: s.lim.MaxHeaderBytes,
		// The buffers return to a pool while a connection waits for its next
		// request: 16 KiB heads on every idle keep-alive connection would
		// otherwise double the live heap.
		ReduceMemoryUsage:            true,
		MaxRequestBodySize:           s.lim.MaxBodyBytes,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		ErrorHandler:                 s.handleParseError,
		Logger:                       fasthttpLogger{s.log},
	}
	// Last, as it starts a goroutine that Shutdown stops.
	var err error
	if s.hangups, err = hangup.New(errClientGone); err != nil {
		s.log.Warn("clients that leave are noticed only when their answer is written", "err", err)
	}
	return s, nil
}

func (s *Server) headerReceived(*fasthttp.RequestHeader) fasthttp.RequestConfig {
	return fasthttp.RequestConfig{ReadTimeout: s.lim.ReadTimeout}
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	// fasthttp's Shutdown closes only a listener its Serve has registered;
	// one it has not reached yet would be served for ever. Shutdown closes
	// every listener given here, and one given after it is closed at once.
	s.lnMu.Lock()
	if s.draining.Load() {
		s.lnMu.Unlock()
		return ln.Close()
	}
	s.listeners = append(s.listeners, ln)
	s.lnMu.Unlock()
	err := s.srv.Serve(&clientListener{Listener: ln, linger: s.lim.LingerTimeout, hangups: s.hangups})
	if s.access != nil {
		// A listener that failed ends the process without a Shutdown: the
		// access log's kept lines go out now (Shutdown writes the rest).
		s.access.flush()
	}
	return err
}

// Shutdown stops accepting and waits for the requests in flight, for at
// most the drain timeout. Then it ends what is still running: streams get
// an error frame and [DONE], buffered requests a 503, and it waits for
// those answers to be written (each write bounded by the write timeout).
// Idle upstream connections are closed last.
func (s *Server) Shutdown() error {
	began := time.Now()
	s.lnMu.Lock()
	s.draining.Store(true)
	s.lnMu.Unlock()
	streams, exchanges, ended := s.streams.Load(), s.inflight.len(), 0
	defer func() {
		s.lnMu.Lock()
		for _, ln := range s.listeners {
			_ = ln.Close()
		}
		s.lnMu.Unlock()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.srv.ShutdownWithContext(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-time.After(s.lim.DrainTimeout):
		ended = s.inflight.cancelAll(errDraining)
		s.log.Warn("drain timeout: ending the requests still in flight", "requests", ended, "drain_timeout", s.lim.DrainTimeout)
		select {
		case err = <-done:
		case <-time.After(s.lim.WriteTimeout + time.Second):
			cancel()
			<-done
			err = errors.New("server: connections still open after the drain")
		}
	}
	// The cache entries go before the upstream connections do.
	s.cache.close()
	for i := range s.upstreams {
		for _, sup := range s.upstreams[i].suppliers {
			sup.client.CloseIdleConnections()
		}
	}
	_ = s.hangups.Close()
	if s.access != nil {
		s.access.close()
	}
	s.log.Info("shutdown: drained", "streams_open", streams, "upstream_requests_in_flight", exchanges,
		"ended_by_drain_timeout", ended, "took", time.Since(began).Round(time.Millisecond).String())
	return err
}

// ActiveStreams reports how many streams are in flight.
func (s *Server) ActiveStreams() int64 { return s.streams.Load() }

// keyIndex returns the position of key among the client keys, -1 when it
// is none of them. Keys are compared as SHA-256 digests in constant time,
// over every configured key, so neither the key's length nor which key
// matched shows in the timing.
func (s *Server) keyIndex(key []byte) int {
	sum := sha256.Sum256(key)
	found := -1
	for i := range s.keys {
		found = subtle.ConstantTimeSelect(subtle.ConstantTimeCompare(sum[:], s.keys[i][:]), i, found)
	}
	return found
}

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug("fasthttp: " + fmt.Sprintf(format, args...))
}
