// Package soak runs the gateway binary for minutes at a fixed rate of mixed
// traffic — buffered and streamed answers, invalid requests, upstream
// errors, slow and departing clients, and pauses that leave every pooled
// upstream connection stale — against an upstream that closes idle
// connections after a second. It samples the gateway's resident memory and
// open descriptors, checks every answer, and optionally holds a few long
// streams open through the whole run.
package soak

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/bench/loadtest"
)

// Config is one soak run.
type Config struct {
	Root     string        // the module root, to build the gateway
	Work     string        // a scratch directory
	Duration time.Duration // of the traffic
	Rate     int           // requests a second
	// PauseEvery inserts a pause of 1.6 s, longer than the upstream's idle
	// close, so that the next requests meet stale pooled connections.
	PauseEvery time.Duration
	// LongStreams are held open from the start, each expected to finish
	// with its usage and [DONE] (e.g. 70 s and 5 min).
	LongStreams []time.Duration
	Sample      time.Duration // how often memory and descriptors are read
	Log         func(format string, args ...any)
}

// Sample is one reading of the gateway process.
type Sample struct {
	At  time.Duration
	RSS int64 // bytes
	FDs int
}

// Report is what a run measured.
type Report struct {
	Config     Config
	Counts     map[string]int // requests sent, by kind
	Unexpected []string       // answers that were not what the kind expects
	Samples    []Sample
	Long       []LongResult
	Elapsed    time.Duration
}

// LongResult is how a long stream ended.
type LongResult struct {
	Want, Took time.Duration
	Frames     int
	OK         bool
	Detail     string
}

const clientKey = "soak-client-key-0001"

// Run executes one soak.
func Run(cfg Config) (*Report, error) {
	logf := cfg.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bin := filepath.Join(cfg.Work, "opentoken")
	build := exec.Command("go", "build", "-o", bin, "./cmd/opentoken")
	build.Dir = cfg.Root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	up := &fasthttp.Server{Handler: upstream{}.handle, IdleTimeout: idleClose, NoDefaultServerHeader: true}
	go func() { _ = up.Serve(ln) }()
	defer up.Shutdown()
	upURL := "http://" + ln.Addr().String()

	addr, err := loadtest.FreeAddr()
	if err != nil {
		return nil, err
	}
	url := "http://" + addr + "/v1/chat/completions"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	gw, err := loadtest.Start(bin, nil, []string{"OPENTOKEN_ADDR=" + addr, "OPENTOKEN_API_KEYS=" + clientKey,
		"ANTHROPIC_API_KEY=soak-upstream-key", "ANTHROPIC_BASE_URL=" + upURL,
		"GEMINI_API_KEY=soak-upstream-key", "GEMINI_BASE_URL=" + upURL},
		func() error {
			r, err := client.Get("http://" + addr + "/health")
			if err == nil {
				r.Body.Close()
			}
			return err
		}, 10*time.Second)
	if err != nil {
		return nil, err
	}
	defer gw.Stop()

	rep := &Report{Config: cfg, Counts: map[string]int{}}
	var mu sync.Mutex
	unexpected := func(kind, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(rep.Unexpected) < 1000 {
			rep.Unexpected = append(rep.Unexpected, kind+": "+fmt.Sprintf(format, args...))
		}
	}
	start := time.Now()

	// Long streams, from the start.
	var longWG sync.WaitGroup
	rep.Long = make([]LongResult, len(cfg.LongStreams))
	for i, d := range cfg.LongStreams {
		longWG.Add(1)
		go func() {
			defer longWG.Done()
			model := []string{"anthropic/claude-sonnet-4-5", "google/gemini-2.5-pro"}[i%2]
			t0 := time.Now()
			status, frames, text := stream(client, url, model, "#long="+d.String(), 0)
			r := LongResult{Want: d, Took: time.Since(t0), Frames: frames}
			r.OK = status == 200 && strings.HasSuffix(text, "data: [DONE]\n\n") && strings.Contains(text, `"usage":{`) && !strings.Contains(text, `"error"`) && r.Took >= d
			if !r.OK {
				r.Detail = fmt.Sprintf("status %d, %d frames, ends %q", status, frames, tail(text))
			}
			rep.Long[i] = r
		}()
	}

	// Samples.
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(cfg.Sample)
		defer tick.Stop()
		for {
			rep.Samples = append(rep.Samples, Sample{At: time.Since(start), RSS: rss(gw.Pid()), FDs: fds(gw.Pid())})
			select {
			case <-tick.C:
			case <-stopSampling:
				return
			}
		}
	}()

	// Traffic at a fixed rate, each request on its own goroutine.
	var inflight sync.WaitGroup
	var sent atomic.Int64
	interval := time.Second / time.Duration(cfg.Rate)
	next := time.Now()
	lastPause := time.Now()
	for i := 0; time.Since(start) < cfg.Duration; i++ {
		if cfg.PauseEvery > 0 && time.Since(lastPause) >= cfg.PauseEvery {
			time.Sleep(idleClose + 600*time.Millisecond) // the pause itself is the fault being staged
			lastPause, next = time.Now(), time.Now()
		}
		time.Sleep(time.Until(next)) // the pacer of an open-loop load
		next = next.Add(interval)
		k := kinds[i%len(kinds)]
		mu.Lock()
		rep.Counts[k.name]++
		mu.Unlock()
		sent.Add(1)
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			if msg := k.run(client, url, i); msg != "" {
				unexpected(k.name, "%s", msg)
			}
		}()
	}
	inflight.Wait()
	logf("traffic done: %d requests in %v", sent.Load(), time.Since(start).Round(time.Millisecond))
	longWG.Wait()
	close(stopSampling)
	<-sampled
	rep.Samples = append(rep.Samples, Sample{At: time.Since(start), RSS: rss(gw.Pid()), FDs: fds(gw.Pid())})
	rep.Elapsed = time.Since(start)
	client.CloseIdleConnections()
	return rep, nil
}

// kind is one sort of request in the mix and what it must be answered.
type kind struct {
	name string
	run  func(c *http.Client, url string, i int) (unexpected string)
}

// mixLen is the length of the mix's cycle: each kind has its twentieths.
const mixLen = 20

// model alternates the providers from one cycle of the mix to the next.
func model(i int) string {
	return []string{"anthropic/claude-sonnet-4-5", "google/gemini-3-flash"}[i/mixLen%2]
}

// kinds is the mix, by twentieths.
var kinds = func() []kind {
	buffered := kind{"buffered", func(c *http.Client, url string, i int) string {
		status, body := post(c, url, `{"model":"`+model(i)+`","messages":[{"role":"user","content":"hello"}],"temperature":0.5}`)
		if status != 200 || !strings.Contains(body, `"finish_reason":"stop"`) {
			return fmt.Sprintf("%d %s", status, body)
		}
		return ""
	}}
	streamed := kind{"streamed", func(c *http.Client, url string, i int) string {
		status, _, text := stream(c, url, model(i), "hello", 0)
		if status != 200 || !strings.HasSuffix(text, "data: [DONE]\n\n") || !strings.Contains(text, `"usage":{`) || strings.Contains(text, `"error"`) {
			return fmt.Sprintf("%d %q", status, tail(text))
		}
		return ""
	}}
	invalid := kind{"invalid", func(c *http.Client, url string, i int) string {
		status, body := post(c, url, `{"model":"`+model(i)+`","messages":[{"role":"user","content":"x"}],"temperature":9}`)
		if status != 400 || !strings.Contains(body, `"param":"temperature"`) {
			return fmt.Sprintf("%d %s", status, body)
		}
		return ""
	}}
	rateLimited := kind{"upstream 429", func(c *http.Client, url string, i int) string {
		status, body := post(c, url, `{"model":"`+model(i)+`","messages":[{"role":"user","content":"#err429"}]}`)
		if status != 429 {
			return fmt.Sprintf("%d %s", status, body)
		}
		return ""
	}}
	overloaded := kind{"upstream 503/529", func(c *http.Client, url string, i int) string {
		status, body := post(c, url, `{"model":"`+model(i)+`","messages":[{"role":"user","content":"#err503"}]}`)
		if status != 503 || !strings.Contains(body, "no_supplier") {
			return fmt.Sprintf("%d %s", status, body)
		}
		return ""
	}}
	slowReader := kind{"slow reader", func(c *http.Client, url string, i int) string {
		status, _, text := stream(c, url, model(i), "#slow", 5*time.Millisecond)
		if status != 200 || !strings.HasSuffix(text, "data: [DONE]\n\n") {
			return fmt.Sprintf("%d %q", status, tail(text))
		}
		return ""
	}}
	leaver := kind{"client leaves", func(c *http.Client, url string, i int) string {
		// A buffered request whose client leaves after 100 ms: nothing to
		// check but that the gateway goes on serving.
		conn, err := net.Dial("tcp", strings.TrimPrefix(strings.TrimSuffix(url, "/v1/chat/completions"), "http://"))
		if err != nil {
			return err.Error()
		}
		body := `{"model":"` + model(i) + `","messages":[{"role":"user","content":"#hold"}]}`
		fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s", clientKey, len(body), body)
		time.Sleep(100 * time.Millisecond) // the client's patience, the fault being staged
		conn.Close()
		return ""
	}}
	k := make([]kind, 0, mixLen)
	for _, x := range []struct {
		k kind
		n int
	}{{buffered, 9}, {streamed, 4}, {invalid, 2}, {rateLimited, 1}, {overloaded, 1}, {slowReader, 2}, {leaver, 1}} {
		for range x.n {
			k = append(k, x.k)
		}
	}
	if len(k) != mixLen {
		panic("soak: the mix must have mixLen entries")
	}
	return k
}()

func post(c *http.Client, url, body string) (int, string) {
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+clientKey)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err.Error()
	}
	return resp.StatusCode, string(b)
}

// stream reads a whole stream, pausing between reads of a line when slow
// is set; it returns the status, the frame count and the text.
func stream(c *http.Client, url, model, content string, slow time.Duration) (int, int, string) {
	req, _ := http.NewRequest("POST", url, strings.NewReader(`{"model":"`+model+`","stream":true,"messages":[{"role":"user","content":"`+content+`"}]}`))
	req.Header.Set("Authorization", "Bearer "+clientKey)
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err.Error()
	}
	defer resp.Body.Close()
	var text strings.Builder
	frames := 0
	br := bufio.NewReaderSize(resp.Body, 256)
	for {
		line, err := br.ReadString('\n')
		text.WriteString(line)
		if strings.HasPrefix(line, "data: ") {
			frames++
		}
		if err != nil {
			if err != io.EOF {
				text.WriteString(" read error: " + err.Error())
			}
			return resp.StatusCode, frames, text.String()
		}
		if slow > 0 {
			time.Sleep(slow) // a slow reader, the fault being staged
		}
	}
}

func tail(s string) string {
	if len(s) > 200 {
		return s[len(s)-200:]
	}
	return s
}

func rss(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func fds(pid int) int {
	entries, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(entries)
}
