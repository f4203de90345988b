// Package sse reads Server-Sent Events as the upstreams send them: Anthropic
// with event: and data: lines, Gemini with data: lines alone, either with
// LF or CRLF line ends.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// ErrLineTooLong is a line, or an event's data, longer than the reader's
// limit.
var ErrLineTooLong = errors.New("sse: line longer than the limit")

// Reader splits an event stream into events. The slices it returns are
// valid until the next call to Next.
type Reader struct {
	br    *bufio.Reader
	max   int
	long  []byte // a line longer than br's buffer, gathered
	event []byte
	data  []byte
}

// NewReader reads events from r. max bounds a line and an event's data in
// bytes, so that a hostile or broken upstream cannot make the reader hold
// more; 0 means no bound.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 16<<10), max: max}
}

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
			// A line longer than the buffer: gather it whole, within max.
			r.long = append(r.long[:0], line...)
			for err == bufio.ErrBufferFull {
				if r.max > 0 && len(r.long) > r.max {
					return nil, nil, ErrLineTooLong
				}
				line, err = r.br.ReadSlice('\n')
				r.long = append(r.long, line...)
			}
			line = r.long
		}
		if r.max > 0 && len(line) > r.max+2 { // +2: the line end
			return nil, nil, ErrLineTooLong
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
				if r.max > 0 && len(r.data) > r.max {
					return nil, nil, ErrLineTooLong
				}
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
