package server_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/server"
)

// TestEveryAnswerObserved: answers written before routing (413, 431, a
// malformed request, 404, 405) are logged and counted like every other,
// and a 401 on the chat endpoint is counted under it; /metrics describes
// every family with # HELP and # TYPE.
func TestEveryAnswerObserved(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Metrics: true, AccessLog: true,
		Limits: server.Limits{MaxBodyBytes: 4096, MaxHeaderBytes: 4096}})
	raw := func(request string) int {
		t.Helper()
		conn, err := net.Dial("tcp", strings.TrimPrefix(env.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		go fmt.Fprint(conn, request)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	body := strings.Repeat("x", 5000)
	if s := raw(fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s",
		gatewaytest.ClientKey, len(body), body)); s != 413 {
		t.Errorf("an oversized body: %d", s)
	}
	if s := raw("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("p", 5000) + "\r\n\r\n"); s != 431 {
		t.Errorf("an oversized head: %d", s)
	}
	if s := raw("NOT HTTP AT ALL\r\n\r\n"); s != 400 {
		t.Errorf("a malformed request: %d", s)
	}
	if r := env.Do(t, http.MethodGet, "/nowhere", "", nil); r.Status != 404 {
		t.Errorf("/nowhere: %d", r.Status)
	}
	if r := env.Do(t, http.MethodGet, "/v1/chat/completions", gatewaytest.ClientKey, nil); r.Status != 405 {
		t.Errorf("GET chat: %d", r.Status)
	}
	if r := env.Do(t, http.MethodPost, "/v1/chat/completions", "", []byte(`{}`)); r.Status != 401 {
		t.Errorf("no key: %d", r.Status)
	}

	text := string(env.Do(t, http.MethodGet, "/metrics", "", nil).Body)
	for _, want := range []string{
		`opentoken_requests_total{endpoint="chat_completions",model="",provider="",status="413",code="request_too_large"} 1`,
		`status="431",code="headers_too_large"} 1`,
		`opentoken_requests_total{endpoint="other",model="",provider="",status="400",code=""} 1`,
		`opentoken_requests_total{endpoint="other",model="",provider="",status="404",code="not_found"} 1`,
		`opentoken_requests_total{endpoint="chat_completions",model="",provider="",status="405",code="method_not_allowed"} 1`,
		`opentoken_requests_total{endpoint="chat_completions",model="",provider="",status="401",code="missing_auth"} 1`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	log := env.Log.String()
	for _, status := range []string{"413", "431", "400", "404", "405", "401"} {
		if !regexp.MustCompile(`msg=request .* status=` + status + ` `).MatchString(log) {
			t.Errorf("no access log line of the %s:\n%s", status, log)
		}
	}

	// # HELP with a text and # TYPE, once each, before every family.
	helped, typed := map[string]int{}, map[string]int{}
	families := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if m := regexp.MustCompile(`^# HELP (\S+) \S`).FindStringSubmatch(line); m != nil {
			helped[m[1]]++
			continue
		}
		if m := regexp.MustCompile(`^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$`).FindStringSubmatch(line); m != nil {
			typed[m[1]]++
			continue
		}
		name := regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*`).FindString(line)
		family := regexp.MustCompile(`_(bucket|count|sum)$`).ReplaceAllString(name, "")
		if helped[family] == 0 && helped[name] == 0 {
			t.Errorf("%s has no # HELP before it", name)
		}
		families[family] = true
	}
	for f, n := range helped {
		if n != 1 || typed[f] != 1 {
			t.Errorf("%s: %d # HELP and %d # TYPE lines, want one each", f, n, typed[f])
		}
	}
	if !families["opentoken_requests_total"] || !families["go_goroutines"] {
		t.Errorf("families read: %v", families)
	}
}

// TestShutdownSaysWhatItDrained: shutting down logs one line with what
// was in flight and how long the drain took.
func TestShutdownSaysWhatItDrained(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	if r := env.Chat(t, `{"model":"google/gemini-3-flash",`+okMessages+`}`); r.Status != 200 {
		t.Fatal(r.Status)
	}
	if err := env.Server.Shutdown(); err != nil {
		t.Fatal(err)
	}
	lines := regexp.MustCompile(`msg="shutdown: drained" streams_open=0 upstream_requests_in_flight=0 ended_by_drain_timeout=0 took=\S+`).FindAllString(env.Log.String(), -1)
	if len(lines) != 1 {
		t.Errorf("%d shutdown lines, want 1:\n%s", len(lines), env.Log.String())
	}
}
