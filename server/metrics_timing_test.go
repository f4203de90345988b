//go:build !race

package server

// The cost of observing a request, metrics only (the access log off), as
// every request pays it:
//
//	go test ./server -run '^$' -bench Observe -benchmem

import (
	"io"
	"testing"
	"time"

	"github.com/opentoken/opentoken/llm"

	"github.com/opentoken/opentoken/generated"
)

func observedServer(tb testing.TB) (*Server, *record) {
	s, err := New(Options{APIKeys: []string{"k"}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Shutdown() })
	r := &record{start: time.Now(), endpoint: endpointChat, key: 0, errKind: noUpstreamError,
		upstream: time.Millisecond, usage: llm.Usage{Prompt: 200, Completion: 40}, hasUsage: true}
	r.model = generated.Lookup("anthropic/claude-sonnet-4-5")
	r.dropped = 1<<generated.ParamSeed | 1<<generated.ParamFrequencyPenalty
	return s, r
}

func BenchmarkObserve(b *testing.B) {
	s, r := observedServer(b)
	b.ReportAllocs()
	for b.Loop() {
		s.observe(200, r)
	}
}

// TestObserveAllocation: observing a request allocates nothing once its
// label set has been seen.
func TestObserveAllocation(t *testing.T) {
	s, r := observedServer(t)
	s.observe(200, r)
	if n := testing.AllocsPerRun(100, func() { s.observe(200, r) }); n != 0 {
		t.Errorf("observe allocates %v times a request", n)
	}
}

func BenchmarkAccessLog(b *testing.B) {
	_, r := observedServer(b)
	a := &accessLog{w: io.Discard}
	b.ReportAllocs()
	for b.Loop() {
		a.write(200, r, time.Millisecond)
	}
}

// TestAccessLogAllocation: an access log line allocates nothing.
func TestAccessLogAllocation(t *testing.T) {
	_, r := observedServer(t)
	for _, json := range []bool{false, true} {
		a := &accessLog{w: io.Discard, json: json}
		a.write(200, r, time.Millisecond)
		if n := testing.AllocsPerRun(100, func() { a.write(200, r, time.Millisecond) }); n != 0 {
			t.Errorf("json=%v: an access log line allocates %v times", json, n)
		}
	}
}
