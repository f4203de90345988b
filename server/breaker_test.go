package server

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var testBreakers = BreakerSettings{Failures: 5, FailurePercent: 50, MinRequests: 10, Window: 30 * time.Second,
	Open: 30 * time.Second, MaxOpen: 5 * time.Minute, Cooldown: 10 * time.Second}

// TestBreakerOpensAndProbes: five consecutive failures open it; it stays
// open its jittered time; then one probe goes through, whose failure
// reopens it for twice as long and whose success closes it.
func TestBreakerOpensAndProbes(t *testing.T) {
	b := &breaker{cfg: &testBreakers}
	now := time.Unix(1_000_000, 0)
	for i := range 4 {
		b.failure(now, 0)
		if ok, _ := b.allow(now); !ok {
			t.Fatalf("open after %d failures", i+1)
		}
	}
	b.failure(now, 0)
	ok, until := b.allow(now)
	if ok || until.Sub(now) < 24*time.Second || until.Sub(now) > 36*time.Second {
		t.Fatalf("after 5 failures: allowed %v, open for %v (want 30 s ±20%%)", ok, until.Sub(now))
	}
	// Half-open: of 100 concurrent requests, exactly one probes.
	later := until.Add(time.Millisecond)
	var probes atomic.Int32
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := b.allow(later); ok {
				probes.Add(1)
			}
		}()
	}
	wg.Wait()
	if probes.Load() != 1 {
		t.Fatalf("%d probes half-open, want 1", probes.Load())
	}
	b.failure(later, 0) // the probe failed: open again, twice as long
	if _, until2 := b.allow(later); until2.Sub(later) < 48*time.Second || until2.Sub(later) > 72*time.Second {
		t.Errorf("reopened for %v, want 60 s ±20%%", until2.Sub(later))
	} else {
		until = until2
	}
	later = until.Add(time.Millisecond)
	if ok, _ := b.allow(later); !ok {
		t.Fatal("no probe after the second open time")
	}
	b.success(later)
	if ok, _ := b.allow(later); !ok || b.opens != 0 {
		t.Errorf("a successful probe did not close it: %v, opens %d", ok, b.opens)
	}
}

// TestBreakerFailureRate: more than half of ten attempts failing in the
// window opens it, though never five in a row.
func TestBreakerFailureRate(t *testing.T) {
	b := &breaker{cfg: &testBreakers}
	now := time.Unix(1_000_000, 0)
	for i := range 10 {
		if i%3 == 2 {
			b.success(now)
		} else {
			b.failure(now, 0)
		}
	}
	if ok, _ := b.allow(now); ok {
		t.Error("7 failures of 10 in the window did not open it")
	}
	// The same rate spread thin (a few attempts a window, never five
	// failures in a row) does not.
	c := &breaker{cfg: &testBreakers}
	for i := range 30 {
		at := now.Add(time.Duration(i) * 10 * time.Second)
		if i%3 == 2 {
			c.success(at)
		} else {
			c.failure(at, 0)
		}
	}
	if c.state != breakerClosed {
		t.Error("failures spread over windows opened it")
	}
}

// TestBreakerCooldown: a 429 cools the supplier down for its Retry-After
// (the default without one), a later 429 extends it, and it is not a
// failure.
func TestBreakerCooldown(t *testing.T) {
	b := &breaker{cfg: &testBreakers}
	now := time.Unix(1_000_000, 0)
	b.throttled(now, 0)
	if ok, at := b.allow(now); ok || at != now.Add(10*time.Second) {
		t.Errorf("after a 429 without Retry-After: %v until %v", ok, at.Sub(now))
	}
	b.throttled(now.Add(5*time.Second), 30*time.Second)
	if ok, at := b.allow(now.Add(11 * time.Second)); ok || at != now.Add(35*time.Second) {
		t.Errorf("a later 429 of 30 s: %v until %v, want extended to 35 s", ok, at.Sub(now))
	}
	b.throttled(now.Add(6*time.Second), time.Second) // shorter: does not shorten it
	if ok, _ := b.allow(now.Add(20 * time.Second)); ok {
		t.Error("a shorter 429 shortened the cool-down")
	}
	if ok, _ := b.allow(now.Add(36 * time.Second)); !ok || b.state != breakerClosed {
		t.Errorf("after the cool-down: %v, state %d", ok, b.state)
	}
}

// TestFailoverBudget: extra attempts stay within 20% of the requests
// being attempted, and 3 are always allowed.
func TestFailoverBudget(t *testing.T) {
	var b failoverBudget
	b.active.Store(100)
	n := 0
	for b.take(20, 3) {
		n++
	}
	if n != 20 {
		t.Errorf("100 requests: %d extra attempts, want 20", n)
	}
	var small failoverBudget
	small.active.Store(2)
	n = 0
	for small.take(20, 3) {
		n++
	}
	if n != 3 {
		t.Errorf("2 requests: %d extra attempts, want the floor of 3", n)
	}
}
