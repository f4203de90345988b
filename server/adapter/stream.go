package adapter

import (
	"github.com/opentoken/opentoken/server/openai"
)

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
}

// streamState is what both translators track: the chunk prefix, the finish
// reason and the usage, which upstreams report cumulatively.
type streamState struct {
	prefix    openai.ChunkPrefix
	exclude   bool // the client asked not to see reasoning text
	finish    string
	usage     openai.Usage
	reasoning int // bytes of reasoning text seen, for the Anthropic estimate
	done      bool
}

func newStreamState(c *Call, prefix openai.ChunkPrefix) streamState {
	return streamState{prefix: prefix, exclude: c.Thinking.Exclude}
}

func (s *streamState) content(dst []byte, text string) []byte {
	if text == "" {
		return dst
	}
	return openai.AppendContentChunk(dst, s.prefix, text)
}

func (s *streamState) thought(dst []byte, text string) []byte {
	s.reasoning += len(text)
	if text == "" || s.exclude {
		return dst
	}
	return openai.AppendReasoningChunk(dst, s.prefix, text)
}

func (s *streamState) end(dst []byte) []byte {
	return openai.AppendFinishChunk(dst, s.prefix, s.finish, &s.usage)
}

// streamError is an upstream failure reported inside a stream.
func streamError(message string) *openai.Error {
	return &openai.Error{Status: 502, Type: openai.TypeUpstream, Code: openai.CodeUpstreamError, Message: message}
}

var errMalformedEvent = streamError("the upstream sent an event the gateway could not read")
