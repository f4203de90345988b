package server

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/opentoken/opentoken/llm"
)

// Failover: which failed attempts move on to the model's next supplier,
// and which error answers when every attempt failed. Only the failures of
// a supplier move on — its connection, its time, its capacity, its
// credentials, a model it does not serve; a request the upstream refused
// for what it asks fails the same way anywhere, and is answered at once.

// How long a breaker opens at once for failures that waiting will not
// soon mend: credentials refused, and a model the supplier does not serve
// (a location without it: configuration, logged).
const (
	authOpen         = time.Minute
	missingModelOpen = 10 * time.Minute
)

// failoverBudget bounds the attempts beyond requests' first, process-wide:
// at most percent of the requests being attempted, and at least min, so
// that a failing supplier cannot multiply the load on the others.
type failoverBudget struct {
	active atomic.Int64 // requests in their attempt loop
	extra  atomic.Int64 // attempts beyond a request's first, under way
}

// take reserves an extra attempt, or reports that the budget is spent.
// The caller gives it back (extra.Add(-1)) when the attempt ends.
func (b *failoverBudget) take(percent, minimum int) bool {
	limit := max(int64(minimum), b.active.Load()*int64(percent)/100)
	if b.extra.Add(1) > limit {
		b.extra.Add(-1)
		return false
	}
	return true
}

// codeCacheMiss marks the refusal of a prompt-cache entry the upstream no
// longer has: never answered, the request is sent again uncached.
const codeCacheMiss = "cache_miss"

// failsOver reports whether a failed attempt moves on to the next
// supplier.
func failsOver(e *llm.Error, kind int) bool {
	switch {
	case e == errGone, e.Code == llm.CodeShuttingDown, e.Code == codeCacheMiss:
		return false
	case e.Code == llm.CodeVertexAuthFailed:
		return true // the token exchange: this supplier's credentials
	}
	switch kind {
	case upstreamTimeout, upstreamUnreachable, upstreamAuth, upstreamThrottled, upstreamUnavailable, upstreamMalformed, upstreamInterrupted:
		return true
	case upstreamRejected:
		// A model a supplier (a Vertex location) does not serve.
		return e.Status == 404
	}
	return false
}

// attempts are the failed attempts of one request, at most one per
// supplier.
type attempts struct {
	list [4]failedAttempt // a model has few suppliers: no allocation
	n    int
	more int // attempts beyond the list's room, the last kept in its last place
}

type failedAttempt struct {
	supplier string
	e        *llm.Error
	kind     int
}

func (a *attempts) add(supplier string, e *llm.Error, kind int) {
	if a.n == len(a.list) {
		a.more++
		a.list[a.n-1] = failedAttempt{supplier, e, kind}
		return
	}
	a.list[a.n] = failedAttempt{supplier, e, kind}
	a.n++
}

// final is the error that answers a request whose attempts all failed,
// by one rule: the error of an attempt that stopped the chain (the
// client's own request, refused); else, every attempt throttled, a 429
// with the shortest Retry-After; else, every attempt refused the
// gateway's credentials, a 502 (vertex_auth_failed when a token exchange
// failed); else, every attempt timed out, a 504; else a 503 no_supplier.
// With one attempt, its own error answers.
func (a *attempts) final() *llm.Error {
	last := a.list[a.n-1]
	if a.n == 1 || !failsOver(last.e, last.kind) {
		return last.e
	}
	all := func(pred func(f failedAttempt) bool) bool {
		for _, f := range a.list[:a.n] {
			if !pred(f) {
				return false
			}
		}
		return true
	}
	var e llm.Error
	switch {
	case all(func(f failedAttempt) bool { return f.kind == upstreamThrottled }):
		e = llm.Error{Status: 429, Type: llm.TypeUpstream, Code: llm.CodeUpstreamError}
		best := -1
		for _, f := range a.list[:a.n] {
			if n, err := strconv.Atoi(f.e.RetryAfter); err == nil && (best < 0 || n < best) {
				best = n
			}
		}
		if best >= 0 {
			e.RetryAfter = strconv.Itoa(best)
		}
	case all(func(f failedAttempt) bool { return f.kind == upstreamAuth }):
		e = llm.Error{Status: 502, Type: llm.TypeUpstream, Code: llm.CodeUpstreamAuthFailed}
		for _, f := range a.list[:a.n] {
			if f.e.Code == llm.CodeVertexAuthFailed {
				e.Code = llm.CodeVertexAuthFailed
			}
		}
	case all(func(f failedAttempt) bool { return f.kind == upstreamTimeout }):
		e = llm.Error{Status: 504, Type: llm.TypeUpstream, Code: llm.CodeUpstreamTimeout}
	default:
		e = llm.Error{Status: 503, Type: llm.TypeUpstream, Code: llm.CodeNoSupplier}
	}
	var msg strings.Builder
	msg.WriteString("every supplier failed: ")
	for i, f := range a.list[:a.n] {
		if i > 0 {
			msg.WriteString("; ")
		}
		if i == a.n-1 && a.more > 0 {
			msg.WriteString("(" + strconv.Itoa(a.more) + " more) ")
		}
		msg.WriteString(f.supplier + ": " + f.e.Message)
	}
	e.Message = msg.String()
	return &e
}
