package openai

import (
	"github.com/opentoken/opentoken/internal/jsonw"
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

// AppendFinishChunk appends the frame with an empty delta and the finish
// reason, then the usage frame with no choices, which every stream ends with
// whatever stream_options said.
func AppendFinishChunk(dst []byte, p ChunkPrefix, finish string, u *Usage) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, p...)
	dst = append(dst, `,"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":`...)
	dst = jsonw.String(dst, finish)
	dst = append(dst, "}]}\n\ndata: "...)
	dst = append(dst, p...)
	dst = append(dst, `,"choices":[],"usage":`...)
	dst = AppendUsage(dst, u)
	return append(dst, "}\n\n"...)
}

// AppendErrorFrame appends a failure after the 200 was sent: one data frame
// with the standard error envelope.
func AppendErrorFrame(dst []byte, e *Error) []byte {
	dst = append(dst, "data: "...)
	dst = e.AppendJSON(dst)
	return append(dst, "\n\n"...)
}

// AppendDone appends the stream's last frame.
func AppendDone(dst []byte) []byte { return append(dst, "data: [DONE]\n\n"...) }
