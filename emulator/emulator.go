// Package emulator holds what the strict upstream emulators share: a
// loopback server, a record of the requests they received, injectable
// faults, and a checker for the field names a JSON body may use.
//
// The emulators model the real Anthropic and Gemini APIs closely enough that
// a request they accept is one the real API accepts, and they answer with the
// real error bodies and statuses otherwise. They are independent of the
// gateway's capability matrix on purpose: the facts they hold about each
// upstream model are the upstream's, so a wrong spec/ file shows up as a
// rejected request in tests.
package emulator

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// maxBodyBytes bounds the bodies an emulator reads; see Start.
const maxBodyBytes = 64 << 20

// Server is an emulator listening on a loopback address.
type Server struct {
	URL  string // http://127.0.0.1:port
	ln   net.Listener
	srv  *fasthttp.Server
	done chan error
}

// Start serves h on addr ("127.0.0.1:0" picks a free port).
func Start(addr string, h fasthttp.RequestHandler) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		URL: "http://" + ln.Addr().String(),
		ln:  ln,
		srv: &fasthttp.Server{Handler: h, Name: "emulator", NoDefaultServerHeader: true, NoDefaultContentType: true,
			IdleTimeout: time.Minute, Logger: quiet{},
			// Read whole well past the upstreams' own limits, which each
			// emulator answers as its API does (fasthttp's default of 4 MB
			// reset the connection instead).
			MaxRequestBodySize: maxBodyBytes},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server and waits for it. Requests held by a Hang fault
// must be released first.
func (s *Server) Close() error {
	err := s.srv.Shutdown()
	// Shutdown closes only a listener that Serve has registered; one called
	// before Serve got that far would leave Serve accepting for ever.
	_ = s.ln.Close()
	<-s.done
	return err
}

// Controls are what a test or a user steers an emulator with; both
// emulators embed them.
type Controls struct {
	// Requests records the requests received, once a test enables it.
	Requests Recorder
	// Faults replace the next answers, for tests of failure paths.
	Faults Faults
	// Stream shapes streamed answers: words per delta, pace.
	Stream StreamOptions
}

// Request is one request an emulator received.
type Request struct {
	Path   string
	Header map[string]string // lower-case names
	Body   []byte
}

// Recorder keeps the latest requests, newest last, when enabled: the
// emulators built into a running gateway keep nothing, since request bodies
// may be many megabytes each.
type Recorder struct {
	enabled atomic.Bool
	mu      sync.Mutex
	reqs    []Request
	total   int
}

const recorderKeep = 256

// Enable starts recording, for a test.
func (r *Recorder) Enable() { r.enabled.Store(true) }

// Record stores a copy of ctx's request, when recording is enabled.
func (r *Recorder) Record(ctx *fasthttp.RequestCtx) {
	if !r.enabled.Load() {
		return
	}
	req := Request{Path: string(ctx.RequestURI()), Header: map[string]string{}, Body: append([]byte(nil), ctx.PostBody()...)}
	for k, v := range ctx.Request.Header.All() {
		req.Header[string(toLower(k))] = string(v)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == recorderKeep {
		r.reqs = append(r.reqs[:0], r.reqs[1:]...)
	}
	r.reqs = append(r.reqs, req)
	r.total++
}

// Last returns the latest request, and false when there is none.
func (r *Recorder) Last() (Request, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		return Request{}, false
	}
	return r.reqs[len(r.reqs)-1], true
}

// Count returns how many requests were received in all.
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

func toLower(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		out[i] = c
	}
	return out
}

// Fault replaces an emulator's next answer, for error-path tests.
type Fault struct {
	Status int // answer with this status and Body
	Body   string
	Header map[string]string // extra response headers, such as retry-after
	// Hang holds the request until the channel is closed, then closes the
	// connection without answering: a stalled upstream.
	Hang <-chan struct{}
	// Arrived, when set, is closed when the request the fault answers
	// arrives, so that a test can act while that request is upstream.
	Arrived chan<- struct{}
	// Reset closes the connection without answering.
	Reset bool
	// Stream, for a streamed request, lets the answer begin and fails it
	// after some events; the other fields are then unused.
	Stream *StreamFault
}

// StreamFault is a failure in the middle of a streamed answer.
type StreamFault struct {
	AfterEvents int             // events sent before the failure
	Cut         bool            // close the connection
	Stall       <-chan struct{} // send nothing until closed, then close the connection
	Error       bool            // send the upstream's in-stream error event
	Malformed   bool            // send an event whose data is not JSON
	// Wait, when set, holds the failure until it is closed, so that a test
	// can fail a stream only once the gateway has committed its answer.
	Wait <-chan struct{}
}

// Faults is a queue of faults, consumed one per request, and the rules
// given over HTTP (rules.go), applied to the requests they match.
type Faults struct {
	mu      sync.Mutex
	q       []Fault
	rules   []Rule
	release chan struct{} // closed when the rules are deleted: held requests end
}

// Push queues f for the next request.
func (f *Faults) Push(fault Fault) {
	f.mu.Lock()
	f.q = append(f.q, fault)
	f.mu.Unlock()
}

// Apply answers ctx with the next queued fault and reports whether it did.
// A stream fault is not applied but returned, for the streamed answer to
// carry out.
func (f *Faults) Apply(ctx *fasthttp.RequestCtx) (applied bool, stream *StreamFault) {
	f.mu.Lock()
	var fault Fault
	switch {
	case len(f.q) > 0:
		fault = f.q[0]
		f.q = f.q[1:]
	case len(f.rules) > 0:
		var delay time.Duration
		var ok bool
		if fault, delay, ok = f.ruleFault(ctx); !ok {
			f.mu.Unlock()
			return false, nil
		}
		if delay > 0 && fault.Status == 0 && !fault.Reset && fault.Hang == nil && fault.Stream == nil {
			f.mu.Unlock()
			time.Sleep(delay) // the fault is the delay: then the answer, as usual
			return false, nil
		}
	default:
		f.mu.Unlock()
		return false, nil
	}
	f.mu.Unlock()
	if fault.Arrived != nil {
		close(fault.Arrived)
	}
	switch {
	case fault.Stream != nil:
		return false, fault.Stream
	case fault.Hang != nil:
		<-fault.Hang
		ctx.SetConnectionClose()
		ctx.Conn().Close()
	case fault.Reset:
		ctx.Conn().Close()
	default:
		ctx.SetStatusCode(fault.Status)
		ctx.SetContentType("application/json")
		for k, v := range fault.Header {
			ctx.Response.Header.Set(k, v)
		}
		ctx.SetBodyString(fault.Body)
	}
	return true, nil
}

// quiet drops fasthttp's connection-level log lines: an emulator resets
// connections on purpose when a test asks it to.
type quiet struct{}

func (quiet) Printf(string, ...any) {}
