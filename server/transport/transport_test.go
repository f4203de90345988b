package transport

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// server runs serve for each connection to a loopback listener.
func server(t *testing.T, serve func(c net.Conn, br *bufio.Reader)) (origin string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = &atomic.Int32{}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conns = append(conns, c)
			go func() { defer c.Close(); serve(c, bufio.NewReader(c)) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String(), accepted
}

func request(origin string) *fasthttp.Request {
	req := fasthttp.AcquireRequest()
	req.Header.SetMethod("POST")
	req.SetRequestURI(origin + "/v1/x")
	req.SetBodyString(`{}`)
	return req
}

func readRequest(br *bufio.Reader) bool {
	req, err := http.ReadRequest(br)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, req.Body)
	return true
}

const okAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

func newClient(t *testing.T, origin string) *Client {
	c, err := New(Options{Origin: origin, MaxResponseBytes: 1 << 20, MaxHeaderBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// TestCancelWhileWaiting: Cancel from another goroutine ends a Do that
// waits for the head, with the cause.
func TestCancelWhileWaiting(t *testing.T) {
	arrived := make(chan struct{})
	origin, _ := server(t, func(c net.Conn, br *bufio.Reader) {
		if readRequest(br) {
			close(arrived)
			_, _ = br.ReadByte() // until the client closes
		}
	})
	c := newClient(t, origin)
	var x Exchange
	cause := errors.New("client left")
	go func() { <-arrived; x.Cancel(cause) }()
	resp := fasthttp.AcquireResponse()
	err := c.Do(&x, request(origin), resp, time.Now().Add(time.Minute), false, 0)
	if !errors.Is(err, cause) {
		t.Fatalf("Do after Cancel: %v", err)
	}
}

// TestStaleConnectionRetried: a pooled connection the server closed is
// retried on a new one; a fresh connection closed without an answer is
// not.
func TestStaleConnectionRetried(t *testing.T) {
	origin, accepted := server(t, func(c net.Conn, br *bufio.Reader) {
		if readRequest(br) {
			_, _ = io.WriteString(c, okAnswer) // then closes: the pooled connection is stale
		}
	})
	c := newClient(t, origin)
	for i := range 3 {
		var x Exchange
		resp := fasthttp.AcquireResponse()
		if err := c.Do(&x, request(origin), resp, time.Now().Add(10*time.Second), false, 0); err != nil || string(resp.Body()) != "ok" {
			t.Fatalf("request %d: %v %q", i, err, resp.Body())
		}
	}
	if n := accepted.Load(); n != 3 {
		t.Errorf("3 requests took %d connections", n)
	}

	origin, accepted = server(t, func(c net.Conn, br *bufio.Reader) { readRequest(br) })
	c = newClient(t, origin)
	var x Exchange
	if err := c.Do(&x, request(origin), fasthttp.AcquireResponse(), time.Now().Add(10*time.Second), false, 0); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("fresh connection closed: %v", err)
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("a request on a fresh connection was sent %d times", n)
	}
}

// TestStreamIdleAndReuse: each read of a streamed body is bounded by the
// idle time; a body read to its end returns its connection to the pool.
func TestStreamIdleAndReuse(t *testing.T) {
	stall := make(chan struct{})
	release := make(chan struct{}) // the stalled upstream hangs up
	origin, accepted := server(t, func(c net.Conn, br *bufio.Reader) {
		for readRequest(br) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
			select {
			case <-stall:
				// Silent with the connection open, as a stuck upstream is:
				// only the idle bound ends the read.
				<-release
				return
			default:
			}
			_, _ = io.WriteString(c, "0\r\n\r\n")
		}
	})
	defer close(release)
	c := newClient(t, origin)
	for range 2 {
		var x Exchange
		resp := fasthttp.AcquireResponse()
		if err := c.Do(&x, request(origin), resp, time.Now().Add(10*time.Second), true, time.Second); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(&x)
		x.Close()
		if err != nil || string(b) != "hello" {
			t.Fatalf("stream: %q %v", b, err)
		}
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("two streams read to their end took %d connections", n)
	}
	close(stall)
	var x Exchange
	resp := fasthttp.AcquireResponse()
	// The exchange's own deadline is far off: only the idle bound can end
	// the read below.
	if err := c.Do(&x, request(origin), resp, time.Now().Add(time.Hour), true, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	type result struct {
		b   []byte
		err error
	}
	read := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(&x)
		read <- result{b, err}
	}()
	select {
	case r := <-read:
		if string(r.b) != "hello" || !errors.Is(r.err, ErrTimeout) {
			t.Errorf("a stalled stream: %q %v, want hello then ErrTimeout", r.b, r.err)
		}
	case <-time.After(20 * time.Second): // 100 times the bound: it does not hold
		t.Error("a read of a silent stream did not end: the idle bound does not hold")
		release <- struct{}{}
		<-read
	}
}

// TestLimits: a body or a head over the limits.
func TestLimits(t *testing.T) {
	origin, _ := server(t, func(c net.Conn, br *bufio.Reader) {
		for readRequest(br) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Pad: "+strings.Repeat("p", 10<<10)+"\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	var x Exchange
	if err := newClient(t, origin).Do(&x, request(origin), fasthttp.AcquireResponse(), time.Now().Add(10*time.Second), false, 0); !errors.Is(err, ErrHeaderTooLarge) {
		t.Errorf("a 10 KB head over an 8 KB limit: %v", err)
	}
	origin, _ = server(t, func(c net.Conn, br *bufio.Reader) {
		for readRequest(br) {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n")
		}
	})
	x = Exchange{}
	if err := newClient(t, origin).Do(&x, request(origin), fasthttp.AcquireResponse(), time.Now().Add(10*time.Second), false, 0); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("a 2 MB body over a 1 MB limit: %v", err)
	}
}
