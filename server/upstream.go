package server

import (
	"go.opentelemetry.io/otel/trace"

	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/internal/hangup"
	"github.com/opentoken/opentoken/internal/sse"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/transport"
)

// exchange is one call's trip to its upstream, from the request's build to
// the answer's last byte, with the watch that cancels it when the client
// hangs up. Buffered and streamed calls share it.
type exchange struct {
	transport.Exchange
	rt   *route
	sup  *supplier
	req  *fasthttp.Request
	resp *fasthttp.Response
	buf  *[]byte
	// The client connection's hang-up watch, armed while the exchange runs.
	watch *hangup.Watch
	// A stream's opening, read before it commits (stream.go): its
	// translator, its events, the frames of the events read so far, and
	// whether the upstream finished within them (end holds how).
	st     adapter.Stream
	events *sse.Reader
	held   *[]byte
	ended  bool
	end    *llm.Error
}

var exchangePool sync.Pool

// Causes of a cancelled exchange.
var (
	errClientGone = errors.New("client disconnected")
	errDraining   = errors.New("gateway shutting down")
)

// errGone stands for "the client left": there is no one to answer.
var errGone = &llm.Error{Status: 499, Type: llm.TypeInvalidRequest, Message: "client disconnected"}

// send makes call's attempts at the suppliers that serve its model, in
// order, until one answers 2xx (failover.go says which failures move on)
// and returns that exchange. It watches the client meanwhile: a client
// that hangs up, now or while its answer streams, cancels the upstream
// request at once and stops the attempts. On success the exchange holds a
// 2xx answer (its body too for a buffered call) and the caller must end
// it with finish. On failure nothing is left to release, and the error is
// errGone when the client left. cacheAt is the supplier holding the
// call's prompt-cache entry: an attempt elsewhere goes uncached.
//
// A stream commits at its first content-bearing event, not at the
// upstream's 200: an upstream failing before it (Anthropic's
// overloaded_error as the first event) is a failed attempt like any
// other. out writes the stream's frames; it is unused when buffered.
func (s *Server) send(ctx *fasthttp.RequestCtx, rt *route, call *adapter.Call, rec *record, cands []candidate, cacheAt *supplier,
	out llm.StreamWriter, deadline time.Time) (*exchange, *llm.Error) {
	if len(cands) == 0 {
		return nil, noSupplier(call.Model)
	}
	s.budget.active.Add(1)
	defer s.budget.active.Add(-1)
	var failed attempts
	bypass := -1 // every breaker is open: the one that reopens first
	var reopens time.Time
	tried := 0 // attempts of this call, at this model
	for i := 0; i < len(cands); i++ {
		c := &cands[i]
		now := time.Now()
		if i != bypass && c.br != nil {
			if ok, at := c.br.allow(now); !ok {
				if bypass < 0 || at.Before(reopens) {
					bypass, reopens = i, at
				}
				if i == len(cands)-1 && tried == 0 {
					i = bypass - 1 // the loop's i++ lands on it
				}
				continue
			}
		}
		last := !s.anyAfter(cands, i, now)
		if rec.attempts > 0 {
			// An attempt beyond the request's first spends the budget.
			if !s.budget.take(s.lim.FailoverBudgetPercent, s.lim.FailoverBudgetMin) {
				s.log.Warn("failover budget spent: answering the failure", "model", call.Model.ID, "supplier", c.sup.name)
				return nil, failed.final()
			}
			defer s.budget.extra.Add(-1)
		}
		if call.Cached != nil && c.sup != cacheAt {
			call.Cached = nil
		}
		call.UpstreamID, call.Betas = c.upstreamID, c.betas
		wasFlex := call.Flex
		call.Flex = c.flex && call.Tier == "flex"
		if rec.attempts > 0 && call.Flex != wasFlex && rec.principal != nil {
			// Priced differently from the last attempt: the key's credit
			// and limit are checked again before it.
			if err := s.tenancy.Admit(rec.principal, time.Now()); err != nil {
				return nil, refusal(err, time.Now())
			}
		}
		rec.supplier, rec.supplierKind = c.sup.name, c.sup.kind
		rec.attempts++
		tried++
		var attempt trace.Span
		started := time.Now()
		if rec.span != nil {
			attempt = s.startAttempt(rec, c.sup, call.Model.ID, c.upstreamID)
		}
		wait := time.Until(deadline)
		if call.Stream {
			// A stream's head comes at once, before the model's first
			// token; its silence is bounded by the idle timeout.
			wait = min(wait, s.lim.StreamIdleTimeout)
		}
		if !last && !call.Flex {
			// A supplier that does not answer in time is left for the
			// next; the last has what remains of the deadline. The flex
			// lane is slow by design: it has no first-byte bound.
			wait = min(wait, s.lim.FailoverFirstByteTimeout)
		}
		ex, kind, e := s.attempt(ctx, rt, c.sup, call, wait, rec)
		if e == nil && call.Stream {
			firstContent := s.lim.StreamIdleTimeout
			if !last && !call.Flex {
				firstContent = min(firstContent, s.lim.FailoverFirstByteTimeout)
			}
			if kind, e = s.open(ex, call, out, firstContent); e != nil {
				s.finish(ex)
			}
		}
		if attempt != nil {
			endAttempt(attempt, e, started)
		}
		if s.settle(c, &failed, e, kind, last || !time.Now().Before(deadline)) {
			if e == nil {
				return ex, nil
			}
			rec.errKind = kind
			return nil, failed.final()
		}
		s.log.Info("failing over", "model", call.Model.ID, "from", c.sup.name, "status", e.Status, "code", e.Code)
	}
	if failed.n == 0 {
		return nil, noSupplier(call.Model)
	}
	return nil, failed.final()
}

// anyAfter reports whether a candidate after i could be tried now: a
// supplier that is not the last does not get the rest of the deadline.
func (s *Server) anyAfter(cands []candidate, i int, now time.Time) bool {
	for _, c := range cands[i+1:] {
		if c.br == nil || c.br.usable(now) {
			return true
		}
	}
	return false
}

// settle records how an attempt went — its breaker, its metrics, the
// failures so far — and reports whether the request ends with it: served,
// or failed for good (its own error, the client gone, no supplier left
// with stop).
func (s *Server) settle(c *candidate, failed *attempts, e *llm.Error, kind int, stop bool) bool {
	s.verdict(c, e, kind)
	if e == nil {
		s.meters.attempt(c.sup.name, attemptServed)
		return true
	}
	failed.add(c.sup.name, e, kind)
	if e == errGone || !failsOver(e, kind) || stop {
		s.meters.attempt(c.sup.name, attemptFailed)
		return true
	}
	s.meters.attempt(c.sup.name, attemptFailedOver)
	return false
}

// buildKind is the failure kind of an upstream request that could not be
// built: a Vertex token exchange refused is the supplier's credentials;
// anything else is the request's own.
func buildKind(e *llm.Error) int {
	if e.Code == llm.CodeVertexAuthFailed {
		return upstreamAuth
	}
	return noUpstreamError
}

// verdict tells an attempt's breaker how it went: a failure of the
// supplier counts against it (credentials refused and a model it does not
// serve open it at once), a 429 cools it down, and an answer — an error
// of the request's own included — counts for it.
func (s *Server) verdict(c *candidate, e *llm.Error, kind int) {
	br := c.br
	if br == nil {
		return
	}
	now := time.Now()
	switch {
	case e == nil:
		br.success(now)
	case e == errGone:
		br.abandon()
	case kind == upstreamThrottled:
		secs, _ := strconv.Atoi(e.RetryAfter)
		br.throttled(now, time.Duration(secs)*time.Second)
	case !failsOver(e, kind):
		br.success(now)
	case kind == upstreamAuth:
		br.failure(now, authOpen)
	case kind == upstreamRejected: // a model the supplier does not serve
		br.failure(now, missingModelOpen)
	default:
		br.failure(now, 0)
	}
}

// attempt makes one attempt at sup, waiting up to wait for its head (its
// whole body when buffered), and reports the failure's kind for the
// metrics.
func (s *Server) attempt(ctx *fasthttp.RequestCtx, rt *route, sup *supplier, call *adapter.Call, wait time.Duration, rec *record) (*exchange, int, *llm.Error) {
	ex := newExchange(rt, sup)
	body, e := rt.adapter.BuildRequest(ex.req, (*ex.buf)[:0], call, &sup.upstream)
	*ex.buf = body
	if e != nil {
		s.release(ex)
		return nil, buildKind(e), e
	}
	ex.watch = clientWatch(ctx.Conn())
	ex.watch.Arm(&ex.Exchange)
	took, kind, e := s.do(ex, wait, call.Stream)
	rec.upstream += took
	if e != nil {
		return nil, kind, e
	}
	return ex, noUpstreamError, nil
}

// noSupplier is the 503 of a model no configured supplier serves.
func noSupplier(m *matrix.Model) *llm.Error {
	return &llm.Error{Status: 503, Type: llm.TypeUpstream, Code: llm.CodeNoSupplier,
		Message: "no configured supplier serves " + m.ID}
}

// newExchange takes an exchange from the pool, with a request, a response
// and a body buffer, bound for sup.
func newExchange(rt *route, sup *supplier) *exchange {
	ex, _ := exchangePool.Get().(*exchange)
	if ex == nil {
		ex = &exchange{}
	}
	ex.rt, ex.sup, ex.req, ex.resp, ex.buf = rt, sup, fasthttp.AcquireRequest(), fasthttp.AcquireResponse(), getBuf()
	return ex
}

// do sends an exchange's built request to sup and waits up to wait for
// its head (its whole body when buffered). It reports how long the
// upstream took and, on failure, the failure's kind for the metrics and the
// client's error, having ended the exchange; on success the caller ends it
// with finish.
func (s *Server) do(ex *exchange, wait time.Duration, stream bool) (time.Duration, int, *llm.Error) {
	sup := ex.sup
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
		return took, transportKind(err), s.transportError(sup.name, err, wait)
	}
	status := ex.resp.StatusCode()
	if status < 200 || status > 299 {
		var body []byte
		if ex.resp.IsBodyStream() {
			body, _ = io.ReadAll(io.LimitReader(&ex.Exchange, 1<<20))
		} else {
			body = ex.resp.Body()
		}
		e := s.upstreamFailure(ex.rt, sup.name, status, body, &ex.resp.Header)
		return took, statusKind(status, e), e
	}
	// A 200 that is not an event stream (a proxy's HTML page) would
	// otherwise be read as a silent stream until the idle timeout.
	if ct := ex.resp.Header.ContentType(); stream && !isEventStream(ct) {
		return took, upstreamMalformed, &llm.Error{Status: 502, Type: llm.TypeUpstream, Code: llm.CodeUpstreamError,
			Message: "the " + sup.name + " upstream answered a streamed request with Content-Type " + strconv.Quote(string(ct)) + ", not text/event-stream"}
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
	if ex.held != nil {
		putBuf(ex.held)
	}
	*ex = exchange{}
	exchangePool.Put(ex)
}

// upstreamFailure maps an upstream's error status: our credentials refused
// is 502, throttling keeps its 429 and Retry-After, an outage (5xx, 529) is
// 503 with the upstream's Retry-After, a redirect (which no API sends on
// these paths) is 502, and any other 4xx keeps its status with the
// upstream's message.
func (s *Server) upstreamFailure(rt *route, name string, status int, body []byte, h *fasthttp.ResponseHeader) *llm.Error {
	ue := rt.adapter.ParseError(status, body)
	retryAfter := retryAfterSeconds(string(h.Peek("Retry-After")))
	if retryAfter == "" {
		retryAfter = retryAfterSeconds(ue.RetryAfter)
	}
	switch {
	case ue.CacheMiss:
		return &llm.Error{Status: 404, Type: llm.TypeUpstream, Code: codeCacheMiss, Message: ue.Message}
	case status == 401 || status == 403 || ue.AuthFailed:
		s.log.Error("upstream rejected the gateway's credentials", "upstream", name, "status", status)
		return &llm.Error{Status: 502, Type: llm.TypeUpstream, Code: llm.CodeUpstreamAuthFailed,
			Message: name + " upstream rejected the gateway's credentials; the operator must fix its API key"}
	case status == 429:
		return &llm.Error{Status: 429, Type: llm.TypeUpstream, Code: llm.CodeUpstreamError,
			Message: ue.Message, RetryAfter: retryAfter}
	case status >= 500:
		s.log.Warn("upstream failed", "upstream", name, "status", status, "message", ue.Message)
		return &llm.Error{Status: 503, Type: llm.TypeUpstream, Code: llm.CodeNoSupplier, RetryAfter: retryAfter,
			Message: name + " upstream is unavailable (HTTP " + strconv.Itoa(status) + "): " + ue.Message}
	case status == 408:
		return &llm.Error{Status: 504, Type: llm.TypeUpstream, Code: llm.CodeUpstreamTimeout, Message: ue.Message}
	case status < 400:
		s.log.Warn("upstream answered with a redirect", "upstream", name, "status", status)
		return &llm.Error{Status: 502, Type: llm.TypeUpstream, Code: llm.CodeUpstreamError,
			Message: name + " upstream answered HTTP " + strconv.Itoa(status) + " instead of an answer; check its base URL"}
	}
	return &llm.Error{Status: status, Type: llm.TypeUpstream, Code: llm.CodeUpstreamError, Message: ue.Message}
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
func (s *Server) transportError(name string, err error, wait time.Duration) *llm.Error {
	switch {
	case errors.Is(err, errClientGone):
		return errGone
	case errors.Is(err, errDraining):
		return drainError()
	case errors.Is(err, errChunkFailed):
		return errCancelled
	case errors.Is(err, transport.ErrTimeout):
		return &llm.Error{Status: 504, Type: llm.TypeUpstream, Code: llm.CodeUpstreamTimeout,
			Message: name + " upstream did not answer within " + wait.String()}
	case errors.Is(err, transport.ErrBodyTooLarge):
		s.log.Warn("upstream answer over the limit", "upstream", name, "limit", s.lim.MaxResponseBytes)
		return &llm.Error{Status: 502, Type: llm.TypeUpstream, Code: llm.CodeUpstreamError,
			Message: name + " upstream answer is larger than the gateway's limit of " + strconv.Itoa(s.lim.MaxResponseBytes) + " bytes"}
	case errors.Is(err, transport.ErrHeaderTooLarge):
		s.log.Warn("upstream headers over the limit", "upstream", name, "limit", s.lim.MaxUpstreamHeaderBytes)
		return &llm.Error{Status: 502, Type: llm.TypeUpstream, Code: llm.CodeUpstreamError,
			Message: name + " upstream answer headers are larger than the gateway's limit of " + strconv.Itoa(s.lim.MaxUpstreamHeaderBytes) + " bytes"}
	}
	s.log.Warn("upstream unreachable", "upstream", name, "err", err)
	return &llm.Error{Status: 503, Type: llm.TypeUpstream, Code: llm.CodeNoSupplier,
		Message: name + " upstream is unreachable: " + describeTransport(err)}
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
func statusKind(status int, e *llm.Error) int {
	switch {
	case e.Code == llm.CodeUpstreamAuthFailed:
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

func drainError() *llm.Error {
	return &llm.Error{Status: 503, Type: llm.TypeAPI, Code: llm.CodeShuttingDown,
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
