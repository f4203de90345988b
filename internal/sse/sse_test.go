package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReader(t *testing.T) {
	stream := "event: message_start\ndata: {\"a\":1}\n\n" +
		": keep-alive comment\n\n" +
		"data: {\"b\":2}\r\n\r\n" +
		"event: ping\ndata: {}\n\n" +
		"data: line1\ndata: line2\n\n" +
		"data: " + strings.Repeat("x", 40000) + "\n\n" +
		"data: unterminated"
	want := []struct{ event, data string }{
		{"message_start", `{"a":1}`}, {"", `{"b":2}`}, {"ping", "{}"}, {"", "line1\nline2"},
		{"", strings.Repeat("x", 40000)}, {"", "unterminated"},
	}
	// One byte at a time proves events are assembled across reads.
	r := NewReader(iotest.OneByteReader(strings.NewReader(stream)), 0)
	for i, w := range want {
		ev, data, err := r.Next()
		if err != nil || string(ev) != w.event || string(data) != w.data {
			t.Fatalf("event %d: %q %q %v, want %q %q", i, ev, truncate(data), err, w.event, truncate([]byte(w.data)))
		}
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last event: %v, want io.EOF", err)
	}
}

func TestReaderError(t *testing.T) {
	cut := errors.New("connection reset")
	r := NewReader(io.MultiReader(strings.NewReader("data: {\"a\":1}\n\ndata: {\"par"), iotest.ErrReader(cut)), 0)
	if _, _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Next(); !errors.Is(err, cut) {
		t.Fatalf("got %v, want the transport error", err)
	}
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// FuzzReader: however an upstream splits its bytes into reads, the reader
// yields the same events, never a line over its limit, and never panics.
func FuzzReader(f *testing.F) {
	f.Add([]byte("event: a\ndata: {\"x\":1}\n\n"), 3)
	f.Add([]byte("data: one\r\ndata: two\r\n\r\n: comment\n\ndata: three"), 1)
	f.Add([]byte("data:"+strings.Repeat("y", 40000)+"\n\n"), 7)
	f.Fuzz(func(t *testing.T, stream []byte, chunk int) {
		const max = 1 << 15
		whole := readAll(NewReader(bytes.NewReader(stream), max))
		chunk = (chunk%64+64)%64 + 1
		pieces := readAll(NewReader(&chunked{b: stream, n: chunk}, max))
		if whole != pieces {
			t.Fatalf("split reads change the events:\n%s\nvs\n%s", whole, pieces)
		}
	})
}

// readAll renders every event until the end or an error.
func readAll(r *Reader) string {
	var out strings.Builder
	for {
		ev, data, err := r.Next()
		if err != nil {
			out.WriteString("end: " + err.Error())
			return out.String()
		}
		if len(data) > 1<<15 {
			panic("data over the limit")
		}
		out.WriteString(string(ev) + "|" + string(data) + "\n")
	}
}

// chunked reads b n bytes at a time.
type chunked struct {
	b []byte
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[n:]
	return n, nil
}
