package responses

import (
	"strings"

	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/llm"
)

// EventWriter writes an answer as the Responses API's event stream:
// response.created and response.in_progress, then each output item —
// response.output_item.added, its content (text deltas, a call's
// argument deltas, reasoning summary deltas) and their done events,
// response.output_item.done — then response.completed (or
// response.incomplete) with the whole response. Every event carries its
// sequence_number. It is the Responses door's llm.StreamWriter; one
// serves one stream, and keeps the output to repeat it at the end.
type EventWriter struct {
	Meta *Meta
	// IDs makes item ids ("msg_…", "fc_…", "rs_…").
	IDs func(prefix string) string
	seq int64
	// started: response.created and response.in_progress are written.
	started bool
	items   []outItem
	open    int // the index of the open item in items, -1 for none
	// summaryOpen: the open reasoning item has a summary part open.
	summaryOpen bool
	// OnComplete, when set, is given a completed stream's response object
	// and its items (to store it); seal seals their reasoning whatever the
	// request included.
	OnComplete func(response, history []byte)
	Seal       func([]llm.ReasoningDetail) string
}

// NewEventWriter starts a stream's writer.
func NewEventWriter(m *Meta) *EventWriter {
	return &EventWriter{Meta: m, open: -1}
}

// event opens an event: its name and, in data, its type and sequence number.
func (w *EventWriter) event(dst []byte, name string) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, name...)
	dst = append(dst, "\ndata: {\"type\":\""...)
	dst = append(dst, name...)
	dst = append(dst, `","sequence_number":`...)
	dst = jsonw.Int(dst, w.seq)
	w.seq++
	return dst
}

// itemEvent opens an event about the open item: its output_index and,
// with id, its item_id.
func (w *EventWriter) itemEvent(dst []byte, name string, withID bool) []byte {
	dst = w.event(dst, name)
	dst = append(dst, `,"output_index":`...)
	dst = jsonw.Int(dst, int64(w.open))
	if withID {
		dst = append(dst, `,"item_id":`...)
		dst = appendID(dst, w.Meta, &w.items[w.open])
	}
	return dst
}

func end(dst []byte) []byte { return append(dst, "}\n\n"...) }

// Start implements llm.StreamWriter. The opening events come first
// whenever the writer writes its first event, so that sequence numbers
// follow the order of the stream: a server that holds back the first
// frames before it commits calls Start after them, and gets nothing more.
func (w *EventWriter) Start(dst []byte, _ *llm.Usage) []byte {
	return w.start(dst)
}

func (w *EventWriter) start(dst []byte) []byte {
	if w.started {
		return dst
	}
	w.started = true
	for _, name := range [...]string{"response.created", "response.in_progress"} {
		dst = w.event(dst, name)
		dst = append(dst, `,"response":`...)
		dst = appendResponse(dst, w.Meta, StatusInProgress, nil, 0, nil, nil)
		dst = end(dst)
	}
	return dst
}

// add opens a new item of kind, closing the open one.
func (w *EventWriter) add(dst []byte, it outItem) []byte {
	dst = w.start(dst)
	dst = w.close(dst)
	it.n = len(w.items)
	w.items = append(w.items, it)
	w.open = len(w.items) - 1
	dst = w.itemEvent(dst, "response.output_item.added", false)
	dst = append(dst, `,"item":`...)
	dst = appendItem(dst, w.Meta, &w.items[w.open])
	dst = end(dst)
	if it.kind == itemMessage {
		dst = w.itemEvent(dst, "response.content_part.added", true)
		dst = append(dst, `,"content_index":0,"part":{"type":"output_text","text":"","annotations":[],"logprobs":[]}`...)
		dst = end(dst)
	}
	return dst
}

// current returns the open item when it is of kind, else nil.
func (w *EventWriter) current(kind int) *outItem {
	if w.open >= 0 && w.items[w.open].kind == kind {
		return &w.items[w.open]
	}
	return nil
}

// Text implements llm.StreamWriter.
func (w *EventWriter) Text(dst []byte, s string) []byte {
	if w.current(itemMessage) == nil {
		dst = w.add(dst, outItem{kind: itemMessage})
	}
	it := &w.items[w.open]
	it.text = append(it.text, s...)
	dst = w.itemEvent(dst, "response.output_text.delta", true)
	dst = append(dst, `,"content_index":0,"delta":`...)
	dst = jsonw.String(dst, s)
	dst = append(dst, `,"logprobs":[]`...)
	return end(dst)
}

// Reasoning implements llm.StreamWriter: a summary delta when the
// request asked for summaries; the text is kept for the item either way.
func (w *EventWriter) Reasoning(dst []byte, s string) []byte {
	if w.current(itemReasoning) == nil {
		dst = w.add(dst, outItem{kind: itemReasoning})
	}
	if !w.Meta.Request.Summary {
		return dst
	}
	it := &w.items[w.open]
	if !w.summaryOpen {
		w.summaryOpen = true
		dst = w.itemEvent(dst, "response.reasoning_summary_part.added", true)
		dst = append(dst, `,"summary_index":0,"part":{"type":"summary_text","text":""}`...)
		dst = end(dst)
	}
	it.text = append(it.text, s...)
	dst = w.itemEvent(dst, "response.reasoning_summary_text.delta", true)
	dst = append(dst, `,"summary_index":0,"delta":`...)
	dst = jsonw.String(dst, s)
	return end(dst)
}

// Detail implements llm.StreamWriter: signed reasoning joins the open
// reasoning item (one is opened for it), sealed when the item is done.
func (w *EventWriter) Detail(dst []byte, d llm.ReasoningDetail) []byte {
	if w.current(itemReasoning) == nil {
		dst = w.add(dst, outItem{kind: itemReasoning})
	}
	it := &w.items[w.open]
	// Kept past this event, whose buffer the strings may point into.
	d.Text, d.Signature, d.Data, d.ID = strings.Clone(d.Text), strings.Clone(d.Signature), strings.Clone(d.Data), strings.Clone(d.ID)
	it.details = append(it.details, d)
	return dst
}

// ToolStart implements llm.StreamWriter.
func (w *EventWriter) ToolStart(dst []byte, _ int, id, name, _ string) []byte {
	// Kept past this event, whose buffer the strings may point into.
	it := outItem{kind: itemCall, callID: strings.Clone(id), name: strings.Clone(name)}
	if ns, ok := w.Meta.Request.Namespaces[name]; ok {
		it.namespace, it.name = ns[0], ns[1]
	}
	return w.add(dst, it)
}

// ToolArgs implements llm.StreamWriter.
func (w *EventWriter) ToolArgs(dst []byte, _ int, fragment string) []byte {
	it := w.current(itemCall)
	if it == nil {
		return dst // a fragment belongs to the open call
	}
	it.args = append(it.args, fragment...)
	dst = w.itemEvent(dst, "response.function_call_arguments.delta", true)
	dst = append(dst, `,"delta":`...)
	dst = jsonw.String(dst, fragment)
	return end(dst)
}

// close ends the open item: its content's done events, then
// response.output_item.done with the item whole.
func (w *EventWriter) close(dst []byte) []byte {
	if w.open < 0 {
		return dst
	}
	it := &w.items[w.open]
	it.done = true
	switch it.kind {
	case itemMessage:
		dst = w.itemEvent(dst, "response.output_text.done", true)
		dst = append(dst, `,"content_index":0,"text":`...)
		dst = jsonw.String(dst, it.textOf())
		dst = append(dst, `,"logprobs":[]`...)
		dst = end(dst)
		dst = w.itemEvent(dst, "response.content_part.done", true)
		dst = append(dst, `,"content_index":0,"part":`...)
		dst = appendTextPart(dst, it.textOf())
		dst = end(dst)
	case itemReasoning:
		if w.summaryOpen {
			w.summaryOpen = false
			dst = w.itemEvent(dst, "response.reasoning_summary_text.done", true)
			dst = append(dst, `,"summary_index":0,"text":`...)
			dst = jsonw.String(dst, it.textOf())
			dst = end(dst)
			dst = w.itemEvent(dst, "response.reasoning_summary_part.done", true)
			dst = append(dst, `,"summary_index":0,"part":{"type":"summary_text","text":`...)
			dst = jsonw.String(dst, it.textOf())
			dst = append(dst, '}')
			dst = end(dst)
		}
	case itemCall:
		dst = w.itemEvent(dst, "response.function_call_arguments.done", true)
		dst = append(dst, `,"name":`...)
		dst = jsonw.String(dst, it.name)
		dst = append(dst, `,"arguments":`...)
		dst = jsonw.String(dst, it.argsOf())
		dst = end(dst)
	}
	dst = w.itemEvent(dst, "response.output_item.done", false)
	dst = append(dst, `,"item":`...)
	dst = appendItem(dst, w.Meta, it)
	dst = end(dst)
	w.open = -1
	return dst
}

// End implements llm.StreamWriter: the last item's done events, then
// response.completed (response.incomplete for a cut answer) with the
// whole response.
func (w *EventWriter) End(dst []byte, finish llm.Finish, _ string, u *llm.Usage) []byte {
	dst = w.start(dst)
	dst = w.close(dst)
	status := statusOf(finish)
	name := "response.completed"
	if status == StatusIncomplete {
		name = "response.incomplete"
	}
	dst = w.event(dst, name)
	dst = append(dst, `,"response":`...)
	start := len(dst)
	dst = appendResponse(dst, w.Meta, status, w.items, finish, u, nil)
	if w.OnComplete != nil {
		m := *w.Meta
		m.Seal = w.Seal
		w.OnComplete(dst[start:], appendHistory(nil, m.Request, &m, w.items))
	}
	return end(dst)
}

// Fail implements llm.StreamWriter: response.failed, the response with
// its error and what was produced before it.
func (w *EventWriter) Fail(dst []byte, e *llm.Error) []byte {
	dst = w.start(dst)
	dst = w.event(dst, "response.failed")
	dst = append(dst, `,"response":`...)
	dst = appendResponse(dst, w.Meta, StatusFailed, w.items, 0, nil, e)
	return end(dst)
}

// Close implements llm.StreamWriter: a Responses stream has no last frame.
func (w *EventWriter) Close(dst []byte) []byte { return dst }
