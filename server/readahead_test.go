package server

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

// scriptedConn answers each Read with the next of its chunks (as much of it
// as fits), then with err, and counts the reads.
type scriptedConn struct {
	net.Conn
	chunks [][]byte
	err    error
	reads  int
}

func (c *scriptedConn) Read(p []byte) (int, error) {
	c.reads++
	if len(c.chunks) == 0 {
		return 0, c.err
	}
	n := copy(p, c.chunks[0])
	if c.chunks[0] = c.chunks[0][n:]; len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	if len(c.chunks) == 0 && c.err != nil {
		return n, c.err // the last data and the error in one call, as io.Reader allows
	}
	return n, nil
}

func TestReadAheadServesTheNextReadWithoutACall(t *testing.T) {
	request := []byte("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
	c := &scriptedConn{chunks: [][]byte{bytes.Clone(request)}}
	var a readAhead
	var first [1]byte
	if n, err := a.read(c, first[:]); n != 1 || err != nil || first[0] != 'P' {
		t.Fatalf("the first byte: %d %v %q", n, err, first[:n])
	}
	rest := make([]byte, 16<<10)
	n, err := a.read(c, rest)
	if err != nil || !bytes.Equal(rest[:n], request[1:]) {
		t.Fatalf("the rest: %v %q", err, rest[:n])
	}
	if c.reads != 1 {
		t.Errorf("the connection was read %d times, want 1", c.reads)
	}
	if a.buf != nil {
		t.Error("the buffer is kept once everything in it was read")
	}
}

func TestReadAheadKeepsOrderAcrossSmallReads(t *testing.T) {
	c := &scriptedConn{chunks: [][]byte{[]byte("abcdef"), []byte("ghij")}, err: io.EOF}
	var a readAhead
	var got []byte
	p := make([]byte, 4) // smaller than readAheadMin: each read may read ahead
	for range 10 {
		n, err := a.read(c, p)
		got = append(got, p[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if string(got) != "abcdefghij" {
		t.Errorf("read %q", got)
	}
}

func TestReadAheadReturnsTheErrorAfterTheData(t *testing.T) {
	c := &scriptedConn{chunks: [][]byte{[]byte("hello")}, err: io.EOF}
	var a readAhead
	var one [1]byte
	if n, err := a.read(c, one[:]); n != 1 || err != nil {
		t.Fatalf("first read: %d %v", n, err)
	}
	rest := make([]byte, 1024)
	n, err := a.read(c, rest)
	if string(rest[:n]) != "ello" || err != io.EOF {
		t.Errorf("the rest: %q %v, want \"ello\" and EOF", rest[:n], err)
	}
	if n, err := a.read(c, rest); n != 0 || err != io.EOF {
		t.Errorf("after the end: %d %v", n, err)
	}
}

func TestReadAheadPassesLargeAndEmptyReadsThrough(t *testing.T) {
	c := &scriptedConn{chunks: [][]byte{[]byte("xyz")}, err: errors.New("reset")}
	var a readAhead
	if n, err := a.read(c, nil); n != 0 || err != nil || c.reads != 1 {
		t.Errorf("an empty read: %d %v after %d reads", n, err, c.reads)
	}
	big := make([]byte, readAheadMin)
	if n, err := a.read(c, big); string(big[:n]) != "xyz" || err == nil || a.buf != nil {
		t.Errorf("a large read: %q %v, kept %v", big[:n], err, a.buf != nil)
	}
}

func TestReadAheadKeepsNothingWhenAllFits(t *testing.T) {
	c := &scriptedConn{chunks: [][]byte{[]byte("ok")}}
	var a readAhead
	p := make([]byte, 8)
	if n, err := a.read(c, p); string(p[:n]) != "ok" || err != nil || a.buf != nil {
		t.Errorf("read %q %v, kept %v", p[:n], err, a.buf != nil)
	}
}
