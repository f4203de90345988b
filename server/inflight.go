package server

import (
	"sync"

	"github.com/opentoken/opentoken/server/transport"
)

// inflight is the set of upstream exchanges under way, which a drain that
// ran out of time cancels.
type inflight struct {
	mu    sync.Mutex
	set   map[*transport.Exchange]struct{}
	cause error // set once the drain cancelled everything
}

func (f *inflight) add(x *transport.Exchange) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cause != nil {
		x.Cancel(f.cause)
		return
	}
	if f.set == nil {
		f.set = map[*transport.Exchange]struct{}{}
	}
	f.set[x] = struct{}{}
}

func (f *inflight) remove(x *transport.Exchange) {
	f.mu.Lock()
	delete(f.set, x)
	f.mu.Unlock()
}

// cancelAll cancels every exchange in flight and every one added later, and
// returns how many it cancelled.
func (f *inflight) cancelAll(cause error) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cause = cause
	for x := range f.set {
		x.Cancel(cause)
	}
	return len(f.set)
}

// len is how many exchanges are in flight.
func (f *inflight) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.set)
}
