package server

import (
	"context"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/adapter"
)

// Traces, when a tracer is configured (Options.Tracer): a server span per
// request, named and attributed by the OpenTelemetry GenAI semantic
// conventions ("chat anthropic/claude-sonnet-4-6", gen_ai.*), with the
// gateway's own attributes (opentoken.*: the parameters dropped and
// adjusted, the key and workspace ids — never a secret —, the cost, the
// request id), and a client span per upstream attempt, so that a
// failover shows as two. A client's W3C traceparent is continued. With
// no tracer, every hook below is one nil check.

// tracing is the server's tracer and its settings.
type tracing struct {
	tracer trace.Tracer
	prop   propagation.TraceContext
	// content: spans carry the request's messages and a buffered answer
	// (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true).
	content bool
}

// The options and attributes every span shares, made once rather than
// per request.
var (
	serverKind = trace.WithSpanKind(trace.SpanKindServer)
	clientKind = trace.WithSpanKind(trace.SpanKindClient)
	// finishReasons are gen_ai.response.finish_reasons, by llm.Finish.
	finishReasons = func() (out [llm.FinishPause + 1]attribute.KeyValue) {
		for f := range out {
			out[f] = attribute.StringSlice("gen_ai.response.finish_reasons", []string{llm.Finish(f).String()})
		}
		return out
	}()
)

// spanNames are the server spans' names, "{operation} {model}", by
// model index: chat, then embeddings.
var spanNames = func() (names [2][]string) {
	for _, m := range generated.Models {
		names[0] = append(names[0], "chat "+m.ID)
		names[1] = append(names[1], "embeddings "+m.ID)
	}
	return names
}()

// maxContentAttr bounds a message-content attribute.
const maxContentAttr = 64 << 10

// headerCarrier reads and writes W3C trace context in fasthttp headers.
type headerCarrier struct{ h *fasthttp.RequestHeader }

func (c headerCarrier) Get(key string) string { return string(c.h.Peek(key)) }
func (c headerCarrier) Set(key, value string) { c.h.Set(key, value) }
func (c headerCarrier) Keys() []string        { return []string{"traceparent", "tracestate"} }

// startSpan starts a request's server span, continuing the client's
// trace when it sent a traceparent. Its name and attributes are set when
// the request ends (endSpan).
func (s *Server) startSpan(ctx *fasthttp.RequestCtx, rec *record) {
	parent := s.trace.prop.Extract(context.Background(), headerCarrier{&ctx.Request.Header})
	rec.spanCtx, rec.span = s.trace.tracer.Start(parent, rec.endpoint, serverKind, trace.WithTimestamp(rec.start))
	if s.trace.content && rateLimited(ctx) {
		rec.span.SetAttributes(attribute.String("gen_ai.input.messages", truncate(ctx.PostBody())))
	}
}

// operation is a request's gen_ai.operation.name.
func operation(endpoint string) string {
	switch endpoint {
	case endpointEmbeddings:
		return "embeddings"
	case endpointChat, endpointMessages, endpointResponses:
		return "chat"
	}
	return endpoint
}

// traceCall records on the request's span what a call forwards to its
// model: the GenAI request attributes of the parameters the model's
// filter forwarded, and their names, in one call.
func (s *Server) traceCall(rec *record, req *llm.Request, call *adapter.Call) {
	var buf [10]attribute.KeyValue
	attrs := buf[:0]
	for mask := call.Forward; mask != 0; {
		var p matrix.Param
		p, mask = mask.Next()
		switch p {
		case generated.ParamTemperature:
			attrs = append(attrs, attribute.Float64("gen_ai.request.temperature", req.Superset.Float(p)))
		case generated.ParamTopP:
			attrs = append(attrs, attribute.Float64("gen_ai.request.top_p", req.Superset.Float(p)))
		case generated.ParamTopK:
			attrs = append(attrs, attribute.Float64("gen_ai.request.top_k", float64(req.Superset.Int(p))))
		case generated.ParamFrequencyPenalty:
			attrs = append(attrs, attribute.Float64("gen_ai.request.frequency_penalty", req.Superset.Float(p)))
		case generated.ParamPresencePenalty:
			attrs = append(attrs, attribute.Float64("gen_ai.request.presence_penalty", req.Superset.Float(p)))
		case generated.ParamSeed:
			attrs = append(attrs, attribute.Int64("gen_ai.request.seed", req.Superset.Int(p)))
		case generated.ParamMaxTokens, generated.ParamMaxCompletionTokens:
			attrs = append(attrs, attribute.Int64("gen_ai.request.max_tokens", req.Superset.Int(p)))
		case generated.ParamStop:
			attrs = append(attrs, attribute.StringSlice("gen_ai.request.stop_sequences", req.Superset.Strings(p)))
		}
	}
	names := getBuf()
	*names = appendParamNames((*names)[:0], call.Forward)
	attrs = append(attrs, attribute.String("opentoken.params.forwarded", string(*names)))
	putBuf(names)
	rec.span.SetAttributes(attrs...)
}

// startAttempt starts the client span of one upstream attempt.
func (s *Server) startAttempt(rec *record, sup *supplier, model string, upstreamID string) trace.Span {
	_, sp := s.trace.tracer.Start(rec.spanCtx, operation(rec.endpoint)+" "+upstreamID, clientKind,
		trace.WithAttributes(
			attribute.String("gen_ai.operation.name", operation(rec.endpoint)),
			attribute.String("gen_ai.provider.name", sup.kind.GenAIProvider()),
			attribute.String("gen_ai.request.model", model),
			attribute.String("opentoken.supplier", sup.name),
			attribute.String("opentoken.upstream.model", upstreamID),
			attribute.Int("opentoken.attempt", rec.attempts),
		))
	return sp
}

// endAttempt ends an attempt's span with its outcome.
func endAttempt(sp trace.Span, e *llm.Error, started time.Time) {
	seconds := attribute.Float64("opentoken.attempt.seconds", time.Since(started).Seconds())
	if e == nil {
		sp.SetAttributes(attribute.String("opentoken.attempt.outcome", "ok"), seconds)
		sp.End()
		return
	}
	outcome := "failed"
	if e == errGone {
		outcome = "client_gone"
	}
	sp.SetAttributes(attribute.String("opentoken.attempt.outcome", outcome), seconds, attribute.Int("http.response.status_code", e.Status),
		attribute.String("error.type", errorType(e)))
	sp.SetStatus(codes.Error, e.Message)
	sp.End()
}

// errorType is an error's error.type: its code, or its status.
func errorType(e *llm.Error) string {
	if e.Code != "" {
		return e.Code
	}
	return strconv.Itoa(e.Status)
}

// endSpan names the request's span and records how it ended.
func (s *Server) endSpan(status int, r *record, cost float64) {
	sp := r.span
	op := operation(r.endpoint)
	name := op
	var buf [24]attribute.KeyValue // every attribute below, on the stack
	attrs := append(buf[:0],
		attribute.String("gen_ai.operation.name", op),
		attribute.Int("http.response.status_code", status),
		attribute.String("opentoken.request_id", string(r.requestID())),
		attribute.Int("opentoken.attempts", r.attempts),
	)
	if m := r.model; m != nil {
		switch op {
		case "chat":
			name = spanNames[0][m.Index]
		case "embeddings":
			name = spanNames[1][m.Index]
		default:
			name += " " + m.ID
		}
		attrs = append(attrs, attribute.String("gen_ai.request.model", m.ID), attribute.String("gen_ai.response.model", m.ID),
			attribute.String("gen_ai.provider.name", r.supplierKind.GenAIProvider()))
	}
	if r.supplier != "" {
		attrs = append(attrs, attribute.String("opentoken.supplier", r.supplier))
	}
	if r.hasUsage {
		attrs = append(attrs, attribute.Int64("gen_ai.usage.input_tokens", r.usage.Prompt), attribute.Int64("gen_ai.usage.output_tokens", r.usage.Completion),
			attribute.Float64("opentoken.cost_usd", cost))
		if r.usage.Cached > 0 {
			attrs = append(attrs, attribute.Int64("gen_ai.usage.cache_read.input_tokens", r.usage.Cached))
		}
	}
	if r.hasFinish && int(r.finish) < len(finishReasons) {
		attrs = append(attrs, finishReasons[r.finish])
	}
	if r.dropped != 0 {
		buf := getBuf()
		*buf = appendParamNames((*buf)[:0], r.dropped)
		attrs = append(attrs, attribute.String("opentoken.params.dropped", string(*buf)))
		putBuf(buf)
	}
	if len(r.adjusted) > 0 {
		adjusted := make([]string, len(r.adjusted))
		for i, a := range r.adjusted {
			adjusted[i] = a.Param
		}
		attrs = append(attrs, attribute.StringSlice("opentoken.params.adjusted", adjusted))
	}
	if p := r.principal; p != nil {
		attrs = append(attrs, attribute.Int64("opentoken.key_id", p.Key.ID), attribute.Int64("opentoken.workspace_id", p.Key.WorkspaceID))
	}
	if r.partial {
		attrs = append(attrs, attribute.Bool("opentoken.partial", true))
	}
	if status >= 400 {
		t := r.code
		if t == "" {
			t = strconv.Itoa(status)
		}
		attrs = append(attrs, attribute.String("error.type", t))
		if status >= 500 {
			sp.SetStatus(codes.Error, t)
		}
	}
	sp.SetName(name)
	sp.SetAttributes(attrs...)
	sp.End()
}

// truncate is b as a string of at most maxContentAttr bytes.
func truncate(b []byte) string {
	if len(b) > maxContentAttr {
		b = b[:maxContentAttr]
	}
	return string(b)
}
