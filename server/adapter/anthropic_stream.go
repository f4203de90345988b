package adapter

import (
	json "github.com/goccy/go-json"

	"github.com/opentoken/opentoken/server/openai"
)

// anthropicStream translates the Messages API's event stream: message_start
// (input usage), content_block_delta (text and thinking), message_delta
// (stop reason, cumulative output usage), message_stop, ping and error.
type anthropicStream struct {
	streamState
	// The latest of each count; Anthropic reports them cumulatively.
	input, cacheWrite, cacheRead, output int64
}

// NewStream implements Adapter.
func (Anthropic) NewStream(c *Call, prefix openai.ChunkPrefix) Stream {
	return &anthropicStream{streamState: newStreamState(c, prefix)}
}

type anthropicUsage struct {
	InputTokens              *int64 `json:"input_tokens"`
	OutputTokens             *int64 `json:"output_tokens"`
	CacheCreationInputTokens *int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64 `json:"cache_read_input_tokens"`
}

type anthropicEvent struct {
	Type    string `json:"type"`
	Message struct {
		Usage anthropicUsage `json:"usage"`
	} `json:"message"`
	Delta struct {
		Type       string `json:"type"`
		Text       string `json:"text"`
		Thinking   string `json:"thinking"`
		StopReason string `json:"stop_reason"`
	} `json:"delta"`
	Usage anthropicUsage `json:"usage"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s *anthropicStream) Event(dst []byte, _, data []byte) ([]byte, *openai.Error) {
	var ev anthropicEvent
	if err := json.UnmarshalWithOption(data, &ev, json.DecodeNoCopyString()); err != nil {
		return dst, errMalformedEvent
	}
	switch ev.Type {
	case "message_start":
		s.addUsage(&ev.Message.Usage)
	case "content_block_delta":
		switch ev.Delta.Type {
		case "text_delta":
			dst = s.content(dst, ev.Delta.Text)
		case "thinking_delta":
			dst = s.thought(dst, ev.Delta.Thinking)
		}
	case "message_delta":
		if ev.Delta.StopReason != "" {
			s.finish = anthropicFinish(ev.Delta.StopReason)
		}
		s.addUsage(&ev.Usage)
	case "message_stop":
		s.done = true
	case "error":
		return dst, streamError("anthropic: " + ev.Error.Message)
	}
	return dst, nil
}

// addUsage folds in a usage report. The counts are cumulative, so a later
// report replaces an earlier one, field by field.
func (s *anthropicStream) addUsage(u *anthropicUsage) {
	for _, f := range [...]struct {
		dst *int64
		v   *int64
	}{{&s.input, u.InputTokens}, {&s.cacheWrite, u.CacheCreationInputTokens}, {&s.cacheRead, u.CacheReadInputTokens}, {&s.output, u.OutputTokens}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
}

func (s *anthropicStream) Done() bool { return s.done }

func (s *anthropicStream) End(dst []byte) ([]byte, *openai.Error) {
	if !s.done {
		return dst, streamError("anthropic: the stream ended before message_stop")
	}
	if s.finish == "" {
		s.finish = openai.FinishStop
	}
	s.usage = openai.Usage{
		Prompt: s.input + s.cacheWrite + s.cacheRead, Cached: s.cacheRead, CacheCreation: s.cacheWrite,
		Completion: s.output, Reasoning: min(int64(s.reasoning+3)/4, s.output),
	}
	return s.end(dst), nil
}
