package server

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
)

// The rate-limit headers OpenAI sends and its SDKs read, on every answer
// of a key with an RPM or TPM limit (as the replica that answered counts
// it).
const (
	headerLimitRequests     = "x-ratelimit-limit-requests"
	headerRemainingRequests = "x-ratelimit-remaining-requests"
	headerResetRequests     = "x-ratelimit-reset-requests"
	headerLimitTokens       = "x-ratelimit-limit-tokens"
	headerRemainingTokens   = "x-ratelimit-remaining-tokens"
	headerResetTokens       = "x-ratelimit-reset-tokens"
)

// admitRate admits a request under its key's rates, when its endpoint is
// billed, or answers 429. m is nil for a key without rates.
func (s *Server) admitRate(ctx *fasthttp.RequestCtx, rec *record, m *tenancy.Meter, r store.Rates) bool {
	if m == nil || !r.Limited() || !rateLimited(ctx) {
		return true
	}
	now := time.Now()
	ticket, status, err := m.Acquire(r, tenancy.EstimateTokens(len(ctx.PostBody())), now)
	if err != nil {
		rec.rate = m.Status(r, now)
		s.writeError(ctx, refusal(err, now))
		return false
	}
	rec.ticket, rec.rate = ticket, status
	return true
}

// rateLimited reports whether a request counts against its key's rates:
// those that are billed (a model's answer), not the free ones that count
// tokens, read a stored response or describe the key and the models.
func rateLimited(ctx *fasthttp.RequestCtx) bool {
	if !ctx.IsPost() {
		return false
	}
	switch string(ctx.Path()) {
	case "/v1/chat/completions", "/v1/embeddings", "/v1/messages", "/v1/responses":
		return true
	}
	return false
}

// Anthropic's names of the same, on the Messages door, whose resets are
// times (RFC 3339) rather than durations.
const (
	headerAnthropicLimitRequests     = "anthropic-ratelimit-requests-limit"
	headerAnthropicRemainingRequests = "anthropic-ratelimit-requests-remaining"
	headerAnthropicResetRequests     = "anthropic-ratelimit-requests-reset"
	headerAnthropicLimitTokens       = "anthropic-ratelimit-tokens-limit"
	headerAnthropicRemainingTokens   = "anthropic-ratelimit-tokens-remaining"
	headerAnthropicResetTokens       = "anthropic-ratelimit-tokens-reset"
)

// setRateHeaders writes where a key stands under its rates, without
// allocating: OpenAI's headers on every door, and Anthropic's too on the
// Messages door.
func setRateHeaders(h *fasthttp.ResponseHeader, st *tenancy.RateStatus, anthropic bool, now time.Time) {
	var b [40]byte
	h.DisableNormalizing()
	if anthropic {
		reset := now.Add(st.Reset).UTC().Truncate(time.Second)
		if st.RPM > 0 {
			h.SetBytesV(headerAnthropicLimitRequests, strconv.AppendInt(b[:0], st.RPM, 10))
			h.SetBytesV(headerAnthropicRemainingRequests, strconv.AppendInt(b[:0], st.RemainingRequests, 10))
			h.SetBytesV(headerAnthropicResetRequests, reset.AppendFormat(b[:0], time.RFC3339))
		}
		if st.TPM > 0 {
			h.SetBytesV(headerAnthropicLimitTokens, strconv.AppendInt(b[:0], st.TPM, 10))
			h.SetBytesV(headerAnthropicRemainingTokens, strconv.AppendInt(b[:0], st.RemainingTokens, 10))
			h.SetBytesV(headerAnthropicResetTokens, reset.AppendFormat(b[:0], time.RFC3339))
		}
	}
	if st.RPM > 0 {
		h.SetBytesV(headerLimitRequests, strconv.AppendInt(b[:0], st.RPM, 10))
		h.SetBytesV(headerRemainingRequests, strconv.AppendInt(b[:0], st.RemainingRequests, 10))
		h.SetBytesV(headerResetRequests, appendReset(b[:0], st.Reset))
	}
	if st.TPM > 0 {
		h.SetBytesV(headerLimitTokens, strconv.AppendInt(b[:0], st.TPM, 10))
		h.SetBytesV(headerRemainingTokens, strconv.AppendInt(b[:0], st.RemainingTokens, 10))
		h.SetBytesV(headerResetTokens, appendReset(b[:0], st.Reset))
	}
}

// appendReset writes a time to reset as OpenAI does: "59s", "1m0s", in
// whole seconds rounded up.
func appendReset(dst []byte, d time.Duration) []byte {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs >= 60 {
		dst = strconv.AppendInt(dst, secs/60, 10)
		dst = append(dst, 'm')
		secs %= 60
	}
	dst = strconv.AppendInt(dst, secs, 10)
	return append(dst, 's')
}
