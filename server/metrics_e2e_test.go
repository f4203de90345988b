package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/gatewaytest"
)

// TestMetricsCountExactly sends known traffic and reads /metrics: every
// request is counted once, with its model, status and code; tokens,
// dropped parameters and upstream errors add up.
func TestMetricsCountExactly(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Metrics: true, AccessLog: true})
	claude := `{"model":"anthropic/claude-haiku-4-5",` + okMessages + `,"seed":1}`
	for range 3 {
		if r := env.Chat(t, claude); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	}
	gatewaytest.ReadFrames(t, env.Stream(t, `{"model":"google/gemini-3-flash","stream":true,`+okMessages+`}`).Body)
	env.Chat(t, `{"model":"anthropic/claude-haiku-4-5",`+okMessages+`,"temperature":9}`)
	env.Anthropic.Faults.Push(emulator.Fault{Status: 529, Body: `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`})
	env.Chat(t, claude)
	env.Do(t, http.MethodGet, "/v1/models", gatewaytest.ClientKey, nil)
	env.Chat(t, `{"model":"anthropic/claude-haiku-4-5",`+okMessages+`,"temperature":1.5}`) // clamped to 1

	r := env.Do(t, http.MethodGet, "/metrics", "", nil)
	if r.Status != 200 {
		t.Fatalf("/metrics: %d", r.Status)
	}
	text := string(r.Body)
	for _, want := range []string{
		`opentoken_requests_total{endpoint="chat_completions",model="anthropic/claude-haiku-4-5",provider="anthropic",status="200",code=""} 4`,
		`opentoken_requests_total{endpoint="chat_completions",model="google/gemini-3-flash",provider="google",status="200",code=""} 1`,
		// Refused before its model was read: no model label.
		`opentoken_requests_total{endpoint="chat_completions",model="",provider="",status="400",code=""} 1`,
		`opentoken_requests_total{endpoint="chat_completions",model="anthropic/claude-haiku-4-5",provider="anthropic",status="503",code="no_supplier"} 1`,
		`opentoken_requests_total{endpoint="models",model="",provider="",status="200",code=""} 1`,
		`opentoken_dropped_params_total{param="seed"} 4`,
		`opentoken_adjusted_params_total{param="temperature"} 1`,
		`opentoken_upstream_errors_total{provider="anthropic",kind="unavailable"} 1`,
		`opentoken_open_streams 0`,
		`opentoken_upstream_duration_seconds_count{provider="anthropic"} 5`,
		`opentoken_gateway_overhead_seconds_count{provider="anthropic"} 5`,
		`opentoken_stream_first_byte_seconds_count{provider="google"} 1`,
		`go_goroutines`,
	} {
		line := want + "\n" // an exact count: the whole line
		if strings.HasPrefix(want, "go_") {
			line = want // the runtime's, whatever its value
		}
		if !strings.Contains(text, line) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// Three answers of the emulated haiku: the completion tokens add up.
	if !regexp.MustCompile(`opentoken_tokens_total\{model="anthropic/claude-haiku-4-5",kind="prompt"\} [1-9]`).MatchString(text) {
		t.Errorf("no prompt tokens counted for haiku")
	}
	// The access log: one line per request (not for the scrape), with its
	// id, never a key.
	log := env.Log.String()
	if n := strings.Count(log, `msg=request `); n != 8 {
		t.Errorf("%d access log lines, want 8:\n%s", n, log)
	}
	if strings.Contains(log, gatewaytest.ClientKey) {
		t.Error("the access log carries a client key")
	}
}

// TestAccessLogCarriesRequestID: the id a client sends is in its line.
func TestAccessLogCarriesRequestID(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{AccessLog: true})
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/v1/chat/completions",
		strings.NewReader(`{"model":"google/gemini-2.5-pro",`+okMessages+`,"logit_bias":{"1":2}}`))
	req.Header.Set("Authorization", "Bearer "+gatewaytest.ClientKey)
	req.Header.Set("X-Request-Id", "client-trace-7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	gatewaytest.ReadResponse(t, resp)
	line := ""
	for _, l := range strings.Split(env.Log.String(), "\n") {
		if strings.Contains(l, "msg=request ") {
			line = l
		}
	}
	for _, want := range []string{"request_id=client-trace-7", "key=0", "model=google/gemini-2.5-pro", "status=200", "dropped=logit_bias", "stream=false"} {
		if !strings.Contains(line, want) {
			t.Errorf("access log line lacks %s: %s", want, line)
		}
	}
}
