package server

import (
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/opentoken/opentoken/internal/hangup"
)

// clientListener hands out the client connections, each registered with
// the hang-up watch and able to close the way nginx's lingering close does:
// when the server answers before reading a whole request (a 413), closing
// at once with unread bytes in the socket makes the kernel send a reset,
// which destroys the answer before the client reads it. Such a connection
// instead shuts its sending side after the answer, reads and discards what
// the client still sends for a bounded time, and only then closes.
type clientListener struct {
	net.Listener
	linger  time.Duration
	hangups *hangup.Notifier
}

func (l *clientListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := &clientConn{Conn: c, linger: l.linger, hangups: l.hangups}
	lc.watch.Store(l.hangups.Register(c))
	return lc, nil
}

type clientConn struct {
	net.Conn
	ahead   readAhead
	linger  time.Duration
	lingers atomic.Bool
	hangups *hangup.Notifier
	watch   atomic.Pointer[hangup.Watch] // nil when the connection cannot be watched
}

// clientWatch returns the hang-up watch of a client connection, nil when
// it has none.
func clientWatch(c net.Conn) *hangup.Watch {
	if lc, ok := c.(*clientConn); ok {
		return lc.watch.Load()
	}
	return nil
}

// lingerAfterAnswer marks c, if it is a clientConn, to linger on Close.
func lingerAfterAnswer(c net.Conn) {
	if lc, ok := c.(*clientConn); ok {
		lc.lingers.Store(true)
	}
}

// Read reads through the connection's read-ahead (readahead.go).
func (c *clientConn) Read(p []byte) (int, error) { return c.ahead.read(c.Conn, p) }

// Close closes the connection, after the lingering if it was asked for.
// fasthttp calls it once the answer is written.
func (c *clientConn) Close() error {
	// Shutdown may close an idle connection while its own goroutine does.
	c.hangups.Unregister(c.watch.Swap(nil))
	if c.lingers.Swap(false) {
		if tc, ok := c.Conn.(interface{ CloseWrite() error }); ok && tc.CloseWrite() == nil {
			_ = c.Conn.SetReadDeadline(time.Now().Add(c.linger))
			_, _ = io.Copy(io.Discard, c.Conn)
		}
	}
	return c.Conn.Close()
}
