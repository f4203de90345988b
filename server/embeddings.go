package server

import (
	"go.opentelemetry.io/otel/trace"

	"errors"
	"strings"
	"sync"
	"time"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/openai"
	"github.com/opentoken/opentoken/server/transport"
)

// embedParallel bounds the upstream calls one embeddings request makes at
// once: 2048 inputs are 21 calls of 100, which must not all hit the
// upstream's rate limit together.
const embedParallel = 4

// embeddings serves POST /v1/embeddings: the inputs go upstream in chunks
// of the model's batch size, a few at a time, and come back joined in
// order. One failed chunk fails the request, with that chunk's error; the
// others are cancelled.
func (s *Server) embeddings(ctx *fasthttp.RequestCtx, rec *record) {
	var req llm.EmbeddingsRequest
	if e := openai.DecodeEmbeddings(ctx.PostBody(), &req); e != nil {
		s.writeError(ctx, e)
		return
	}
	m, e := lookupModel(req.Model)
	if e != nil {
		s.writeError(ctx, e)
		return
	}
	rt := &s.upstreams[m.Provider]
	embedder, ok := rt.adapter.(adapter.Embedder)
	if m.Kind != matrix.KindEmbedding || !ok {
		s.writeError(ctx, &llm.Error{Status: 400, Type: llm.TypeInvalidRequest, Code: llm.CodeEmbeddingsUnsupported, Param: "model",
			Message: m.ID + " is not an embedding model; /v1/embeddings serves " + embeddingModels()})
		return
	}
	rec.model = m
	call, e := adapter.NewEmbedCall(&req, m)
	if e != nil {
		s.writeError(ctx, e)
		return
	}
	vectors, e := s.embed(ctx, rt, embedder, call, rec)
	switch {
	case e == errGone:
		ctx.SetConnectionClose()
		return
	case e != nil:
		s.writeError(ctx, e)
		return
	}
	if len(req.ServiceTier) > 0 && string(req.ServiceTier) != "null" {
		ctx.Response.Header.DisableNormalizing()
		ctx.Response.Header.Set(HeaderDroppedParams, "service_tier")
	}
	call.Finish(vectors)
	usage := llm.Usage{Prompt: call.EstimateTokens()}
	usage.Cost = usage.Price(&m.Pricing)
	rec.usage, rec.hasUsage = usage, true
	buf := getBuf()
	*buf = openai.AppendEmbeddings((*buf)[:0], req.Model, vectors, req.EncodingFormat == "base64", &usage)
	ctx.SetContentType("application/json")
	ctx.SetBody(*buf)
	putBuf(buf)
}

// embed makes the upstream calls of call and returns one vector per
// input: at the model's suppliers in order, each with every chunk, moving
// on as a chat request does (failover.go) when a supplier failed for a
// reason of its own — a whole request at one supplier, so that no answer
// mixes vectors of two.
func (s *Server) embed(ctx *fasthttp.RequestCtx, rt *route, embedder adapter.Embedder, call *adapter.EmbedCall, rec *record) ([][]float32, *llm.Error) {
	cands := s.candidates[call.Model.Index]
	if len(cands) == 0 {
		return nil, noSupplier(call.Model)
	}
	s.budget.active.Add(1)
	defer s.budget.active.Add(-1)
	var failed attempts
	for i := range cands {
		c := &cands[i]
		last := i == len(cands)-1
		if c.br != nil && !last {
			if ok, _ := c.br.allow(time.Now()); !ok {
				continue
			}
		}
		if rec.attempts > 0 {
			if !s.budget.take(s.lim.FailoverBudgetPercent, s.lim.FailoverBudgetMin) {
				return nil, failed.final()
			}
			defer s.budget.extra.Add(-1)
		}
		call.UpstreamID, call.Batch = c.upstreamID, c.batch
		rec.supplier, rec.supplierKind = c.sup.name, c.sup.kind
		rec.attempts++
		var attempt trace.Span
		started := time.Now()
		if rec.span != nil {
			attempt = s.startAttempt(rec, c.sup, call.Model.ID, c.upstreamID)
		}
		vectors, kind, e := s.embedAt(ctx, rt, c.sup, embedder, call, rec)
		if attempt != nil {
			endAttempt(attempt, e, started)
		}
		if s.settle(c, &failed, e, kind, last) {
			if e == nil {
				return vectors, nil
			}
			rec.errKind = kind
			return nil, failed.final()
		}
	}
	if failed.n == 0 {
		return nil, noSupplier(call.Model)
	}
	return nil, failed.final()
}

// embedAt makes every chunk's call at sup, a few at a time; the first
// failure stops the others.
func (s *Server) embedAt(ctx *fasthttp.RequestCtx, rt *route, sup *supplier, embedder adapter.Embedder, call *adapter.EmbedCall,
	rec *record) ([][]float32, int, *llm.Error) {
	vectors := make([][]float32, len(call.Req.Inputs))
	n := call.Chunks()
	g := &chunkGroup{errs: make([]*llm.Error, n), kinds: make([]int, n)}
	watch := clientWatch(ctx.Conn())
	watch.Arm(g)
	defer watch.Disarm()
	sem := make(chan struct{}, embedParallel)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		sem <- struct{}{}
		if g.cancelled() {
			<-sem
			break // a chunk failed or the client left: send no more
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			lo, hi := call.Chunk(i)
			g.errs[i], g.kinds[i] = s.embedChunk(g, rt, sup, embedder, call, call.Req.Inputs[lo:hi], vectors[lo:hi])
			if g.errs[i] != nil {
				g.Cancel(errChunkFailed)
			}
		}()
	}
	wg.Wait()
	rec.upstream += time.Since(start)
	if g.gone {
		return nil, noUpstreamError, errGone
	}
	// The first failure in input order is the request's: a chunk cancelled
	// because another failed says nothing of its own.
	for i, e := range g.errs {
		if e != nil && e != errCancelled {
			return nil, g.kinds[i], e
		}
	}
	return vectors, noUpstreamError, nil
}

// embedChunk makes one upstream call for inputs and reads their vectors
// into dst. The vectors are decoded numbers, which hold nothing of the
// answer's bytes: they outlive the exchange.
func (s *Server) embedChunk(g *chunkGroup, rt *route, sup *supplier, embedder adapter.Embedder, call *adapter.EmbedCall,
	inputs []string, dst [][]float32) (*llm.Error, int) {
	ex := newExchange(rt, sup)
	body, e := embedder.BuildEmbed(ex.req, (*ex.buf)[:0], call, inputs, &sup.upstream)
	*ex.buf = body
	if e != nil {
		s.release(ex)
		return e, buildKind(e)
	}
	if !g.join(&ex.Exchange) {
		s.release(ex)
		return errCancelled, noUpstreamError
	}
	defer g.leave(&ex.Exchange)
	_, kind, e := s.do(ex, s.lim.UpstreamTimeout, false)
	if e != nil {
		if g.cancelled() {
			return errCancelled, noUpstreamError
		}
		return e, kind
	}
	defer s.finish(ex)
	if err := embedder.ParseEmbed(ex.resp.Body(), dst); err != nil {
		s.log.Warn("unreadable upstream embeddings", "upstream", sup.name, "err", err)
		return &llm.Error{Status: 502, Type: llm.TypeUpstream, Code: llm.CodeUpstreamError,
			Message: sup.name + " upstream sent embeddings the gateway could not read"}, upstreamMalformed
	}
	return nil, noUpstreamError
}

// chunkGroup is the upstream calls of one embeddings request: a client
// that hangs up, or one call that fails, cancels them all.
type chunkGroup struct {
	errs  []*llm.Error // per chunk
	kinds []int        // per chunk, the upstream error kind
	mu    sync.Mutex
	live  map[*transport.Exchange]struct{}
	cause error // set once cancelled
	gone  bool  // the client hung up
}

// Errors of a cancelled chunk.
var (
	errChunkFailed = errors.New("another chunk failed")
	errCancelled   = &llm.Error{Status: 499, Type: llm.TypeInvalidRequest, Message: "cancelled"}
)

// Cancel implements hangup.Canceler, and is called by a failed chunk.
func (g *chunkGroup) Cancel(cause error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cause != nil {
		return
	}
	g.cause, g.gone = cause, cause != errChunkFailed
	for ex := range g.live {
		ex.Cancel(cause)
	}
}

// join adds a call about to be sent; false when the group is cancelled.
func (g *chunkGroup) join(ex *transport.Exchange) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cause != nil {
		return false
	}
	if g.live == nil {
		g.live = map[*transport.Exchange]struct{}{}
	}
	g.live[ex] = struct{}{}
	return true
}

func (g *chunkGroup) leave(ex *transport.Exchange) {
	g.mu.Lock()
	delete(g.live, ex)
	g.mu.Unlock()
}

func (g *chunkGroup) cancelled() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cause != nil
}

// embeddingModels lists the models /v1/embeddings serves, for errors.
func embeddingModels() string {
	var ids []string
	for _, m := range generated.Models {
		if m.Kind == matrix.KindEmbedding {
			ids = append(ids, m.ID)
		}
	}
	return strings.Join(ids, ", ")
}
