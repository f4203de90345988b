package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opentoken/opentoken/emulator"
	emuanthropic "github.com/opentoken/opentoken/emulator/anthropic"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/store"
)

// TestSIGTERMDrains runs the built binary under load, with long streams
// open and buffered requests upstream, and sends it SIGTERM: every request
// that reached an upstream is answered (200 when it finished within the
// drain, 503 shutting_down after it), every stream ends with [DONE], the
// process exits 0, and every answer of the issued key it was made with is
// in the ledger.
func TestSIGTERMDrains(t *testing.T) {
	bin := binary(t)

	// Claude streams 45 events 50 ms apart (2 s, past the 1 s drain).
	claude := emuanthropic.New("upstream-key-0123456789")
	claude.Stream = emulator.StreamOptions{Words: 1, Delay: 50 * time.Millisecond}
	emu, err := emulator.Start("127.0.0.1:0", claude.Handle)
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	// Gemini answers buffered requests after a delay the request names:
	// "quick" ones within the drain, "slow" ones past it.
	arrived := make(chan struct{}, 64)
	release := make(chan struct{})
	gemini := gatewaytest.StartRaw(t, func(c net.Conn, br *bufio.Reader) {
		for {
			req := gatewaytest.ReadRequest(br)
			if req == nil {
				return
			}
			body, _ := io.ReadAll(req.Body)
			arrived <- struct{}{}
			wait := 200 * time.Millisecond
			if strings.Contains(string(body), "slow") {
				wait = 5 * time.Second
			}
			select {
			case <-time.After(wait):
			case <-release:
				return
			}
			const answer = `{"candidates":[{"content":{"parts":[{"text":"hi"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1}}`
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+
				strconv.Itoa(len(answer))+"\r\n\r\n"+answer); err != nil {
				return
			}
		}
	})
	defer close(release)

	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "t.db")
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.Migrate(context.Background())
	_, _ = db.CreateWorkspace(context.Background(), "acme")
	_ = db.AddCredit(context.Background(), "acme", store.FromDollars(10), "test")
	_, issued, err := db.CreateKey(context.Background(), store.NewKey{Workspace: "acme", Name: "load"})
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin)
	cmd.Env = []string{"OPENTOKEN_ADDR=127.0.0.1:0", "OPENTOKEN_API_KEYS=client-key-0123456789", "OPENTOKEN_DATABASE_URL=" + dbURL,
		"ANTHROPIC_API_KEY=upstream-key-0123456789", "ANTHROPIC_BASE_URL=" + emu.URL,
		"GEMINI_API_KEY=upstream-key-0123456789", "GEMINI_BASE_URL=" + gemini.URL, "OPENTOKEN_DRAIN_TIMEOUT=1s"}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	logs := make(chan string, 1)
	lines := bufio.NewScanner(stderr)
	url := ""
	for url == "" && lines.Scan() {
		if m := regexp.MustCompile(`url=(http://\S+)/v1`).FindStringSubmatch(lines.Text()); m != nil {
			url = m[1]
		}
	}
	go func() {
		var rest strings.Builder
		for lines.Scan() {
			rest.WriteString(lines.Text() + "\n")
		}
		logs <- rest.String()
		exited <- cmd.Wait()
	}()
	if url == "" {
		_ = cmd.Process.Kill()
		t.Fatal("the gateway did not say where it serves")
	}

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	post := func(body string) (*http.Response, error) {
		req, _ := http.NewRequest("POST", url+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+issued)
		return client.Do(req)
	}
	type result struct {
		status int
		body   string
		err    error
	}
	stream := `{"model":"anthropic/claude-haiku-4-5","stream":true,"messages":[{"role":"user","content":"` +
		strings.TrimSpace(strings.Repeat("word ", 40)) + `"}]}`
	var streams []*bufio.Reader
	for range 4 {
		resp, err := post(stream)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		if _, err := br.ReadString('\n'); err != nil { // the first frame: committed
			t.Fatal(err)
		}
		streams = append(streams, br)
	}
	results := make(chan result, 16)
	for i := range 8 {
		speed := "quick"
		if i%2 == 1 {
			speed = "slow"
		}
		go func() {
			resp, err := post(`{"model":"google/gemini-3-flash","messages":[{"role":"user","content":"` + speed + `"}]}`)
			if err != nil {
				results <- result{err: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- result{resp.StatusCode, string(b), err}
		}()
	}
	for range 8 {
		<-arrived // every buffered request is upstream
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	ok, drained := 0, 0
	for range 8 {
		r := <-results
		switch {
		case r.err != nil:
			t.Errorf("a request upstream at SIGTERM was lost: %v", r.err)
		case r.status == 200:
			ok++
		case r.status == 503 && strings.Contains(r.body, "shutting_down"):
			drained++
		default:
			t.Errorf("a request upstream at SIGTERM: %d %s", r.status, r.body)
		}
	}
	if ok != 4 || drained != 4 {
		t.Errorf("buffered requests: %d finished, %d ended by the drain; want 4 and 4", ok, drained)
	}
	for i, br := range streams {
		rest, err := io.ReadAll(br)
		if err != nil || !strings.HasSuffix(string(rest), "data: [DONE]\n\n") || !strings.Contains(string(rest), "shutting_down") {
			t.Errorf("stream %d after SIGTERM (%v): %q", i, err, tail(string(rest)))
		}
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the gateway exited with %v\n%s", err, <-logs)
		}
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the gateway did not exit after the drain")
	}
	// The 4 finished answers and the 4 streams the drain ended (billed for
	// what they consumed) are recorded; the 4 requests the drain refused
	// cost nothing.
	rows, err := db.Usage(context.Background(), store.UsageFilter{})
	recorded := int64(0)
	for _, r := range rows {
		recorded += r.Requests
	}
	if err != nil || recorded != 8 {
		t.Errorf("usage records after SIGTERM: %d (%v), want 8", recorded, err)
	}
}

func tail(s string) string {
	if len(s) > 300 {
		return s[len(s)-300:]
	}
	return s
}
