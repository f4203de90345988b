// Package gemini is a strict emulator of the Gemini API's generateContent
// (POST /v1beta/models/{model}:generateContent): it accepts what the real API
// accepts, rejects what it rejects with the real google.rpc.Status body, and
// answers valid requests with a deterministic candidate and usage metadata.
package gemini

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/json"
)

// Emulator serves generateContent for the models it knows.
type Emulator struct {
	// Key is the only API key accepted (x-goog-api-key header or ?key=).
	Key string
	emulator.Controls

	ids   atomic.Uint64
	cache caches
}

// New returns an emulator that accepts key.
func New(key string) *Emulator { return &Emulator{Key: key} }

// Handle is the emulator's fasthttp handler.
// MaxRequestBytes is the Gemini API's documented limit on a request,
// inline data included (20 MB; larger inputs go through the Files API).
// Google's front end answers a larger one 400 INVALID_ARGUMENT.
const MaxRequestBytes = 20 << 20

func (e *Emulator) Handle(ctx *fasthttp.RequestCtx) {
	if e.Faults.ServeFaults(ctx) {
		return
	}
	e.Requests.Record(ctx)
	applied, streamFault := e.Faults.Apply(ctx)
	if applied {
		return
	}
	if n := len(ctx.PostBody()); n > MaxRequestBytes {
		fail(ctx, 400, "INVALID_ARGUMENT", "Request payload size exceeds the limit: "+strconv.Itoa(MaxRequestBytes)+" bytes.", "")
		return
	}
	if rest, found := strings.CutPrefix(string(ctx.Path()), "/v1beta/cachedContents"); found && (rest == "" || rest[0] == '/') {
		if !e.authorized(ctx) {
			return
		}
		e.serveCache(ctx, strings.TrimPrefix(rest, "/"))
		return
	}
	name, method, ok := strings.Cut(strings.TrimPrefix(string(ctx.Path()), "/v1beta/models/"), ":")
	if !ok || !strings.HasPrefix(string(ctx.Path()), "/v1beta/models/") {
		fail(ctx, 404, "NOT_FOUND", "Requested entity was not found.", "")
		return
	}
	if !e.authorized(ctx) {
		return
	}
	m, known := models[name]
	if known && m.embedding && (method == "batchEmbedContents" || method == "embedContent") {
		if !ctx.IsPost() {
			fail(ctx, 405, "INVALID_ARGUMENT", "Method not allowed", "")
			return
		}
		e.embed(ctx, name, method, &m)
		return
	}
	if known && !m.embedding && method == "countTokens" {
		if !ctx.IsPost() {
			fail(ctx, 405, "INVALID_ARGUMENT", "Method not allowed", "")
			return
		}
		countTokens(ctx, name, &m)
		return
	}
	streaming := method == "streamGenerateContent"
	if !known || m.embedding || (method != "generateContent" && !streaming) {
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
	cachedTokens := 0
	if req.CachedContent != "" {
		n, status, msg := e.useCache(req.CachedContent, name, req)
		if status != 0 {
			code := "INVALID_ARGUMENT"
			if status == 403 {
				code = "PERMISSION_DENIED"
			}
			fail(ctx, status, code, msg, "")
			return
		}
		cachedTokens = n
	}
	r := reply(req, name, &m, func() string { return fmt.Sprintf("fc_emu%016x", e.ids.Add(1)) })
	// Behind the Vertex front, the lane it served (usageMetadata.trafficType).
	r.traffic = string(ctx.Request.Header.Peek(TrafficHeader))
	// The prompt count includes the cached tokens, which are also counted
	// apart.
	r.prompt += cachedTokens
	r.cached = cachedTokens
	id := fmt.Sprintf("emu%016x", e.ids.Add(1))
	if !streaming {
		ctx.SetContentType("application/json")
		ctx.SetBody(r.response(id, name))
		return
	}
	if string(ctx.QueryArgs().Peek("alt")) != "sse" {
		// Without alt=sse the real API streams one JSON array; the gateway
		// never asks for that, so neither does this emulator answer it.
		fail(ctx, 400, "INVALID_ARGUMENT", "this emulator streams only with alt=sse", "")
		return
	}
	emulator.StartSSE(ctx, e.Stream, streamFault, overloadedEvent, func(w *emulator.SSE) { r.stream(w, id, name, e.Stream.Words) })
}

// authorized checks the API key, answering the real API's error when it
// is missing or wrong.
func (e *Emulator) authorized(ctx *fasthttp.RequestCtx) bool {
	key := string(ctx.Request.Header.Peek("x-goog-api-key"))
	if key == "" {
		key = string(ctx.QueryArgs().Peek("key"))
	}
	switch {
	case key == "":
		fail(ctx, 403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", "")
		return false
	case key != e.Key:
		fail(ctx, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", "API_KEY_INVALID")
		return false
	}
	return true
}

// overloadedEvent is how the Gemini API fails after a stream began: a bare
// error object in place of a chunk.
const overloadedEvent = "data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded. Please try again later.\",\"status\":\"UNAVAILABLE\"}}\n\n"

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

// reply is a deterministic answer: it quotes the last user turn, honours
// maxOutputTokens and stopSequences, and thinks as configured.
// TrafficHeader carries, from the Vertex emulator's front, the lane a
// request is served in, which the answer reports as trafficType.
const TrafficHeader = "X-Emulator-Traffic-Type"

type replyData struct {
	traffic        string // Vertex's trafficType, "" on the Gemini API
	thoughts       string // sent only when includeThoughts is set
	text, finish   string
	prompt, output int
	thoughtTokens  int
	calls          []functionCall
	cached         int
}

func reply(req *request, name string, m *model, ids func() string) *replyData {
	r := &replyData{text: "Emulated " + name + " reply to: " + truncate(req.lastUserText(), 200), finish: "STOP"}
	if req.endsWithResults() {
		r.text = "Emulated " + name + " reply after function results: " + truncate(req.lastResults(), 200)
	}
	if text, ok := req.formatText(); ok {
		r.text = text
	}
	if r.calls = req.calls(m, ids); r.calls != nil {
		r.text = ""
	}
	for _, s := range req.GenerationConfig.StopSequences {
		if i := strings.Index(r.text, s); i >= 0 {
			r.text = r.text[:i]
		}
	}
	tc := req.GenerationConfig.ThinkingConfig
	r.thoughtTokens = thoughtTokens[""]
	switch {
	case tc != nil && tc.ThinkingLevel != nil:
		r.thoughtTokens = thoughtTokens[*tc.ThinkingLevel]
	case tc != nil && tc.ThinkingBudget != nil && *tc.ThinkingBudget >= 0:
		r.thoughtTokens = min(int(*tc.ThinkingBudget), 100)
	}
	// maxOutputTokens bounds thinking and answer together, as the real API
	// counts them: the thoughts come first, the answer gets what is left.
	words := strings.Fields(r.text)
	if mx := req.GenerationConfig.MaxOutputTokens; mx != nil {
		r.thoughtTokens = min(r.thoughtTokens, int(*mx))
		if left := int(*mx) - r.thoughtTokens; len(words) > left {
			words, r.finish = words[:left], "MAX_TOKENS"
			r.text = strings.Join(words, " ")
		}
	}
	if tc != nil && tc.IncludeThoughts != nil && *tc.IncludeThoughts && r.thoughtTokens > 0 {
		r.thoughts = fmt.Sprintf("Emulated thoughts (%d tokens) before answering.", r.thoughtTokens)
	}
	r.prompt, r.output = req.inputTokens(), len(words)
	for _, c := range r.calls {
		r.output += (len(c.Args) + 3) / 4
	}
	return r
}

func (r *replyData) usage(output int) map[string]any {
	u := map[string]any{
		"promptTokenCount": r.prompt, "candidatesTokenCount": output, "thoughtsTokenCount": r.thoughtTokens,
		"totalTokenCount":     r.prompt + output + r.thoughtTokens,
		"promptTokensDetails": []any{map[string]any{"modality": "TEXT", "tokenCount": r.prompt}},
	}
	if r.cached > 0 {
		u["cachedContentTokenCount"] = r.cached
	}
	if r.traffic != "" {
		u["trafficType"] = r.traffic
	}
	return u
}

func (r *replyData) chunk(id, name string, parts []map[string]any, finish string, output int) []byte {
	cand := map[string]any{"content": map[string]any{"role": "model", "parts": parts}, "index": 0}
	if finish != "" {
		cand["finishReason"] = finish
	}
	b, _ := json.Marshal(map[string]any{
		"candidates": []any{cand}, "usageMetadata": r.usage(output), "modelVersion": name, "responseId": id,
	})
	return b
}

// response is the non-streamed answer.
func (r *replyData) response(id, name string) []byte {
	var parts []map[string]any
	if r.thoughts != "" {
		parts = append(parts, map[string]any{"text": r.thoughts, "thought": true})
	}
	if r.calls != nil {
		parts = append(parts, callParts(r.calls)...)
	} else {
		parts = append(parts, map[string]any{"text": r.text})
	}
	return r.chunk(id, name, parts, r.finish, r.output)
}

// stream sends the answer as streamGenerateContent?alt=sse does: text
// increments, thoughts first, cumulative usage, finishReason on the last.
func (r *replyData) stream(w *emulator.SSE, id, name string, words int) {
	if r.thoughts != "" && !w.Event("", r.chunk(id, name, []map[string]any{{"text": r.thoughts, "thought": true}}, "", 0)) {
		return
	}
	if r.calls != nil {
		// Each call arrives whole, in a chunk of its own.
		parts := callParts(r.calls)
		for i, p := range parts {
			finish := ""
			if i == len(parts)-1 {
				finish = r.finish
			}
			if !w.Event("", r.chunk(id, name, []map[string]any{p}, finish, r.output)) {
				return
			}
		}
		return
	}
	pieces := emulator.Chunks(r.text, words)
	sent := 0
	for i, piece := range pieces {
		finish := ""
		if i == len(pieces)-1 {
			finish = r.finish
		}
		sent += len(strings.Fields(piece))
		if !w.Event("", r.chunk(id, name, []map[string]any{{"text": piece}}, finish, sent)) {
			return
		}
	}
	if len(pieces) == 0 {
		_ = w.Event("", r.chunk(id, name, []map[string]any{{"text": ""}}, r.finish, 0))
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// countTokens serves :countTokens: contents alone, or a whole
// generateContentRequest naming this model, checked as generateContent
// checks it, and counted.
func countTokens(ctx *fasthttp.RequestCtx, name string, m *model) {
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(ctx.PostBody(), &outer); err != nil {
		fail(ctx, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error(), "")
		return
	}
	body := ctx.PostBody()
	for k := range outer {
		switch k {
		case "contents":
		case "generateContentRequest", "generate_content_request":
			var inner map[string]json.RawMessage
			if err := json.Unmarshal(outer[k], &inner); err != nil {
				fail(ctx, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error(), "")
				return
			}
			var model string
			_ = json.Unmarshal(inner["model"], &model)
			if model != "models/"+name {
				fail(ctx, 400, "INVALID_ARGUMENT", "* CountTokensRequest.generate_content_request.model: model must be models/"+name+", the model of the request\n", "")
				return
			}
			delete(inner, "model")
			body, _ = json.Marshal(inner)
		default:
			fail(ctx, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown name \""+k+"\": Cannot find field.", "")
			return
		}
	}
	req, msg := parse(body, name, m)
	if msg != "" {
		fail(ctx, 400, "INVALID_ARGUMENT", msg, "")
		return
	}
	n := req.inputTokens()
	out, _ := json.Marshal(map[string]any{"totalTokens": n,
		"promptTokensDetails": []any{map[string]any{"modality": "TEXT", "tokenCount": n}}})
	ctx.SetContentType("application/json")
	ctx.SetBody(out)
}
