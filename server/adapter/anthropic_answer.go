package adapter

import (
	"strings"

	"github.com/opentoken/opentoken/llm"

	"github.com/opentoken/opentoken/internal/bytesconv"
	"github.com/opentoken/opentoken/internal/json"
)

// An Anthropic answer, whole or streamed, is parsed here into the neutral
// events of an answer: one walk of its content blocks, one usage mapping
// and one finish mapping serve both forms.

type anthropicBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
	// The fields of thinking and tool calls sit behind a pointer, set only
	// when a block has one: a text answer's blocks stay small.
	*AnthropicToolFields
}

// AnthropicToolFields are the fields of an Anthropic content block that
// only tool calls and signed thinking have. It is exported only because
// the JSON decoder cannot allocate an embedded pointer to an unexported
// type.
type AnthropicToolFields struct {
	Thinking string `json:"thinking"`
	// Signed and redacted thinking, which a tool loop needs back.
	Signature string `json:"signature"`
	Data      string `json:"data"`
	// tool_use blocks.
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
}

// tool returns the block's tool and signature fields, empty when it has none.
func (b *anthropicBlock) tool() *AnthropicToolFields {
	if b.AnthropicToolFields == nil {
		return &noToolBlock
	}
	return b.AnthropicToolFields
}

var noToolBlock AnthropicToolFields

// piece emits a whole content block by its type: a buffered answer's, or
// the start of a streamed one. Thinking signatures are kept only when the
// answer returns them (a request with tools, whose loop needs them back).
func (b *anthropicBlock) piece(a *answer, signed bool) {
	switch b.Type {
	case "text":
		a.text(b.Text)
	case "thinking":
		t := b.tool()
		a.reasoning(t.Thinking)
		if signed && t.Signature != "" {
			a.detail(llm.ReasoningDetail{Type: llm.DetailText, Text: t.Thinking, Signature: t.Signature, Format: llm.FormatAnthropic})
		}
	case "redacted_thinking":
		if signed {
			a.detail(llm.ReasoningDetail{Type: llm.DetailEncrypted, Data: b.tool().Data, Format: llm.FormatAnthropic})
		}
	case "tool_use":
		t := b.tool()
		a.toolStart(t.ID, t.Name, "")
		if len(t.Input) > 0 {
			a.toolArgs(bytesconv.String(t.Input))
		}
	}
}

// anthropicDelta is the delta of a streamed content block. It has only the
// fields deltas carry: most events of a stream decode into it.
type anthropicDelta struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	Thinking    string `json:"thinking"`
	Signature   string `json:"signature"`
	PartialJSON string `json:"partial_json"`
	StopReason  string `json:"stop_reason"` // message_delta's
	// StopSequence is message_delta's: the stop sequence that matched.
	StopSequence string `json:"stop_sequence"`
}

// piece emits a delta by its type.
func (d *anthropicDelta) piece(a *answer) {
	switch d.Type {
	case "text_delta":
		a.text(d.Text)
	case "thinking_delta":
		a.reasoning(d.Thinking)
	case "input_json_delta":
		a.toolArgs(d.PartialJSON)
	}
}

// anthropicCounts is a whole message's usage.
type anthropicCounts struct {
	InputTokens              int64                  `json:"input_tokens"`
	OutputTokens             int64                  `json:"output_tokens"`
	CacheCreationInputTokens int64                  `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64                  `json:"cache_read_input_tokens"`
	CacheCreation            anthropicCacheCreation `json:"cache_creation"`
}

// anthropicCacheCreation splits the cache writes by TTL, which are priced
// apart.
type anthropicCacheCreation struct {
	Ephemeral1h int64 `json:"ephemeral_1h_input_tokens"`
}

// anthropicUsage is a stream's usage report; pointers, as a report carries
// only the counts that changed.
type anthropicUsage struct {
	InputTokens              *int64                  `json:"input_tokens"`
	OutputTokens             *int64                  `json:"output_tokens"`
	CacheCreationInputTokens *int64                  `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int64                  `json:"cache_read_input_tokens"`
	CacheCreation            *anthropicCacheCreation `json:"cache_creation"`
}

// anthropicTokens is the latest of each count; Anthropic reports them
// cumulatively, so a later report replaces an earlier one, field by field.
type anthropicTokens struct{ input, cacheWrite, cacheWrite1h, cacheRead, output int64 }

func (t *anthropicTokens) add(u *anthropicUsage) {
	for _, f := range [...]struct {
		dst *int64
		v   *int64
	}{{&t.input, u.InputTokens}, {&t.cacheWrite, u.CacheCreationInputTokens}, {&t.cacheRead, u.CacheReadInputTokens}, {&t.output, u.OutputTokens}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if u.CacheCreation != nil {
		t.cacheWrite1h = u.CacheCreation.Ephemeral1h
	}
}

// usage maps the counts the OpenAI way.
func (t *anthropicTokens) usage(reasoningBytes int) llm.Usage {
	return llm.Usage{
		// Anthropic's input_tokens excludes cache reads and writes; OpenAI's
		// prompt_tokens includes them.
		Prompt: t.input + t.cacheWrite + t.cacheRead, Cached: t.cacheRead, CacheCreation: t.cacheWrite, CacheWrite1h: t.cacheWrite1h,
		Completion: t.output,
		// Anthropic bills thinking inside output_tokens without a separate
		// count; estimate it from the thinking text (~4 bytes a token).
		Reasoning: min(int64(reasoningBytes+3)/4, t.output),
	}
}

func anthropicFinish(stop string) llm.Finish {
	switch stop {
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "refusal":
		return llm.FinishRefusal
	case "tool_use":
		return llm.FinishToolCalls
	case "stop_sequence":
		return llm.FinishStopSequence
	case "pause_turn":
		return llm.FinishPause
	}
	return llm.FinishStop // end_turn
}

type anthropicMessage struct {
	Content      []anthropicBlock `json:"content"`
	StopReason   string           `json:"stop_reason"`
	StopSequence string           `json:"stop_sequence"`
	Usage        anthropicCounts  `json:"usage"`
}

// ParseResponse implements Adapter.
func (Anthropic) ParseResponse(c *Call, body []byte, out *llm.Completion) error {
	var msg anthropicMessage
	if err := decodeAnthropicMessage(body, &msg); err != nil {
		return err
	}
	// Every finished message has both; JSON without them is not an answer,
	// and must not pass for an empty one.
	if msg.Content == nil || msg.StopReason == "" {
		return errNotAMessage
	}
	a := buffered(c)
	signed := c.signed()
	for i := range msg.Content {
		msg.Content[i].piece(&a, signed)
	}
	u := &msg.Usage
	t := anthropicTokens{input: u.InputTokens, cacheWrite: u.CacheCreationInputTokens, cacheWrite1h: u.CacheCreation.Ephemeral1h,
		cacheRead: u.CacheReadInputTokens, output: u.OutputTokens}
	a.finish, a.stopSequence, a.usage = anthropicFinish(msg.StopReason), msg.StopSequence, t.usage(a.reasoningBytes)
	a.completion(out)
	if msg.StopReason == "refusal" {
		// Claude's classifiers stopped the answer: what it said is a refusal,
		// not content a client should parse (structured outputs).
		out.Refusal, out.Content = out.Content, ""
		if out.Refusal == "" {
			out.Refusal = "The model declined to answer."
		}
	}
	return nil
}

// anthropicStream translates the Messages API's event stream: message_start
// (input usage), content_block_delta (text and thinking), message_delta
// (stop reason, cumulative output usage), message_stop, ping and error.
type anthropicStream struct {
	answer
	tokens anthropicTokens
	done   bool
	signed bool
	// The open thinking block's text and signature, kept when signed: its
	// reasoning_details entry is sent whole when the block ends.
	thinking  []byte
	signature string
	inThought bool
}

// NewStream implements Adapter.
func (Anthropic) NewStream(c *Call, w llm.StreamWriter) Stream {
	return &anthropicStream{answer: streamed(c, w), signed: c.signed()}
}

type anthropicEvent struct {
	Type    string `json:"type"`
	Message struct {
		Usage anthropicUsage `json:"usage"`
	} `json:"message"`
	// Only content_block_start has one; a pointer keeps the delta events,
	// most of a stream, from decoding into room they do not use.
	ContentBlock *anthropicBlock `json:"content_block"`
	Delta        anthropicDelta  `json:"delta"`
	Usage        anthropicUsage  `json:"usage"`
	Error        struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s *anthropicStream) Event(dst []byte, _, data []byte) ([]byte, *llm.Error) {
	var ev anthropicEvent
	if err := decodeAnthropicEvent(data, &ev); err != nil {
		return dst, errMalformedEvent
	}
	s.dst = dst
	switch ev.Type {
	case "message_start":
		s.tokens.add(&ev.Message.Usage)
	case "content_block_start":
		// A tool_use block starts its call (its input follows in deltas);
		// a redacted block comes whole. Text and thinking come in deltas.
		b := ev.ContentBlock
		if b == nil {
			break
		}
		switch b.Type {
		case "tool_use":
			if t := b.AnthropicToolFields; t != nil {
				t.Input = nil // a placeholder: the input follows in deltas
			}
			b.piece(&s.answer, s.signed)
		case "redacted_thinking":
			b.piece(&s.answer, s.signed)
		case "thinking":
			s.inThought, s.thinking, s.signature = s.signed, s.thinking[:0], ""
		}
	case "content_block_delta":
		ev.Delta.piece(&s.answer)
		if s.inThought {
			switch ev.Delta.Type {
			case "thinking_delta":
				s.thinking = append(s.thinking, ev.Delta.Thinking...)
			case "signature_delta":
				s.signature = strings.Clone(ev.Delta.Signature)
			}
		}
	case "content_block_stop":
		if s.inThought {
			s.inThought = false
			s.detail(llm.ReasoningDetail{Type: llm.DetailText, Text: string(s.thinking), Signature: s.signature, Format: llm.FormatAnthropic})
		}
	case "message_delta":
		if ev.Delta.StopReason != "" {
			s.finish = anthropicFinish(ev.Delta.StopReason)
			s.stopSequence = strings.Clone(ev.Delta.StopSequence)
		}
		s.tokens.add(&ev.Usage)
	case "message_stop":
		s.done = true
	case "error":
		return s.dst, streamError("anthropic: " + ev.Error.Message)
	}
	return s.dst, nil
}

func (s *anthropicStream) Done() bool { return s.done }

// Usage implements Stream: the counts so far, for a stream cut short too.
func (s *anthropicStream) Usage() llm.Usage { return s.tokens.usage(s.reasoningBytes) }

func (s *anthropicStream) End(dst []byte) ([]byte, *llm.Error) {
	if !s.done {
		return dst, streamError("anthropic: the stream ended before message_stop")
	}
	s.dst, s.usage = dst, s.tokens.usage(s.reasoningBytes)
	s.end()
	return s.dst, nil
}
