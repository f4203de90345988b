package server

import (
	"bytes"
	"errors"
	"strconv"
	"time"

	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/server/anthropic"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/bytesconv"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
)

var (
	healthBody   = []byte(`{"status":"ok"}`)
	readyBody    = []byte(`{"status":"ready"}`)
	drainingBody = []byte(`{"status":"draining"}`)
)

// HeaderRequestID carries the request's id, on every answer.
const HeaderRequestID = "X-Request-Id"

// HeaderSupplier names the supplier that answered (or last failed), and
// HeaderAttempts the upstream attempts made, when more than one.
const (
	HeaderSupplier = "X-OpenToken-Supplier"
	HeaderAttempts = "X-OpenToken-Attempts"
)

// handle routes a request. Everything under /v1/ needs a client key, even a
// path that does not exist, so that probing reveals nothing without one.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	rec := startRecord(ctx)
	rec.ridLen = len(s.requestID(ctx, rec.rid[:0]))
	// Deferred first, so that they run last: every answer carries the id,
	// a 500 written by recoverPanic and a stream's head too, and is
	// observed with its final status.
	defer s.finishRequest(ctx, rec)
	defer s.recoverPanic(ctx, rec.requestID())
	path := ctx.Path()
	if string(path) == "/health" {
		rec.endpoint = "" // probes are neither counted nor logged
		if !s.allowMethod(ctx, fasthttp.MethodGet) {
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(healthBody)
		return
	}
	if string(path) == "/ready" {
		rec.endpoint = ""
		if s.allowMethod(ctx, fasthttp.MethodGet) {
			s.ready(ctx)
		}
		return
	}
	if s.metricsOn && string(path) == "/metrics" {
		rec.endpoint = ""
		if s.allowMethod(ctx, fasthttp.MethodGet) {
			s.meters.write(ctx)
		}
		return
	}
	if !bytes.HasPrefix(path, []byte("/v1/")) {
		s.notFound(ctx)
		return
	}
	// Counted under its endpoint whatever its answer, a 401 too, and
	// answered in its door's dialect.
	rec.endpoint = endpointOf(path)
	rec.anthropic = anthropicDialect(ctx)
	if s.trace != nil {
		s.startSpan(ctx, rec)
	}
	if s.cors.preflight(ctx) || !s.authenticate(ctx, rec) {
		return
	}
	switch string(path) {
	case "/v1/chat/completions":
		if s.allowMethod(ctx, fasthttp.MethodPost) {
			s.chat(ctx, rec)
		}
	case "/v1/embeddings":
		if s.allowMethod(ctx, fasthttp.MethodPost) {
			s.embeddings(ctx, rec)
		}
	case "/v1/messages":
		if s.allowMethod(ctx, fasthttp.MethodPost) {
			s.messages(ctx, rec)
		}
	case "/v1/messages/count_tokens":
		if s.allowMethod(ctx, fasthttp.MethodPost) {
			s.countTokens(ctx, rec)
		}
	case "/v1/responses":
		if s.allowMethod(ctx, fasthttp.MethodPost) {
			s.respond(ctx, rec)
		}
	case "/v1/responses/input_tokens":
		if s.allowMethod(ctx, fasthttp.MethodPost) {
			s.inputTokens(ctx, rec)
		}
	case "/v1/key":
		if s.allowMethod(ctx, fasthttp.MethodGet) {
			s.keyInfo(ctx, rec)
		}
	case "/v1/models":
		switch {
		case !s.allowMethod(ctx, fasthttp.MethodGet):
		case rec.anthropic:
			s.anthropicModels(ctx)
		default:
			ctx.SetContentType("application/json")
			ctx.SetBody(s.models)
		}
	default:
		if id, ok := bytes.CutPrefix(path, []byte("/v1/responses/")); ok {
			s.storedResponse(ctx, rec, string(id))
			return
		}
		if id, ok := bytes.CutPrefix(path, []byte("/v1/models/")); ok {
			if s.allowMethod(ctx, fasthttp.MethodGet) {
				s.model(ctx, id)
			}
			return
		}
		s.notFound(ctx)
	}
}

// endpointOf is the endpoint a path names, for the metrics and the log.
func endpointOf(path []byte) string {
	switch string(path) {
	case "/v1/chat/completions":
		return endpointChat
	case "/v1/embeddings":
		return endpointEmbeddings
	case "/v1/key":
		return endpointKey
	case "/v1/models":
		return endpointModels
	case "/v1/messages":
		return endpointMessages
	case "/v1/messages/count_tokens":
		return endpointCount
	case "/v1/responses", "/v1/responses/input_tokens":
		return endpointResponses
	}
	if bytes.HasPrefix(path, []byte("/v1/responses/")) {
		return endpointResponses
	}
	if bytes.HasPrefix(path, []byte("/v1/models/")) {
		return endpointModels
	}
	return endpointOther
}

// ready serves GET /ready, the readiness probe: 200 once every upstream
// client is built, 503 while the gateway drains, so that a load balancer
// stops sending before the listener closes. /health is liveness: 200 while
// the process serves at all.
func (s *Server) ready(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	if s.draining.Load() {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		ctx.SetBody(drainingBody)
		return
	}
	for i := range s.upstreams {
		rt := &s.upstreams[i]
		switch {
		case rt.adapter == nil:
		case len(rt.suppliers) == 0:
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			ctx.SetBodyString(`{"status":"not_ready","reason":"no ` + rt.name + ` upstream is configured"}`)
			return
		case !s.usable(matrix.Provider(i)):
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			ctx.SetBodyString(`{"status":"not_ready","reason":"every ` + rt.name + ` supplier's circuit breaker is open"}`)
			return
		}
	}
	ctx.SetBody(readyBody)
}

// usable reports whether some supplier of a provider's models would be
// tried now: one whose breaker is closed or half-open (or has none).
func (s *Server) usable(p matrix.Provider) bool {
	now := time.Now()
	for _, m := range generated.Models {
		if m.Provider != p {
			continue
		}
		for _, c := range s.candidates[m.Index] {
			if c.br == nil || c.br.usable(now) {
				return true
			}
		}
	}
	return false
}

// finishRequest sets the request id on the answer, and observes the
// request, unless it became a stream, which is observed when it ends.
func (s *Server) finishRequest(ctx *fasthttp.RequestCtx, rec *record) {
	ctx.Response.Header.SetBytesV(HeaderRequestID, rec.requestID())
	if rec.supplier != "" {
		ctx.Response.Header.DisableNormalizing()
		ctx.Response.Header.Set(HeaderSupplier, rec.supplier)
		if rec.attempts > 1 {
			var b [20]byte
			ctx.Response.Header.SetBytesV(HeaderAttempts, strconv.AppendInt(b[:0], int64(rec.attempts), 10))
		}
	}
	if rec.rate.RPM > 0 || rec.rate.TPM > 0 {
		setRateHeaders(&ctx.Response.Header, &rec.rate, rec.anthropic, rec.start)
	}
	s.cors.allow(ctx)
	if rec.stream {
		if rec.model != nil {
			s.meters.overhead[rec.model.Provider].Update((time.Since(rec.start) - rec.upstream).Seconds())
		}
		releaseRecord(rec) // the stream's writer observes it, and may let go last
		return
	}
	if rec.endpoint != "" {
		s.observe(ctx.Response.StatusCode(), rec)
	}
	releaseRecord(rec)
}

// model serves GET /v1/models/{id}. The id holds a slash, sent raw or as
// %2F; fasthttp's path decoding makes both the same.
func (s *Server) model(ctx *fasthttp.RequestCtx, id []byte) {
	m, e := lookupModel(bytesconv.String(id))
	if e != nil {
		if e.Code == llm.CodeModelNotFound {
			e.Status = 404
		}
		s.writeError(ctx, e)
		return
	}
	ctx.SetContentType("application/json")
	buf := getBuf()
	if recordOf(ctx).anthropic {
		*buf = anthropic.AppendModel((*buf)[:0], m)
	} else {
		*buf = appendModel((*buf)[:0], m)
	}
	ctx.SetBody(*buf)
	putBuf(buf)
}

// maxRequestID bounds a request id a client may send.
const maxRequestID = 128

// requestID returns the client's X-Request-Id when it is well-formed (1 to
// 128 letters, digits and ._:-), so that a client's own id ties its logs to
// the gateway's; otherwise a new one, appended to dst.
func (s *Server) requestID(ctx *fasthttp.RequestCtx, dst []byte) []byte {
	if v := ctx.Request.Header.Peek(HeaderRequestID); len(v) > 0 && len(v) <= maxRequestID && safeID(v) {
		return append(dst, v...)
	}
	return s.ids.appendID(dst, "req_")
}

func safeID(v []byte) bool {
	for _, c := range v {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Server) notFound(ctx *fasthttp.RequestCtx) {
	s.writeError(ctx, &llm.Error{Status: 404, Type: llm.TypeInvalidRequest, Code: llm.CodeNotFound,
		Message: "no route for " + string(ctx.Method()) + " " + strconv.Quote(string(ctx.Path()))})
}

// allowMethod answers 405 unless the request uses method (HEAD is allowed
// wherever GET is).
func (s *Server) allowMethod(ctx *fasthttp.RequestCtx, method string) bool {
	m := string(ctx.Method())
	if m == method || (method == fasthttp.MethodGet && m == fasthttp.MethodHead) {
		return true
	}
	s.writeError(ctx, &llm.Error{Status: 405, Type: llm.TypeInvalidRequest, Code: llm.CodeMethodNotAllowed,
		Message: string(ctx.Path()) + " takes " + method})
	ctx.Response.Header.Set("Allow", method)
	return false
}

// authenticate checks the Bearer key and answers 401 when it is missing,
// malformed or unknown. The scheme is case-insensitive (RFC 9110 §11.1);
// two Authorization headers are refused, since proxies and servers
// disagree on which one counts.
func (s *Server) authenticate(ctx *fasthttp.RequestCtx, rec *record) bool {
	var h []byte
	n := 0
	for k, v := range ctx.Request.Header.All() {
		if len(k) == len(fasthttp.HeaderAuthorization) && bytes.EqualFold(k, []byte(fasthttp.HeaderAuthorization)) {
			h = v
			n++
		}
	}
	if n > 1 {
		s.writeError(ctx, llm.BadRequest("", "more than one Authorization header; send exactly one"))
		return false
	}
	key, ok := cutBearer(h)
	if !ok && n == 0 {
		// The Anthropic SDKs and Claude Code send their key as x-api-key.
		key = bytes.TrimSpace(ctx.Request.Header.Peek("x-api-key"))
		ok = len(key) > 0
	}
	if !ok {
		s.writeError(ctx, &llm.Error{Status: 401, Type: llm.TypeAuthentication, Code: llm.CodeMissingAuth,
			Message: "missing or malformed credentials; send Authorization: Bearer <key> (or x-api-key: <key>)"})
		return false
	}
	if rec.key = s.keyIndex(key); rec.key >= 0 {
		return s.admitRate(ctx, rec, &s.operatorMeters[rec.key], s.operatorRates)
	}
	if s.tenancy != nil && store.IsIssued(bytesconv.String(key)) {
		now := time.Now()
		p, err := s.tenancy.Check(key, now)
		if err != nil && (p == nil || !unbilled(ctx)) {
			s.writeError(ctx, refusal(err, now))
			return false
		}
		rec.principal = p
		return err != nil || s.admitRate(ctx, rec, p.Meter(), p.Key.Rates)
	}
	s.writeError(ctx, &llm.Error{Status: 401, Type: llm.TypeAuthentication, Code: llm.CodeInvalidKey,
		Message: "invalid api key"})
	return false
}

// unbilled reports whether a request costs nothing: a key refused for
// money may still ask about itself and about the models.
func unbilled(ctx *fasthttp.RequestCtx) bool {
	path := ctx.Path()
	return string(path) == "/v1/key" || string(path) == "/v1/models" || bytes.HasPrefix(path, []byte("/v1/models/"))
}

// refusal is the answer to a key tenancy refused.
func refusal(err error, now time.Time) *llm.Error {
	var expired *tenancy.ExpiredError
	var noCredit *tenancy.NoCreditError
	var limit *tenancy.LimitError
	var rate *tenancy.RateLimitError
	switch {
	case errors.As(err, &expired):
		return &llm.Error{Status: 401, Type: llm.TypeAuthentication, Code: llm.CodeExpiredKey, Message: err.Error()}
	case errors.As(err, &noCredit):
		return &llm.Error{Status: 402, Type: llm.TypeInvalidRequest, Code: llm.CodeInsufficientCredit, Message: err.Error()}
	case errors.As(err, &limit):
		return &llm.Error{Status: 429, Type: llm.TypeInvalidRequest, Code: llm.CodeSpendLimitExceeded,
			RetryAfter: strconv.FormatInt(limit.RetryAfter(now), 10), Message: err.Error()}
	case errors.As(err, &rate):
		typ := "requests"
		if rate.Rate == "tokens" {
			typ = "tokens"
		}
		e := &llm.Error{Status: 429, Type: typ, Code: llm.CodeRateLimitExceeded, Message: err.Error()}
		if !rate.TooLarge {
			e.RetryAfter = strconv.FormatInt(int64((rate.RetryAfter+time.Second-1)/time.Second), 10)
		}
		return e
	}
	return &llm.Error{Status: 401, Type: llm.TypeAuthentication, Code: llm.CodeInvalidKey, Message: "invalid api key"}
}

// cutBearer returns the credentials of an Authorization value with the
// Bearer scheme, in any case, and reports whether there were any.
func cutBearer(h []byte) ([]byte, bool) {
	const scheme = "bearer"
	h = bytes.TrimSpace(h)
	if len(h) <= len(scheme) || !bytes.EqualFold(h[:len(scheme)], []byte(scheme)) || (h[len(scheme)] != ' ' && h[len(scheme)] != '\t') {
		return nil, false
	}
	key := bytes.TrimSpace(h[len(scheme):])
	return key, len(key) > 0
}

// recoverPanic turns a panic into a 500 whose event_id is the request's
// id, which the log line carries too, so that support can find it without
// the client seeing internals.
func (s *Server) recoverPanic(ctx *fasthttp.RequestCtx, rid []byte) {
	r := recover()
	if r == nil {
		return
	}
	id := string(rid)
	s.log.Error("panic in handler", "event_id", id, "panic", r, "path", string(ctx.Path()))
	s.writeError(ctx, &llm.Error{Status: 500, Type: llm.TypeAPI, EventID: id,
		Message: "internal error; quote event_id " + id + " to support"})
}
