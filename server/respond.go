package server

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/bytesconv"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/responses"
	"github.com/opentoken/opentoken/store"
)

// The Responses door: POST /v1/responses (buffered and streamed),
// /v1/responses/input_tokens, and GET and DELETE /v1/responses/{id} of the
// stored ones, decoded into the same llm.Request as a chat request and
// served by the same generate.

// ResponseStore keeps the responses of store: true, each in the scope of
// the key that made it (its workspace; operator keys share one).
type ResponseStore interface {
	PutResponse(ctx context.Context, r store.StoredResponse) error
	// GetResponse and DeleteResponse answer store.ErrNotFound for an id
	// that is not in scope, expired or deleted.
	GetResponse(ctx context.Context, id, scope string, now time.Time) (store.StoredResponse, error)
	DeleteResponse(ctx context.Context, id, scope string) error
}

// ResponseRetention is how long a stored response is kept.
const ResponseRetention = 30 * 24 * time.Hour

// operatorScope is the scope of the responses of operator keys.
const operatorScope = "operator"

// scopeOf is the scope of the key a request came with.
func scopeOf(rec *record) string {
	if rec.principal != nil {
		return "workspace:" + strconv.FormatInt(rec.principal.Key.WorkspaceID, 10)
	}
	return operatorScope
}

// openSealed opens a reasoning item's encrypted_content.
func (s *Server) openSealed(text string) ([]llm.ReasoningDetail, error) {
	plain, err := s.sealer.Open(text)
	if err != nil {
		return nil, err
	}
	return responses.OpenDetails(plain)
}

// sealDetails seals a reasoning item's details.
func (s *Server) sealDetails(d []llm.ReasoningDetail) string {
	return s.sealer.Seal(responses.SealDetails(d))
}

// decodeResponses decodes a Responses body, with the history of its
// previous response first, and finds its model.
func (s *Server) decodeResponses(ctx *fasthttp.RequestCtx, rec *record, req *llm.Request, dec *responses.Decoded) (*matrix.Model, *llm.Error) {
	body := ctx.PostBody()
	prior, e := s.priorItems(ctx, rec, body)
	if e != nil {
		return nil, e
	}
	if e := responses.Decode(body, prior, req, dec, s.unseal); e != nil {
		return nil, e
	}
	m, e := lookupModel(dec.Model)
	if e != nil {
		return nil, e
	}
	req.Model = m.ID
	return m, nil
}

// priorItems loads the history of previous_response_id, when the body
// names one.
func (s *Server) priorItems(ctx *fasthttp.RequestCtx, rec *record, body []byte) ([]byte, *llm.Error) {
	id := responses.PreviousID(body)
	if id == "" {
		return nil, nil
	}
	if s.stored == nil {
		return nil, &llm.Error{Status: 400, Type: llm.TypeInvalidRequest, Param: "previous_response_id", Code: llm.CodeNotFound,
			Message: "previous_response_id needs stored responses, and this gateway has no database to keep them; send the whole input instead"}
	}
	dbCtx, cancel := storeContext()
	defer cancel()
	r, err := s.stored.GetResponse(dbCtx, id, scopeOf(rec), time.Now())
	if err != nil {
		return nil, storedError(err, id, "previous_response_id")
	}
	return r.History, nil
}

func storedError(err error, id, param string) *llm.Error {
	if errors.Is(err, store.ErrNotFound) {
		return &llm.Error{Status: 404, Type: llm.TypeInvalidRequest, Code: llm.CodeNotFound, Param: param,
			Message: "no response with id " + strconv.Quote(id) + " (it may have expired, been deleted, or belong to another workspace)"}
	}
	return &llm.Error{Status: 500, Type: llm.TypeAPI, Message: "the response store failed: " + err.Error()}
}

// responding is what a Responses request needs beside its neutral
// request, in one allocation: the decoded request, the response's
// description and its id's bytes.
type responding struct {
	dec  responses.Decoded
	meta responses.Meta
	id   [40]byte
}

// respond serves POST /v1/responses.
func (s *Server) respond(ctx *fasthttp.RequestCtx, rec *record) {
	req := &rec.req
	r := &responding{}
	dec, meta := &r.dec, &r.meta
	m, e := s.decodeResponses(ctx, rec, req, dec)
	if e != nil {
		s.writeError(ctx, e)
		return
	}
	*meta = responses.Meta{ID: bytesconv.String(s.ids.appendID(r.id[:0], "resp_")), CreatedAt: time.Now().Unix(), Model: dec.Model, Request: dec}
	if dec.EncryptedReasoning {
		meta.Seal = s.seal
	}
	keep := dec.Store && s.stored != nil
	writer := func(_ *adapter.Call, served string) llm.StreamWriter {
		if served != m.ID {
			meta.Model = served // a fallback model answered
		}
		events := responses.NewEventWriter(meta)
		if keep {
			scope := scopeOf(rec)
			events.Seal = s.seal
			events.OnComplete = func(body, history []byte) { s.put(meta, scope, body, history) }
		}
		return events
	}
	call, ex, sw, e := s.generate(ctx, rec, req, m, writer)
	if call != nil {
		call.DroppedExtra = append(call.DroppedExtra, dec.Dropped...)
		if keep {
			call.Forward |= matrix.MaskOf(generated.ParamStore) // kept by the gateway, not dropped
		}
	}
	s.deliver(ctx, rec, call, ex, sw, e, func(dst []byte, out *llm.Completion) []byte {
		if req.Model != m.ID {
			meta.Model = req.Model // a fallback model answered
		}
		dst = responses.AppendResponse(dst, meta, out)
		if keep {
			s.keep(rec, meta, dec, out, dst)
		}
		return dst
	})
}

// keep stores a whole response for GET and previous_response_id.
func (s *Server) keep(rec *record, meta *responses.Meta, dec *responses.Decoded, out *llm.Completion, body []byte) {
	history := responses.AppendHistory(nil, dec, &responses.Meta{ID: meta.ID, Model: meta.Model, Request: dec, Seal: s.seal}, out)
	s.put(meta, scopeOf(rec), body, history)
}

// storeContext bounds a call to the response store. It is not derived
// from a fasthttp request context, whose values are not safe for the
// goroutines a derived context starts.
func storeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// put stores a response, a whole one or a stream that completed. A store
// that fails is logged: the answer itself is not lost for it.
func (s *Server) put(meta *responses.Meta, scope string, body, history []byte) {
	now := time.Now()
	ctx, cancel := storeContext()
	defer cancel()
	err := s.stored.PutResponse(ctx, store.StoredResponse{ID: meta.ID, Scope: scope, Model: meta.Model,
		Created: now, Expires: now.Add(ResponseRetention), Body: append([]byte(nil), body...), History: history})
	if err != nil {
		s.log.Error("storing a response failed", "id", meta.ID, "err", err)
	}
}

// storedResponse serves GET and DELETE /v1/responses/{id}, in the scope of
// the request's key. Reading one bills nothing.
func (s *Server) storedResponse(ctx *fasthttp.RequestCtx, rec *record, id string) {
	m := string(ctx.Method())
	if m != fasthttp.MethodGet && m != fasthttp.MethodDelete {
		s.allowMethod(ctx, fasthttp.MethodGet)
		return
	}
	if s.stored == nil || strings.ContainsRune(id, '/') {
		s.writeError(ctx, storedError(store.ErrNotFound, id, ""))
		return
	}
	dbCtx, cancel := storeContext()
	defer cancel()
	if m == fasthttp.MethodDelete {
		if err := s.stored.DeleteResponse(dbCtx, id, scopeOf(rec)); err != nil {
			s.writeError(ctx, storedError(err, id, ""))
			return
		}
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"id":` + strconv.Quote(id) + `,"object":"response","deleted":true}`)
		return
	}
	r, err := s.stored.GetResponse(dbCtx, id, scopeOf(rec), time.Now())
	if err != nil {
		s.writeError(ctx, storedError(err, id, ""))
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(r.Body)
}

// inputTokens serves POST /v1/responses/input_tokens: the request counted
// by its model's upstream, as a message's count is. Nothing is billed.
func (s *Server) inputTokens(ctx *fasthttp.RequestCtx, rec *record) {
	req := &rec.req
	var dec responses.Decoded
	m, e := s.decodeResponses(ctx, rec, req, &dec)
	if e != nil {
		s.writeError(ctx, e)
		return
	}
	n, e := s.count(ctx, rec, req, m)
	if e != nil {
		if e != errGone {
			s.writeError(ctx, e)
		}
		return
	}
	var b [64]byte
	ctx.SetContentType("application/json")
	ctx.SetBody(append(strconv.AppendInt(append(b[:0], `{"object":"response.input_tokens","input_tokens":`...), n, 10), '}'))
}
