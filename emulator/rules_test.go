package emulator_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opentoken/opentoken/emulator"
	emuanthropic "github.com/opentoken/opentoken/emulator/anthropic"
	emugemini "github.com/opentoken/opentoken/emulator/gemini"
)

// TestFaultsOverHTTP: rules posted to an emulator make the requests they
// match fail — by model, times, a stream failing after events — and a
// DELETE removes them, releasing a held request.
func TestFaultsOverHTTP(t *testing.T) {
	g, err := emulator.Start("127.0.0.1:0", emugemini.New("k").Handle)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	do := func(method, url, body string, headers ...string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	gen := func(model string) (int, string) {
		return do("POST", g.URL+"/v1beta/models/"+model+":generateContent", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, "x-goog-api-key", "k")
	}
	if s, b := do("POST", g.URL+emulator.FaultsPath, `[{"match":{"model":"gemini-2.5-pro"},"status":429,"body":"{\"error\":{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\"}}","headers":{"Retry-After":"3"},"times":2}]`); s != 200 || !strings.Contains(b, `"added":1`) {
		t.Fatalf("posting a rule: %d %s", s, b)
	}
	for i := range 2 {
		if s, b := gen("gemini-2.5-pro"); s != 429 || !strings.Contains(b, "RESOURCE_EXHAUSTED") {
			t.Errorf("matching request %d: %d %s", i, s, b)
		}
	}
	if s, _ := gen("gemini-2.5-pro"); s != 200 {
		t.Errorf("after its times: %d", s)
	}
	if s, _ := do("POST", g.URL+emulator.FaultsPath, `[{"match":{"path":":generateContent"},"hang":true}]`); s != 200 {
		t.Fatal(s)
	}
	held := make(chan int, 1)
	go func() { s, _ := gen("gemini-3-flash-preview"); held <- s }()
	select {
	case s := <-held:
		t.Fatalf("a hung request answered %d", s)
	case <-time.After(100 * time.Millisecond): // it is held (a bound on the check, not a synchronisation)
	}
	if s, b := do("DELETE", g.URL+emulator.FaultsPath, ""); s != 200 || !strings.Contains(b, "deleted") {
		t.Fatalf("delete: %d %s", s, b)
	}
	if s := <-held; s != 0 {
		t.Errorf("the held request, released: %d, want the connection closed", s)
	}
	if s, _ := gen("gemini-3-flash-preview"); s != 200 {
		t.Errorf("after the delete: %d", s)
	}
	if s, b := do("POST", g.URL+emulator.FaultsPath, `not json`); s != 400 || !strings.Contains(b, "JSON list of rules") {
		t.Errorf("a bad body: %d %s", s, b)
	}

	// A stream failing after its first event, on Anthropic, matched by
	// the body's model.
	a, err := emulator.Start("127.0.0.1:0", emuanthropic.New("k").Handle)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	do("POST", a.URL+emulator.FaultsPath, `[{"match":{"model":"claude-haiku-4-5"},"stream_fail_after":1}]`)
	s, b := do("POST", a.URL+"/v1/messages", `{"model":"claude-haiku-4-5","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		"x-api-key", "k", "anthropic-version", "2023-06-01")
	if s != 200 || strings.Count(b, "event: ") != 2 || !strings.Contains(b, "overloaded_error") {
		t.Errorf("a stream failing after one event: %d %s", s, b)
	}
	http.DefaultClient.CloseIdleConnections()
}
