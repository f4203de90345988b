// Package sse reads Server-Sent Events as the upstreams send them: Anthropic
// with event: and data: lines, Gemini with data: lines alone, either with
// LF or CRLF line ends.
package sse

import (
	"bufio"
	"bytes"
	"io"
)

// Reader splits an event stream into events. The slices it returns are
// valid until the next call to Next.
type Reader struct {
	br    *bufio.Reader
	event []byte
	data  []byte
}

// NewReader reads events from r.
func NewReader(r io.Reader) *Reader { return &Reader{br: bufio.NewReaderSize(r, 16<<10)} }

// Next returns the next event's name (empty when the stream sends none) and
// its data, the data: lines joined by newlines. It returns io.EOF after the
// last event; a stream that ends inside an event yields that event first.
// Events with no data (comments, retry:, keep-alive blank lines) are skipped.
func (r *Reader) Next() (event, data []byte, err error) {
	r.event, r.data = r.event[:0], r.data[:0]
	hasData := false
	for {
		line, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: gather it whole.
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = r.br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && err != io.EOF {
			return nil, nil, err
		}
		eof := err == io.EOF
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			if hasData {
				return r.event, r.data, nil
			}
			r.event = r.event[:0]
		case line[0] == ':':
			// a comment
		default:
			field, value, _ := bytes.Cut(line, []byte(":"))
			value = bytes.TrimPrefix(value, []byte(" "))
			switch string(field) {
			case "event":
				r.event = append(r.event[:0], value...)
			case "data":
				if hasData {
					r.data = append(r.data, '\n')
				}
				r.data = append(r.data, value...)
				hasData = true
			}
		}
		if eof {
			if hasData {
				return r.event, r.data, nil
			}
			return nil, nil, io.EOF
		}
	}
}
