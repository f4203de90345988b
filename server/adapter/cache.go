package adapter

import (
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/openai"
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
	var points []*openai.CacheControl
	c.eachBreakpoint(func(cc *openai.CacheControl) { points = append(points, cc) })
	if extra := len(points) - c.Model.Cache.MaxBreakpoints; extra > 0 {
		for _, cc := range points[:extra] {
			*cc = openai.CacheControl{} // written as none
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
func (c *Call) eachBreakpoint(fn func(*openai.CacheControl)) {
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
func live(cc *openai.CacheControl) bool { return cc != nil && cc.Type != "" }
