package gatewaytest

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
)

// RawUpstream is a loopback TCP server that hands each connection to a
// test's function, for the faults the emulators cannot stage: connections
// closed while idle, oversized heads, answers cut before their first byte,
// bodies of any size or shape. Everything it starts is stopped by
// t.Cleanup.
type RawUpstream struct {
	URL string // http://127.0.0.1:port
	ln  net.Listener
	mu  sync.Mutex
	cs  map[net.Conn]struct{}
	wg  sync.WaitGroup
	// Accepted counts the connections accepted so far.
	Accepted func() int
}

// StartRaw serves each accepted connection with serve, on its own
// goroutine; the connection is closed when serve returns.
func StartRaw(t testing.TB, serve func(c net.Conn, br *bufio.Reader)) *RawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &RawUpstream{URL: "http://" + ln.Addr().String(), ln: ln, cs: map[net.Conn]struct{}{}}
	accepted := 0
	u.Accepted = func() int { u.mu.Lock(); defer u.mu.Unlock(); return accepted }
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.cs[c] = struct{}{}
			accepted++
			u.mu.Unlock()
			u.wg.Add(1)
			go func() {
				defer u.wg.Done()
				defer func() {
					c.Close()
					u.mu.Lock()
					delete(u.cs, c)
					u.mu.Unlock()
				}()
				serve(c, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		u.mu.Lock()
		for c := range u.cs {
			c.Close()
		}
		u.mu.Unlock()
		u.wg.Wait()
	})
	return u
}

// ReadRequest reads one request from br, its body read whole into
// req.Body; nil when the connection ended first.
func ReadRequest(br *bufio.Reader) *http.Request {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return req
}
