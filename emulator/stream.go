package emulator

import (
	"bufio"
	"net"
	"time"

	"github.com/valyala/fasthttp"
)

// StreamOptions shape the emulators' streamed answers.
type StreamOptions struct {
	// Words is how many words each text delta carries; 0 means 1.
	Words int
	// Delay is the pause before each event, to mimic a model's pace.
	Delay time.Duration
}

// SSE writes one streamed answer, event by event, flushing each, and carries
// out a StreamFault when its turn comes.
type SSE struct {
	w       *bufio.Writer
	conn    net.Conn
	fault   *StreamFault
	delay   time.Duration
	errorEv []byte // the upstream's in-stream error event, as raw SSE
	sent    int
	stopped bool
}

// StartSSE answers ctx with an event stream written by write, after the
// handler returns. errorEvent is the raw SSE the upstream sends for an
// in-stream failure.
func StartSSE(ctx *fasthttp.RequestCtx, opt StreamOptions, fault *StreamFault, errorEvent string, write func(*SSE)) {
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	conn := ctx.Conn()
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		write(&SSE{w: w, conn: conn, fault: fault, delay: opt.Delay, errorEv: []byte(errorEvent)})
	})
}

// Event sends one event (name may be empty) and reports whether the stream
// goes on: false after a fault or a write error.
func (s *SSE) Event(name string, data []byte) bool {
	if s.stopped {
		return false
	}
	if f := s.fault; f != nil && s.sent == f.AfterEvents {
		s.stopped = true
		if f.Wait != nil {
			<-f.Wait
		}
		switch {
		case f.Stall != nil:
			<-f.Stall
			s.conn.Close()
		case f.Cut:
			s.conn.Close()
		case f.Error:
			_, _ = s.w.Write(s.errorEv)
			_ = s.w.Flush()
		case f.Malformed:
			_, _ = s.w.WriteString("event: " + name + "\ndata: {\"type\": \n\n")
			_ = s.w.Flush()
		}
		return false
	}
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	if name != "" {
		_, _ = s.w.WriteString("event: " + name + "\n")
	}
	_, _ = s.w.WriteString("data: ")
	_, _ = s.w.Write(data)
	_, _ = s.w.WriteString("\n\n")
	if s.w.Flush() != nil {
		s.stopped = true
		return false
	}
	s.sent++
	return true
}

// Chunks splits text into pieces of n words, each keeping its leading space,
// so that the pieces concatenate back to text.
func Chunks(text string, n int) []string {
	if n <= 0 {
		n = 1
	}
	var out []string
	start, words := 0, 0
	for i := 1; i <= len(text); i++ {
		if i == len(text) || (text[i] == ' ' && text[i-1] != ' ') {
			words++
			if words == n || i == len(text) {
				out = append(out, text[start:i])
				start, words = i, 0
			}
		}
	}
	return out
}
