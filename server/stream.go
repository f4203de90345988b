package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/internal/sse"
	"github.com/opentoken/opentoken/server/adapter"
	"github.com/opentoken/opentoken/server/transport"
)

// How a stream ended, as reported to Options.OnStreamEnd.
const (
	StreamComplete      = "complete"       // the upstream finished and the client got [DONE]
	StreamUpstreamError = "upstream_error" // an error frame was sent
	StreamClientGone    = "client_gone"    // the client left or stopped reading; the upstream request was closed
	StreamPanic         = "panic"          // a bug; the client got an api_error frame
)

// open reads a stream's opening, until its first content-bearing event,
// translating the events as the stream will but holding their frames
// back: nothing, not even the role chunk, reaches the client before the
// commit. An upstream that fails, stalls past firstContent or ends cut
// before any content is a failed attempt, which the caller may take to
// another supplier. An answer complete without content (an empty answer)
// commits too.
func (s *Server) open(ex *exchange, call *adapter.Call, out llm.StreamWriter, firstContent time.Duration) (int, *llm.Error) {
	defer func() {
		// A bug in a translator: the exchange ends here, and the handler
		// answers 500, nothing having been sent.
		if r := recover(); r != nil {
			s.finish(ex)
			panic(r)
		}
	}()
	ex.st = ex.rt.adapter.NewStream(call, out)
	ex.events = sse.NewReader(&ex.Exchange, s.lim.MaxSSELineBytes)
	ex.held = getBuf()
	ex.SetIdle(firstContent)
	defer ex.SetIdle(s.lim.StreamIdleTimeout)
	held := (*ex.held)[:0]
	defer func() { *ex.held = held }()
	for {
		ev, data, err := ex.events.Next()
		switch {
		case err == nil:
		case errors.Is(ex.Cause(), errClientGone):
			return noUpstreamError, errGone
		case err == io.EOF:
			out, e := ex.st.End(held)
			if e != nil {
				return upstreamInterrupted, e // cut before any content
			}
			held, ex.ended = out, true
			return noUpstreamError, nil
		default:
			return streamKind(err), s.streamTransportError(ex.sup.name, err)
		}
		out, e := ex.st.Event(held, ev, data)
		if e != nil {
			return upstreamUnavailable, e
		}
		held = out
		if ex.st.Done() {
			held, ex.end = ex.st.End(held)
			ex.ended = true
			return noUpstreamError, nil
		}
		if len(held) > 0 {
			return noUpstreamError, nil
		}
	}
}

// stream serves stream: true once the upstream's stream committed
// (open): from here a failure is one error frame followed by [DONE].
func (s *Server) stream(ctx *fasthttp.RequestCtx, ex *exchange, call *adapter.Call, out llm.StreamWriter, rec *record) {
	rec.stream = true
	committed := false
	defer func() {
		if !committed { // a panic before the writer took over
			s.finish(ex)
			rec.stream = false // observed by the handler, as a 500
		}
	}()
	st := ex.st
	ctx.SetContentType("text/event-stream")
	ctx.Response.Header.Set("Cache-Control", "no-cache")
	ctx.Response.Header.Set("X-Accel-Buffering", "no") // proxies must not hold frames back
	setChanged(ctx, call)
	client := ctx.Conn()
	s.streams.Add(1)
	// ctx must not be touched below: the writer runs in a goroutine of its
	// own (fasthttp starts it here), with only what it captured, and may
	// outlive the handler or end before it has returned; the record is
	// held for it until it ends.
	rec.holds.Add(1)
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		reason := StreamPanic
		defer func() {
			// The writer runs outside the handler's recover: a panic here
			// would end the process, so it ends only this stream.
			if r := recover(); r != nil {
				id := string(s.ids.appendID(nil, "evt_"))
				s.log.Error("panic in stream", "event_id", id, "panic", r)
				_ = s.writeFrames(w, client, out.Close(out.Fail(nil, &llm.Error{Status: 500, Type: llm.TypeAPI,
					EventID: id, Message: "internal error; quote event_id " + id + " to support"})))
			}
			s.finish(ex)
			s.streams.Add(-1)
			rec.usage, rec.hasUsage, rec.partial = st.Usage(), true, reason != StreamComplete
			rec.finish, rec.hasFinish = st.Finish(), reason == StreamComplete
			s.observe(fasthttp.StatusOK, rec)
			releaseRecord(rec)
			if s.onStreamEnd != nil {
				s.onStreamEnd(reason)
			}
		}()
		reason = s.pump(w, client, out, st, ex, rec)
	})
	committed = true
}

// pump moves one stream: the role chunk and the frames held back by the
// opening first, then each upstream event as it comes, translated and
// flushed to the client.
func (s *Server) pump(w *bufio.Writer, client net.Conn, sw llm.StreamWriter, st adapter.Stream, ex *exchange, rec *record) string {
	out := make([]byte, 0, 4096)
	u := st.Usage()
	out = sw.Start(out, &u)
	if ex.ended {
		return s.finishStream(w, client, sw, append(out, *ex.held...), ex.end, rec)
	}
	if !s.writeFrames(w, client, append(out, *ex.held...)) {
		return StreamClientGone
	}
	s.meters.firstByte[rec.model.Provider].Update(time.Since(rec.start).Seconds())
	events := ex.events
	for {
		ev, data, err := events.Next()
		if err != nil {
			if errors.Is(ex.Cause(), errClientGone) {
				return StreamClientGone
			}
			var e *llm.Error
			out, e = st.End(out[:0])
			if err != io.EOF {
				e = s.streamTransportError(ex.sup.name, err)
				rec.errKind = streamKind(err)
			} else if e != nil {
				rec.errKind = upstreamInterrupted
			}
			return s.finishStream(w, client, sw, out, e, rec)
		}
		var e *llm.Error
		if out, e = st.Event(out[:0], ev, data); e != nil {
			rec.errKind = upstreamInterrupted
			return s.finishStream(w, client, sw, out, e, rec)
		}
		if len(out) > 0 && !s.writeFrames(w, client, out) {
			return StreamClientGone
		}
		if st.Done() {
			out, e = st.End(out[:0])
			return s.finishStream(w, client, sw, out, e, rec)
		}
	}
}

// finishStream sends the closing frames, or an error frame, then the
// dialect's last frame.
// The error's message may quote the upstream, so it is redacted.
func (s *Server) finishStream(w *bufio.Writer, client net.Conn, sw llm.StreamWriter, out []byte, e *llm.Error, rec *record) string {
	reason := StreamComplete
	if e != nil {
		reason = StreamUpstreamError
		rec.code = e.Code
		e.Message = s.secrets.String(e.Message)
		out = sw.Fail(out[:0], e)
	}
	if !s.writeFrames(w, client, sw.Close(out)) {
		return StreamClientGone
	}
	return reason
}

// writeFrames writes and flushes frames, each write bounded by the write timeout,
// so that a client that stops reading is let go; a stream as a whole has
// no bound.
func (s *Server) writeFrames(w *bufio.Writer, client net.Conn, frames []byte) bool {
	if err := client.SetWriteDeadline(time.Now().Add(s.lim.WriteTimeout)); err != nil {
		return false
	}
	if _, err := w.Write(frames); err != nil {
		return false
	}
	return w.Flush() == nil
}

// streamKind classifies a stream's read failure for the metrics.
func streamKind(err error) int {
	switch {
	case errors.Is(err, errDraining):
		return noUpstreamError
	case errors.Is(err, transport.ErrTimeout):
		return upstreamTimeout
	case errors.Is(err, sse.ErrLineTooLong):
		return upstreamTooLarge
	}
	return upstreamInterrupted
}

// streamTransportError describes an upstream stream that failed after it
// began: it stalled past the idle timeout, sent a line over the limit, was
// cut, or the gateway is shutting down.
func (s *Server) streamTransportError(name string, err error) *llm.Error {
	switch {
	case errors.Is(err, errDraining):
		return drainError()
	case errors.Is(err, transport.ErrTimeout):
		return &llm.Error{Status: 504, Type: llm.TypeUpstream, Code: llm.CodeUpstreamTimeout,
			Message: name + " upstream stalled: no data for " + s.lim.StreamIdleTimeout.String()}
	case errors.Is(err, sse.ErrLineTooLong):
		s.log.Warn("upstream event line over the limit", "upstream", name, "limit", s.lim.MaxSSELineBytes)
		return &llm.Error{Status: 502, Type: llm.TypeUpstream, Code: llm.CodeUpstreamError,
			Message: name + " upstream sent an event line longer than the gateway's limit of " + strconv.Itoa(s.lim.MaxSSELineBytes) + " bytes"}
	}
	s.log.Warn("upstream stream interrupted", "upstream", name, "err", err)
	return &llm.Error{Status: 502, Type: llm.TypeUpstream, Code: llm.CodeUpstreamError,
		Message: name + " upstream stream interrupted: " + describeTransport(err)}
}
