package loadtest

import (
	"time"

	"github.com/valyala/fasthttp"
)

// BareProxy forwards every request to Upstream byte for byte and the answer
// back, parsing nothing beyond HTTP: the cost of one fasthttp hop, which is
// what OpenToken is judged against.
type BareProxy struct {
	Upstream string // host:port
	client   *fasthttp.HostClient
}

// NewBareProxy returns a proxy to upstream (host:port).
func NewBareProxy(upstream string) *BareProxy {
	return &BareProxy{Upstream: upstream, client: &fasthttp.HostClient{
		Addr: upstream, MaxConns: 4096, ReadTimeout: time.Minute, WriteTimeout: time.Minute,
		DisablePathNormalizing: true, StreamResponseBody: true, // pass streams through as they come
		RetryIfErr: func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
	}}
}

// Handle is the proxy's fasthttp handler.
func (p *BareProxy) Handle(ctx *fasthttp.RequestCtx) {
	req := &ctx.Request
	req.SetHost(p.Upstream)
	if err := p.client.Do(req, &ctx.Response); err != nil {
		ctx.Error("upstream: "+err.Error(), fasthttp.StatusBadGateway)
	}
}
