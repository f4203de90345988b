package server

import (
	"errors"
	"net"
	"strconv"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/server/anthropic"
	"github.com/opentoken/opentoken/server/openai"
)

// writeError answers with e in the standard envelope. The message may
// quote an upstream, which may quote the request's headers: every
// configured key in it is replaced by a placeholder.
func (s *Server) writeError(ctx *fasthttp.RequestCtx, e *llm.Error) {
	ctx.Response.Reset()
	ctx.SetStatusCode(e.Status)
	ctx.SetContentType("application/json")
	if e.RetryAfter != "" {
		ctx.Response.Header.Set("Retry-After", e.RetryAfter)
	}
	recordOf(ctx).code = e.Code
	clean := *e
	clean.Message = s.secrets.String(e.Message)
	buf := getBuf()
	if rec := recordOf(ctx); rec != nil && rec.anthropic {
		*buf = anthropic.AppendError((*buf)[:0], &clean)
	} else {
		*buf = openai.AppendError((*buf)[:0], &clean)
	}
	ctx.SetBody(*buf)
	putBuf(buf)
}

// handleParseError answers requests fasthttp could not read in the
// standard envelope instead of fasthttp's text: a head over the limit is
// 431, a head or body not read in time 408, a body over the limit 413.
func (s *Server) handleParseError(ctx *fasthttp.RequestCtx, err error) {
	// Logged and counted as every answer is, under the endpoint its path
	// names when its head was read.
	rec := startRecord(ctx)
	rec.ridLen = len(s.requestID(ctx, rec.rid[:0]))
	rec.endpoint = endpointOf(ctx.Path())
	rec.anthropic = anthropicDialect(ctx) // answered in its door's envelope
	defer s.finishRequest(ctx, rec)
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	// Answered before the request was read whole, the client may still be
	// sending it: it is read away before the connection closes, or the
	// close resets the connection and the client never sees the answer.
	switch {
	case errors.As(err, &small):
		s.writeError(ctx, &llm.Error{Status: 431, Type: llm.TypeInvalidRequest, Code: llm.CodeHeadersTooLarge,
			Message: "request headers are larger than the limit of " + strconv.Itoa(s.lim.MaxHeaderBytes) + " bytes"})
		lingerAfterAnswer(ctx.Conn())
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		s.writeError(ctx, &llm.Error{Status: 413, Type: llm.TypeInvalidRequest, Code: llm.CodeRequestTooLarge,
			Message: "request body is larger than the limit of " + strconv.Itoa(s.lim.MaxBodyBytes) + " bytes"})
		lingerAfterAnswer(ctx.Conn())
	case errors.As(err, &netErr) && netErr.Timeout():
		s.writeError(ctx, &llm.Error{Status: 408, Type: llm.TypeInvalidRequest, Code: llm.CodeRequestTimeout,
			Message: "the request was not received in time"})
	default:
		s.writeError(ctx, llm.BadRequest("", "malformed HTTP request"))
		lingerAfterAnswer(ctx.Conn())
	}
}
