// Package transport carries the gateway's requests to one upstream over
// fasthttp's connection pool, adding what fasthttp's Client.Do lacks and a
// gateway needs:
//
//   - Cancellation from another goroutine. A client that left, or a drain
//     that ran out of time, closes the upstream connection at once, whether
//     the exchange is waiting for the upstream's head or reading its body.
//   - One more attempt when a pooled connection turns out to have been closed
//     by the upstream (or a load balancer or NAT on the way) while it was
//     idle, and no byte of an answer arrived: the retry Go's net/http
//     transport makes for a server-closed idle connection. A request whose
//     answer began, or that failed on a fresh connection, is never sent again:
//     that could be a second paid request.
//   - A bound on each read of a streamed body (silence, not total length), a
//     cap on a buffered answer's size, and a header buffer sized for real
//     upstreams.
//
// Only fasthttp's exported HostClient primitives are used (AcquireConn,
// ReleaseConn, CloseConn and its pooled readers and writers), so the pool,
// TLS and DNS handling stay fasthttp's.
package transport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Options configure a Client.
type Options struct {
	// Origin is scheme://host[:port]; requests carry full URIs on it.
	Origin string
	// MaxConns bounds the connections open to the upstream at once.
	MaxConns int
	// IdleConnTimeout is how long an idle connection is kept for reuse. It
	// should stay below the idle timeouts of the load balancers and NATs on
	// the way (commonly 60 s or more), so that the gateway closes first.
	IdleConnTimeout time.Duration
	// MaxResponseBytes caps a buffered answer's body.
	MaxResponseBytes int
	// MaxHeaderBytes caps an answer's head (status line and headers).
	MaxHeaderBytes int
	// Dial, when set, replaces the default dialer (tests use it to count
	// connections).
	Dial fasthttp.DialFunc
}

// Client sends requests to one upstream origin.
type Client struct {
	hc      *fasthttp.HostClient
	maxBody int
}

// maxAttempts bounds the attempts of one request. Each retry is made only
// because a reused connection was found closed, so each consumes one stale
// pooled connection; after a quiet period every pooled connection may be
// stale, hence more than two.
const maxAttempts = 8

// Errors a Client returns besides the network's own.
var (
	// ErrBodyTooLarge is a buffered answer over MaxResponseBytes.
	ErrBodyTooLarge = errors.New("upstream answer is larger than the gateway's limit")
	// ErrHeaderTooLarge is an answer head over MaxHeaderBytes.
	ErrHeaderTooLarge = errors.New("upstream answer headers are larger than the gateway's limit")
	// ErrNoAnswer is a connection closed before any byte of an answer.
	ErrNoAnswer = errors.New("upstream closed the connection without answering")
	// ErrTimeout is an exchange past its deadline.
	ErrTimeout = errors.New("upstream timed out")
)

// New builds a Client for opt.Origin.
func New(opt Options) (*Client, error) {
	u, err := url.Parse(opt.Origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("transport: %q is not an http(s) origin", opt.Origin)
	}
	addr := u.Host
	if u.Port() == "" {
		addr += map[string]string{"http": ":80", "https": ":443"}[u.Scheme]
	}
	return &Client{
		hc: &fasthttp.HostClient{
			Addr:                     addr,
			IsTLS:                    u.Scheme == "https",
			Name:                     "opentoken",
			NoDefaultUserAgentHeader: true,
			MaxConns:                 opt.MaxConns,
			MaxIdleConnDuration:      opt.IdleConnTimeout,
			ReadBufferSize:           opt.MaxHeaderBytes,
			DisablePathNormalizing:   true,
			Dial:                     opt.Dial,
		},
		maxBody: opt.MaxResponseBytes,
	}, nil
}

// CloseIdleConnections closes the pooled connections.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// Exchange is one request on its way upstream. Its zero value is ready to
// use, for one Do; Cancel may be called from any goroutine at any time.
type Exchange struct {
	mu    sync.Mutex
	conn  net.Conn // the connection the exchange holds, nil when none
	cause error    // why the exchange was cancelled

	// The streamed body, after a Do with stream set.
	body    io.Reader
	idle    time.Duration
	eof     bool
	release func(reuse bool)
}

// Cancel ends the exchange with cause: the connection it holds is closed,
// which wakes a Do or a Read in flight, and every later step fails with
// cause. Only the first cause counts.
func (x *Exchange) Cancel(cause error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.cause != nil {
		return
	}
	x.cause = cause
	if x.conn != nil {
		_ = x.conn.Close()
	}
}

// Cause returns what the exchange was cancelled with, or nil.
func (x *Exchange) Cause() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.cause
}

// hold makes conn the one Cancel closes, unless the exchange is cancelled.
func (x *Exchange) hold(conn net.Conn) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.cause == nil {
		x.conn = conn
	}
	return x.cause
}

// letGo forgets the held connection before it goes back to the pool, where
// another request may take it, and reports whether the exchange was
// cancelled meanwhile.
func (x *Exchange) letGo() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.conn = nil
	return x.cause
}

// Do sends req and reads the answer into resp: its head, and its body
// unless stream is set, in which case the body is read through x.Read and
// x.Close must follow. deadline bounds sending and the head, and a
// buffered body; idle bounds each read of a streamed body.
func (c *Client) Do(x *Exchange, req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time, stream bool, idle time.Duration) error {
	for attempt := 1; ; attempt++ {
		retry, err := c.try(x, req, resp, deadline, stream, idle)
		if err == nil || !retry || attempt == maxAttempts {
			return err
		}
	}
}

// try makes one attempt and reports whether another may follow: only when
// the connection was reused and nothing of an answer arrived.
func (c *Client) try(x *Exchange, req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time, stream bool, idle time.Duration) (retry bool, err error) {
	timeout := time.Until(deadline)
	if timeout <= 0 {
		return false, ErrTimeout
	}
	cc, err := c.hc.AcquireConn(timeout, false)
	if err != nil {
		return false, c.mapErr(x, err)
	}
	conn := cc.Conn()
	// fasthttp stamps a connection's last use when it returns to the pool,
	// so a fresh one has none.
	reused := !cc.LastUseTime().IsZero()
	if err := x.hold(conn); err != nil {
		c.hc.CloseConn(cc)
		return false, err
	}
	fail := func(err error) error {
		_ = x.letGo()
		c.hc.CloseConn(cc)
		return c.mapErr(x, err)
	}

	if err := conn.SetDeadline(deadline); err != nil {
		return false, fail(err)
	}
	bw := c.hc.AcquireWriter(conn)
	err = req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	c.hc.ReleaseWriter(bw)
	if err != nil {
		// A write that fails on a reused connection found it closed; the
		// upstream cannot have answered a request it did not receive whole.
		return reused && !isTimeout(err) && x.Cause() == nil, fail(err)
	}

	br := c.hc.AcquireReader(conn)
	resp.StreamBody = stream
	limit := c.maxBody
	if stream {
		limit = 0 // a stream may rightly run long; each line is capped by its reader
	}
	if err := resp.ReadLimitBody(br, limit); err != nil {
		c.hc.ReleaseReader(br)
		// fasthttp reports any failure before the first byte of the head
		// as io.EOF.
		return reused && err == io.EOF && x.Cause() == nil, fail(err)
	}
	if stream && resp.IsBodyStream() {
		x.body, x.idle = resp.BodyStream(), idle
		x.release = func(reuse bool) {
			_ = resp.CloseBodyStream() // releases fasthttp's stream, which reads from br
			c.hc.ReleaseReader(br)
			if reuse {
				c.hc.ReleaseConn(cc)
			} else {
				c.hc.CloseConn(cc)
			}
		}
		return false, nil
	}
	c.hc.ReleaseReader(br)
	if err := x.letGo(); err != nil || resp.ConnectionClose() {
		c.hc.CloseConn(cc)
		return false, err
	}
	// Deadlines stay on a pooled connection; the next attempt sets its own.
	c.hc.ReleaseConn(cc)
	return false, nil
}

// SetIdle changes the bound of each later read of the streamed body. It
// must not run concurrently with Read.
func (x *Exchange) SetIdle(idle time.Duration) { x.idle = idle }

// Read reads the streamed body, each read bounded by the idle time.
func (x *Exchange) Read(p []byte) (int, error) {
	if x.body == nil || x.eof {
		return 0, io.EOF
	}
	x.mu.Lock()
	conn, cause := x.conn, x.cause
	x.mu.Unlock()
	if cause != nil {
		return 0, cause
	}
	if x.idle > 0 {
		if err := conn.SetReadDeadline(time.Now().Add(x.idle)); err != nil {
			return 0, err
		}
	}
	n, err := x.body.Read(p)
	switch {
	case err == io.EOF:
		x.eof = true
	case err != nil:
		if cause := x.Cause(); cause != nil {
			return n, cause
		}
		if isTimeout(err) {
			err = ErrTimeout
		}
	}
	return n, err
}

// Close releases a streamed body. The connection returns to the pool only
// when the body was read to its end and the exchange was not cancelled.
// Close must not run concurrently with Read; Cancel may.
func (x *Exchange) Close() {
	if x.release == nil {
		return
	}
	release := x.release
	x.release, x.body = nil, nil
	cancelled := x.letGo() != nil
	release(x.eof && !cancelled)
}

// mapErr names a failure: the cancellation's cause when there was one,
// else one of the package's errors or the network's own.
func (c *Client) mapErr(x *Exchange, err error) error {
	if cause := x.Cause(); cause != nil {
		return cause
	}
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return ErrBodyTooLarge
	case errors.As(err, &small):
		return ErrHeaderTooLarge
	case err == io.EOF:
		return ErrNoAnswer
	case isTimeout(err):
		return ErrTimeout
	}
	return err
}

func isTimeout(err error) bool {
	if errors.Is(err, fasthttp.ErrTimeout) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
