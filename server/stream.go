package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/internal/sse"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/openai"
)

// How a stream ended, as reported to Options.OnStreamEnd.
const (
	StreamComplete      = "complete"       // the upstream finished and the client got [DONE]
	StreamUpstreamError = "upstream_error" // an error frame was sent
	StreamClientGone    = "client_gone"    // the client left; the upstream request was closed
	StreamPanic         = "panic"          // a bug; the client got an api_error frame
)

// chatStream serves stream: true. Until the upstream answers 200 every
// failure is an ordinary HTTP error; from then on the response is committed
// and a failure is one error frame followed by [DONE].
func (s *Server) chatStream(ctx *fasthttp.RequestCtx, rt *route, call *adapter.Call, model string) {
	upReq := fasthttp.AcquireRequest()
	upResp := fasthttp.AcquireResponse()
	buf := getBuf()
	release := func() {
		_ = upResp.CloseBodyStream()
		fasthttp.ReleaseResponse(upResp)
		fasthttp.ReleaseRequest(upReq)
		putBuf(buf)
	}
	body, e := rt.adapter.BuildRequest(upReq, (*buf)[:0], call, &rt.upstream)
	*buf = body
	if e == nil {
		if err := s.streamClient.Do(upReq, upResp); err != nil {
			e = s.transportError(rt, err)
		} else if status := upResp.StatusCode(); status < 200 || status > 299 {
			errBody, _ := io.ReadAll(io.LimitReader(upResp.BodyStream(), 1<<20))
			e = s.upstreamFailure(rt, status, errBody, string(upResp.Header.Peek("Retry-After")))
		}
	}
	if e != nil {
		release()
		writeError(ctx, e)
		setDropped(ctx, call.Dropped())
		return
	}

	id := s.ids.appendID(nil, "chatcmpl-")
	prefix := openai.NewChunkPrefix(nil, string(id), time.Now().Unix(), strings.Clone(model))
	st := rt.adapter.NewStream(call, prefix)
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no") // proxies must not hold frames back
	setDropped(ctx, call.Dropped())
	client := ctx.Conn()
	s.streams.Add(1)
	// ctx must not be touched below: the writer runs after the handler
	// returned, with only what it captured here.
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		reason := StreamPanic
		defer func() {
			// The writer runs outside the handler's recover: a panic here
			// would end the process, so it ends only this stream.
			if r := recover(); r != nil {
				id := string(s.ids.appendID(nil, "evt_"))
				s.log.Error("panic in stream", "event_id", id, "panic", r)
				_ = send(w, openai.AppendDone(openai.AppendErrorFrame(nil, &openai.Error{Status: 500, Type: openai.TypeAPI,
					EventID: id, Message: "internal error; quote event_id " + id + " to support"})))
			}
			release()
			s.streams.Add(-1)
			if s.onStreamEnd != nil {
				s.onStreamEnd(reason)
			}
		}()
		reason = s.pump(w, client, prefix, st, upResp.BodyStream(), rt.name)
	})
}

// pump moves one stream: it reads upstream events, translates each and
// flushes the frames to the client as they come.
func (s *Server) pump(w *bufio.Writer, client net.Conn, prefix openai.ChunkPrefix, st adapter.Stream, upstream io.Reader, name string) string {
	out := make([]byte, 0, 4096)
	if !send(w, openai.AppendRoleChunk(out, prefix)) {
		return StreamClientGone
	}
	watch := watchClient(client, upstream)
	defer watch.stop()
	events := sse.NewReader(upstream)
	for {
		ev, data, err := events.Next()
		if err != nil {
			if watch.gone.Load() {
				return StreamClientGone
			}
			var e *openai.Error
			out, e = st.End(out[:0])
			if err != io.EOF {
				e = s.streamTransportError(name, err)
			}
			return s.finishStream(w, out, e)
		}
		var e *openai.Error
		if out, e = st.Event(out[:0], ev, data); e != nil {
			return s.finishStream(w, out, e)
		}
		if len(out) > 0 && !send(w, out) {
			return StreamClientGone
		}
		if st.Done() {
			out, e = st.End(out[:0])
			return s.finishStream(w, out, e)
		}
	}
}

// finishStream sends the closing frames, or an error frame, then [DONE].
func (s *Server) finishStream(w *bufio.Writer, out []byte, e *openai.Error) string {
	reason := StreamComplete
	if e != nil {
		reason = StreamUpstreamError
		out = openai.AppendErrorFrame(out[:0], e)
	}
	if !send(w, openai.AppendDone(out)) {
		return StreamClientGone
	}
	return reason
}

func send(w *bufio.Writer, frames []byte) bool {
	if _, err := w.Write(frames); err != nil {
		return false
	}
	return w.Flush() == nil
}

// streamTransportError describes an upstream connection that failed after
// the stream began: it stalled past the idle timeout, or it was cut.
func (s *Server) streamTransportError(name string, err error) *openai.Error {
	var netErr net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return &openai.Error{Status: 504, Type: openai.TypeUpstream, Code: openai.CodeUpstreamTimeout,
			Message: name + " upstream stalled: no data for " + s.streamIdle.String()}
	}
	s.log.Warn("upstream stream interrupted", "upstream", name, "err", err)
	return &openai.Error{Status: 502, Type: openai.TypeUpstream, Code: openai.CodeUpstreamError,
		Message: name + " upstream stream interrupted: " + describeTransport(err)}
}

// clientWatch notices a streaming client that leaves while the upstream is
// silent, so that the upstream request is closed at once rather than at the
// next event or the idle timeout. A client sends nothing while its stream
// runs (it cannot send its next request on the connection before the
// response ends, which is after stop), so a Read on the client connection
// returns only when the client goes away. A client that pipelines anyway
// has its connection closed after the stream, since the watcher took a
// byte of its next request.
type clientWatch struct {
	conn     net.Conn
	upstream io.Reader
	mu       sync.Mutex
	finished bool
	gone     atomic.Bool
	stole    bool // the watcher read request bytes, not an end of stream
	done     chan struct{}
}

func watchClient(conn net.Conn, upstream io.Reader) *clientWatch {
	w := &clientWatch{conn: conn, upstream: upstream, done: make(chan struct{})}
	go w.run()
	return w
}

func (w *clientWatch) run() {
	defer close(w.done)
	var b [1]byte
	n, _ := w.conn.Read(b[:])
	w.mu.Lock()
	defer w.mu.Unlock()
	if n > 0 {
		w.stole = true
		return
	}
	if w.finished {
		return
	}
	w.gone.Store(true)
	// Interrupts the pump's blocked upstream Read and closes the upstream
	// connection; fasthttp makes this safe against a Read in flight.
	if c, ok := w.upstream.(fasthttp.ReadCloserWithError); ok {
		_ = c.CloseWithError(errClientGone)
	}
}

// stop ends the watch before the stream's resources are released and
// before the response ends, leaving the connection ready for the client's
// next request.
func (w *clientWatch) stop() {
	w.mu.Lock()
	w.finished = true
	w.mu.Unlock()
	_ = w.conn.SetReadDeadline(time.Now()) // wakes the watcher's Read
	<-w.done
	_ = w.conn.SetReadDeadline(time.Time{})
	if w.stole {
		_ = w.conn.Close()
	}
}

var errClientGone = errors.New("client disconnected")

// idleConn bounds the silence on a streaming upstream connection: each Read
// must see data within idle. fasthttp's own read deadline would instead
// bound the whole stream, which may rightly last minutes.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

// SetReadDeadline ignores fasthttp's deadlines; Read sets its own.
func (c *idleConn) SetReadDeadline(time.Time) error { return nil }

func idleDialer(idle time.Duration) fasthttp.DialFunc {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return func(addr string) (net.Conn, error) {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return nil, err
		}
		return &idleConn{Conn: c, idle: idle}, nil
	}
}
