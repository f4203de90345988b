package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opentoken/opentoken/internal/gatewaytest"
)

// TestModelRetrieve: GET /v1/models/{id} answers one model, for ids sent
// with a raw slash and with %2F; /v1/models lists only served models.
func TestModelRetrieve(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	for _, path := range []string{"/v1/models/anthropic/claude-sonnet-4-6", "/v1/models/anthropic%2Fclaude-sonnet-4-6"} {
		r := env.Do(t, http.MethodGet, path, gatewaytest.ClientKey, nil)
		var m struct {
			ID, Object string
		}
		if err := json.Unmarshal(r.Body, &m); err != nil || r.Status != 200 || m.ID != "anthropic/claude-sonnet-4-6" || m.Object != "model" {
			t.Errorf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	expectError(t, "unknown model", env.Do(t, http.MethodGet, "/v1/models/openai/gpt-4o", gatewaytest.ClientKey, nil),
		404, "invalid_request_error", "model_not_found", "model")
	expectError(t, "no key", env.Do(t, http.MethodGet, "/v1/models/anthropic/claude-sonnet-4-6", "", nil),
		401, "authentication_error", "missing_auth", nil)
	// Embedding models are served, by /v1/embeddings, and listed with
	// their dimensions.
	list := env.Do(t, http.MethodGet, "/v1/models", gatewaytest.ClientKey, nil)
	if !strings.Contains(string(list.Body), `"id":"google/gemini-embedding-001"`) {
		t.Errorf("/v1/models lacks the embedding models: %s", list.Body)
	}
	if r := env.Do(t, http.MethodGet, "/v1/models/google/gemini-embedding-001", gatewaytest.ClientKey, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"dimensions":3072`) {
		t.Errorf("embedding model: %d %s", r.Status, r.Body)
	}
	// A model its upstream retired is listed nowhere and answered 410.
	if strings.Contains(string(list.Body), "text-embedding-004") {
		t.Errorf("/v1/models lists a retired model")
	}
	expectError(t, "retired model", env.Do(t, http.MethodGet, "/v1/models/google/text-embedding-004", gatewaytest.ClientKey, nil),
		410, "invalid_request_error", "model_retired", "model")
	// An id without its provider: the 404 names the id meant.
	if r := env.Do(t, http.MethodGet, "/v1/models/claude-sonnet-4-6", gatewaytest.ClientKey, nil); r.Status != 404 ||
		!strings.Contains(string(r.Body), `did you mean \"anthropic/claude-sonnet-4-6\"?`) {
		t.Errorf("an id without its provider: %d %s", r.Status, r.Body)
	}
}

// TestRequestID: a well-formed client id comes back; otherwise a new one
// does, on answers, errors and streams alike.
func TestRequestID(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	do := func(id, path, body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, env.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+gatewaytest.ClientKey)
		if id != "" {
			req.Header.Set("X-Request-Id", id)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		gatewaytest.ReadResponse(t, resp)
		return resp
	}
	chat := `{"model":"anthropic/claude-haiku-4-5",` + okMessages + `}`
	stream := `{"model":"google/gemini-3-flash","stream":true,` + okMessages + `}`
	for _, c := range []struct{ name, path, body string }{
		{"answer", "/v1/chat/completions", chat}, {"stream", "/v1/chat/completions", stream},
		{"error", "/v1/chat/completions", `{}`}, {"no route", "/v1/nothing", ``},
	} {
		if got := do("trace-42.a:b_c", c.path, c.body).Header.Get("X-Request-Id"); got != "trace-42.a:b_c" {
			t.Errorf("%s: the client's id came back as %q", c.name, got)
		}
		for _, bad := range []string{"", "has space", strings.Repeat("x", 129)} {
			if got := do(bad, c.path, c.body).Header.Get("X-Request-Id"); !strings.HasPrefix(got, "req_") {
				t.Errorf("%s with id %q: X-Request-Id %q, want a new one", c.name, bad, got)
			}
		}
	}
}

// TestStreamOptionsHonoured: a stream that asks for its usage gets it, so
// stream_options is not reported as dropped; include_usage false is.
func TestStreamOptionsHonoured(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{})
	for opts, dropped := range map[string]bool{`{"include_usage":true}`: false, `{}`: false, `{"include_usage":false}`: true} {
		resp := env.Stream(t, `{"model":"google/gemini-3-flash","stream":true,"stream_options":`+opts+`,`+okMessages+`}`)
		gatewaytest.ReadFrames(t, resp.Body)
		if got := strings.Contains(resp.Header.Get("X-OpenToken-Dropped-Params"), "stream_options"); got != dropped {
			t.Errorf("stream_options %s: reported dropped %v, want %v", opts, got, dropped)
		}
	}
}

// TestReady: /ready answers 200 when every upstream is configured, without
// a key, and is neither counted nor logged.
func TestReady(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{AccessLog: true})
	r := env.Do(t, http.MethodGet, "/ready", "", nil)
	if r.Status != 200 || string(r.Body) != `{"status":"ready"}` {
		t.Errorf("/ready: %d %s", r.Status, r.Body)
	}
	if strings.Contains(env.Log.String(), "msg=request") {
		t.Errorf("a probe was logged:\n%s", env.Log.String())
	}
}

// TestShutdownWritesTheKeptAccessLog: with the access log batched, a
// request's line waits to be written, and shutting down writes it.
func TestShutdownWritesTheKeptAccessLog(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{AccessLog: true, AccessLogFlush: time.Hour})
	if r := env.Do(t, http.MethodPost, "/v1/chat/completions", gatewaytest.ClientKey, []byte(chatReq(claudeModel, false))); r.Status != 200 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	if strings.Contains(env.Log.String(), "msg=request") {
		t.Fatal("the line was written before its batch was due")
	}
	if err := env.Server.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(env.Log.String(), "msg=request") || !strings.Contains(env.Log.String(), "status=200") {
		t.Errorf("shutting down did not write the kept line:\n%s", env.Log.String())
	}
}
