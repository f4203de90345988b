package server

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/server/openai"
)

// writeError answers with e in the standard envelope. It never writes a
// key: messages are built from constants and the client's own field names.
func writeError(ctx *fasthttp.RequestCtx, e *openai.Error) {
	ctx.Response.Reset()
	ctx.SetStatusCode(e.Status)
	ctx.SetContentType("application/json")
	if e.RetryAfter != "" {
		ctx.Response.Header.Set("Retry-After", e.RetryAfter)
	}
	buf := getBuf()
	*buf = e.AppendJSON((*buf)[:0])
	ctx.SetBody(*buf)
	putBuf(buf)
}

// handleParseError answers requests fasthttp could not read, the body-size
// limit above all, in the standard envelope instead of fasthttp's text.
func (s *Server) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	if _, ok := err.(*fasthttp.ErrSmallBuffer); ok {
		writeError(ctx, &openai.Error{Status: 431, Type: openai.TypeInvalidRequest, Message: "request headers are too large"})
		return
	}
	if err == fasthttp.ErrBodyTooLarge {
		writeError(ctx, &openai.Error{Status: 413, Type: openai.TypeInvalidRequest, Code: openai.CodeRequestTooLarge,
			Message: "request body is larger than the limit of " + strconv.Itoa(s.maxBody) + " bytes"})
		return
	}
	writeError(ctx, openai.BadRequest("", "malformed HTTP request"))
}
