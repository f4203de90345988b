// Package anthropic is a strict emulator of the Anthropic Messages API
// (POST /v1/messages): it accepts what the real API accepts, rejects what it
// rejects with the real status and error body, and answers valid requests
// with a deterministic message and usage.
package anthropic

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/json"
)

// Emulator serves the Messages API for the models it knows.
type Emulator struct {
	// Key is the only x-api-key accepted.
	Key string
	emulator.Controls

	ids    atomic.Uint64
	cached sync.Map // prompt-cache prefixes seen, by hash
}

// New returns an emulator that accepts key.
func New(key string) *Emulator { return &Emulator{Key: key} }

// Handle is the emulator's fasthttp handler.
// MaxRequestBytes is the Messages API's request limit (32 MB), past
// which Cloudflare answers 413 request_too_large before the API.
const MaxRequestBytes = 32 << 20

func (e *Emulator) Handle(ctx *fasthttp.RequestCtx) {
	if e.Faults.ServeFaults(ctx) {
		return
	}
	e.Requests.Record(ctx)
	id := e.ids.Add(1)
	ctx.Response.Header.Set("request-id", fmt.Sprintf("req_emu%016x", id))
	applied, streamFault := e.Faults.Apply(ctx)
	if applied {
		return
	}
	if len(ctx.PostBody()) > MaxRequestBytes {
		e.fail(ctx, 413, "request_too_large", "Request exceeds the maximum size")
		return
	}
	count := string(ctx.Path()) == "/v1/messages/count_tokens"
	if string(ctx.Path()) != "/v1/messages" && !count {
		e.fail(ctx, 404, "not_found_error", "Not Found")
		return
	}
	if !ctx.IsPost() {
		e.fail(ctx, 405, "invalid_request_error", "Method Not Allowed")
		return
	}
	key := string(ctx.Request.Header.Peek("x-api-key"))
	switch {
	case key == "":
		e.fail(ctx, 401, "authentication_error", "x-api-key header is required")
		return
	case key != e.Key:
		e.fail(ctx, 401, "authentication_error", "invalid x-api-key")
		return
	case len(ctx.Request.Header.Peek("anthropic-version")) == 0:
		e.fail(ctx, 400, "invalid_request_error", "anthropic-version: header is required")
		return
	}
	if count {
		e.countTokens(ctx)
		return
	}
	req, m, msg := parse(ctx.PostBody())
	if msg != "" {
		status, typ := 400, "invalid_request_error"
		if strings.HasPrefix(msg, "model: ") && m == nil && req != nil && req.Model != "" {
			status, typ = 404, "not_found_error"
		}
		e.fail(ctx, status, typ, msg)
		return
	}
	r := e.reply(req, m)
	msgID := fmt.Sprintf("msg_emu%016x", id)
	if req.Stream != nil && *req.Stream {
		emulator.StartSSE(ctx, e.Stream, streamFault, overloadedEvent, func(w *emulator.SSE) { r.stream(w, msgID, req.Model, e.Stream.Words) })
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(r.message(msgID, req.Model))
}

// countFields are what count_tokens takes: the prompt, without the
// generation's settings (max_tokens, sampling, stream).
var countFields = map[string]bool{"model": true, "messages": true, "system": true, "tools": true, "tool_choice": true,
	"thinking": true, "mcp_servers": true, "context_management": true}

// countTokens serves POST /v1/messages/count_tokens: the request checked as
// a message is (with the room max_tokens would give), its input counted.
func (e *Emulator) countTokens(ctx *fasthttp.RequestCtx) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(ctx.PostBody(), &fields); err != nil {
		e.fail(ctx, 400, "invalid_request_error", "There was an error parsing the body: "+err.Error())
		return
	}
	for k := range fields {
		if !countFields[k] {
			e.fail(ctx, 400, "invalid_request_error", k+": Extra inputs are not permitted")
			return
		}
	}
	var th struct {
		BudgetTokens int `json:"budget_tokens"`
	}
	_ = json.Unmarshal(fields["thinking"], &th)
	fields["max_tokens"], _ = json.Marshal(th.BudgetTokens + 1)
	body, _ := json.Marshal(fields)
	req, m, msg := parse(body)
	if msg != "" {
		status, typ := 400, "invalid_request_error"
		if strings.HasPrefix(msg, "model: ") && m == nil && req != nil && req.Model != "" {
			status, typ = 404, "not_found_error"
		}
		e.fail(ctx, status, typ, msg)
		return
	}
	out, _ := json.Marshal(map[string]int{"input_tokens": req.inputTokens()})
	ctx.SetContentType("application/json")
	ctx.SetBody(out)
}

// overloadedEvent is how the Messages API fails after a stream began.
const overloadedEvent = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"

// fail writes the Messages API error body.
func (e *Emulator) fail(ctx *fasthttp.RequestCtx, status int, typ, message string) {
	body, _ := json.Marshal(map[string]any{
		"type":       "error",
		"error":      map[string]string{"type": typ, "message": message},
		"request_id": string(ctx.Response.Header.Peek("request-id")),
	})
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// reply is a deterministic answer: it quotes the last user turn, honours
// max_tokens and stop_sequences, thinks when asked, and counts tokens at
// about four bytes each.
type reply struct {
	thinking, signature, text string
	stopReason                string
	stopSequence              any
	input, output             int
	cacheWrite, cacheRead     int
	cacheWrite1h              int
	calls                     []call
}

func (e *Emulator) reply(req *request, m *model) *reply {
	r := &reply{text: "Emulated " + req.Model + " reply to: " + truncate(req.lastUserText(), 200), stopReason: "end_turn"}
	if req.endsWithResults() {
		r.text = "Emulated " + req.Model + " reply after tool results: " + truncate(req.lastResults(), 200)
	}
	if text, ok := req.formatText(); ok {
		r.text = text
	}
	if r.calls = e.calls(req); r.calls != nil {
		r.text, r.stopReason = "", "tool_use"
	}
	for _, s := range req.stopSequences {
		if i := strings.Index(r.text, s); i >= 0 {
			r.text, r.stopReason, r.stopSequence = r.text[:i], "stop_sequence", s
		}
	}
	thinkingTokens := 0
	if req.thinkingOn() {
		r.thinking = "Emulated reasoning: the user wrote " + fmt.Sprint(len(req.lastUserText())) + " bytes; answer briefly."
		sig := sha256.Sum256([]byte(r.thinking))
		r.signature = base64.StdEncoding.EncodeToString(sig[:])
		thinkingTokens = tokens(r.thinking)
	}
	words := strings.Fields(r.text)
	if room := int(*req.MaxTokens) - thinkingTokens; len(words) > room {
		words, r.stopReason, r.stopSequence = words[:max(room, 0)], "max_tokens", nil
		r.text = strings.Join(words, " ")
	}
	r.output = len(words) + thinkingTokens
	for _, c := range r.calls {
		r.output += tokens(string(c.input))
	}
	r.input = req.inputTokens()
	if prefix, ttl, n := req.cachePrefix(m); prefix != "" {
		if _, seen := e.cached.LoadOrStore(prefix, true); seen {
			r.cacheRead = n
		} else {
			r.cacheWrite = n
			if ttl == "1h" {
				r.cacheWrite1h = n
			}
		}
		r.input = max(r.input-n, 1)
	}
	return r
}

func (r *reply) usage() map[string]any {
	return map[string]any{
		"input_tokens": r.input, "output_tokens": r.output,
		"cache_creation_input_tokens": r.cacheWrite, "cache_read_input_tokens": r.cacheRead,
		"cache_creation": map[string]any{"ephemeral_5m_input_tokens": r.cacheWrite - r.cacheWrite1h, "ephemeral_1h_input_tokens": r.cacheWrite1h},
		"service_tier":   "standard",
	}
}

// message is the non-streamed answer.
func (r *reply) message(id, model string) []byte {
	var content []map[string]any
	if r.thinking != "" {
		content = append(content, map[string]any{"type": "thinking", "thinking": r.thinking, "signature": r.signature})
	}
	if r.text != "" || r.calls == nil {
		content = append(content, map[string]any{"type": "text", "text": r.text})
	}
	for _, c := range r.calls {
		content = append(content, map[string]any{"type": "tool_use", "id": c.id, "name": c.name, "input": json.RawMessage(c.input)})
	}
	body, _ := json.Marshal(map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model,
		"content": content, "stop_reason": r.stopReason, "stop_sequence": r.stopSequence, "usage": r.usage(),
	})
	return body
}

// stream sends the answer as the Messages API streams it.
func (r *reply) stream(w *emulator.SSE, id, model string, words int) {
	ev := func(name string, v map[string]any) bool {
		v["type"] = name
		b, _ := json.Marshal(v)
		return w.Event(name, b)
	}
	startUsage := r.usage()
	startUsage["output_tokens"] = 1
	if !ev("message_start", map[string]any{"message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": startUsage}}) {
		return
	}
	index := 0
	if r.thinking != "" {
		if !ev("content_block_start", map[string]any{"index": index, "content_block": map[string]any{"type": "thinking", "thinking": ""}}) {
			return
		}
		for _, piece := range emulator.Chunks(r.thinking, words) {
			if !ev("content_block_delta", map[string]any{"index": index, "delta": map[string]any{"type": "thinking_delta", "thinking": piece}}) {
				return
			}
		}
		if !ev("content_block_delta", map[string]any{"index": index, "delta": map[string]any{"type": "signature_delta", "signature": r.signature}}) ||
			!ev("content_block_stop", map[string]any{"index": index}) {
			return
		}
		index++
	}
	if r.text != "" || r.calls == nil {
		if !ev("content_block_start", map[string]any{"index": index, "content_block": map[string]any{"type": "text", "text": ""}}) ||
			!ev("ping", map[string]any{}) {
			return
		}
		for _, piece := range emulator.Chunks(r.text, words) {
			if !ev("content_block_delta", map[string]any{"index": index, "delta": map[string]any{"type": "text_delta", "text": piece}}) {
				return
			}
		}
		if !ev("content_block_stop", map[string]any{"index": index}) {
			return
		}
		index++
	}
	for _, c := range r.calls {
		if !ev("content_block_start", map[string]any{"index": index, "content_block": map[string]any{"type": "tool_use", "id": c.id, "name": c.name, "input": map[string]any{}}}) ||
			!ev("content_block_delta", map[string]any{"index": index, "delta": map[string]any{"type": "input_json_delta", "partial_json": ""}}) {
			return
		}
		for _, piece := range emulator.Fragments(string(c.input)) {
			if !ev("content_block_delta", map[string]any{"index": index, "delta": map[string]any{"type": "input_json_delta", "partial_json": piece}}) {
				return
			}
		}
		if !ev("content_block_stop", map[string]any{"index": index}) {
			return
		}
		index++
	}
	_ = ev("message_delta", map[string]any{"delta": map[string]any{"stop_reason": r.stopReason, "stop_sequence": r.stopSequence},
		"usage": map[string]any{"output_tokens": r.output}}) &&
		ev("message_stop", map[string]any{})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func tokens(s string) int { return max((len(s)+3)/4, 1) }
