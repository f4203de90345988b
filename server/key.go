package server

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/server/openai"
	"github.com/opentoken/opentoken/store"
)

// keyInfo serves GET /v1/key: the calling key's name, workspace, expiry,
// spend limit, what it spent in the current window, its rate limits and
// the workspace's remaining credit, as OpenRouter's /key does. Operator keys are unmetered.
func (s *Server) keyInfo(ctx *fasthttp.RequestCtx, rec *record) {
	buf := getBuf()
	defer putBuf(buf)
	b := append((*buf)[:0], `{"data":{`...)
	if rec.principal == nil {
		b = append(b, `"name":"operator key","metered":false}}`...)
	} else {
		info := s.tenancy.Info(rec.principal)
		b = append(b, `"name":`...)
		b = jsonw.String(b, info.Name)
		b = append(b, `,"workspace":`...)
		b = jsonw.String(b, info.Workspace)
		b = append(b, `,"key_prefix":`...)
		b = jsonw.String(b, info.Prefix)
		b = append(b, `,"metered":true,"expires_at":`...)
		if info.ExpiresAt != nil {
			b = jsonw.String(b, info.ExpiresAt.UTC().Format(time.RFC3339))
		} else {
			b = append(b, "null"...)
		}
		b = append(b, `,"limit_usd":`...)
		if info.Limit != nil {
			b = openai.AppendUSD(b, info.Limit.Dollars())
			b = append(b, `,"limit_reset":`...)
			b = jsonw.String(b, string(info.LimitReset))
			b = append(b, `,"usage_usd":`...)
			b = openai.AppendUSD(b, info.Spent.Dollars())
			b = append(b, `,"limit_remaining_usd":`...)
			b = openai.AppendUSD(b, max(*info.Limit-info.Spent, 0).Dollars())
		} else {
			b = append(b, `null,"limit_reset":null,"usage_usd":null,"limit_remaining_usd":null`...)
		}
		for _, r := range [...]struct {
			name  string
			limit int64
		}{{`,"rpm":`, info.Rates.RPM}, {`,"tpm":`, info.Rates.TPM}, {`,"max_concurrent":`, info.Rates.MaxConcurrent}} {
			b = append(b, r.name...)
			if r.limit > 0 {
				b = strconv.AppendInt(b, r.limit, 10)
			} else {
				b = append(b, "null"...)
			}
		}
		b = append(b, `,"credit_remaining_usd":`...)
		b = openai.AppendUSD(b, max(info.Balance, store.USD(0)).Dollars())
		b = append(b, "}}"...)
	}
	*buf = b
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
