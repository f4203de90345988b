package adapter

import (
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/matrix"
)

// answer receives an upstream answer as neutral events: pieces of the
// answer and of the reasoning, in order, then its finish reason and usage.
// Each provider parses its answer into these events in one place, whether
// it came as a whole body or as a stream. A buffered answer accumulates
// into an llm.Completion; a streamed one hands each piece at once to the
// door's llm.StreamWriter. Both are one concrete type, so that the
// parsers' calls are static.
type answer struct {
	finish       llm.Finish
	stopSequence string
	// finished: the upstream said why the answer ended (a stream that
	// stops before it was cut).
	finished bool
	usage    llm.Usage
	// flexAsked: the request went in the flex lane; tier is the
	// service_tier to echo.
	flexAsked bool
	tier      string
	// reasoningBytes is the length of the reasoning text: Anthropic reports
	// no reasoning token count, so it is estimated from it.
	reasoningBytes int

	stream bool
	// Buffered: the text so far, the calls and the signed reasoning.
	content, thoughts joined
	calls             []llm.ToolCall
	details           []llm.ReasoningDetail
	// Streamed: the door's writer appends its frames to dst.
	dst []byte
	w   llm.StreamWriter
	// pricing prices the usage: every answer says what it cost.
	pricing *matrix.Pricing
	// written is the size of the cache entry the request created before
	// it was sent (Gemini explicit caching): a write the answer's own
	// usage does not count.
	written int64
	// nCalls counts the calls begun, nDetails the reasoning details; a
	// stream numbers them by these.
	nCalls, nDetails int
}

// streamed starts the answer of a stream written by w.
func streamed(c *Call, w llm.StreamWriter) answer {
	return answer{stream: true, w: w, pricing: &c.Model.Pricing, written: c.CacheWritten, flexAsked: c.Flex, tier: c.Tier}
}

// buffered starts the answer of a whole body.
func buffered(c *Call) answer {
	return answer{pricing: &c.Model.Pricing, written: c.CacheWritten, flexAsked: c.Flex, tier: c.Tier}
}

// toolStart begins a call; its arguments follow in toolArgs fragments (a
// whole buffered call passes them all at once). signature is Gemini's
// thought signature of the call, "" for none.
func (a *answer) toolStart(id, name, signature string) {
	a.nCalls++
	if !a.stream {
		tc := llm.ToolCall{ID: id, Type: "function", Function: llm.FunctionCall{Name: name}}
		if signature != "" {
			tc.ExtraContent = llm.GoogleSignature(signature)
		}
		a.calls = append(a.calls, tc)
		return
	}
	a.dst = a.w.ToolStart(a.dst, a.nCalls-1, id, name, signature)
}

// toolArgs adds a fragment of the current call's arguments.
func (a *answer) toolArgs(fragment string) {
	switch {
	case a.nCalls == 0:
	case !a.stream:
		tc := &a.calls[len(a.calls)-1]
		tc.Function.Arguments += fragment
	case fragment != "":
		a.dst = a.w.ToolArgs(a.dst, a.nCalls-1, fragment)
	}
}

// detail returns signed reasoning the client must send back for a tool
// loop to go on thinking.
func (a *answer) detail(d llm.ReasoningDetail) {
	d.Index = a.nDetails
	a.nDetails++
	if !a.stream {
		a.details = append(a.details, d)
		return
	}
	a.dst = a.w.Detail(a.dst, d)
}

func (a *answer) text(s string) {
	switch {
	case !a.stream:
		a.content.add(s)
	case s != "":
		a.dst = a.w.Text(a.dst, s)
	}
}

func (a *answer) reasoning(s string) {
	a.reasoningBytes += len(s)
	switch {
	case !a.stream:
		a.thoughts.add(s)
	case s != "":
		a.dst = a.w.Reasoning(a.dst, s)
	}
}

// completion fills out with a buffered answer. Its strings may point into
// the upstream body.
func (a *answer) completion(out *llm.Completion) {
	a.price()
	if len(a.calls) > 0 {
		a.finish = llm.FinishToolCalls
	}
	*out = llm.Completion{Content: a.content.String(), Reasoning: a.thoughts.String(), Finish: a.finish, StopSequence: a.stopSequence, Usage: a.usage}
	if a.calls != nil || a.details != nil {
		out.Tools = &llm.ToolAnswer{Calls: a.calls, ReasoningDetails: a.details}
	}
}

// price completes the usage: the cache write made for the request, and
// the cost of it all. The entry written just before (Gemini explicit
// caching) is part of the prompt the upstream counted, as cached tokens
// it read back at once: those tokens are counted once, as the write, and
// not again as a read nor on top of the prompt.
func (a *answer) price() {
	w := min(a.written, a.usage.Cached)
	a.usage.Cached -= w
	a.usage.CacheCreation += w
	pricing := a.pricing
	if a.usage.Flex && pricing.Flex != nil {
		pricing = pricing.Flex
	}
	if a.tier != "" {
		a.usage.Tier = "default"
		if a.usage.Flex {
			a.usage.Tier = "flex"
		}
	}
	a.usage.Cost = a.usage.Price(pricing)
}

// Usage implements Stream.
func (a *answer) Usage() llm.Usage { return a.usage }

// Finish implements Stream.
func (a *answer) Finish() llm.Finish { return a.finish }

// end appends a stream's closing frames: its finish and usage. An answer
// that called tools finishes for them, whatever the upstream said.
func (a *answer) end() {
	if a.nCalls > 0 {
		a.finish = llm.FinishToolCalls
	}
	a.price()
	a.dst = a.w.End(a.dst, a.finish, a.stopSequence, &a.usage)
}

// Stream translates one upstream event stream into the door's frames,
// event by event, so that nothing waits for the whole answer.
type Stream interface {
	// Event translates one upstream SSE event (name is empty where the
	// upstream sends none) and appends the frames it yields to dst. An
	// error is the upstream's failure, to be sent as an error frame.
	Event(dst []byte, name, data []byte) ([]byte, *llm.Error)
	// Done reports whether the upstream has said its answer is complete.
	Done() bool
	// End appends the closing frames: the finish and the usage.
	// It fails when the upstream stopped before completing its answer.
	End(dst []byte) ([]byte, *llm.Error)
	// Usage is the answer's usage as far as the upstream reported it.
	Usage() llm.Usage
	// Finish is why the answer ended, as far as the upstream said.
	Finish() llm.Finish
}

// streamError is an upstream failure reported inside a stream.
func streamError(message string) *llm.Error {
	return &llm.Error{Status: 502, Type: llm.TypeUpstream, Code: llm.CodeUpstreamError, Message: message}
}

var errMalformedEvent = streamError("the upstream sent an event the gateway could not read")
