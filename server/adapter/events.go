package adapter

import (
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/openai"
)

// answer receives an upstream answer as neutral events: pieces of the
// answer and of the reasoning, in order, then its finish reason and usage.
// Each provider parses its answer into these events in one place, whether
// it came as a whole body or as a stream. A buffered answer accumulates
// into a chat.completion; a streamed one writes each piece at once as a
// chat.completion.chunk frame. Both are one concrete type, so that the
// parsers' calls are static and nothing escapes to the heap.
type answer struct {
	finish string
	usage  openai.Usage
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
	calls             []openai.ToolCall
	details           []openai.ReasoningDetail
	// Streamed: the frames are appended to dst.
	dst     []byte
	prefix  openai.ChunkPrefix
	exclude bool // the client asked not to see reasoning text
	legacy  bool // answer calls in the deprecated function_call form
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

// streamed starts the answer of a stream whose frames start with prefix.
func streamed(c *Call, prefix openai.ChunkPrefix) answer {
	return answer{stream: true, prefix: prefix, exclude: c.Thinking.Exclude, legacy: c.Legacy(), pricing: &c.Model.Pricing, written: c.CacheWritten,
		flexAsked: c.Flex, tier: c.Tier}
}

// toolStart begins a call; its arguments follow in toolArgs fragments (a
// whole buffered call passes them all at once). signature is Gemini's
// thought signature of the call, "" for none. The legacy form answers only
// the first call.
func (a *answer) toolStart(id, name, signature string) {
	a.nCalls++
	if a.legacy && a.nCalls > 1 {
		return
	}
	if !a.stream {
		tc := openai.ToolCall{ID: id, Type: "function", Function: openai.FunctionCall{Name: name}}
		if signature != "" {
			tc.ExtraContent = openai.GoogleSignature(signature)
		}
		a.calls = append(a.calls, tc)
		return
	}
	a.dst = openai.AppendToolStartChunk(a.dst, a.prefix, a.nCalls-1, id, name, signature, a.legacy)
}

// toolArgs adds a fragment of the current call's arguments.
func (a *answer) toolArgs(fragment string) {
	switch {
	case a.nCalls == 0 || a.legacy && a.nCalls > 1:
	case !a.stream:
		tc := &a.calls[len(a.calls)-1]
		tc.Function.Arguments += fragment
	case fragment != "":
		a.dst = openai.AppendToolArgsChunk(a.dst, a.prefix, a.nCalls-1, fragment, a.legacy)
	}
}

// detail returns signed reasoning the client must send back for a tool
// loop to go on thinking.
func (a *answer) detail(d openai.ReasoningDetail) {
	if a.legacy {
		return // a function_call has no id for the history to name it by
	}
	d.Index = a.nDetails
	a.nDetails++
	if !a.stream {
		a.details = append(a.details, d)
		return
	}
	a.dst = openai.AppendDetailChunk(a.dst, a.prefix, &d)
}

func (a *answer) text(s string) {
	switch {
	case !a.stream:
		a.content.add(s)
	case s != "":
		a.dst = openai.AppendContentChunk(a.dst, a.prefix, s)
	}
}

func (a *answer) reasoning(s string) {
	a.reasoningBytes += len(s)
	switch {
	case !a.stream:
		a.thoughts.add(s)
	case s != "" && !a.exclude:
		a.dst = openai.AppendReasoningChunk(a.dst, a.prefix, s)
	}
}

// completion fills out with a buffered answer. Its strings may point into
// the upstream body.
func (a *answer) completion(out *openai.Completion) {
	a.price()
	*out = openai.Completion{Content: a.content.String(), Reasoning: a.thoughts.String(), FinishReason: a.finish, Usage: a.usage}
	if a.calls != nil || a.details != nil {
		out.Tools = &openai.ToolAnswer{Calls: a.calls, ReasoningDetails: a.details}
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
	a.usage.Cost = openai.Cost(&a.usage, pricing)
}

// Usage implements Stream.
func (a *answer) Usage() openai.Usage { return a.usage }

// end appends a stream's finish frame and usage frame.
func (a *answer) end() {
	finish := a.finish
	switch {
	case a.nCalls > 0 && a.legacy:
		finish = openai.FinishFunctionCall
	case a.nCalls > 0:
		finish = openai.FinishToolCalls
	}
	a.price()
	a.dst = openai.AppendFinishChunk(a.dst, a.prefix, finish, &a.usage)
}

// Stream translates one upstream event stream into chat.completion.chunk
// frames, event by event, so that nothing waits for the whole answer.
type Stream interface {
	// Event translates one upstream SSE event (name is empty where the
	// upstream sends none) and appends the frames it yields to dst. An
	// error is the upstream's failure, to be sent as an error frame.
	Event(dst []byte, name, data []byte) ([]byte, *openai.Error)
	// Done reports whether the upstream has said its answer is complete.
	Done() bool
	// End appends the closing frames: the finish chunk and the usage chunk.
	// It fails when the upstream stopped before completing its answer.
	End(dst []byte) ([]byte, *openai.Error)
	// Usage is the answer's usage as far as the upstream reported it.
	Usage() openai.Usage
}

// streamError is an upstream failure reported inside a stream.
func streamError(message string) *openai.Error {
	return &openai.Error{Status: 502, Type: openai.TypeUpstream, Code: openai.CodeUpstreamError, Message: message}
}

var errMalformedEvent = streamError("the upstream sent an event the gateway could not read")
