package loadtest

import (
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Target is one thing under load: where to send, and what.
type Target struct {
	Name    string
	URL     string
	Header  map[string]string
	Body    []byte
	Stream  bool // the answer is an event stream, read to its end
	Process *Process
}

// Result is one measurement of one target.
type Result struct {
	Requests, Errors int
	Elapsed          time.Duration
	Latencies        []time.Duration // sorted
	FirstByte        []time.Duration // sorted; streams only
	CPU              time.Duration   // the target process's CPU time during the run
	FirstError       string
	// SendLag is how late the open-loop pacer sent each request (sorted):
	// the harness's own timer slack, reported so that it is not mistaken
	// for the target's latency.
	SendLag []time.Duration
}

// Throughput is successful requests per second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests-r.Errors) / r.Elapsed.Seconds()
}

// Percentile returns the q-quantile (0..1) of the latencies.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Client sends the harness's requests: no retries, connections reused.
func newClient(conns int) *fasthttp.Client {
	return &fasthttp.Client{
		MaxConnsPerHost: conns, ReadTimeout: time.Minute, WriteTimeout: time.Minute,
		StreamResponseBody: true, NoDefaultUserAgentHeader: true,
		RetryIfErr: func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
	}
}

// once sends one request and reads the answer whole; for a stream it also
// returns the time to the first body byte.
func once(c *fasthttp.Client, t *Target) (firstByte time.Duration, err error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(t.URL)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	for k, v := range t.Header {
		req.Header.Set(k, v)
	}
	req.SetBodyRaw(t.Body)
	start := time.Now()
	if err := c.Do(req, resp); err != nil {
		return 0, err
	}
	body := resp.BodyStream()
	if body == nil {
		return 0, errors.New("no body")
	}
	var buf [16 << 10]byte
	n, rerr := body.Read(buf[:])
	firstByte = time.Since(start)
	for rerr == nil {
		_, rerr = body.Read(buf[:])
	}
	_ = n
	if resp.StatusCode() != 200 {
		return firstByte, errors.New("HTTP " + strconv.Itoa(resp.StatusCode()))
	}
	return firstByte, nil
}

// Closed keeps concurrency requests in flight for d and measures each.
func Closed(t *Target, concurrency int, d time.Duration) *Result {
	c := newClient(concurrency * 2)
	defer c.CloseIdleConnections()
	r := &Result{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	cpu0 := t.Process.CPU()
	start := time.Now()
	deadline := start.Add(d)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat, fb []time.Duration
			errs, firstErr := 0, ""
			for time.Now().Before(deadline) {
				t0 := time.Now()
				first, err := once(c, t)
				lat = append(lat, time.Since(t0))
				fb = append(fb, first)
				if err != nil {
					errs++
					firstErr = err.Error()
				}
			}
			mu.Lock()
			r.Latencies, r.FirstByte = append(r.Latencies, lat...), append(r.FirstByte, fb...)
			r.Requests += len(lat)
			r.Errors += errs
			if firstErr != "" {
				r.FirstError = firstErr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	r.CPU = t.Process.CPU() - cpu0
	slices.Sort(r.Latencies)
	slices.Sort(r.FirstByte)
	return r
}

// Open sends requests at a fixed rate for d, whatever the answers' pace:
// each request has its own goroutine and the pacer never waits for an
// answer, so a slow target cannot slow the offered load (no coordinated
// omission). Latency runs from the actual send; the pacer's own lateness
// (Go timers on an idle machine wake up to a millisecond late) is kept
// apart in SendLag, as it is the harness's, not the target's.
func Open(t *Target, rate int, d time.Duration) *Result {
	c := newClient(4096)
	defer c.CloseIdleConnections()
	r := &Result{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var inflight atomic.Int64
	interval := time.Second / time.Duration(rate)
	cpu0 := t.Process.CPU()
	start := time.Now()
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if due.Sub(start) >= d {
			break
		}
		time.Sleep(time.Until(due))
		if inflight.Load() > 4000 { // the target has fallen far behind: count it, do not pile on
			mu.Lock()
			r.Requests++
			r.Errors++
			r.FirstError = "over 4000 requests in flight"
			mu.Unlock()
			continue
		}
		inflight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer inflight.Add(-1)
			sent := time.Now()
			_, err := once(c, t)
			lat := time.Since(sent)
			mu.Lock()
			r.Requests++
			r.Latencies = append(r.Latencies, lat)
			r.SendLag = append(r.SendLag, sent.Sub(due))
			if err != nil {
				r.Errors++
				r.FirstError = err.Error()
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	r.Elapsed = time.Since(start)
	r.CPU = t.Process.CPU() - cpu0
	slices.Sort(r.Latencies)
	slices.Sort(r.SendLag)
	return r
}
