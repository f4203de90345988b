package sse

import (
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
