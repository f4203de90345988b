package server

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
)

// record is what the gateway notes about one request while serving it,
// for the metrics and the access log. It lives from the request's head to
// its last byte: for a stream, past the handler, so it is pooled rather
// than on the handler's stack.
type record struct {
	start    time.Time
	upstream time.Duration // waiting for the upstream, head (and body when buffered)
	model    *matrix.Model // nil before one is known
	endpoint string
	// anthropic: the request speaks the Messages door's dialect, and is
	// answered in it, errors too.
	anthropic bool
	key       int // index of the client key, -1 when none matched
	code      string
	errKind   int // upstream error kind, noUpstreamError when none
	stream    bool
	usage     llm.Usage
	hasUsage  bool
	dropped   matrix.Mask
	adjusted  []adapter.Adjustment
	// principal is the issued key the request was made with; nil for an
	// operator key. partial marks a stream that did not complete.
	principal *tenancy.Principal
	partial   bool
	// ticket holds the request's place under its key's rate limits, and
	// rate is where the key stood once it was admitted (or refused).
	ticket tenancy.Ticket
	rate   tenancy.RateStatus
	// supplierKind is the kind of the supplier that answered (or last
	// failed); finish is why the answer ended, when hasFinish.
	supplierKind matrix.SupplierKind
	finish       llm.Finish
	hasFinish    bool
	// span is the request's trace span, nil when tracing is off, and
	// spanCtx the context its attempts' spans start in.
	span    trace.Span
	spanCtx context.Context
	// supplier names the supplier that answered (or last failed);
	// attempts counts the upstream attempts made.
	supplier string
	attempts int
	rid      [maxRequestID]byte
	ridLen   int
	// req is the request in the gateway's neutral form, which a door
	// decodes into: pooled with the record, it lives exactly as long as
	// the request (a stream's included) without an allocation of its own.
	req llm.Request
	// out is a buffered answer, parsed from the upstream's.
	out llm.Completion
	// msgs is room for the request's messages, kept from one request to
	// the next (cleared between them).
	msgs []llm.Message
	// holds counts who still uses the record: the handler, and a stream's
	// writer, which runs in a goroutine of its own from the moment it is
	// set, alongside the rest of the handler. The last to let go returns
	// the record to the pool (releaseRecord).
	holds atomic.Int32
}

// keptMessages bounds the room for messages a pooled record keeps: a long
// agent history's room goes back to the garbage collector.
const keptMessages = 64

var recordPool = sync.Pool{New: func() any { return &record{} }}

// lendMessages gives the request the room for messages the record keeps,
// for a door to decode into; keepMessages takes it back, grown if the
// request's messages outgrew it.
func (r *record) lendMessages() { r.req.Messages = r.msgs }

func (r *record) keepMessages() {
	if cap(r.req.Messages) > cap(r.msgs) {
		r.msgs = r.req.Messages[:0]
	}
}

// releaseRecord lets go of the record for the handler or a stream's
// writer, and returns it to the pool when the other has let go too.
func releaseRecord(r *record) {
	if r.holds.Add(-1) == 0 {
		putRecord(r)
	}
}

// putRecord returns a finished request's record to the pool, holding on to
// nothing of the request but the cleared room of its messages.
func putRecord(r *record) {
	msgs := r.msgs
	if cap(msgs) > keptMessages {
		msgs = nil
	}
	clear(msgs[:cap(msgs)])
	*r = record{msgs: msgs[:0]}
	recordPool.Put(r)
}

// recordKey finds a request's record among the RequestCtx's user values.
type recordKey struct{}

func startRecord(ctx *fasthttp.RequestCtx) *record {
	r := recordPool.Get().(*record)
	*r = record{start: time.Now(), key: -1, errKind: noUpstreamError, endpoint: endpointOther, msgs: r.msgs}
	r.holds.Store(1) // the handler's
	ctx.SetUserValue(recordKey{}, r)
	return r
}

// recordOf returns the request's record, or a scratch one when the request
// has none (a handler called directly by a test).
func recordOf(ctx *fasthttp.RequestCtx) *record {
	if r, ok := ctx.UserValue(recordKey{}).(*record); ok {
		return r
	}
	return &record{key: -1, errKind: noUpstreamError}
}

// requestID returns the request's id, valid while the record is.
func (r *record) requestID() []byte { return r.rid[:r.ridLen] }

// observe counts a finished request and writes its access log line. It
// allocates nothing when the access log is off.
func (s *Server) observe(status int, r *record) {
	m := s.meters
	total := time.Since(r.start)
	m.request(r.endpoint, r.model, status, r.code)
	if p := r.model; p != nil {
		if !r.stream {
			m.overhead[p.Provider].Update((total - r.upstream).Seconds())
		}
		if r.upstream > 0 {
			m.upstream[p.Provider].Update(r.upstream.Seconds())
		}
		if r.hasUsage {
			m.usage(p.Index, &r.usage)
		}
		m.droppedParams(r.dropped)
		m.adjustedParams(r.adjusted)
		if r.errKind != noUpstreamError {
			m.upstreamErrors[p.Provider][r.errKind].Inc()
		}
	}
	if s.access != nil {
		s.access.write(status, r, total)
	}
	if billed, traced := r.principal != nil && r.hasUsage && r.model != nil, r.span != nil; billed || traced {
		cost := r.cost() // once, for the ledger and the trace
		if billed {
			s.bill(status, r, cost)
		}
		if traced {
			s.endSpan(status, r, cost)
		}
	}
	if r.ticket.Admitted() {
		var tokens int64
		if r.hasUsage {
			tokens = r.usage.Prompt - r.usage.Cached + r.usage.Completion
		}
		r.ticket.Release(tokens, time.Now())
	}
}

// cost is what the request's answer cost, in dollars: 0 without one.
func (r *record) cost() float64 {
	if !r.hasUsage || r.model == nil {
		return 0
	}
	pricing := &r.model.Pricing
	if r.usage.Flex && pricing.Flex != nil {
		pricing = pricing.Flex // the lane that served
	}
	return r.usage.Price(pricing)
}

// bill records an issued key's answer in the ledger, with its cost.
func (s *Server) bill(status int, r *record, cost float64) {
	u := r.usage
	s.tenancy.Bill(r.principal, store.UsageRecord{
		RequestID: string(r.requestID()), Model: r.model.ID,
		Prompt: u.Prompt, Completion: u.Completion, Cached: u.Cached, CacheWrite: u.CacheCreation, Reasoning: u.Reasoning,
		Cost: store.FromDollars(cost), Status: status, Partial: r.partial, StartedAt: r.start, FinishedAt: time.Now(),
	})
}

// appendParamNames appends the names of the parameters of mask,
// comma-separated.
func appendParamNames(dst []byte, mask matrix.Mask) []byte {
	for first := true; mask != 0; first = false {
		var p matrix.Param
		p, mask = mask.Next()
		if !first {
			dst = append(dst, ',')
		}
		dst = append(dst, generated.ParamSpecs[p].Name...)
	}
	return dst
}
