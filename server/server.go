// Package server is the OpenToken HTTP front: a fasthttp server that
// authenticates, decodes, filters through the generated capability matrix,
// and forwards to the upstream adapters.
package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/adapter"
)

// Options configures a Server.
type Options struct {
	// APIKeys are the client keys accepted as Bearer tokens.
	APIKeys []string
	// Upstreams gives each provider's endpoint and credential.
	Anthropic, Gemini adapter.Upstream
	// UpstreamTimeout bounds one upstream exchange.
	UpstreamTimeout time.Duration
	// MaxBodyBytes bounds a request body; larger ones get 413.
	MaxBodyBytes int
	// StreamIdleTimeout bounds the silence of a streaming upstream, before
	// its first byte and between events.
	StreamIdleTimeout time.Duration
	// OnStreamEnd, if set, is told how each stream ended (StreamComplete,
	// StreamUpstreamError, StreamClientGone, StreamPanic), after its
	// resources are freed.
	OnStreamEnd func(reason string)
	Logger      *slog.Logger
}

// Server serves the OpenAI-compatible API.
type Server struct {
	keys      [][sha256.Size]byte
	upstreams [3]route // indexed by matrix.Provider
	client    *fasthttp.Client
	// streamClient streams response bodies and bounds silence per read.
	streamClient *fasthttp.Client
	streamIdle   time.Duration
	onStreamEnd  func(string)
	streams      atomic.Int64 // streams in flight
	timeout      time.Duration
	maxBody      int
	log          *slog.Logger
	models       []byte // the GET /v1/models body, built once
	ids          idSource
	srv          *fasthttp.Server
}

// route is how a provider's models are served.
type route struct {
	adapter  adapter.Adapter
	upstream adapter.Upstream
	name     string
}

// New builds a Server. It does not listen; call Serve.
func New(opt Options) (*Server, error) {
	if len(opt.APIKeys) == 0 {
		return nil, errors.New("server: no client API keys")
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	s := &Server{
		timeout: opt.UpstreamTimeout,
		maxBody: opt.MaxBodyBytes,
		log:     opt.Logger,
		client: &fasthttp.Client{
			Name:                     "opentoken",
			NoDefaultUserAgentHeader: true,
			MaxConnsPerHost:          4096,
			MaxIdleConnDuration:      90 * time.Second,
			ReadTimeout:              opt.UpstreamTimeout,
			WriteTimeout:             opt.UpstreamTimeout,
			DisablePathNormalizing:   true,
			// A retry could send a second paid request upstream; the client
			// decides whether to retry.
			RetryIfErr: func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		},
	}
	s.ids.init()
	if s.timeout <= 0 {
		s.timeout = 120 * time.Second
	}
	s.streamIdle, s.onStreamEnd = opt.StreamIdleTimeout, opt.OnStreamEnd
	if s.streamIdle <= 0 {
		s.streamIdle = 60 * time.Second
	}
	s.streamClient = &fasthttp.Client{
		Name:                     "opentoken",
		NoDefaultUserAgentHeader: true,
		MaxConnsPerHost:          4096,
		MaxIdleConnDuration:      90 * time.Second,
		WriteTimeout:             s.timeout,
		DisablePathNormalizing:   true,
		StreamResponseBody:       true,
		Dial:                     idleDialer(s.streamIdle),
		RetryIfErr:               func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
	}
	if s.maxBody <= 0 {
		s.maxBody = 32 << 20
	}
	for _, k := range opt.APIKeys {
		s.keys = append(s.keys, sha256.Sum256([]byte(k)))
	}
	s.upstreams[matrix.ProviderAnthropic] = route{adapter.Anthropic{}, opt.Anthropic, "anthropic"}
	s.upstreams[matrix.ProviderGoogle] = route{adapter.Gemini{}, opt.Gemini, "gemini"}
	s.models = appendModels(nil)
	s.srv = &fasthttp.Server{
		Handler:                      s.handle,
		Name:                         "opentoken",
		MaxRequestBodySize:           s.maxBody,
		ReadTimeout:                  60 * time.Second,
		IdleTimeout:                  120 * time.Second,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		ErrorHandler:                 s.handleParseError,
		Logger:                       fasthttpLogger{s.log},
	}
	return s, nil
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.srv.Serve(ln) }

// Shutdown stops accepting, waits for requests in flight, and closes idle
// upstream connections.
func (s *Server) Shutdown() error {
	err := s.srv.Shutdown()
	s.client.CloseIdleConnections()
	s.streamClient.CloseIdleConnections()
	return err
}

// ActiveStreams reports how many streams are in flight.
func (s *Server) ActiveStreams() int64 { return s.streams.Load() }

// authorized reports whether key is a client key. Keys are compared as
// SHA-256 digests in constant time, over every configured key, so neither
// the key's length nor which key matched shows in the timing.
func (s *Server) authorized(key []byte) bool {
	sum := sha256.Sum256(key)
	ok := 0
	for i := range s.keys {
		ok |= subtle.ConstantTimeCompare(sum[:], s.keys[i][:])
	}
	return ok == 1
}

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug("fasthttp: " + fmt.Sprintf(format, args...))
}
