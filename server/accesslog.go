package server

import (
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/opentoken/opentoken/internal/bytesconv"
	"github.com/opentoken/opentoken/internal/jsonw"
)

// accessLog writes one line per request, in the shape of log/slog's text or
// JSON handler (time, level, msg, then the fields), so that the access log
// and the rest of the log read alike. It appends into a pooled buffer
// instead of going through slog's attributes: a line on every request
// through slog cost 18 allocations and about a fifth of a request's time.
//
// Lines may be batched (Options.AccessLogFlush): a line written alone is
// one write call a request, 4% of the gateway's CPU under load even to
// /dev/null (more to a pipe, whose reader each write wakes). Batched, they
// are kept and written together at most flushEvery after the first of
// them, at once when accessLogBatch bytes are kept, and when the server
// stops, as nginx's access_log buffer=/flush= and ASP.NET Core's W3C
// logger (every second by default) do. A process killed outright loses
// what was kept.
type accessLog struct {
	mu   sync.Mutex
	w    io.Writer
	json bool

	flushEvery time.Duration // 0: each line written as its request ends
	kept       []byte        // lines not yet written
	flusher    *time.Timer   // armed while lines are kept
}

// accessLogBatch is how much of the log is kept before it is written: what
// a pipe holds by default on Linux.
const accessLogBatch = 64 << 10

func newAccessLog(w io.Writer, json bool, flushEvery time.Duration) *accessLog {
	a := &accessLog{w: w, json: json, flushEvery: flushEvery}
	if flushEvery > 0 {
		a.kept = make([]byte, 0, accessLogBatch+4096)
		a.flusher = time.AfterFunc(flushEvery, a.flush)
		a.flusher.Stop()
	}
	return a
}

// flush writes the lines kept.
func (a *accessLog) flush() {
	a.mu.Lock()
	a.flushLocked()
	a.mu.Unlock()
}

func (a *accessLog) flushLocked() {
	if len(a.kept) > 0 {
		_, _ = a.w.Write(a.kept)
		a.kept = a.kept[:0]
	}
}

// close writes the lines kept, and every later line as its request ends:
// the server calls it once it has drained.
func (a *accessLog) close() {
	a.mu.Lock()
	if a.flusher != nil {
		a.flusher.Stop()
	}
	a.flushLocked()
	a.flushEvery = 0
	a.mu.Unlock()
}

// lineWriter appends one line's fields in the format in use.
type lineWriter struct {
	b    []byte
	json bool
}

func (l *lineWriter) key(k string) {
	if l.json {
		l.b = append(l.b, ',', '"')
		l.b = append(l.b, k...)
		l.b = append(l.b, '"', ':')
		return
	}
	l.b = append(l.b, ' ')
	l.b = append(l.b, k...)
	l.b = append(l.b, '=')
}

func (l *lineWriter) str(k, v string) {
	l.key(k)
	if l.json {
		l.b = jsonw.String(l.b, v)
		return
	}
	if v == "" || needsQuote(v) {
		l.b = strconv.AppendQuote(l.b, v)
		return
	}
	l.b = append(l.b, v...)
}

func (l *lineWriter) int(k string, v int64) {
	l.key(k)
	l.b = strconv.AppendInt(l.b, v, 10)
}

func (l *lineWriter) ms(k string, d time.Duration) {
	l.key(k)
	l.b = strconv.AppendFloat(l.b, float64(d.Microseconds())/1e3, 'f', -1, 64)
}

func (l *lineWriter) bool(k string, v bool) {
	l.key(k)
	l.b = strconv.AppendBool(l.b, v)
}

// needsQuote reports whether a text value must be quoted, as slog's text
// handler would.
func needsQuote(v string) bool {
	for _, c := range []byte(v) {
		if c <= ' ' || c == '"' || c == '=' || c >= 0x7f {
			return true
		}
	}
	return false
}

// write logs a finished request. Never a key, never prompt or answer text.
func (a *accessLog) write(status int, r *record, total time.Duration) {
	buf := getBuf()
	l := lineWriter{b: (*buf)[:0], json: a.json}
	now := time.Now()
	if l.json {
		l.b = append(l.b, `{"time":"`...)
		l.b = now.AppendFormat(l.b, time.RFC3339Nano)
		l.b = append(l.b, `","level":"INFO","msg":"request"`...)
	} else {
		l.b = append(l.b, "time="...)
		l.b = now.AppendFormat(l.b, "2006-01-02T15:04:05.000Z07:00")
		l.b = append(l.b, " level=INFO msg=request"...)
	}
	model := ""
	if r.model != nil {
		model = r.model.ID
	}
	l.str("request_id", bytesconv.String(r.requestID()))
	l.int("key", int64(r.key))
	if r.principal != nil { // an issued key: its id and workspace, never the key
		l.int("key_id", r.principal.Key.ID)
		l.str("workspace", r.principal.Key.Workspace)
	}
	l.str("endpoint", r.endpoint)
	l.str("model", model)
	if r.supplier != "" {
		l.str("supplier", r.supplier)
		l.int("attempts", int64(r.attempts))
	}
	l.int("status", int64(status))
	l.str("code", r.code)
	l.bool("stream", r.stream)
	l.int("prompt_tokens", r.usage.Prompt)
	l.int("completion_tokens", r.usage.Completion)
	l.ms("duration_ms", total)
	l.ms("gateway_ms", total-r.upstream)
	l.ms("upstream_ms", r.upstream)
	if r.dropped != 0 {
		var names [512]byte
		l.str("dropped", bytesconv.String(appendParamNames(names[:0], r.dropped)))
	}
	if l.json {
		l.b = append(l.b, '}')
	}
	l.b = append(l.b, '\n')
	a.mu.Lock()
	switch {
	case a.flushEvery == 0:
		_, _ = a.w.Write(l.b)
	case len(a.kept) == 0:
		a.flusher.Reset(a.flushEvery)
		fallthrough
	default:
		if a.kept = append(a.kept, l.b...); len(a.kept) >= accessLogBatch {
			a.flushLocked()
		}
	}
	a.mu.Unlock()
	*buf = l.b
	putBuf(buf)
}
