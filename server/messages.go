package server

import (
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/bytesconv"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/anthropic"
)

// The Messages door: POST /v1/messages and /v1/messages/count_tokens in
// Anthropic's dialect, decoded into the same llm.Request as a chat request
// and served by the same generate (filters, adapters, suppliers,
// fallbacks), tenancy and metrics.

// anthropicDialect reports whether a request speaks Anthropic's dialect:
// the Messages paths, and GET /v1/models with anthropic-version, which
// the Anthropic SDKs send on every request. Its errors are answered in
// Anthropic's envelope.
func anthropicDialect(ctx *fasthttp.RequestCtx) bool {
	path := ctx.Path()
	switch {
	case string(path) == "/v1/messages" || string(path) == "/v1/messages/count_tokens":
		return true
	case string(path) == "/v1/models" || strings.HasPrefix(string(path), "/v1/models/"):
		return len(ctx.Request.Header.Peek("anthropic-version")) > 0
	}
	return false
}

// checkVersion requires anthropic-version, as Anthropic does. Any dated
// version is taken: the SDKs send 2023-06-01, newer ones later dates, and
// the answer's shape is the same.
func checkVersion(ctx *fasthttp.RequestCtx) *llm.Error {
	v := ctx.Request.Header.Peek("anthropic-version")
	if len(v) == 0 {
		return llm.BadRequest("anthropic-version", "anthropic-version: header is required")
	}
	if _, err := time.Parse(time.DateOnly, string(v)); err != nil {
		return llm.BadRequest("anthropic-version", "anthropic-version: "+strconv.Quote(string(v))+" is not a version such as 2023-06-01")
	}
	return nil
}

// messagesModel finds the model a Messages request names: an OpenToken id
// (anthropic/claude-sonnet-4-6, google/gemini-3-flash) or the upstream's
// own (claude-sonnet-4-6, claude-haiku-4-5-20251001), as spec's aliases
// list them. An unknown model is a 404, as Anthropic answers it.
func messagesModel(id string) (*matrix.Model, *llm.Error) {
	if m := generated.LookupAlias(id); m != nil {
		id = m.ID
	}
	m, e := lookupModel(id)
	if e != nil && e.Code == llm.CodeModelNotFound {
		e.Status = 404
	}
	return m, e
}

// messages serves POST /v1/messages.
func (s *Server) messages(ctx *fasthttp.RequestCtx, rec *record) {
	if e := checkVersion(ctx); e != nil {
		s.writeError(ctx, e)
		return
	}
	req := &rec.req
	var dec anthropic.Decoded
	rec.lendMessages()
	e := anthropic.Decode(ctx.PostBody(), req, &dec, false)
	rec.keepMessages()
	if e != nil {
		s.writeError(ctx, e)
		return
	}
	m, e := messagesModel(dec.Model)
	if e != nil {
		s.writeError(ctx, e)
		return
	}
	req.Model = m.ID
	req.Betas = anthropic.ParseBetas(ctx.Request.Header.Peek("anthropic-beta"))
	answerModel := func(served string) string {
		if served == m.ID {
			return dec.Model // the name the client gave it
		}
		return served // a fallback model answered
	}
	events := func(_ *adapter.Call, served string) llm.StreamWriter {
		return &anthropic.EventWriter{ID: string(s.ids.appendID(nil, "msg_")), Model: strings.Clone(answerModel(served))}
	}
	call, ex, sw, e := s.generate(ctx, rec, req, m, events)
	if call != nil {
		call.DroppedExtra = append(call.DroppedExtra, dec.Dropped...)
	}
	s.deliver(ctx, rec, call, ex, sw, e, func(dst []byte, out *llm.Completion) []byte {
		var idBuf [64]byte
		id := s.ids.appendID(idBuf[:0], "msg_")
		return anthropic.AppendMessage(dst, bytesconv.String(id), answerModel(req.Model), out)
	})
}

// countTokens serves POST /v1/messages/count_tokens: the request
// translated as a message would be and counted by the model's upstream
// (Anthropic's count_tokens, Gemini's :countTokens), at its suppliers in
// order. Nothing is generated and nothing is billed.
func (s *Server) countTokens(ctx *fasthttp.RequestCtx, rec *record) {
	if e := checkVersion(ctx); e != nil {
		s.writeError(ctx, e)
		return
	}
	req := &rec.req
	var dec anthropic.Decoded
	if e := anthropic.Decode(ctx.PostBody(), req, &dec, true); e != nil {
		s.writeError(ctx, e)
		return
	}
	m, e := messagesModel(dec.Model)
	if e != nil {
		s.writeError(ctx, e)
		return
	}
	req.Model = m.ID
	n, e := s.count(ctx, rec, req, m)
	if e != nil {
		if e != errGone {
			s.writeError(ctx, e)
		}
		return
	}
	var b [48]byte
	ctx.SetContentType("application/json")
	ctx.SetBody(append(strconv.AppendInt(append(b[:0], `{"input_tokens":`...), n, 10), '}'))
}

// count has a request's input tokens counted by its model's upstream, at
// its suppliers in order (count_tokens, :countTokens): the door's
// translation, no generation, no bill. errGone means the client left.
func (s *Server) count(ctx *fasthttp.RequestCtx, rec *record, req *llm.Request, m *matrix.Model) (int64, *llm.Error) {
	if m.Kind != matrix.KindChat {
		return 0, &llm.Error{Status: 400, Type: llm.TypeInvalidRequest, Code: llm.CodeModelNotSupported, Param: "model",
			Message: m.ID + " is an embeddings model; it does not count message tokens"}
	}
	rec.model = m
	req.Superset.Stream = nil
	call, e := adapter.NewCall(req, m)
	if e != nil {
		return 0, e
	}
	call.Count = true
	route := routing{}
	var buf [8]candidate
	cands, e := route.suppliers(m, s.candidates[m.Index], buf[:])
	if e != nil {
		return 0, e
	}
	ex, e := s.send(ctx, &s.upstreams[m.Provider], call, rec, cands, nil, nil, time.Now().Add(s.lim.UpstreamTimeout))
	if e == errGone {
		ctx.SetConnectionClose()
	}
	if e != nil {
		return 0, e
	}
	defer s.finish(ex)
	n, err := ex.rt.adapter.ParseCount(ex.resp.Body())
	if err != nil {
		s.log.Warn("unreadable upstream token count", "upstream", ex.sup.name, "err", err)
		rec.errKind = upstreamMalformed
		return 0, &llm.Error{Status: 502, Type: llm.TypeUpstream, Code: llm.CodeUpstreamError,
			Message: ex.sup.name + " upstream sent a token count the gateway could not read"}
	}
	return n, nil
}

// anthropicModels serves GET /v1/models in Anthropic's list shape, with its
// limit (1 to 1000, 20 by default) and after_id paging: the chat models,
// which the Messages door serves.
func (s *Server) anthropicModels(ctx *fasthttp.RequestCtx) {
	limit := 20
	if v := ctx.QueryArgs().Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 || n > 1000 {
			s.writeError(ctx, llm.BadRequest("limit", "limit: must be an integer between 1 and 1000"))
			return
		}
		limit = n
	}
	var models []*matrix.Model
	for _, m := range generated.Models {
		if served(m) && m.Kind == matrix.KindChat {
			models = append(models, m)
		}
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(anthropic.AppendModels(nil, models, string(ctx.QueryArgs().Peek("after_id")), limit))
}
