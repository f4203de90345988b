package openai

import (
	"github.com/opentoken/opentoken/internal/jsonw"
)

// Finish reasons of a chat completion choice.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishContentFilter = "content_filter"
	FinishToolCalls     = "tool_calls"
)

// Completion is an upstream's answer in neutral form, as an adapter parses it.
type Completion struct {
	Content      string
	Reasoning    string
	FinishReason string
	Usage        Usage
}

// Usage counts tokens the OpenAI way: Cached and CacheCreation are parts of
// Prompt, Reasoning is part of Completion.
type Usage struct {
	Prompt, Completion    int64
	Cached, CacheCreation int64
	Reasoning             int64
}

// AppendCompletion appends a chat.completion object. model is the id the
// client asked for; reasoning text is written only when withReasoning.
func AppendCompletion(dst []byte, id string, created int64, model string, c *Completion, withReasoning bool) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, id)
	dst = append(dst, `,"object":"chat.completion","created":`...)
	dst = jsonw.Int(dst, created)
	dst = append(dst, `,"model":`...)
	dst = jsonw.String(dst, model)
	dst = append(dst, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	dst = jsonw.String(dst, c.Content)
	if withReasoning && c.Reasoning != "" {
		dst = append(dst, `,"reasoning":`...)
		dst = jsonw.String(dst, c.Reasoning)
	}
	dst = append(dst, `,"refusal":null},"logprobs":null,"finish_reason":`...)
	dst = jsonw.String(dst, c.FinishReason)
	dst = append(dst, `}],"usage":`...)
	dst = AppendUsage(dst, &c.Usage)
	return append(dst, '}')
}

// AppendUsage appends a usage object with its detail breakdowns.
func AppendUsage(dst []byte, u *Usage) []byte {
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
	dst = append(dst, `},"completion_tokens_details":{"reasoning_tokens":`...)
	dst = jsonw.Int(dst, u.Reasoning)
	return append(dst, "}}"...)
}
