package server

import "github.com/valyala/fasthttp"

// cors lets the browser pages of the configured origins call the API:
// their preflights are answered without a key (a browser sends none), and
// answers to them carry the headers that let the page read them.
type cors struct {
	origins map[string]bool // empty: CORS is off
}

func newCORS(origins []string) cors {
	c := cors{origins: map[string]bool{}}
	for _, o := range origins {
		c.origins[o] = true
	}
	return c
}

// exposed are the answer headers a page may read beyond the safelisted.
const exposed = "X-Request-Id, X-OpenToken-Dropped-Params, X-OpenToken-Adjusted-Params, X-OpenToken-Supplier, X-OpenToken-Attempts, Retry-After"

// allowed returns the request's Origin when it is one of the configured.
func (c *cors) allowed(ctx *fasthttp.RequestCtx) []byte {
	origin := ctx.Request.Header.Peek("Origin")
	if len(origin) == 0 || !c.origins[string(origin)] {
		return nil
	}
	return origin
}

// preflight answers a preflight (OPTIONS with Access-Control-Request-
// Method) from a configured origin with 204 and what it may send, and
// reports whether it did. Any other OPTIONS request is served as before:
// it needs a key.
func (c *cors) preflight(ctx *fasthttp.RequestCtx) bool {
	if len(c.origins) == 0 || !ctx.IsOptions() || len(ctx.Request.Header.Peek("Access-Control-Request-Method")) == 0 {
		return false
	}
	if c.allowed(ctx) == nil {
		return false
	}
	h := &ctx.Response.Header
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	// The SDKs send headers of their own (x-stainless-*, OpenAI-Beta):
	// whatever a configured origin asks to send is allowed.
	if asked := ctx.Request.Header.Peek("Access-Control-Request-Headers"); len(asked) > 0 {
		h.SetBytesV("Access-Control-Allow-Headers", asked)
	}
	h.Set("Access-Control-Max-Age", "600")
	return true
}

// allow adds the CORS headers to an answer: Vary on every answer while
// CORS is on (a cache must not give one origin's answer to another), and
// the origin and the readable headers for a configured origin.
func (c *cors) allow(ctx *fasthttp.RequestCtx) {
	if len(c.origins) == 0 {
		return
	}
	h := &ctx.Response.Header
	h.Add("Vary", "Origin")
	if origin := c.allowed(ctx); origin != nil {
		h.SetBytesV("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", exposed)
	}
}
