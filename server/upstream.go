package server

import (
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/internal/hangup"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/openai"
	"github.com/opentoken/opentoken/server/transport"
)

// exchange is one call's trip to its upstream, from the request's build to
// the answer's last byte, with the watch that cancels it when the client
// hangs up. Buffered and streamed calls share it.
type exchange struct {
	transport.Exchange
	rt   *route
	req  *fasthttp.Request
	resp *fasthttp.Response
	buf  *[]byte
	// The client connection's hang-up watch, armed while the exchange runs.
	watch *hangup.Watch
}

var exchangePool sync.Pool

// Causes of a cancelled exchange.
var (
	errClientGone = errors.New("client disconnected")
	errDraining   = errors.New("gateway shutting down")
)

// errGone stands for "the client left": there is no one to answer.
var errGone = &openai.Error{Status: 499, Type: openai.TypeInvalidRequest, Message: "client disconnected"}

// send builds call's upstream request and sends it, watching the client
// meanwhile: a client that hangs up, now or while its answer streams,
// cancels the upstream request at once. On success the exchange holds a 2xx
// answer (its body too for a buffered call) and the caller must end it
// with finish. On failure nothing is left to release, and the error is
// errGone when the client left.
func (s *Server) send(ctx *fasthttp.RequestCtx, rt *route, call *adapter.Call, rec *record) (*exchange, *openai.Error) {
	sup := rt.supplier()
	if sup == nil {
		return nil, noSupplier(rt)
	}
	ex := newExchange(rt)
	body, e := rt.adapter.BuildRequest(ex.req, (*ex.buf)[:0], call, &sup.upstream)
	*ex.buf = body
	if e != nil {
		s.release(ex)
		return nil, e
	}
	ex.watch = clientWatch(ctx.Conn())
	ex.watch.Arm(&ex.Exchange)
	// A stream's head comes at once, before the model's first token; its
	// silence is bounded by the idle timeout from the start.
	wait := s.lim.UpstreamTimeout
	if call.Stream {
		wait = min(wait, s.lim.StreamIdleTimeout)
	}
	var kind int
	rec.upstream, kind, e = s.do(ex, sup, wait, call.Stream)
	if e != nil {
		rec.errKind = kind
		return nil, e
	}
	return ex, nil
}

func noSupplier(rt *route) *openai.Error {
	return &openai.Error{Status: 503, Type: openai.TypeUpstream, Code: openai.CodeNoSupplier,
		Message: "no " + rt.name + " upstream is configured"}
}

// newExchange takes an exchange from the pool, with a request, a response
// and a body buffer.
func newExchange(rt *route) *exchange {
	ex, _ := exchangePool.Get().(*exchange)
	if ex == nil {
		ex = &exchange{}
	}
	ex.rt, ex.req, ex.resp, ex.buf = rt, fasthttp.AcquireRequest(), fasthttp.AcquireResponse(), getBuf()
	return ex
}

// do sends an exchange's built request to sup and waits up to wait for
// its head (its whole body when buffered). It reports how long the
// upstream took and, on failure, the failure's kind for the metrics and the
// client's error, having ended the exchange; on success the caller ends it
// with finish.
func (s *Server) do(ex *exchange, sup *supplier, wait time.Duration, stream bool) (time.Duration, int, *openai.Error) {
	s.inflight.add(&ex.Exchange)
	ok := false
	defer func() {
		// On a failure, and on a panic on its way to the handler's recover,
		// the exchange ends here.
		if !ok {
			s.finish(ex)
		}
	}()
	sent := time.Now()
	err := sup.client.Do(&ex.Exchange, ex.req, ex.resp, sent.Add(wait), stream, s.lim.StreamIdleTimeout)
	took := time.Since(sent)
	if err != nil {
		return took, transportKind(err), s.transportError(ex.rt, err, wait)
	}
	status := ex.resp.StatusCode()
	if status < 200 || status > 299 {
		var body []byte
		if ex.resp.IsBodyStream() {
			body, _ = io.ReadAll(io.LimitReader(&ex.Exchange, 1<<20))
		} else {
			body = ex.resp.Body()
		}
		e := s.upstreamFailure(ex.rt, status, body, &ex.resp.Header)
		return took, statusKind(status, e), e
	}
	// A 200 that is not an event stream (a proxy's HTML page) would
	// otherwise be read as a silent stream until the idle timeout.
	if ct := ex.resp.Header.ContentType(); stream && !isEventStream(ct) {
		return took, upstreamMalformed, &openai.Error{Status: 502, Type: openai.TypeUpstream, Code: openai.CodeUpstreamError,
			Message: "the " + ex.rt.name + " upstream answered a streamed request with Content-Type " + strconv.Quote(string(ct)) + ", not text/event-stream"}
	}
	ok = true
	return took, noUpstreamError, nil
}

// isEventStream reports whether a Content-Type is text/event-stream, with
// or without parameters, in any case.
func isEventStream(ct []byte) bool {
	const want = "text/event-stream"
	return len(ct) >= len(want) && strings.EqualFold(string(ct[:len(want)]), want) &&
		(len(ct) == len(want) || ct[len(want)] == ';' || ct[len(want)] == ' ')
}

// finish ends an exchange: it stops the hang-up watch, releases the
// upstream connection and every pooled object.
func (s *Server) finish(ex *exchange) {
	ex.watch.Disarm()
	ex.Close()
	s.inflight.remove(&ex.Exchange)
	s.release(ex)
}

func (s *Server) release(ex *exchange) {
	fasthttp.ReleaseRequest(ex.req)
	fasthttp.ReleaseResponse(ex.resp)
	putBuf(ex.buf)
	*ex = exchange{}
	exchangePool.Put(ex)
}

// upstreamFailure maps an upstream's error status: our credentials refused
// is 502, throttling keeps its 429 and Retry-After, an outage (5xx, 529) is
// 503 with the upstream's Retry-After, a redirect (which no API sends on
// these paths) is 502, and any other 4xx keeps its status with the
// upstream's message.
func (s *Server) upstreamFailure(rt *route, status int, body []byte, h *fasthttp.ResponseHeader) *openai.Error {
	ue := rt.adapter.ParseError(status, body)
	retryAfter := retryAfterSeconds(string(h.Peek("Retry-After")))
	if retryAfter == "" {
		retryAfter = retryAfterSeconds(ue.RetryAfter)
	}
	switch {
	case ue.CacheMiss:
		return &openai.Error{Status: 404, Type: openai.TypeUpstream, Code: openai.CodeUpstreamError, Message: ue.Message}
	case status == 401 || status == 403 || ue.AuthFailed:
		s.log.Error("upstream rejected the gateway's credentials", "upstream", rt.name, "status", status)
		return &openai.Error{Status: 502, Type: openai.TypeUpstream, Code: openai.CodeUpstreamAuthFailed,
			Message: rt.name + " upstream rejected the gateway's credentials; the operator must fix its API key"}
	case status == 429:
		return &openai.Error{Status: 429, Type: openai.TypeUpstream, Code: openai.CodeUpstreamError,
			Message: ue.Message, RetryAfter: retryAfter}
	case status >= 500:
		s.log.Warn("upstream failed", "upstream", rt.name, "status", status, "message", ue.Message)
		return &openai.Error{Status: 503, Type: openai.TypeUpstream, Code: openai.CodeNoSupplier, RetryAfter: retryAfter,
			Message: rt.name + " upstream is unavailable (HTTP " + strconv.Itoa(status) + "): " + ue.Message}
	case status == 408:
		return &openai.Error{Status: 504, Type: openai.TypeUpstream, Code: openai.CodeUpstreamTimeout, Message: ue.Message}
	case status < 400:
		s.log.Warn("upstream answered with a redirect", "upstream", rt.name, "status", status)
		return &openai.Error{Status: 502, Type: openai.TypeUpstream, Code: openai.CodeUpstreamError,
			Message: rt.name + " upstream answered HTTP " + strconv.Itoa(status) + " instead of an answer; check its base URL"}
	}
	return &openai.Error{Status: status, Type: openai.TypeUpstream, Code: openai.CodeUpstreamError, Message: ue.Message}
}

// retryAfterSeconds passes on a Retry-After of whole seconds (fractions
// rounded up, as the OpenAI SDKs read it) or an HTTP date; anything else is
// dropped.
func retryAfterSeconds(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		if f < 0 || math.IsNaN(f) || math.IsInf(f, 0) || f > 86400 {
			return ""
		}
		return strconv.FormatInt(int64(math.Ceil(f)), 10)
	}
	if _, err := time.Parse(time.RFC1123, v); err == nil {
		return v
	}
	return ""
}

// transportError maps a failed exchange: a timeout is 504, an answer or a
// head over the gateway's limits is 502, and anything that kept the
// upstream from answering (refused, reset, DNS, TLS) is 503.
func (s *Server) transportError(rt *route, err error, wait time.Duration) *openai.Error {
	switch {
	case errors.Is(err, errClientGone):
		return errGone
	case errors.Is(err, errDraining):
		return drainError()
	case errors.Is(err, errChunkFailed):
		return errCancelled
	case errors.Is(err, transport.ErrTimeout):
		return &openai.Error{Status: 504, Type: openai.TypeUpstream, Code: openai.CodeUpstreamTimeout,
			Message: rt.name + " upstream did not answer within " + wait.String()}
	case errors.Is(err, transport.ErrBodyTooLarge):
		s.log.Warn("upstream answer over the limit", "upstream", rt.name, "limit", s.lim.MaxResponseBytes)
		return &openai.Error{Status: 502, Type: openai.TypeUpstream, Code: openai.CodeUpstreamError,
			Message: rt.name + " upstream answer is larger than the gateway's limit of " + strconv.Itoa(s.lim.MaxResponseBytes) + " bytes"}
	case errors.Is(err, transport.ErrHeaderTooLarge):
		s.log.Warn("upstream headers over the limit", "upstream", rt.name, "limit", s.lim.MaxUpstreamHeaderBytes)
		return &openai.Error{Status: 502, Type: openai.TypeUpstream, Code: openai.CodeUpstreamError,
			Message: rt.name + " upstream answer headers are larger than the gateway's limit of " + strconv.Itoa(s.lim.MaxUpstreamHeaderBytes) + " bytes"}
	}
	s.log.Warn("upstream unreachable", "upstream", rt.name, "err", err)
	return &openai.Error{Status: 503, Type: openai.TypeUpstream, Code: openai.CodeNoSupplier,
		Message: rt.name + " upstream is unreachable: " + describeTransport(err)}
}

// transportKind classifies a failed exchange for the metrics.
func transportKind(err error) int {
	switch {
	case errors.Is(err, errClientGone), errors.Is(err, errDraining), errors.Is(err, errChunkFailed):
		return noUpstreamError
	case errors.Is(err, transport.ErrTimeout):
		return upstreamTimeout
	case errors.Is(err, transport.ErrBodyTooLarge), errors.Is(err, transport.ErrHeaderTooLarge):
		return upstreamTooLarge
	}
	return upstreamUnreachable
}

// statusKind classifies an upstream's error status for the metrics, as
// upstreamFailure mapped it.
func statusKind(status int, e *openai.Error) int {
	switch {
	case e.Code == openai.CodeUpstreamAuthFailed:
		return upstreamAuth
	case status == 429:
		return upstreamThrottled
	case status >= 500:
		return upstreamUnavailable
	case status == 408:
		return upstreamTimeout
	case status < 400:
		return upstreamMalformed
	}
	return upstreamRejected
}

func drainError() *openai.Error {
	return &openai.Error{Status: 503, Type: openai.TypeAPI, Code: openai.CodeShuttingDown,
		Message: "the gateway is shutting down; retry the request"}
}

// describeTransport names the failure without echoing addresses or URLs.
func describeTransport(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, transport.ErrNoAnswer), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, fasthttp.ErrDialTimeout):
		return "connect timed out"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "too many connections open to it"
	case strings.Contains(err.Error(), "tls"):
		return "TLS handshake failed"
	}
	return "connection failed"
}
