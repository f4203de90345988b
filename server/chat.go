package server

import (
	"go.opentelemetry.io/otel/attribute"

	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opentoken/opentoken/llm"

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

// HeaderAdjustedParams lists the values the gateway rewrote rather than
// dropped, as param=from->to.
const HeaderAdjustedParams = "X-OpenToken-Adjusted-Params"

// chat serves POST /v1/chat/completions.
func (s *Server) chat(ctx *fasthttp.RequestCtx, rec *record) {
	req := &rec.req
	rec.lendMessages()
	e := openai.DecodeChat(ctx.PostBody(), req)
	rec.keepMessages()
	if e != nil {
		s.writeError(ctx, e)
		return
	}
	m, e := lookupModel(req.Model)
	if e != nil {
		s.writeError(ctx, e)
		return
	}
	chunks := func(call *adapter.Call, model string) llm.StreamWriter {
		id := s.ids.appendID(nil, "chatcmpl-")
		return &openai.ChunkWriter{Prefix: openai.NewChunkPrefix(nil, string(id), time.Now().Unix(), strings.Clone(model)),
			Exclude: call.Thinking.Exclude, Legacy: call.Legacy()}
	}
	call, ex, sw, e := s.generate(ctx, rec, req, m, chunks)
	s.deliver(ctx, rec, call, ex, sw, e, func(dst []byte, out *llm.Completion) []byte {
		out.Legacy = call.Legacy()
		var idBuf [64]byte
		id := s.ids.appendID(idBuf[:0], "chatcmpl-")
		return openai.AppendCompletion(dst, bytesconv.String(id), time.Now().Unix(), req.Model, out, !call.Thinking.Exclude)
	})
}

// deliver answers what generate returned, the same for every door: its
// failure, its stream, or its whole answer, which render writes in the
// door's shape from the parsed completion (whose strings point into the
// upstream body, alive until the exchange ends here).
func (s *Server) deliver(ctx *fasthttp.RequestCtx, rec *record, call *adapter.Call, ex *exchange, sw llm.StreamWriter, e *llm.Error,
	render func(dst []byte, out *llm.Completion) []byte) {
	switch {
	case e == errGone:
		ctx.SetConnectionClose()
		return
	case e != nil:
		s.writeError(ctx, e)
		if call != nil {
			setChanged(ctx, call)
		}
		return
	case call.Stream:
		s.stream(ctx, ex, call, sw, rec)
		return
	}
	defer s.finish(ex)
	out := &rec.out
	if !s.parseAnswer(ctx, ex, call, rec, out) {
		return
	}
	rec.finish, rec.hasFinish = out.Finish, true
	if rec.span != nil && s.trace.content {
		rec.span.SetAttributes(attribute.String("gen_ai.output.messages", truncate([]byte(out.Content))))
	}
	buf := getBuf()
	*buf = render((*buf)[:0], out)
	ctx.SetContentType("application/json")
	ctx.SetBody(*buf)
	putBuf(buf)
	setChanged(ctx, call)
}

// generate sends a decoded request to model m, then to its fallbacks, each
// with its own filtering, while the last failed for a reason of its
// suppliers: the part every door shares. writer makes a stream's writer
// for a call, given the model id the answer names. On success the
// exchange holds the answer (a committed stream's opening, or a whole
// body) and the caller must end it; req.Model is the model that served.
func (s *Server) generate(ctx *fasthttp.RequestCtx, rec *record, req *llm.Request, m *matrix.Model,
	writer func(call *adapter.Call, model string) llm.StreamWriter) (*adapter.Call, *exchange, llm.StreamWriter, *llm.Error) {
	if m.Kind != matrix.KindChat {
		return nil, nil, nil, &llm.Error{Status: 400, Type: llm.TypeInvalidRequest, Code: llm.CodeModelNotSupported, Param: "model",
			Message: m.ID + " is an embeddings model; it does not serve chat completions"}
	}
	route, e := parseRouting(req, m)
	if e != nil {
		return nil, nil, nil, e
	}
	deadline := time.Now().Add(s.lim.UpstreamTimeout) // for every model and supplier tried
	tier := ""
	if req.Present().Has(generated.ParamServiceTier) {
		tier = req.Superset.String(generated.ParamServiceTier)
	}
	if tier == "flex" && m.Pricing.Flex != nil {
		deadline = time.Now().Add(s.lim.FlexTimeout) // the flex lane is slow by design
	}
	var (
		call *adapter.Call
		ex   *exchange
		sw   llm.StreamWriter // a stream's frames
	)
	for i := 0; ; i++ {
		if i > 0 {
			m = route.models[i-1]
			req.Model = m.ID
			s.log.Info("falling back to the next model", "model", m.ID)
		}
		rec.model = m
		if call, e = s.prepareCall(ctx, req, m, &route); e != nil {
			break
		}
		if rec.span != nil {
			s.traceCall(rec, req, call)
		}
		if m.Pricing.Flex != nil {
			call.Tier = tier // echoed as served, flex or default
		}
		rec.dropped, rec.adjusted = call.Dropped(), call.Adjusted
		if call.Stream {
			sw = writer(call, req.Model)
		}
		ex, e = s.serve(ctx, m, call, rec, &route, sw, deadline)
		if e == nil && call.Flex {
			// service_tier was honoured, not dropped.
			call.Forward |= matrix.MaskOf(generated.ParamServiceTier)
			rec.dropped = call.Dropped()
		}
		if e == nil || e == errGone || i == len(route.models) || !time.Now().Before(deadline) {
			break
		}
		if !failsOver(e, rec.errKind) && e.Code != llm.CodeNoSupplier {
			break // the request's own error: another model would fail the same way
		}
		rec.errKind = noUpstreamError
	}
	return call, ex, sw, e
}

// parseAnswer reads a whole answer's body into out, and answers 502 when
// the upstream sent something it could not read.
func (s *Server) parseAnswer(ctx *fasthttp.RequestCtx, ex *exchange, call *adapter.Call, rec *record, out *llm.Completion) bool {
	if err := ex.rt.adapter.ParseResponse(call, ex.resp.Body(), out); err != nil {
		s.log.Warn("unreadable upstream response", "upstream", ex.sup.name, "err", err)
		rec.errKind = upstreamMalformed
		s.writeError(ctx, &llm.Error{Status: 502, Type: llm.TypeUpstream, Code: llm.CodeUpstreamError,
			Message: ex.sup.name + " upstream sent a response the gateway could not read"})
		setChanged(ctx, call)
		return false
	}
	rec.usage, rec.hasUsage = out.Usage, true
	return true
}

// prepareCall makes the call of a request to model m: its filtering, the
// routing's ignored fields reported as dropped, strict mode and
// require_parameters.
func (s *Server) prepareCall(ctx *fasthttp.RequestCtx, req *llm.Request, m *matrix.Model, route *routing) (*adapter.Call, *llm.Error) {
	call, e := adapter.NewCall(req, m)
	if e != nil {
		return nil, e
	}
	if e := s.inline(req, m); e != nil {
		return nil, e
	}
	call.DroppedExtra = append(call.DroppedExtra, route.ignored...)
	if e := strictError(ctx, call); e != nil {
		return nil, e
	}
	if route.requireParameters && call.Dropped() != 0 {
		return nil, llm.Unsupported(generated.ParamSpecs[firstParam(call.Dropped())].Name,
			"provider.require_parameters: "+m.ID+" would drop "+string(appendParamNames(nil, call.Dropped())))
	}
	return call, nil
}

func firstParam(mask matrix.Mask) matrix.Param {
	p, _ := mask.Next()
	return p
}

// serve sends call to m's suppliers, as the routing orders them, with
// its prompt cache prepared at the first.
func (s *Server) serve(ctx *fasthttp.RequestCtx, m *matrix.Model, call *adapter.Call, rec *record, route *routing,
	out llm.StreamWriter, deadline time.Time) (*exchange, *llm.Error) {
	rt := &s.upstreams[m.Provider]
	var buf [8]candidate
	cands, e := route.suppliers(m, s.candidates[m.Index], buf[:])
	if e != nil {
		return nil, e
	}
	if call.Tier == "flex" {
		cands = preferFlex(cands, buf[:])
	}
	var cacheAt *supplier // where the prompt's cache entry lives
	if len(cands) > 0 && m.Cache.Style == matrix.CacheGeminiExplicit && call.Req.CacheBreakpoints > 0 {
		cacheAt = cands[0].sup
		s.cache.prepare(rt, cacheAt, call)
	}
	ex, e := s.send(ctx, rt, call, rec, cands, cacheAt, out, deadline)
	if e != nil && e.Code == codeCacheMiss {
		// The entry expired or was deleted upstream: the request goes once
		// more, uncached, and the next one creates it anew.
		s.log.Warn("prompt cache entry refused; sending uncached", "model", m.ID, "err", e.Message)
		s.cache.invalidate(call.Cached.Name)
		call.Cached, rec.errKind = nil, noUpstreamError
		ex, e = s.send(ctx, rt, call, rec, cands, nil, out, deadline)
	}
	return ex, e
}

// setChanged writes X-OpenToken-Dropped-Params and
// X-OpenToken-Adjusted-Params, each only when something was dropped or
// adjusted.
func setChanged(ctx *fasthttp.RequestCtx, call *adapter.Call) {
	// Keep the headers' documented spelling; fasthttp would write
	// X-Opentoken-Dropped-Params.
	if dropped := call.Dropped(); dropped != 0 || call.DroppedExtra != nil || call.Req.Betas != nil {
		var b [512]byte
		if names := appendDropped(b[:0], call); len(names) > 0 {
			ctx.Response.Header.DisableNormalizing()
			ctx.Response.Header.SetBytesV(HeaderDroppedParams, names)
		}
	}
	if len(call.Adjusted) > 0 {
		var b [512]byte
		ctx.Response.Header.DisableNormalizing()
		ctx.Response.Header.SetBytesV(HeaderAdjustedParams, appendAdjusted(b[:0], call.Adjusted))
	}
}

// appendDropped writes the names of what the upstream did not receive,
// comma-separated: the parameters, then the rest (cache_control), then the
// anthropic-beta values the supplier that served does not take.
func appendDropped(dst []byte, call *adapter.Call) []byte {
	dst = appendParamNames(dst, call.Dropped())
	for _, name := range call.DroppedExtra {
		if len(dst) > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, name...)
	}
	for _, b := range call.Req.Betas {
		if !slices.Contains(call.Betas, b) {
			if len(dst) > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, "anthropic-beta="...)
			dst = append(dst, b...)
		}
	}
	return dst
}

// appendAdjusted writes adjustments as param=from->to, comma-separated.
func appendAdjusted(dst []byte, adjusted []adapter.Adjustment) []byte {
	for i, a := range adjusted {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, a.Param...)
		dst = append(dst, '=')
		dst = append(dst, a.From...)
		dst = append(dst, "->"...)
		dst = append(dst, a.To...)
	}
	return dst
}

// HeaderStrict, sent true by a client, turns every drop and adjustment
// into a 400 that names them: for developers who want to know.
const HeaderStrict = "X-OpenToken-Strict"

// strictError refuses a call that would drop or adjust anything, when the
// client asked for strict mode; nil otherwise.
func strictError(ctx *fasthttp.RequestCtx, call *adapter.Call) *llm.Error {
	if v := ctx.Request.Header.Peek(HeaderStrict); !strings.EqualFold(string(v), "true") && string(v) != "1" {
		return nil
	}
	dropped := call.Dropped()
	if dropped == 0 && call.DroppedExtra == nil && len(call.Adjusted) == 0 {
		return nil
	}
	var msg strings.Builder
	msg.WriteString("strict mode: " + call.Model.ID)
	first := ""
	if dropped != 0 || call.DroppedExtra != nil {
		names := string(appendDropped(nil, call))
		first, _, _ = strings.Cut(names, ",")
		msg.WriteString(" would drop " + names)
	}
	if len(call.Adjusted) > 0 {
		if first == "" {
			first = call.Adjusted[0].Param
		} else {
			msg.WriteString(" and")
		}
		msg.WriteString(" would adjust " + string(appendAdjusted(nil, call.Adjusted)))
	}
	msg.WriteString("; send only what the model takes, or leave " + HeaderStrict + " off")
	return llm.Unsupported(first, msg.String())
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

// preferFlex puts the suppliers serving the flex lane first, the others
// after in their order (the flex lane is tried first; failing over, the
// request runs standard).
func preferFlex(cands, buf []candidate) []candidate {
	first := -1
	for i, c := range cands {
		if c.flex {
			first = i
			break
		}
	}
	if first <= 0 {
		return cands
	}
	out := buf[:0]
	if &cands[0] == &buf[0] { // already in buf: reorder in place
		c := cands[first]
		copy(cands[1:first+1], cands[:first])
		cands[0] = c
		return cands
	}
	out = append(out, cands[first])
	out = append(out, cands[:first]...)
	return append(out, cands[first+1:]...)
}
