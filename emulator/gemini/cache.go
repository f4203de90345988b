package gemini

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/json"
)

// cacheMinTokens is the smallest cached content each model takes (the
// caching docs' table, reported); smaller is a 400.
var cacheMinTokens = map[string]int{
	"gemini-2.5-pro": 4096, "gemini-3-flash-preview": 1024, "gemini-3.1-flash-lite": 1024, "gemini-3.1-pro-preview": 4096,
}

// cachedContent is one entry of the emulated cachedContents service.
type cachedContent struct {
	name, model string
	expire      time.Time
	tokens      int
	created     time.Time
	// What a request using it must not repeat, and the prefix it stands for.
	contents []content
	// The tools it holds, which the model sees with every request on it.
	tools, toolConfig json.RawMessage
}

// caches is the emulator's cachedContents store.
type caches struct {
	mu      sync.Mutex
	entries map[string]*cachedContent
	creates int // how many were created, for tests
	now     func() time.Time
}

// Creates reports how many cachedContents the emulator created.
func (e *Emulator) Creates() int {
	e.cache.mu.Lock()
	defer e.cache.mu.Unlock()
	return e.cache.creates
}

// Live reports how many cachedContents exist and have not expired.
func (e *Emulator) Live() int {
	e.cache.mu.Lock()
	defer e.cache.mu.Unlock()
	n := 0
	for _, c := range e.cache.entries {
		if e.cache.clock().Before(c.expire) {
			n++
		}
	}
	return n
}

// SetClock makes the cache service read time from now, for expiry tests.
func (e *Emulator) SetClock(now func() time.Time) {
	e.cache.mu.Lock()
	e.cache.now = now
	e.cache.mu.Unlock()
}

func (c *caches) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

type createRequest struct {
	Model             string          `json:"model"`
	DisplayName       string          `json:"displayName"`
	SystemInstruction *content        `json:"systemInstruction"`
	Contents          []content       `json:"contents"`
	Tools             json.RawMessage `json:"tools"`
	ToolConfig        json.RawMessage `json:"toolConfig"`
	TTL               string          `json:"ttl"`
	ExpireTime        string          `json:"expireTime"`
}

var cacheShape = obj(emulator.Fields{
	"model": leaf, "displayName": leaf, "systemInstruction": contentShape, "contents": arr(contentShape),
	"tools": anyV, "toolConfig": anyV, "ttl": leaf, "expireTime": leaf,
})

// serveCache answers /v1beta/cachedContents[/{id}].
func (e *Emulator) serveCache(ctx *fasthttp.RequestCtx, id string) {
	c := &e.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*cachedContent{}
	}
	now := c.clock()
	for k, v := range c.entries {
		if !now.Before(v.expire) {
			delete(c.entries, k) // expired entries are gone
		}
	}
	method := string(ctx.Method())
	if id == "" {
		if method != fasthttp.MethodPost {
			fail(ctx, 405, "INVALID_ARGUMENT", "Method not allowed", "")
			return
		}
		e.createCache(ctx, c, now)
		return
	}
	entry := c.entries["cachedContents/"+id]
	if entry == nil {
		fail(ctx, 403, "PERMISSION_DENIED", "CachedContent not found (or permission denied)", "")
		return
	}
	switch method {
	case fasthttp.MethodGet:
	case fasthttp.MethodPatch:
		var p struct {
			TTL string `json:"ttl"`
		}
		if json.Unmarshal(ctx.PostBody(), &p) != nil || p.TTL == "" {
			fail(ctx, 400, "INVALID_ARGUMENT", "* UpdateCachedContentRequest.cached_content.expiration: only the expiration may be updated\n", "")
			return
		}
		d, ok := duration(p.TTL)
		if !ok {
			fail(ctx, 400, "INVALID_ARGUMENT", "Invalid value at 'cached_content.ttl' (type.googleapis.com/google.protobuf.Duration), \""+p.TTL+"\"", "")
			return
		}
		entry.expire = now.Add(d)
	case fasthttp.MethodDelete:
		delete(c.entries, entry.name)
		ctx.SetContentType("application/json; charset=UTF-8")
		ctx.SetBodyString("{}")
		return
	default:
		fail(ctx, 405, "INVALID_ARGUMENT", "Method not allowed", "")
		return
	}
	writeCache(ctx, entry)
}

func (e *Emulator) createCache(ctx *fasthttp.RequestCtx, c *caches, now time.Time) {
	var raw any
	if err := json.Unmarshal(ctx.PostBody(), &raw); err != nil {
		fail(ctx, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error(), "")
		return
	}
	raw = camelKeys(raw)
	if path := emulator.Unknown(raw, cacheShape, ""); path != "" {
		field := path[strings.LastIndex(path, ".")+1:]
		fail(ctx, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown name \""+field+"\" at '"+path+"': Cannot find field.", "")
		return
	}
	normal, _ := json.Marshal(raw)
	var req createRequest
	if err := json.Unmarshal(normal, &req); err != nil {
		fail(ctx, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. "+err.Error(), "")
		return
	}
	model := strings.TrimPrefix(req.Model, "models/")
	minimum, ok := cacheMinTokens[model]
	if !ok {
		fail(ctx, 404, "NOT_FOUND", "models/"+model+" is not found for API version v1beta, or is not supported for createCachedContent. Call ListModels to see the list of available models and their supported methods.", "")
		return
	}
	ttl := time.Hour // the default
	if req.TTL != "" {
		d, ok := duration(req.TTL)
		if !ok {
			fail(ctx, 400, "INVALID_ARGUMENT", "Invalid value at 'cached_content.ttl' (type.googleapis.com/google.protobuf.Duration), \""+req.TTL+"\"", "")
			return
		}
		ttl = d
	}
	probe := request{Contents: req.Contents, SystemInstruction: req.SystemInstruction}
	for i := range req.Contents {
		if msg := req.Contents[i].validate("contents[" + strconv.Itoa(i) + "]"); msg != "" {
			fail(ctx, 400, "INVALID_ARGUMENT", msg, "")
			return
		}
	}
	tokens := probe.inputTokens() + (len(req.Tools)+3)/4
	if tokens < minimum {
		fail(ctx, 400, "INVALID_ARGUMENT", "Cached content is too small. total_token_count="+strconv.Itoa(tokens)+", min_total_token_count="+strconv.Itoa(minimum), "")
		return
	}
	c.creates++
	entry := &cachedContent{name: "cachedContents/emu" + strconv.Itoa(c.creates), model: req.Model, expire: now.Add(ttl),
		tokens: tokens, created: now, contents: req.Contents, tools: req.Tools, toolConfig: req.ToolConfig}
	c.entries[entry.name] = entry
	writeCache(ctx, entry)
}

func writeCache(ctx *fasthttp.RequestCtx, c *cachedContent) {
	body, _ := json.Marshal(map[string]any{
		"name": c.name, "model": c.model, "createTime": c.created.UTC().Format(time.RFC3339Nano),
		"updateTime": c.created.UTC().Format(time.RFC3339Nano), "expireTime": c.expire.UTC().Format(time.RFC3339Nano),
		"usageMetadata": map[string]any{"totalTokenCount": c.tokens},
	})
	ctx.SetContentType("application/json; charset=UTF-8")
	ctx.SetBody(body)
}

// useCache finds the cached content a generateContent request names, and
// checks the request against it; the entry's token count is returned.
func (e *Emulator) useCache(name, model string, r *request) (int, int, string) {
	c := &e.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	entry := c.entries[name]
	if entry == nil || !c.clock().Before(entry.expire) {
		return 0, 403, "CachedContent not found (or permission denied)"
	}
	switch {
	case entry.model != "models/"+model:
		return 0, 400, "Model used by GenerateContent request (models/" + model + ") and CachedContent (" + entry.model + ") has to be the same."
	case r.SystemInstruction != nil || len(r.Tools) > 0 || r.ToolConfig != nil:
		return 0, 400, "Tool config, tools and system instruction should not be set in the request when using cached content."
	}
	// The model answers with the entry's tools as if the request held them.
	if len(entry.tools) > 0 {
		_ = json.Unmarshal(entry.tools, &r.Tools)
	}
	if len(entry.toolConfig) > 0 {
		_ = json.Unmarshal(entry.toolConfig, &r.ToolConfig)
	}
	return entry.tokens, 0, ""
}

// duration parses a protobuf Duration's JSON form, such as "300s".
func duration(s string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "s"), 64)
	if err != nil || !strings.HasSuffix(s, "s") || f < 0 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}
