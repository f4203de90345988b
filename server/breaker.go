package server

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Circuit breakers. Each (supplier, model) pair of a model with two or
// more suppliers has one, in memory: a supplier failing for a model is
// skipped for a while instead of costing every request an attempt. It
// opens on consecutive failures, or on a failure rate over a window;
// stays open for an exponentially growing, jittered time; then lets one
// probe through (half-open), whose success closes it and failure reopens
// it. A 429 is not a failure but a short cool-down, which a later 429
// extends. The thresholds are settings (Limits).

// BreakerSettings are the breakers' thresholds.
type BreakerSettings struct {
	Failures       int           // consecutive failures that open
	FailurePercent int           // failure rate, in percent, that opens
	MinRequests    int           // ... over at least this many requests
	Window         time.Duration // ... in this window
	Open           time.Duration // the first open time; doubled each reopening
	MaxOpen        time.Duration // the longest open time
	Cooldown       time.Duration // a 429's cool-down when it gives no Retry-After
}

type breakerState int32

const (
	breakerClosed breakerState = iota
	breakerOpen
	breakerHalfOpen
)

// breaker is one (supplier, model) pair's.
type breaker struct {
	cfg *BreakerSettings

	mu          sync.Mutex
	state       breakerState
	consecutive int
	windowStart time.Time
	requests    int
	failures    int
	opens       int       // times opened since it last closed
	openUntil   time.Time // open: until then
	probing     bool      // half-open: the probe is out
	coolUntil   time.Time // a 429's cool-down
}

// allow reports whether an attempt may go to the supplier now, and if not
// when it may again. Half-open, it lets one probe through.
func (b *breaker) allow(now time.Time) (bool, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Before(b.coolUntil) {
		return false, b.coolUntil
	}
	switch b.state {
	case breakerOpen:
		if now.Before(b.openUntil) {
			return false, b.openUntil
		}
		b.state, b.probing = breakerHalfOpen, true
		return true, time.Time{}
	case breakerHalfOpen:
		if b.probing {
			return false, now.Add(b.cfg.Open / 10) // the probe's answer decides
		}
		b.probing = true
	}
	return true, time.Time{}
}

// usable reports, without taking a probe, whether the breaker would let
// an attempt through now or is about to (half-open): for /ready.
func (b *breaker) usable(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state != breakerOpen || !now.Before(b.openUntil)
}

// success records an attempt the supplier answered.
func (b *breaker) success(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count(now, false)
	b.consecutive = 0
	if b.state == breakerHalfOpen {
		b.state, b.probing, b.opens = breakerClosed, false, 0
	}
}

// failure records an attempt the supplier failed. openFor, when set,
// opens the breaker at once for that long (credentials refused, a model
// the supplier does not serve: waiting will not help soon).
func (b *breaker) failure(now time.Time, openFor time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count(now, true)
	b.consecutive++
	rate := b.requests >= b.cfg.MinRequests && b.failures*100 > b.requests*b.cfg.FailurePercent
	switch {
	case openFor > 0:
		b.open(now, openFor)
	case b.state == breakerHalfOpen, b.consecutive >= b.cfg.Failures, rate:
		b.opens++
		d := b.cfg.Open << min(b.opens-1, 16)
		d = min(d, b.cfg.MaxOpen)
		b.open(now, jitter(d))
	}
}

// throttled records a 429: the supplier is cooled down for retryAfter
// (the breaker's cool-down when the upstream gave none), extending a
// cool-down already running.
func (b *breaker) throttled(now time.Time, retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if retryAfter <= 0 {
		retryAfter = b.cfg.Cooldown
	}
	if until := now.Add(retryAfter); until.After(b.coolUntil) {
		b.coolUntil = until
	}
	if b.state == breakerHalfOpen {
		b.probing = false
	}
}

// abandon returns a probe whose request ended without a verdict (the
// client left).
func (b *breaker) abandon() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == breakerHalfOpen {
		b.probing = false
	}
}

// open opens the breaker until now+d. The caller holds b.mu.
func (b *breaker) open(now time.Time, d time.Duration) {
	b.state, b.openUntil, b.probing, b.consecutive = breakerOpen, now.Add(d), false, 0
	b.windowStart, b.requests, b.failures = now, 0, 0
}

// count adds an attempt to the failure-rate window. The caller holds b.mu.
func (b *breaker) count(now time.Time, failed bool) {
	if now.Sub(b.windowStart) > b.cfg.Window {
		b.windowStart, b.requests, b.failures = now, 0, 0
	}
	b.requests++
	if failed {
		b.failures++
	}
}

// openState is the breaker's state for the metrics: 0 closed, 1 open, 2
// half-open.
func (b *breaker) openState() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return float64(b.state)
}

// jitter spreads d by ±20%, so that breakers opened together do not
// probe together.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
