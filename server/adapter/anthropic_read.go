package adapter

import (
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonread"
)

// Anthropic's answers and stream events are read in one pass with
// jsonread, to exactly what goccy/go-json decodes of them through their
// structs' JSON tags; anything jsonread does not take (see its doc) is left
// to goccy/go-json. FuzzAnthropicReaders holds the two to that.

// decodeAnthropicMessage decodes a whole answer.
func decodeAnthropicMessage(body []byte, msg *anthropicMessage) error {
	if readAnthropicMessage(body, msg) {
		return nil
	}
	*msg = anthropicMessage{}
	return json.UnmarshalNoCopy(body, msg)
}

// decodeAnthropicEvent decodes one event of a stream.
func decodeAnthropicEvent(data []byte, ev *anthropicEvent) error {
	if readAnthropicEvent(data, ev) {
		return nil
	}
	*ev = anthropicEvent{}
	return json.UnmarshalNoCopy(data, ev)
}

// The JSON names of the structs read here, in the order of their fields
// for StringFields, and for SkipUnknown.
var (
	anthropicMessageFields = []string{"content", "stop_reason", "stop_sequence", "usage"}
	anthropicCountsFields  = []string{"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation"}
	anthropicCacheFields   = []string{"ephemeral_1h_input_tokens"}
	anthropicBlockFields   = []string{"type", "text", "thinking", "signature", "data", "id", "name", "input"}
	anthropicEventFields   = []string{"type", "message", "content_block", "delta", "usage", "error"}
	anthropicDeltaFields   = []string{"type", "text", "thinking", "signature", "partial_json", "stop_reason", "stop_sequence"}
	anthropicErrorFields   = []string{"type", "message"}
	anthropicUsageHolder   = []string{"usage"}
)

func readAnthropicMessage(body []byte, msg *anthropicMessage) bool {
	r := jsonread.New(body)
	var seen jsonread.Fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "content":
			seen.Once(&r, 0)
			if !r.Null() {
				msg.Content = readAnthropicBlocks(&r)
			}
		case "stop_reason":
			seen.Once(&r, 1)
			msg.StopReason = r.NullableString()
		case "stop_sequence":
			seen.Once(&r, 2)
			msg.StopSequence = r.NullableString()
		case "usage":
			seen.Once(&r, 3)
			if !r.Null() {
				readAnthropicCounts(&r, &msg.Usage)
			}
		default:
			r.SkipUnknown(key, anthropicMessageFields)
		}
	}
	return r.End()
}

func readAnthropicBlocks(r *jsonread.Reader) []anthropicBlock {
	blocks := make([]anthropicBlock, 0, 2)
	for more := r.Array(); more; more = r.More(']') {
		blocks = append(blocks, anthropicBlock{})
		readAnthropicBlock(r, &blocks[len(blocks)-1])
	}
	return blocks
}

// readAnthropicBlock reads a content block; the fields behind its embedded
// pointer are set only by a value, as null's effect on that pointer is
// goccy/go-json's to decide.
func readAnthropicBlock(r *jsonread.Reader, b *anthropicBlock) {
	var seen jsonread.Fields
	tool := func() *AnthropicToolFields {
		if r.Kind() == 'n' {
			r.Fail()
		}
		if b.AnthropicToolFields == nil {
			b.AnthropicToolFields = &AnthropicToolFields{}
		}
		return b.AnthropicToolFields
	}
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "type":
			seen.Once(r, 0)
			b.Type = r.NullableString()
		case "text":
			seen.Once(r, 1)
			b.Text = r.NullableString()
		case "thinking":
			seen.Once(r, 2)
			tool().Thinking = r.String()
		case "signature":
			seen.Once(r, 3)
			tool().Signature = r.String()
		case "data":
			seen.Once(r, 4)
			tool().Data = r.String()
		case "id":
			seen.Once(r, 5)
			tool().ID = r.String()
		case "name":
			seen.Once(r, 6)
			tool().Name = r.String()
		case "input":
			seen.Once(r, 7)
			tool().Input = r.Raw()
		default:
			r.SkipUnknown(key, anthropicBlockFields)
		}
	}
}

func readAnthropicCounts(r *jsonread.Reader, c *anthropicCounts) {
	var seen jsonread.Fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "input_tokens":
			seen.Once(r, 0)
			c.InputTokens = nullableInt(r)
		case "output_tokens":
			seen.Once(r, 1)
			c.OutputTokens = nullableInt(r)
		case "cache_creation_input_tokens":
			seen.Once(r, 2)
			c.CacheCreationInputTokens = nullableInt(r)
		case "cache_read_input_tokens":
			seen.Once(r, 3)
			c.CacheReadInputTokens = nullableInt(r)
		case "cache_creation":
			seen.Once(r, 4)
			if r.Null() {
				break
			}
			var seen jsonread.Fields
			for more := r.Object(); more; more = r.More('}') {
				switch key := r.Key(); string(key) {
				case "ephemeral_1h_input_tokens":
					seen.Once(r, 0)
					c.CacheCreation.Ephemeral1h = nullableInt(r)
				default:
					r.SkipUnknown(key, anthropicCacheFields)
				}
			}
		default:
			r.SkipUnknown(key, anthropicCountsFields)
		}
	}
}

// nullableInt reads an integer into an int64 field: null leaves it 0.
func nullableInt(r *jsonread.Reader) int64 {
	if r.Null() {
		return 0
	}
	return r.Int()
}

// readAnthropicUsage reads a stream's usage report, whose counts are
// pointers (null leaves one nil).
func readAnthropicUsage(r *jsonread.Reader, u *anthropicUsage) {
	var seen jsonread.Fields
	count := func(field uint, p **int64) {
		seen.Once(r, field)
		if r.Null() {
			return
		}
		v := r.Int()
		*p = &v
	}
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "input_tokens":
			count(0, &u.InputTokens)
		case "output_tokens":
			count(1, &u.OutputTokens)
		case "cache_creation_input_tokens":
			count(2, &u.CacheCreationInputTokens)
		case "cache_read_input_tokens":
			count(3, &u.CacheReadInputTokens)
		case "cache_creation":
			seen.Once(r, 4)
			jsonread.Decode(r, &u.CacheCreation)
		default:
			r.SkipUnknown(key, anthropicCountsFields)
		}
	}
}

func readAnthropicEvent(data []byte, ev *anthropicEvent) bool {
	r := jsonread.New(data)
	var seen jsonread.Fields
	for more := r.Object(); more; more = r.More('}') {
		switch key := r.Key(); string(key) {
		case "type":
			seen.Once(&r, 0)
			ev.Type = r.NullableString()
		case "message":
			seen.Once(&r, 1)
			if r.Null() {
				break
			}
			var seen jsonread.Fields
			for more := r.Object(); more; more = r.More('}') {
				switch key := r.Key(); string(key) {
				case "usage":
					seen.Once(&r, 0)
					if !r.Null() {
						readAnthropicUsage(&r, &ev.Message.Usage)
					}
				default:
					r.SkipUnknown(key, anthropicUsageHolder)
				}
			}
		case "content_block":
			seen.Once(&r, 2)
			if !r.Null() {
				ev.ContentBlock = &anthropicBlock{}
				readAnthropicBlock(&r, ev.ContentBlock)
			}
		case "delta":
			seen.Once(&r, 3)
			if !r.Null() {
				readAnthropicDelta(&r, &ev.Delta)
			}
		case "usage":
			seen.Once(&r, 4)
			if !r.Null() {
				readAnthropicUsage(&r, &ev.Usage)
			}
		case "error":
			seen.Once(&r, 5)
			if !r.Null() {
				r.StringFields(anthropicErrorFields, &ev.Error.Type, &ev.Error.Message)
			}
		default:
			r.SkipUnknown(key, anthropicEventFields)
		}
	}
	return r.End()
}

func readAnthropicDelta(r *jsonread.Reader, d *anthropicDelta) {
	r.StringFields(anthropicDeltaFields, &d.Type, &d.Text, &d.Thinking, &d.Signature, &d.PartialJSON, &d.StopReason, &d.StopSequence)
}
