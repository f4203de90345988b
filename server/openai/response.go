package openai

import (
	"math"
	"strconv"

	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/llm"
)

// finishReason is a choice's finish_reason, a JSON string: a stop
// sequence and a paused turn are a stop, a refusal is content_filter, and
// calls in the deprecated form finish as function_call.
func finishReason(f llm.Finish, legacy bool) string {
	switch f {
	case llm.FinishLength:
		return `"length"`
	case llm.FinishRefusal:
		return `"content_filter"`
	case llm.FinishToolCalls:
		if legacy {
			return `"function_call"`
		}
		return `"tool_calls"`
	}
	return `"stop"`
}

// AppendCompletion appends a chat.completion object. model is the id the
// client asked for; reasoning text is written only when withReasoning.
func AppendCompletion(dst []byte, id string, created int64, model string, c *llm.Completion, withReasoning bool) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, id)
	dst = append(dst, `,"object":"chat.completion","created":`...)
	dst = jsonw.Int(dst, created)
	dst = append(dst, `,"model":`...)
	dst = jsonw.String(dst, model)
	dst = append(dst, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	finish := finishReason(c.Finish, c.Legacy)
	var calls []llm.ToolCall
	var details []llm.ReasoningDetail
	if c.Tools != nil {
		calls, details = c.Tools.Calls, c.Tools.ReasoningDetails
	}
	if c.Content == "" && (len(calls) > 0 || c.Refusal != "") {
		dst = append(dst, "null"...) // OpenAI's shape of a turn that only calls, or refuses
	} else {
		dst = jsonw.String(dst, c.Content)
	}
	if withReasoning && c.Reasoning != "" {
		dst = append(dst, `,"reasoning":`...)
		dst = jsonw.String(dst, c.Reasoning)
	}
	switch {
	case len(calls) > 0 && c.Legacy:
		dst = append(dst, `,"function_call":`...)
		dst = appendFunction(dst, &calls[0].Function)
		details = nil // a function_call has no id for the history to name it by
	case len(calls) > 0:
		dst = append(dst, `,"tool_calls":[`...)
		for i := range calls {
			dst = jsonw.Comma(dst)
			dst = appendToolCall(dst, &calls[i])
		}
		dst = append(dst, ']')
	}
	if len(details) > 0 {
		dst = append(dst, `,"reasoning_details":[`...)
		for i := range details {
			dst = jsonw.Comma(dst)
			dst = appendDetail(dst, &details[i])
		}
		dst = append(dst, ']')
	}
	if c.Refusal != "" {
		dst = append(dst, `,"refusal":`...)
		dst = jsonw.String(dst, c.Refusal)
	} else {
		dst = append(dst, `,"refusal":null`...)
	}
	dst = append(dst, `},"logprobs":null,"finish_reason":`...)
	dst = append(dst, finish...)
	dst = append(dst, `}],"usage":`...)
	dst = AppendUsage(dst, &c.Usage)
	dst = appendTier(dst, &c.Usage)
	return append(dst, '}')
}

// appendTier appends the service_tier the answer was served in, when the
// request asked for one.
func appendTier(dst []byte, u *llm.Usage) []byte {
	if u.Tier == "" {
		return dst
	}
	dst = append(dst, `,"service_tier":`...)
	return jsonw.String(dst, u.Tier)
}

// AppendUsage appends a usage object with its detail breakdowns.
func AppendUsage(dst []byte, u *llm.Usage) []byte {
	dst = append(dst, `{"prompt_tokens":`...)
	dst = jsonw.Int(dst, u.Prompt)
	dst = append(dst, `,"completion_tokens":`...)
	dst = jsonw.Int(dst, u.Completion)
	dst = append(dst, `,"total_tokens":`...)
	dst = jsonw.Int(dst, u.Prompt+u.Completion)
	dst = append(dst, `,"prompt_tokens_details":{"cached_tokens":`...)
	dst = jsonw.Int(dst, u.Cached)
	dst = append(dst, `,"cache_creation_tokens":`...)
	dst = jsonw.Int(dst, u.CacheCreation)
	// OpenAI's spec and OpenRouter call the writes cache_write_tokens, and
	// the SDKs and frameworks read that name.
	dst = append(dst, `,"cache_write_tokens":`...)
	dst = jsonw.Int(dst, u.CacheCreation)
	if u.CacheWrite1h > 0 {
		dst = append(dst, `,"cache_write_1h_tokens":`...)
		dst = jsonw.Int(dst, u.CacheWrite1h)
	}
	dst = append(dst, `},"completion_tokens_details":{"reasoning_tokens":`...)
	dst = jsonw.Int(dst, u.Reasoning)
	dst = append(dst, `},"cost":`...)
	dst = AppendUSD(dst, u.Cost)
	return append(dst, '}')
}

// AppendUSD appends an amount of dollars as a JSON number to 10 decimal
// places (a hundredth of a nano-dollar; the cheapest token costs 2.5e-8),
// trailing zeros left out. It is integer formatting: the shortest-float
// formatting it replaces cost a fifth of a response's translation.
func AppendUSD(dst []byte, usd float64) []byte {
	const places = 10
	if usd < 0 || math.IsNaN(usd) || usd > 1e8 {
		return jsonw.Float(dst, usd) // not a price; written as it is
	}
	units := uint64(math.Round(usd * 1e10))
	dst = strconv.AppendUint(dst, units/1e10, 10)
	frac := units % 1e10
	if frac == 0 {
		return dst
	}
	var digits [places]byte
	for i := places - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := places
	for digits[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, digits[:n]...)
}

func appendFunction(dst []byte, f *llm.FunctionCall) []byte {
	dst = append(dst, `{"name":`...)
	dst = jsonw.String(dst, f.Name)
	dst = append(dst, `,"arguments":`...)
	dst = jsonw.String(dst, f.Arguments)
	return append(dst, '}')
}

func appendToolCall(dst []byte, tc *llm.ToolCall) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, tc.ID)
	dst = append(dst, `,"type":"function","function":`...)
	dst = appendFunction(dst, &tc.Function)
	if sig := tc.ThoughtSignature(); sig != "" {
		dst = appendExtraContent(dst, sig)
	}
	return append(dst, '}')
}

// appendExtraContent appends a Gemini thought signature the way Google's
// own OpenAI-compatible endpoint returns it.
func appendExtraContent(dst []byte, signature string) []byte {
	dst = append(dst, `,"extra_content":{"google":{"thought_signature":`...)
	dst = jsonw.String(dst, signature)
	return append(dst, "}}"...)
}

func appendDetail(dst []byte, d *llm.ReasoningDetail) []byte {
	dst = append(dst, `{"type":`...)
	dst = jsonw.String(dst, d.Type)
	for _, f := range [...]struct{ key, v string }{{"text", d.Text}, {"signature", d.Signature}, {"data", d.Data}, {"id", d.ID}, {"format", d.Format}} {
		if f.v != "" || f.key == "text" && d.Type == llm.DetailText {
			dst = append(dst, ',')
			dst = jsonw.Key(dst, f.key)
			dst = jsonw.String(dst, f.v)
		}
	}
	dst = append(dst, `,"index":`...)
	dst = jsonw.Int(dst, int64(d.Index))
	return append(dst, '}')
}
