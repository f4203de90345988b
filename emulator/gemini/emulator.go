// Package gemini is a strict emulator of the Gemini API's generateContent
// (POST /v1beta/models/{model}:generateContent): it accepts what the real API
// accepts, rejects what it rejects with the real google.rpc.Status body, and
// answers valid requests with a deterministic candidate and usage metadata.
package gemini

import (
	"fmt"
	"strings"
	"sync/atomic"

	json "github.com/goccy/go-json"
	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/emulator"
)

// Emulator serves generateContent for the models it knows.
type Emulator struct {
	// Key is the only API key accepted (x-goog-api-key header or ?key=).
	Key string
	// Requests records every request received.
	Requests emulator.Recorder
	// Faults replace the next answers, for tests of failure paths.
	Faults emulator.Faults

	ids atomic.Uint64
}

// New returns an emulator that accepts key.
func New(key string) *Emulator { return &Emulator{Key: key} }

// Handle is the emulator's fasthttp handler.
func (e *Emulator) Handle(ctx *fasthttp.RequestCtx) {
	e.Requests.Record(ctx)
	if e.Faults.Apply(ctx) {
		return
	}
	name, method, ok := strings.Cut(strings.TrimPrefix(string(ctx.Path()), "/v1beta/models/"), ":")
	if !ok || !strings.HasPrefix(string(ctx.Path()), "/v1beta/models/") {
		fail(ctx, 404, "NOT_FOUND", "Requested entity was not found.", "")
		return
	}
	key := string(ctx.Request.Header.Peek("x-goog-api-key"))
	if key == "" {
		key = string(ctx.QueryArgs().Peek("key"))
	}
	switch {
	case key == "":
		fail(ctx, 403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", "")
		return
	case key != e.Key:
		fail(ctx, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", "API_KEY_INVALID")
		return
	}
	m, known := models[name]
	if !known || m.embedding || method != "generateContent" {
		fail(ctx, 404, "NOT_FOUND", "models/"+name+" is not found for API version v1beta, or is not supported for "+method+". Call ListModels to see the list of available models and their supported methods.", "")
		return
	}
	if !ctx.IsPost() {
		fail(ctx, 405, "INVALID_ARGUMENT", "Method not allowed", "")
		return
	}
	req, msg := parse(ctx.PostBody(), name, &m)
	if msg != "" {
		fail(ctx, 400, "INVALID_ARGUMENT", msg, "")
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(e.answer(req, name, &m))
}

// fail writes a google.rpc.Status error body.
func fail(ctx *fasthttp.RequestCtx, status int, code, message, reason string) {
	e := map[string]any{"code": status, "message": message, "status": code}
	if reason != "" {
		e["details"] = []any{map[string]any{
			"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com",
			"metadata": map[string]string{"service": "generativelanguage.googleapis.com"},
		}}
	}
	body, _ := json.Marshal(map[string]any{"error": e})
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json; charset=UTF-8")
	ctx.SetBody(body)
}

// thoughtTokens is how much the emulated model thinks at each level.
var thoughtTokens = map[string]int{"MINIMAL": 8, "LOW": 24, "MEDIUM": 64, "HIGH": 128, "": 64}

func (e *Emulator) answer(req *request, name string, m *model) []byte {
	text := "Emulated " + name + " reply to: " + truncate(req.lastUserText(), 200)
	finish := "STOP"
	for _, s := range req.GenerationConfig.StopSequences {
		if i := strings.Index(text, s); i >= 0 {
			text = text[:i]
		}
	}
	words := strings.Fields(text)
	if mx := req.GenerationConfig.MaxOutputTokens; mx != nil && len(words) > int(*mx) {
		words, finish = words[:*mx], "MAX_TOKENS"
		text = strings.Join(words, " ")
	}
	tc := req.GenerationConfig.ThinkingConfig
	thoughts := thoughtTokens[""]
	switch {
	case tc != nil && tc.ThinkingLevel != nil:
		thoughts = thoughtTokens[*tc.ThinkingLevel]
	case tc != nil && tc.ThinkingBudget != nil && *tc.ThinkingBudget >= 0:
		thoughts = min(int(*tc.ThinkingBudget), 100)
	}
	var parts []map[string]any
	if tc != nil && tc.IncludeThoughts != nil && *tc.IncludeThoughts && thoughts > 0 {
		parts = append(parts, map[string]any{"text": fmt.Sprintf("Emulated thoughts (%d tokens) before answering.", thoughts), "thought": true})
	}
	parts = append(parts, map[string]any{"text": text})
	prompt := req.inputTokens()
	id := e.ids.Add(1)
	body, _ := json.Marshal(map[string]any{
		"candidates": []any{map[string]any{
			"content": map[string]any{"role": "model", "parts": parts}, "finishReason": finish, "index": 0,
		}},
		"usageMetadata": map[string]any{
			"promptTokenCount": prompt, "candidatesTokenCount": len(words), "thoughtsTokenCount": thoughts,
			"totalTokenCount":     prompt + len(words) + thoughts,
			"promptTokensDetails": []any{map[string]any{"modality": "TEXT", "tokenCount": prompt}},
		},
		"modelVersion": name,
		"responseId":   fmt.Sprintf("emu%016x", id),
	})
	return body
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
