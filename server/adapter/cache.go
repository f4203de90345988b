package adapter

import (
	"errors"
	"strings"
	"time"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/matrix"
)

// resolveBreakpoints fits the request's cache_control breakpoints to what
// an Anthropic-style upstream takes, best-effort as the docs promise rather
// than a 400 from upstream: past the model's limit, the breakpoints of the
// shortest prefixes are dropped (the last ones cover the most), and a
// 1-hour breakpoint after a 5-minute one, which the upstream refuses,
// becomes 5-minute. Both are reported.
func (c *Call) resolveBreakpoints() {
	if c.Model.Cache.Style != matrix.CacheAnthropicBreakpoints {
		return
	}
	var points []*llm.CacheControl
	c.eachBreakpoint(func(cc *llm.CacheControl) { points = append(points, cc) })
	if extra := len(points) - c.Model.Cache.MaxBreakpoints; extra > 0 {
		for _, cc := range points[:extra] {
			*cc = llm.CacheControl{} // written as none
		}
		points = points[extra:]
		c.DroppedExtra = append(c.DroppedExtra, "cache_control")
	}
	short := false
	for _, cc := range points {
		switch {
		case cc.TTL == "1h" && short:
			cc.TTL = "5m"
			c.adjust("cache_control.ttl", "1h", "5m")
		case cc.TTL != "1h":
			short = true
		}
	}
}

// eachBreakpoint calls fn with every breakpoint of the request, in the
// order of the prefix they end: tools, system, messages.
func (c *Call) eachBreakpoint(fn func(*llm.CacheControl)) {
	if t := c.Req.ToolSet; t != nil {
		for i := range t.Functions {
			if cc := t.Functions[i].CacheControl; cc != nil {
				fn(cc)
			}
		}
	}
	msgs := c.Req.Messages
	for _, system := range []bool{true, false} {
		for i := range msgs {
			m := &msgs[i]
			if (m.Role == "system" || m.Role == "developer") != system {
				continue
			}
			for j := range m.Content.Parts {
				if cc := m.Content.Parts[j].CacheControl; cc != nil {
					fn(cc)
				}
			}
		}
	}
}

// live reports whether a breakpoint survived resolveBreakpoints.
func live(cc *llm.CacheControl) bool { return cc != nil && cc.Type != "" }

// CachePrefix is the part of a request that a Gemini cache entry would
// hold: the messages before To, the system instruction and the tools.
type CachePrefix struct {
	To  int
	TTL string // a protobuf Duration: "300s" or "3600s"
}

// GeminiCachePrefix returns the prefix a request's breakpoints mark for a
// gateway-managed cache, and false when they mark none: everything up to
// the message of the last breakpoint (the system instruction and tools
// whole, as a request on the entry may not repeat them), and the TTL of
// that breakpoint. A prefix ending in a model turn of calls takes their
// results too, which Gemini counts against the calls.
func (c *Call) GeminiCachePrefix() (CachePrefix, bool) {
	if c.Model.Cache.Style != matrix.CacheGeminiExplicit || c.Req.CacheBreakpoints == 0 {
		return CachePrefix{}, false
	}
	msgs := c.Req.Messages
	p := CachePrefix{TTL: "300s"}
	var last *llm.CacheControl
	c.eachBreakpoint(func(cc *llm.CacheControl) { last = cc })
	for i := range msgs {
		if msgs[i].Role == "system" || msgs[i].Role == "developer" {
			continue
		}
		for j := range msgs[i].Content.Parts {
			if cc := msgs[i].Content.Parts[j].CacheControl; cc != nil {
				p.To, last = i+1, cc
			}
		}
	}
	if last == nil {
		return CachePrefix{}, false
	}
	if last.TTL == "1h" {
		p.TTL = "3600s"
	}
	for p.To < len(msgs) && p.To > 0 && (msgs[p.To].Role == "tool" || len(msgs[p.To-1].ToolCalls) > 0) {
		p.To++
	}
	if p.To == len(msgs) {
		// Nothing would be left to send: the last message stays out.
		p.To--
		for p.To > 0 && msgs[p.To].Role == "tool" {
			p.To--
		}
	}
	return p, true
}

// BuildCacheCreate writes the request that creates a cache entry for the
// prefix p of c (POST /v1beta/cachedContents). The body's bytes before
// its TTL identify the prefix: keyLen is their length.
func (Gemini) BuildCacheCreate(req *fasthttp.Request, buf []byte, c *Call, p CachePrefix, up *Upstream) (body []byte, keyLen int, e *llm.Error) {
	buf = append(buf, `{"model":"models/`...)
	buf = append(buf, c.Model.UpstreamID...)
	buf = append(buf, `",`...)
	if buf, e = appendGeminiPrefix(buf, c, p.To); e != nil {
		return buf, 0, e
	}
	keyLen = len(buf)
	buf = append(buf, `,"ttl":"`...)
	buf = append(buf, p.TTL...)
	buf = append(buf, `"}`...)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(up.BaseURL + "/v1beta/cachedContents")
	req.Header.SetContentType("application/json")
	req.Header.Set("x-goog-api-key", up.APIKey)
	req.SetBodyRaw(buf)
	return buf, keyLen, nil
}

// CacheEntry is a created cache entry, as Gemini answered.
type CacheEntry struct {
	Name   string
	Expire time.Time
	Tokens int64
}

// ParseCacheCreate reads the answer to BuildCacheCreate.
func (Gemini) ParseCacheCreate(body []byte) (CacheEntry, error) {
	var r struct {
		Name          string    `json:"name"`
		ExpireTime    time.Time `json:"expireTime"`
		UsageMetadata struct {
			TotalTokenCount int64 `json:"totalTokenCount"`
		} `json:"usageMetadata"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return CacheEntry{}, err
	}
	if !strings.HasPrefix(r.Name, "cachedContents/") || r.ExpireTime.IsZero() {
		return CacheEntry{}, errors.New("gemini: the cache entry has no name or expiry")
	}
	return CacheEntry{Name: r.Name, Expire: r.ExpireTime, Tokens: r.UsageMetadata.TotalTokenCount}, nil
}

// BuildCacheDelete writes the request that deletes a cache entry.
func (Gemini) BuildCacheDelete(req *fasthttp.Request, name string, up *Upstream) {
	req.Header.SetMethod(fasthttp.MethodDelete)
	req.SetRequestURI(up.BaseURL + "/v1beta/" + name)
	req.Header.Set("x-goog-api-key", up.APIKey)
}
