package server

import (
	"net"
	"sync"
)

// readAhead serves a connection's small reads from one larger read.
//
// The server returns a connection's read buffer to a pool while it waits
// for the next request (fasthttp's ReduceMemoryUsage), so it waits with a
// read of one byte and then reads the rest of the request into a buffer it
// takes again: two read calls a request where one would do. A read
// smaller than readAheadMin reads as much as has arrived into a pooled
// buffer instead, which the next reads take from without a call; the
// buffer goes back to the pool as soon as they have taken it all, so an
// idle connection still holds none. That took 6–9% off the gateway's CPU
// per request under load (bench/PROFILE.md).
//
// One goroutine reads a connection at a time, as net.Conn's readers do.
type readAhead struct {
	buf  *[readAheadSize]byte // nil when nothing is kept
	r, w int                  // the kept bytes are buf[r:w]
	err  error                // what the read that filled buf also said
}

const (
	// readAheadMin: reads at least this large go to the connection as
	// they are, as the buffered reader's own are.
	readAheadMin = 512
	// readAheadSize holds a usual request's head and body whole.
	readAheadSize = 4096
)

var readAheadPool = sync.Pool{New: func() any { return new([readAheadSize]byte) }}

// read reads into p from what is kept or, when nothing is, from c.
func (a *readAhead) read(c net.Conn, p []byte) (int, error) {
	if a.buf == nil {
		if len(p) >= readAheadMin || len(p) == 0 {
			return c.Read(p)
		}
		buf := readAheadPool.Get().(*[readAheadSize]byte)
		n, err := c.Read(buf[:])
		if n <= len(p) {
			readAheadPool.Put(buf)
			return copy(p, buf[:n]), err
		}
		a.buf, a.r, a.w, a.err = buf, 0, n, err
	}
	n := copy(p, a.buf[a.r:a.w])
	a.r += n
	if a.r < a.w {
		return n, nil
	}
	err := a.err
	readAheadPool.Put(a.buf)
	a.buf, a.err = nil, nil
	return n, err
}
