package openai

import (
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/llm"
)

// ChunkPrefix is the start every chat.completion.chunk of one stream shares:
// {"id":…,"object":"chat.completion.chunk","created":…,"model":…
// It is built once per stream so that each frame only appends its delta.
type ChunkPrefix []byte

// NewChunkPrefix builds the shared start of a stream's chunks.
func NewChunkPrefix(dst []byte, id string, created int64, model string) ChunkPrefix {
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, id)
	dst = append(dst, `,"object":"chat.completion.chunk","created":`...)
	dst = jsonw.Int(dst, created)
	dst = append(dst, `,"model":`...)
	dst = jsonw.String(dst, model)
	return dst
}

// AppendRoleChunk appends the first frame, whose delta carries the role.
func AppendRoleChunk(dst []byte, p ChunkPrefix) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, p...)
	return append(dst, `,"choices":[{"index":0,"delta":{"role":"assistant"},"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
}

// AppendContentChunk appends a frame with a piece of the answer.
func AppendContentChunk(dst []byte, p ChunkPrefix, text string) []byte {
	return appendDeltaChunk(dst, p, `"content":`, text)
}

// AppendReasoningChunk appends a frame with a piece of the reasoning.
func AppendReasoningChunk(dst []byte, p ChunkPrefix, text string) []byte {
	return appendDeltaChunk(dst, p, `"reasoning":`, text)
}

func appendDeltaChunk(dst []byte, p ChunkPrefix, key, text string) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, p...)
	dst = append(dst, `,"choices":[{"index":0,"delta":{`...)
	dst = append(dst, key...)
	dst = jsonw.String(dst, text)
	return append(dst, `},"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
}

// AppendToolStartChunk appends the first frame of call number index: its
// id, type, name and empty arguments, which the SDKs' accumulators need
// together; signature is Gemini's thought signature, "" for none. legacy
// writes the deprecated function_call delta.
func AppendToolStartChunk(dst []byte, p ChunkPrefix, index int, id, name, signature string, legacy bool) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, p...)
	if legacy {
		dst = append(dst, `,"choices":[{"index":0,"delta":{"function_call":{"name":`...)
		dst = jsonw.String(dst, name)
		return append(dst, `,"arguments":""}},"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
	}
	dst = append(dst, `,"choices":[{"index":0,"delta":{"tool_calls":[{"index":`...)
	dst = jsonw.Int(dst, int64(index))
	dst = append(dst, `,"id":`...)
	dst = jsonw.String(dst, id)
	dst = append(dst, `,"type":"function","function":{"name":`...)
	dst = jsonw.String(dst, name)
	dst = append(dst, `,"arguments":""}`...)
	if signature != "" {
		dst = appendExtraContent(dst, signature)
	}
	return append(dst, `}]},"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
}

// AppendToolArgsChunk appends a fragment of call number index's arguments.
func AppendToolArgsChunk(dst []byte, p ChunkPrefix, index int, fragment string, legacy bool) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, p...)
	if legacy {
		dst = append(dst, `,"choices":[{"index":0,"delta":{"function_call":{"arguments":`...)
		dst = jsonw.String(dst, fragment)
		return append(dst, `}},"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
	}
	dst = append(dst, `,"choices":[{"index":0,"delta":{"tool_calls":[{"index":`...)
	dst = jsonw.Int(dst, int64(index))
	dst = append(dst, `,"function":{"arguments":`...)
	dst = jsonw.String(dst, fragment)
	return append(dst, `}}]},"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
}

// AppendDetailChunk appends a frame with one whole reasoning_details entry:
// signed reasoning that a tool loop needs back.
func AppendDetailChunk(dst []byte, p ChunkPrefix, d *llm.ReasoningDetail) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, p...)
	dst = append(dst, `,"choices":[{"index":0,"delta":{"reasoning_details":[`...)
	dst = appendDetail(dst, d)
	return append(dst, `]},"logprobs":null,"finish_reason":null}]}`+"\n\n"...)
}

// AppendFinishChunk appends the frame with an empty delta and the finish
// reason, then the usage frame with no choices, which every stream ends with
// whatever stream_options said.
func AppendFinishChunk(dst []byte, p ChunkPrefix, finish llm.Finish, legacy bool, u *llm.Usage) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, p...)
	dst = append(dst, `,"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":`...)
	dst = append(dst, finishReason(finish, legacy)...)
	dst = append(dst, "}]}\n\ndata: "...)
	dst = append(dst, p...)
	dst = append(dst, `,"choices":[],"usage":`...)
	dst = AppendUsage(dst, u)
	dst = appendTier(dst, u)
	return append(dst, "}\n\n"...)
}

// AppendErrorFrame appends a failure after the 200 was sent: one data frame
// with the standard error envelope.
func AppendErrorFrame(dst []byte, e *llm.Error) []byte {
	dst = append(dst, "data: "...)
	dst = AppendError(dst, e)
	return append(dst, "\n\n"...)
}

// AppendDone appends the stream's last frame.
func AppendDone(dst []byte) []byte { return append(dst, "data: [DONE]\n\n"...) }

// ChunkWriter writes an answer as chat.completion.chunk frames: the chat
// door's llm.StreamWriter.
type ChunkWriter struct {
	Prefix ChunkPrefix
	// Exclude: the client asked not to see the reasoning text.
	Exclude bool
	// Legacy answers the first call only, in the deprecated function_call
	// form, without reasoning details (it has no id to name them by).
	Legacy bool
}

// Start implements llm.StreamWriter: the role chunk.
func (w *ChunkWriter) Start(dst []byte, _ *llm.Usage) []byte { return AppendRoleChunk(dst, w.Prefix) }

// Text implements llm.StreamWriter.
func (w *ChunkWriter) Text(dst []byte, s string) []byte { return AppendContentChunk(dst, w.Prefix, s) }

// Reasoning implements llm.StreamWriter.
func (w *ChunkWriter) Reasoning(dst []byte, s string) []byte {
	if w.Exclude {
		return dst
	}
	return AppendReasoningChunk(dst, w.Prefix, s)
}

// Detail implements llm.StreamWriter.
func (w *ChunkWriter) Detail(dst []byte, d llm.ReasoningDetail) []byte {
	if w.Legacy {
		return dst
	}
	return AppendDetailChunk(dst, w.Prefix, &d)
}

// ToolStart implements llm.StreamWriter.
func (w *ChunkWriter) ToolStart(dst []byte, index int, id, name, signature string) []byte {
	if w.Legacy && index > 0 {
		return dst
	}
	return AppendToolStartChunk(dst, w.Prefix, index, id, name, signature, w.Legacy)
}

// ToolArgs implements llm.StreamWriter.
func (w *ChunkWriter) ToolArgs(dst []byte, index int, fragment string) []byte {
	if w.Legacy && index > 0 {
		return dst
	}
	return AppendToolArgsChunk(dst, w.Prefix, index, fragment, w.Legacy)
}

// End implements llm.StreamWriter: the finish chunk and the usage chunk.
func (w *ChunkWriter) End(dst []byte, finish llm.Finish, _ string, u *llm.Usage) []byte {
	return AppendFinishChunk(dst, w.Prefix, finish, w.Legacy, u)
}

// Fail implements llm.StreamWriter: an error frame.
func (w *ChunkWriter) Fail(dst []byte, e *llm.Error) []byte { return AppendErrorFrame(dst, e) }

// Close implements llm.StreamWriter: [DONE].
func (w *ChunkWriter) Close(dst []byte) []byte { return AppendDone(dst) }
