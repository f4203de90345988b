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

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/emulator"
)

// Emulator serves the Messages API for the models it knows.
type Emulator struct {
	// Key is the only x-api-key accepted.
	Key string
	// Requests records every request received.
	Requests emulator.Recorder
	// Faults replace the next answers, for tests of failure paths.
	Faults emulator.Faults

	ids    atomic.Uint64
	cached sync.Map // prompt-cache prefixes seen, by hash
}

// New returns an emulator that accepts key.
func New(key string) *Emulator { return &Emulator{Key: key} }

// Handle is the emulator's fasthttp handler.
func (e *Emulator) Handle(ctx *fasthttp.RequestCtx) {
	e.Requests.Record(ctx)
	id := e.ids.Add(1)
	ctx.Response.Header.Set("request-id", fmt.Sprintf("req_emu%016x", id))
	if e.Faults.Apply(ctx) {
		return
	}
	if string(ctx.Path()) != "/v1/messages" {
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
	req, m, msg := parse(ctx.PostBody())
	if msg != "" {
		status, typ := 400, "invalid_request_error"
		if strings.HasPrefix(msg, "model: ") && m == nil && req != nil && req.Model != "" {
			status, typ = 404, "not_found_error"
		}
		e.fail(ctx, status, typ, msg)
		return
	}
	if req.Stream != nil && *req.Stream {
		e.fail(ctx, 400, "invalid_request_error", "stream: this emulator answers non-streaming requests only")
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(e.answer(req, m, id))
}

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

// answer writes a deterministic reply: it quotes the last user turn, honours
// max_tokens and stop_sequences, thinks when asked, and counts tokens at
// about four bytes each.
func (e *Emulator) answer(req *request, m *model, id uint64) []byte {
	text := "Emulated " + req.Model + " reply to: " + truncate(req.lastUserText(), 200)
	stopReason, stopSeq := "end_turn", any(nil)
	for _, s := range req.stopSequences {
		if i := strings.Index(text, s); i >= 0 {
			text, stopReason, stopSeq = text[:i], "stop_sequence", s
		}
	}
	var content []map[string]any
	thinkingTokens := 0
	if req.thinkingOn() {
		thought := "Emulated reasoning: the user wrote " + fmt.Sprint(len(req.lastUserText())) + " bytes; answer briefly."
		sig := sha256.Sum256([]byte(thought))
		content = append(content, map[string]any{"type": "thinking", "thinking": thought, "signature": base64.StdEncoding.EncodeToString(sig[:])})
		thinkingTokens = tokens(thought)
	}
	words := strings.Fields(text)
	if room := int(*req.MaxTokens) - thinkingTokens; len(words) > room {
		words, stopReason, stopSeq = words[:max(room, 0)], "max_tokens", nil
		text = strings.Join(words, " ")
	}
	content = append(content, map[string]any{"type": "text", "text": text})

	input := req.inputTokens()
	created, read := 0, 0
	if prefix, n := req.cachePrefix(); prefix != "" {
		if _, seen := e.cached.LoadOrStore(prefix, true); seen {
			read = n
		} else {
			created = n
		}
		input = max(input-n, 1)
	}
	body, _ := json.Marshal(map[string]any{
		"id": fmt.Sprintf("msg_emu%016x", id), "type": "message", "role": "assistant", "model": req.Model,
		"content": content, "stop_reason": stopReason, "stop_sequence": stopSeq,
		"usage": map[string]any{
			"input_tokens": input, "output_tokens": len(words) + thinkingTokens,
			"cache_creation_input_tokens": created, "cache_read_input_tokens": read,
			"service_tier": "standard",
		},
	})
	return body
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func tokens(s string) int { return max((len(s)+3)/4, 1) }
