package server

import "time"

// The defaults of every timeout and limit. A zero field of Options takes its
// default here, and the configuration documents these same values.
const (
	// DefaultUpstreamTimeout bounds one buffered upstream exchange.
	DefaultUpstreamTimeout = 120 * time.Second
	// DefaultStreamIdleTimeout bounds a streaming upstream's silence; it
	// outlasts Anthropic's pings and a thinking model's pause before its
	// first token.
	DefaultStreamIdleTimeout = 60 * time.Second
	// DefaultMaxBodyBytes matches Anthropic's 32 MB request limit, the
	// smaller of the two upstreams'.
	DefaultMaxBodyBytes = 32 << 20
	// DefaultHeaderTimeout bounds the reading of a request's head, so that a
	// client trickling headers holds a connection for seconds, not minutes.
	DefaultHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds the reading of a request's body, after its
	// head.
	DefaultReadTimeout = 60 * time.Second
	// DefaultWriteTimeout bounds the writing of a buffered answer, and of
	// each frame of a stream: a client that stops reading is let go.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultIdleTimeout is how long a client's idle keep-alive connection
	// stays open.
	DefaultIdleTimeout = 120 * time.Second
	// DefaultMaxHeaderBytes bounds a request's head; browsers and SDKs with
	// large cookies or tracing headers stay well inside 16 KiB.
	DefaultMaxHeaderBytes = 16 << 10
	// DefaultUpstreamIdleConnTimeout is how long an idle upstream connection
	// is kept for reuse: below the 60 s idle timeout of common load
	// balancers, so that the gateway, not the path, closes it.
	DefaultUpstreamIdleConnTimeout = 30 * time.Second
	// DefaultMaxResponseBytes caps a buffered upstream answer; real chat
	// answers are a few hundred KiB at most.
	DefaultMaxResponseBytes = 16 << 20
	// DefaultMaxUpstreamHeaderBytes bounds an upstream answer's head.
	DefaultMaxUpstreamHeaderBytes = 16 << 10
	// DefaultMaxSSELineBytes caps one line of an upstream event stream.
	DefaultMaxSSELineBytes = 4 << 20
	// DefaultDrainTimeout is how long a shutdown waits for requests in
	// flight before it ends the streams still open.
	DefaultDrainTimeout = 30 * time.Second
	// DefaultLingerTimeout is how long the rest of an over-limit request is
	// read and discarded before its connection closes, so that the client
	// reads the 413 instead of a reset.
	DefaultLingerTimeout = 5 * time.Second
	// DefaultFailoverFirstByteTimeout bounds an attempt at a supplier that
	// another follows: past it, the next is tried. The last supplier has
	// what remains of the upstream timeout. A thinking model's first token
	// can take seconds; 20 s leaves it room.
	DefaultFailoverFirstByteTimeout = 20 * time.Second
	// The circuit breakers' defaults (breaker.go): open on 5 consecutive
	// failures, or on more than half of at least 10 attempts in 30 s
	// failing; stay open 30 s, doubled at each reopening up to 5 min; a
	// 429 without Retry-After cools a supplier down 10 s.
	DefaultBreakerFailures       = 5
	DefaultBreakerFailurePercent = 50
	DefaultBreakerMinRequests    = 10
	DefaultBreakerWindow         = 30 * time.Second
	DefaultBreakerOpen           = 30 * time.Second
	DefaultBreakerMaxOpen        = 5 * time.Minute
	DefaultCooldown429           = 10 * time.Second
	// The failover budget's defaults: attempts beyond a request's first
	// stay under 20% of the requests being attempted, and 3 are always
	// allowed, so that a failing supplier cannot double the load on the
	// others.
	DefaultFailoverBudgetPercent = 20
	DefaultFailoverBudgetMin     = 3
	// DefaultFlexTimeout bounds a request in the flex lane: Vertex's
	// default for it is 20 minutes and its most 30.
	DefaultFlexTimeout = 30 * time.Minute
	// DefaultPromptCacheEntries bounds the Gemini cache entries a replica
	// keeps (each a few hundred bytes here; the prompt stays upstream).
	DefaultPromptCacheEntries = 1000
	// DefaultFetchMaxBytes and DefaultFetchTimeout bound what the gateway
	// fetches of a client's URL for an upstream that does not fetch URLs
	// (Gemini): 20 MB, Gemini's limit for a request's inline data.
	DefaultFetchMaxBytes = 20 << 20
	DefaultFetchTimeout  = 10 * time.Second
)

// Limits are the server's timeouts and size limits; a zero field takes its
// default.
type Limits struct {
	UpstreamTimeout          time.Duration
	StreamIdleTimeout        time.Duration
	MaxBodyBytes             int
	HeaderTimeout            time.Duration
	ReadTimeout              time.Duration
	WriteTimeout             time.Duration
	IdleTimeout              time.Duration
	MaxHeaderBytes           int
	UpstreamIdleConnTimeout  time.Duration
	MaxResponseBytes         int
	MaxUpstreamHeaderBytes   int
	MaxSSELineBytes          int
	DrainTimeout             time.Duration
	LingerTimeout            time.Duration
	PromptCacheEntries       int
	FailoverFirstByteTimeout time.Duration
	BreakerFailures          int
	BreakerFailurePercent    int
	BreakerMinRequests       int
	BreakerWindow            time.Duration
	BreakerOpen              time.Duration
	BreakerMaxOpen           time.Duration
	Cooldown429              time.Duration
	FailoverBudgetPercent    int
	FailoverBudgetMin        int
	FlexTimeout              time.Duration
	FetchMaxBytes            int
	FetchTimeout             time.Duration
}

// breakers are the breaker settings of l.
func (l *Limits) breakers() *BreakerSettings {
	return &BreakerSettings{Failures: l.BreakerFailures, FailurePercent: l.BreakerFailurePercent, MinRequests: l.BreakerMinRequests,
		Window: l.BreakerWindow, Open: l.BreakerOpen, MaxOpen: l.BreakerMaxOpen, Cooldown: l.Cooldown429}
}

// WithDefaults returns l with every zero or negative field set to its
// default.
func (l Limits) WithDefaults() Limits {
	dur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	size := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	dur(&l.UpstreamTimeout, DefaultUpstreamTimeout)
	dur(&l.StreamIdleTimeout, DefaultStreamIdleTimeout)
	size(&l.MaxBodyBytes, DefaultMaxBodyBytes)
	dur(&l.HeaderTimeout, DefaultHeaderTimeout)
	dur(&l.ReadTimeout, DefaultReadTimeout)
	dur(&l.WriteTimeout, DefaultWriteTimeout)
	dur(&l.IdleTimeout, DefaultIdleTimeout)
	size(&l.MaxHeaderBytes, DefaultMaxHeaderBytes)
	dur(&l.UpstreamIdleConnTimeout, DefaultUpstreamIdleConnTimeout)
	size(&l.MaxResponseBytes, DefaultMaxResponseBytes)
	size(&l.MaxUpstreamHeaderBytes, DefaultMaxUpstreamHeaderBytes)
	size(&l.MaxSSELineBytes, DefaultMaxSSELineBytes)
	dur(&l.DrainTimeout, DefaultDrainTimeout)
	dur(&l.LingerTimeout, DefaultLingerTimeout)
	size(&l.PromptCacheEntries, DefaultPromptCacheEntries)
	dur(&l.FailoverFirstByteTimeout, DefaultFailoverFirstByteTimeout)
	size(&l.BreakerFailures, DefaultBreakerFailures)
	size(&l.BreakerFailurePercent, DefaultBreakerFailurePercent)
	size(&l.BreakerMinRequests, DefaultBreakerMinRequests)
	dur(&l.BreakerWindow, DefaultBreakerWindow)
	dur(&l.BreakerOpen, DefaultBreakerOpen)
	dur(&l.BreakerMaxOpen, DefaultBreakerMaxOpen)
	dur(&l.Cooldown429, DefaultCooldown429)
	size(&l.FailoverBudgetPercent, DefaultFailoverBudgetPercent)
	size(&l.FailoverBudgetMin, DefaultFailoverBudgetMin)
	dur(&l.FlexTimeout, DefaultFlexTimeout)
	size(&l.FetchMaxBytes, DefaultFetchMaxBytes)
	dur(&l.FetchTimeout, DefaultFetchTimeout)
	return l
}
