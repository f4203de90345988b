package server

import (
	"bytes"
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/server/openai"
)

var healthBody = []byte(`{"status":"ok"}`)

// handle routes a request. Everything under /v1/ needs a client key, even a
// path that does not exist, so that probing reveals nothing without one.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	defer s.recoverPanic(ctx)
	path := ctx.Path()
	if string(path) == "/health" {
		if !s.allowMethod(ctx, fasthttp.MethodGet) {
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(healthBody)
		return
	}
	if !bytes.HasPrefix(path, []byte("/v1/")) {
		s.notFound(ctx)
		return
	}
	if !s.authenticate(ctx) {
		return
	}
	switch string(path) {
	case "/v1/chat/completions":
		if s.allowMethod(ctx, fasthttp.MethodPost) {
			s.chat(ctx)
		}
	case "/v1/models":
		if s.allowMethod(ctx, fasthttp.MethodGet) {
			ctx.SetContentType("application/json")
			ctx.SetBody(s.models)
		}
	default:
		s.notFound(ctx)
	}
}

func (s *Server) notFound(ctx *fasthttp.RequestCtx) {
	s.writeError(ctx, &openai.Error{Status: 404, Type: openai.TypeInvalidRequest, Code: openai.CodeNotFound,
		Message: "no route for " + string(ctx.Method()) + " " + strconv.Quote(string(ctx.Path()))})
}

// allowMethod answers 405 unless the request uses method (HEAD is allowed
// wherever GET is).
func (s *Server) allowMethod(ctx *fasthttp.RequestCtx, method string) bool {
	m := string(ctx.Method())
	if m == method || (method == fasthttp.MethodGet && m == fasthttp.MethodHead) {
		return true
	}
	s.writeError(ctx, &openai.Error{Status: 405, Type: openai.TypeInvalidRequest, Code: openai.CodeMethodNotAllowed,
		Message: string(ctx.Path()) + " takes " + method})
	ctx.Response.Header.Set("Allow", method)
	return false
}

// authenticate checks the Bearer key and answers 401 when it is missing,
// malformed or unknown. The scheme is case-insensitive (RFC 9110 §11.1);
// two Authorization headers are refused, since proxies and servers
// disagree on which one counts.
func (s *Server) authenticate(ctx *fasthttp.RequestCtx) bool {
	var h []byte
	n := 0
	for k, v := range ctx.Request.Header.All() {
		if len(k) == len(fasthttp.HeaderAuthorization) && bytes.EqualFold(k, []byte(fasthttp.HeaderAuthorization)) {
			h = v
			n++
		}
	}
	if n > 1 {
		s.writeError(ctx, openai.BadRequest("", "more than one Authorization header; send exactly one"))
		return false
	}
	key, ok := cutBearer(h)
	switch {
	case !ok:
		s.writeError(ctx, &openai.Error{Status: 401, Type: openai.TypeAuthentication, Code: openai.CodeMissingAuth,
			Message: "missing or malformed Authorization header; send Authorization: Bearer <key>"})
		return false
	case !s.authorized(key):
		s.writeError(ctx, &openai.Error{Status: 401, Type: openai.TypeAuthentication, Code: openai.CodeInvalidKey,
			Message: "invalid api key"})
		return false
	}
	return true
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

// recoverPanic turns a panic into a 500 with an event id that the log line
// carries too, so that support can find it without the client seeing internals.
func (s *Server) recoverPanic(ctx *fasthttp.RequestCtx) {
	r := recover()
	if r == nil {
		return
	}
	id := string(s.ids.appendID(nil, "evt_"))
	s.log.Error("panic in handler", "event_id", id, "panic", r, "path", string(ctx.Path()))
	s.writeError(ctx, &openai.Error{Status: 500, Type: openai.TypeAPI, EventID: id,
		Message: "internal error; quote event_id " + id + " to support"})
}
