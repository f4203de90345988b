// Package loadtest is OpenToken's load harness: a fast mock upstream, a
// bare pass-through proxy, a load generator (closed loop at fixed
// concurrency, open loop at a fixed rate, free of coordinated omission),
// process CPU and memory readings, and the report. cmd/loadbench drives it.
package loadtest

import (
	"bufio"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Mock is a fast upstream that answers the Anthropic Messages and Gemini
// generateContent shapes, buffered or streamed, after a fixed latency. It
// checks nothing: the strict emulators do that; this one only has to be cheap.
type Mock struct {
	Latency time.Duration // before the answer (before the first event when streaming)
	Text    string        // the answer text; its size sets the response size
	Chunks  int           // events a streamed answer is split into
}

// NewMock returns a mock answering with size bytes of text.
func NewMock(latency time.Duration, size, chunks int) *Mock {
	word := "lorem "
	return &Mock{Latency: latency, Text: strings.Repeat(word, max(size/len(word), 1)), Chunks: max(chunks, 1)}
}

// Handle is the mock's fasthttp handler.
func (m *Mock) Handle(ctx *fasthttp.RequestCtx) {
	if m.Latency > 0 {
		time.Sleep(m.Latency)
	}
	path := string(ctx.Path())
	anthropic := path == "/v1/messages"
	stream := strings.HasSuffix(path, ":streamGenerateContent") ||
		(anthropic && strings.Contains(string(ctx.PostBody()), `"stream":true`))
	ctx.SetContentType("application/json")
	switch {
	case anthropic && !stream:
		ctx.SetBodyString(`{"id":"msg_mock","type":"message","role":"assistant","model":"mock","content":[{"type":"text","text":"` +
			m.Text + `"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":212,"output_tokens":` +
			strconv.Itoa(len(m.Text)/4) + `,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}`)
	case !anthropic && !stream:
		ctx.SetBodyString(`{"candidates":[{"content":{"role":"model","parts":[{"text":"` + m.Text +
			`"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":212,"candidatesTokenCount":` +
			strconv.Itoa(len(m.Text)/4) + `,"totalTokenCount":` + strconv.Itoa(212+len(m.Text)/4) + `},"modelVersion":"mock"}`)
	default:
		ctx.SetContentType("text/event-stream")
		pieces := split(m.Text, m.Chunks)
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			if anthropic {
				writeAnthropicStream(w, pieces)
			} else {
				writeGeminiStream(w, pieces)
			}
		})
	}
}

func split(text string, n int) []string {
	size := max(len(text)/n, 1)
	var out []string
	for len(text) > size {
		out = append(out, text[:size])
		text = text[size:]
	}
	return append(out, text)
}

func writeAnthropicStream(w *bufio.Writer, pieces []string) {
	event := func(name, data string) bool {
		w.WriteString("event: " + name + "\ndata: " + data + "\n\n")
		return w.Flush() == nil
	}
	if !event("message_start", `{"type":"message_start","message":{"id":"msg_mock","type":"message","role":"assistant","content":[],"model":"mock","usage":{"input_tokens":212,"output_tokens":1}}}`) ||
		!event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`) {
		return
	}
	for _, p := range pieces {
		if !event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"`+p+`"}}`) {
			return
		}
	}
	_ = event("content_block_stop", `{"type":"content_block_stop","index":0}`) &&
		event("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":`+strconv.Itoa(len(pieces))+`}}`) &&
		event("message_stop", `{"type":"message_stop"}`)
}

func writeGeminiStream(w *bufio.Writer, pieces []string) {
	for i, p := range pieces {
		finish := ""
		if i == len(pieces)-1 {
			finish = `,"finishReason":"STOP"`
		}
		w.WriteString(`data: {"candidates":[{"content":{"role":"model","parts":[{"text":"` + p + `"}]}` + finish +
			`,"index":0}],"usageMetadata":{"promptTokenCount":212,"candidatesTokenCount":` + strconv.Itoa(i+1) +
			`,"totalTokenCount":` + strconv.Itoa(213+i) + `},"modelVersion":"mock"}` + "\n\n")
		if w.Flush() != nil {
			return
		}
	}
}
