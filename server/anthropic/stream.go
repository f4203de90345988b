package anthropic

import (
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/llm"
)

// block kinds an EventWriter may hold open.
const (
	openNone = iota
	openText
	openThinking
	openTool
)

// EventWriter writes an answer as the Messages API's event stream:
// message_start and a ping, then each content block as
// content_block_start, its deltas and content_block_stop, then
// message_delta with the stop reason and usage, and message_stop. It is
// the Messages door's llm.StreamWriter; one serves one stream.
type EventWriter struct {
	ID, Model string
	index     int // the next block's index
	open      int // the kind of the open block, openNone for none
}

// Start implements llm.StreamWriter.
func (w *EventWriter) Start(dst []byte, u *llm.Usage) []byte {
	dst = append(dst, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"...)
	dst = jsonw.String(dst, w.ID)
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	dst = jsonw.String(dst, w.Model)
	dst = append(dst, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	dst = AppendUsage(dst, u)
	return append(dst, "}}\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n"...)
}

// Text implements llm.StreamWriter.
func (w *EventWriter) Text(dst []byte, s string) []byte {
	if w.open != openText {
		dst = w.start(dst, openText, `{"type":"text","text":""}`)
	}
	dst = w.delta(dst)
	dst = append(dst, `{"type":"text_delta","text":`...)
	dst = jsonw.String(dst, s)
	return append(dst, "}}\n\n"...)
}

// Reasoning implements llm.StreamWriter.
func (w *EventWriter) Reasoning(dst []byte, s string) []byte {
	if w.open != openThinking {
		dst = w.start(dst, openThinking, `{"type":"thinking","thinking":"","signature":""}`)
	}
	dst = w.delta(dst)
	dst = append(dst, `{"type":"thinking_delta","thinking":`...)
	dst = jsonw.String(dst, s)
	return append(dst, "}}\n\n"...)
}

// Detail implements llm.StreamWriter: a Claude thinking block's signature
// closes it; a redacted block comes whole; a Gemini thought signature
// becomes a thinking block of its own before its call.
func (w *EventWriter) Detail(dst []byte, d llm.ReasoningDetail) []byte {
	switch {
	case d.Type == llm.DetailEncrypted && d.Format == llm.FormatAnthropic:
		dst = w.stop(dst)
		dst = w.head(dst, "content_block_start")
		dst = append(dst, `,"content_block":{"type":"redacted_thinking","data":`...)
		dst = jsonw.String(dst, d.Data)
		dst = append(dst, "}}\n\n"...)
		w.open = openThinking
		return w.stop(dst)
	case d.Format == llm.FormatGoogle:
		dst = w.start(dst, openThinking, `{"type":"thinking","thinking":"","signature":""}`)
		return w.signature(dst, GeminiSignature+d.Data)
	}
	if w.open != openThinking {
		dst = w.start(dst, openThinking, `{"type":"thinking","thinking":"","signature":""}`)
	}
	return w.signature(dst, d.Signature)
}

// signature appends the open thinking block's signature_delta and closes it.
func (w *EventWriter) signature(dst []byte, sig string) []byte {
	dst = w.delta(dst)
	dst = append(dst, `{"type":"signature_delta","signature":`...)
	dst = jsonw.String(dst, sig)
	dst = append(dst, "}}\n\n"...)
	return w.stop(dst)
}

// ToolStart implements llm.StreamWriter: a tool_use block, whose input
// follows in input_json_delta events.
func (w *EventWriter) ToolStart(dst []byte, _ int, id, name, _ string) []byte {
	dst = w.stop(dst)
	dst = w.head(dst, "content_block_start")
	dst = append(dst, `,"content_block":{"type":"tool_use","id":`...)
	dst = jsonw.String(dst, id)
	dst = append(dst, `,"name":`...)
	dst = jsonw.String(dst, name)
	dst = append(dst, `,"input":{}}}`+"\n\n"...)
	w.open = openTool
	return dst
}

// ToolArgs implements llm.StreamWriter. A fragment belongs to the open
// tool_use block; the adapters send none after another piece, and one
// without its block has nowhere to go.
func (w *EventWriter) ToolArgs(dst []byte, _ int, fragment string) []byte {
	if w.open != openTool {
		return dst
	}
	dst = w.delta(dst)
	dst = append(dst, `{"type":"input_json_delta","partial_json":`...)
	dst = jsonw.String(dst, fragment)
	return append(dst, "}}\n\n"...)
}

// End implements llm.StreamWriter: message_delta with the stop reason and
// the whole usage, then message_stop.
func (w *EventWriter) End(dst []byte, finish llm.Finish, stopSequence string, u *llm.Usage) []byte {
	dst = w.stop(dst)
	dst = append(dst, "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"...)
	dst = append(dst, stopReason(finish)...)
	dst = append(dst, `,"stop_sequence":`...)
	dst = nullable(dst, stopSequence)
	dst = append(dst, `},"usage":`...)
	dst = AppendUsage(dst, u)
	return append(dst, "}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"...)
}

// Fail implements llm.StreamWriter: an error event in Anthropic's envelope.
func (w *EventWriter) Fail(dst []byte, e *llm.Error) []byte {
	dst = append(dst, "event: error\ndata: "...)
	dst = AppendError(dst, e)
	return append(dst, "\n\n"...)
}

// Close implements llm.StreamWriter: the Messages stream has no last frame
// after message_stop or an error.
func (w *EventWriter) Close(dst []byte) []byte { return dst }

// start closes the open block and opens one of kind with the given
// content_block JSON.
func (w *EventWriter) start(dst []byte, kind int, contentBlock string) []byte {
	dst = w.stop(dst)
	dst = w.head(dst, "content_block_start")
	dst = append(dst, `,"content_block":`...)
	dst = append(dst, contentBlock...)
	dst = append(dst, "}\n\n"...)
	w.open = kind
	return dst
}

// stop closes the open block, if any.
func (w *EventWriter) stop(dst []byte) []byte {
	if w.open == openNone {
		return dst
	}
	dst = w.head(dst, "content_block_stop")
	dst = append(dst, "}\n\n"...)
	w.open = openNone
	w.index++
	return dst
}

// delta opens a content_block_delta event of the open block, up to its delta.
func (w *EventWriter) delta(dst []byte) []byte {
	dst = w.head(dst, "content_block_delta")
	return append(dst, `,"delta":`...)
}

// head opens an event of the open (or next) block: its name, type and index.
func (w *EventWriter) head(dst []byte, event string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, event...)
	dst = append(dst, "\ndata: {\"type\":\""...)
	dst = append(dst, event...)
	dst = append(dst, `","index":`...)
	return jsonw.Int(dst, int64(w.index))
}
