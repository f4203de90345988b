package server

import (
	"testing"

	"github.com/opentoken/opentoken/llm"
)

// TestClassifier: every row of the failover table — what moves on to the
// next supplier and what answers at once.
func TestClassifier(t *testing.T) {
	e := func(status int, code string) *llm.Error { return &llm.Error{Status: status, Code: code} }
	for _, c := range []struct {
		name  string
		e     *llm.Error
		kind  int
		moves bool
	}{
		{"connection refused or reset", e(503, llm.CodeNoSupplier), upstreamUnreachable, true},
		{"no first byte in time", e(504, llm.CodeUpstreamTimeout), upstreamTimeout, true},
		{"429 of a shared pool", e(429, llm.CodeUpstreamError), upstreamThrottled, true},
		{"5xx and 529", e(503, llm.CodeNoSupplier), upstreamUnavailable, true},
		{"overloaded_error as a stream's first event", e(502, llm.CodeUpstreamError), upstreamUnavailable, true},
		{"cut before any content", e(502, llm.CodeUpstreamError), upstreamInterrupted, true},
		{"credentials refused (401/403)", e(502, llm.CodeUpstreamAuthFailed), upstreamAuth, true},
		{"token exchange refused", e(502, llm.CodeVertexAuthFailed), noUpstreamError, true},
		{"a model the location lacks (404)", e(404, llm.CodeUpstreamError), upstreamRejected, true},
		{"an answer the gateway cannot read", e(502, llm.CodeUpstreamError), upstreamMalformed, true},
		{"400 of the request", e(400, llm.CodeUpstreamError), upstreamRejected, false},
		{"413 of the request", e(413, llm.CodeUpstreamError), upstreamRejected, false},
		{"422 of the request", e(422, llm.CodeUpstreamError), upstreamRejected, false},
		{"an answer over the gateway's limit", e(502, llm.CodeUpstreamError), upstreamTooLarge, false},
		{"the request's own translation", e(400, llm.CodeUnsupportedParameter), noUpstreamError, false},
		{"a cache entry gone", e(404, codeCacheMiss), upstreamRejected, false},
		{"the client left", errGone, noUpstreamError, false},
		{"the gateway drains", e(503, llm.CodeShuttingDown), noUpstreamError, false},
	} {
		if got := failsOver(c.e, c.kind); got != c.moves {
			t.Errorf("%s: fails over %v, want %v", c.name, got, c.moves)
		}
	}
}

// TestFinalError: the rule that picks the answer when every supplier
// failed.
func TestFinalError(t *testing.T) {
	throttled := func(after string) failedAttempt {
		return failedAttempt{"s", &llm.Error{Status: 429, Code: llm.CodeUpstreamError, RetryAfter: after, Message: "busy"}, upstreamThrottled}
	}
	auth := failedAttempt{"vertex:global", &llm.Error{Status: 502, Code: llm.CodeVertexAuthFailed, Message: "invalid_grant"}, upstreamAuth}
	keyRefused := failedAttempt{"gemini", &llm.Error{Status: 502, Code: llm.CodeUpstreamAuthFailed, Message: "key"}, upstreamAuth}
	timeout := failedAttempt{"s", &llm.Error{Status: 504, Code: llm.CodeUpstreamTimeout, Message: "slow"}, upstreamTimeout}
	down := failedAttempt{"s", &llm.Error{Status: 503, Code: llm.CodeNoSupplier, Message: "down"}, upstreamUnavailable}
	client := failedAttempt{"s", &llm.Error{Status: 400, Code: llm.CodeUpstreamError, Message: "too long"}, upstreamRejected}
	for _, c := range []struct {
		name        string
		attempts    []failedAttempt
		status      int
		code, retry string
	}{
		{"one attempt: its own error", []failedAttempt{keyRefused}, 502, llm.CodeUpstreamAuthFailed, ""},
		{"the request's error stops the chain", []failedAttempt{down, client}, 400, llm.CodeUpstreamError, ""},
		{"all throttled: the shortest Retry-After", []failedAttempt{throttled("30"), throttled("7"), throttled("")}, 429, llm.CodeUpstreamError, "7"},
		{"all credentials, one a token exchange", []failedAttempt{keyRefused, auth}, 502, llm.CodeVertexAuthFailed, ""},
		{"all timed out", []failedAttempt{timeout, timeout}, 504, llm.CodeUpstreamTimeout, ""},
		{"mixed", []failedAttempt{throttled("3"), down}, 503, llm.CodeNoSupplier, ""},
	} {
		var a attempts
		for _, f := range c.attempts {
			a.add(f.supplier, f.e, f.kind)
		}
		got := a.final()
		if got.Status != c.status || got.Code != c.code || got.RetryAfter != c.retry {
			t.Errorf("%s: %d %s retry %q, want %d %s %q", c.name, got.Status, got.Code, got.RetryAfter, c.status, c.code, c.retry)
		}
	}
}
