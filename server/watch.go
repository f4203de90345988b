package server

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opentoken/opentoken/server/transport"
)

// clientWatch notices a client that leaves while its request is upstream,
// buffered or streamed, and cancels the upstream exchange at once rather
// than at its timeout: a departed client must not keep paying for tokens.
//
// A client sends nothing while its request runs (HTTP/1.1 lets it send the
// next request only after this response), so a Read on its connection
// returns only when it goes away. A client that pipelines anyway has its
// connection closed after the answer, since the watch took a byte of its
// next request.
//
// The watch clears the connection's read deadline: the server's head and
// body timeouts must not end a stream that rightly runs for minutes.
type clientWatch struct {
	conn     net.Conn
	target   *transport.Exchange
	mu       sync.Mutex
	finished bool
	gone     atomic.Bool
	stole    bool // the watch read request bytes, not an end of stream
	wg       sync.WaitGroup
}

// start watches conn on its own goroutine until stop.
func (w *clientWatch) start(conn net.Conn, target *transport.Exchange) {
	w.conn, w.target = conn, target
	// Cleared here, before the goroutine runs, so that stop's deadline
	// cannot be cleared after it is set.
	_ = conn.SetReadDeadline(time.Time{})
	w.wg.Add(1)
	go w.run()
}

func (w *clientWatch) run() {
	defer w.wg.Done()
	var b [1]byte
	n, _ := w.conn.Read(b[:])
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case n > 0:
		w.stole = true
	case !w.finished:
		w.gone.Store(true)
		w.target.Cancel(errClientGone)
	}
}

// stop ends the watch, leaving the connection ready for the client's next
// request, and reports whether it must close instead (the watch read a
// byte of a pipelined request). stop on a watch never started does nothing.
func (w *clientWatch) stop() (stole bool) {
	if w.conn == nil {
		return false
	}
	w.mu.Lock()
	w.finished = true
	w.mu.Unlock()
	_ = w.conn.SetReadDeadline(time.Now()) // wakes the watch's Read
	w.wg.Wait()
	_ = w.conn.SetReadDeadline(time.Time{})
	w.conn = nil
	return w.stole
}

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
