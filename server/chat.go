package server

import (
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/bytesconv"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/openai"
)

// HeaderDroppedParams lists, comma-separated, the parameters a client sent
// that the model's upstream did not receive.
const HeaderDroppedParams = "X-OpenToken-Dropped-Params"

// chat serves POST /v1/chat/completions.
func (s *Server) chat(ctx *fasthttp.RequestCtx, rec *record) {
	var req openai.ChatRequest
	if e := openai.DecodeChat(ctx.PostBody(), &req); e != nil {
		s.writeError(ctx, e)
		return
	}
	m := generated.Lookup(req.Model)
	if m == nil {
		s.writeError(ctx, openai.ModelNotFound(req.Model))
		return
	}
	if m.Kind != matrix.KindChat {
		s.writeError(ctx, &openai.Error{Status: 400, Type: openai.TypeInvalidRequest, Code: "model_not_supported", Param: "model",
			Message: m.ID + " is an embeddings model; it does not serve chat completions"})
		return
	}
	rec.setModel(m)
	call, e := adapter.NewCall(&req, m)
	if e != nil {
		s.writeError(ctx, e)
		return
	}
	rec.dropped = call.Dropped()
	ex, e := s.send(ctx, &s.upstreams[m.Provider], call, rec)
	switch {
	case e == errGone:
		ctx.SetConnectionClose()
		return
	case e != nil:
		s.writeError(ctx, e)
		setDropped(ctx, call.Dropped())
		return
	case call.Stream:
		s.chatStream(ctx, ex, call, req.Model, rec)
		return
	}
	defer s.finish(ex)
	var out openai.Completion
	if err := ex.rt.adapter.ParseResponse(ex.resp.Body(), &out); err != nil {
		s.log.Warn("unreadable upstream response", "upstream", ex.rt.name, "err", err)
		rec.errKind = upstreamMalformed
		s.writeError(ctx, &openai.Error{Status: 502, Type: openai.TypeUpstream, Code: openai.CodeUpstreamError,
			Message: ex.rt.name + " upstream sent a response the gateway could not read"})
		setDropped(ctx, call.Dropped())
		return
	}
	rec.usage, rec.hasUsage = out.Usage, true
	// The completion's strings point into the upstream body, alive until
	// finish.
	buf := getBuf()
	var idBuf [64]byte
	id := s.ids.appendID(idBuf[:0], "chatcmpl-")
	*buf = openai.AppendCompletion((*buf)[:0], bytesconv.String(id), time.Now().Unix(), req.Model, &out, !call.Thinking.Exclude)
	ctx.SetContentType("application/json")
	ctx.SetBody(*buf)
	putBuf(buf)
	setDropped(ctx, call.Dropped())
}

// setDropped writes X-OpenToken-Dropped-Params, or nothing when every
// parameter was forwarded.
func setDropped(ctx *fasthttp.RequestCtx, dropped matrix.Mask) {
	if dropped == 0 {
		return
	}
	var b [512]byte
	v := b[:0]
	for dropped != 0 {
		var p matrix.Param
		p, dropped = dropped.Next()
		if len(v) > 0 {
			v = append(v, ',')
		}
		v = append(v, generated.ParamSpecs[p].Name...)
	}
	// Keep the header's documented spelling; fasthttp would write
	// X-Opentoken-Dropped-Params.
	ctx.Response.Header.DisableNormalizing()
	ctx.Response.Header.SetBytesV(HeaderDroppedParams, v)
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

// putBuf returns a buffer to the pool unless it grew past 1 MiB, so that one
// huge request does not pin its memory forever.
func putBuf(b *[]byte) {
	if cap(*b) <= 1<<20 {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}
