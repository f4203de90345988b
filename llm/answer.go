package llm

import "github.com/opentoken/opentoken/matrix"

// Finish is why an answer ended, in no dialect's words: each door names
// it its own way.
type Finish uint8

const (
	FinishStop         Finish = iota // the model ended its turn
	FinishStopSequence               // a stop sequence matched (StopSequence says which)
	FinishLength                     // the output limit (or the context window) cut it
	FinishRefusal                    // a safety system stopped it, or the model refused
	FinishToolCalls                  // the model called tools and waits for their results
	FinishPause                      // a long turn paused, to be resumed (Anthropic's pause_turn)
)

// String names a finish in no dialect's words, as traces record it.
func (f Finish) String() string {
	switch f {
	case FinishStopSequence:
		return "stop_sequence"
	case FinishLength:
		return "length"
	case FinishRefusal:
		return "refusal"
	case FinishToolCalls:
		return "tool_calls"
	case FinishPause:
		return "pause"
	}
	return "stop"
}

// Completion is an upstream's answer in neutral form, as an adapter parses it.
type Completion struct {
	Content   string
	Reasoning string
	Finish    Finish
	// StopSequence is the stop sequence that ended the answer, when the
	// upstream says which.
	StopSequence string
	Usage        Usage
	// Refusal is the model's refusal to answer, written in place of the
	// content.
	Refusal string
	// Tools are the calls and the signed reasoning; nil for an answer
	// without them, which keeps a text answer's Completion small.
	Tools *ToolAnswer
	// Legacy answers a call in the deprecated function_call form.
	Legacy bool
}

// ToolAnswer is what an answer returns for a tool loop.
type ToolAnswer struct {
	Calls []ToolCall
	// ReasoningDetails is the signed reasoning a tool loop needs back.
	ReasoningDetails []ReasoningDetail
}

// Usage counts tokens the OpenAI way: Cached and CacheCreation are parts of
// Prompt, Reasoning is part of Completion. CacheWrite1h is the part of
// CacheCreation written for an hour (Anthropic), which has its own price.
type Usage struct {
	Prompt, Completion    int64
	Cached, CacheCreation int64
	CacheWrite1h          int64
	Reasoning             int64
	// Cost is what the answer cost in USD, from the model's prices.
	Cost float64
	// Flex: the answer was served in the flex lane, at its prices.
	Flex bool
	// Tier is the service_tier the answer reports ("flex" or "default"),
	// "" when the request did not ask for one.
	Tier string
}

// Price is what u's tokens cost at prices p, in USD.
func (u *Usage) Price(p *matrix.Pricing) float64 {
	return p.Cost(matrix.Tokens{Uncached: u.Prompt - u.Cached - u.CacheCreation, CacheRead: u.Cached,
		CacheWrite: u.CacheCreation, CacheWrite1h: u.CacheWrite1h, Output: u.Completion})
}
