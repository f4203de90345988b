package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server"
	"github.com/opentoken/opentoken/server/adapter"
)

const (
	geminiOverloaded = `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}`
	vertexExhausted  = `{"error":{"code":429,"message":"Resource exhausted. Please try again later.","status":"RESOURCE_EXHAUSTED"}}`
	claudeOverloaded = `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`
	claudeTooLong    = `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}`
)

// TestFailoverToVertex: a supplier that fails for its own reasons (a 429
// of the shared pool, a 529, a connection reset) is left for the model's
// next supplier, Vertex AI, which serves under its own id and auth; the
// answer names the supplier and the attempts. Buffered and streamed, on
// Gemini and Claude models.
func TestFailoverToVertex(t *testing.T) {
	// No cool-down after a 429, so that each request meets its fault.
	env := gatewaytest.Start(t, gatewaytest.Options{VertexLocations: []string{"global"}, Limits: server.Limits{Cooldown429: time.Nanosecond}})
	for _, c := range []struct {
		name, model string
		fault       func()
		path, body  string // what Vertex must have received
	}{
		{"gemini 429", "google/gemini-3-flash", func() { env.Gemini.Faults.Push(emulator.Fault{Status: 429, Body: geminiOverloaded}) },
			"/v1/projects/opentoken-test/locations/global/publishers/google/models/gemini-3-flash-preview:generateContent", `"contents":[{"role":"user"`},
		{"claude 529", "anthropic/claude-sonnet-4-5", func() { env.Anthropic.Faults.Push(emulator.Fault{Status: 529, Body: claudeOverloaded}) },
			"/v1/projects/opentoken-test/locations/global/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict", `{"anthropic_version":"vertex-2023-10-16"`},
	} {
		for _, stream := range []bool{false, true} {
			c.fault()
			before := env.Vertex.Requests.Count()
			body := `{"model":"` + c.model + `",` + okMessages + `}`
			var r *gatewaytest.Response
			if stream {
				body = strings.Replace(body, "{", `{"stream":true,`, 1)
				r = gatewaytest.ReadResponse(t, env.Stream(t, body))
			} else {
				r = env.Chat(t, body)
			}
			last, _ := env.Vertex.Requests.Last()
			path := c.path
			if stream {
				path = strings.Replace(strings.Replace(path, ":generateContent", ":streamGenerateContent?alt=sse", 1), ":rawPredict", ":streamRawPredict", 1)
			}
			switch {
			case r.Status != 200:
				t.Errorf("%s (stream %v): %d %s", c.name, stream, r.Status, r.Body)
			case r.Header.Get("X-OpenToken-Supplier") != "vertex:global" || r.Header.Get("X-OpenToken-Attempts") != "2":
				t.Errorf("%s (stream %v): supplier %q, attempts %q", c.name, stream, r.Header.Get("X-OpenToken-Supplier"), r.Header.Get("X-OpenToken-Attempts"))
			case env.Vertex.Requests.Count() != before+1 || last.Path != path || !strings.Contains(string(last.Body), c.body) ||
				strings.Contains(string(last.Body), `"model"`) || !strings.HasPrefix(last.Header["authorization"], "Bearer ya29."):
				t.Errorf("%s (stream %v): Vertex got %s %.200s %v", c.name, stream, last.Path, last.Body, last.Header["authorization"] != "")
			}
		}
	}
	// Served first time: no failover, one attempt, the own API named.
	r := env.Chat(t, `{"model":"google/gemini-2.5-pro",`+okMessages+`}`)
	if r.Status != 200 || r.Header.Get("X-OpenToken-Supplier") != "gemini" || r.Header.Get("X-OpenToken-Attempts") != "" {
		t.Errorf("a first-time answer: %d, supplier %q, attempts %q", r.Status, r.Header.Get("X-OpenToken-Supplier"), r.Header.Get("X-OpenToken-Attempts"))
	}
}

// TestFailoverOnUnreachable: a supplier that cannot be reached (refused)
// is left for the next, buffered and streamed.
func TestFailoverOnUnreachable(t *testing.T) {
	dead := gatewaytest.DeadURL(t)
	env := gatewaytest.Start(t, gatewaytest.Options{Suppliers: func(env *gatewaytest.Env) map[matrix.Provider][]adapter.Upstream {
		return map[matrix.Provider][]adapter.Upstream{
			matrix.ProviderAnthropic: {{BaseURL: dead, APIKey: gatewaytest.UpstreamKey}, env.Supplier("vertex:us-east5")},
			matrix.ProviderGoogle:    {env.Supplier("gemini")},
		}
	}})
	for _, body := range []string{`{"model":"anthropic/claude-haiku-4-5",` + okMessages + `}`, `{"model":"anthropic/claude-haiku-4-5","stream":true,` + okMessages + `}`} {
		r := gatewaytest.ReadResponse(t, env.Stream(t, body))
		last, _ := env.Vertex.Requests.Last()
		if r.Status != 200 || r.Header.Get("X-OpenToken-Supplier") != "vertex:us-east5" || r.Header.Get("X-OpenToken-Attempts") != "2" ||
			!strings.Contains(last.Path, "/locations/us-east5/publishers/anthropic/models/claude-haiku-4-5@20251001:") {
			t.Errorf("%s: %d %s, supplier %q, Vertex path %s", body, r.Status, r.Body, r.Header.Get("X-OpenToken-Supplier"), last.Path)
		}
	}
}

// TestNoFailoverOnTheClientsError: an error of the request itself (too
// long a prompt) fails the same way anywhere: it is answered at once,
// with one attempt.
func TestNoFailoverOnTheClientsError(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{VertexLocations: []string{"global"}})
	env.Anthropic.Faults.Push(emulator.Fault{Status: 400, Body: claudeTooLong})
	before := env.Vertex.Requests.Count()
	r := env.Chat(t, `{"model":"anthropic/claude-sonnet-4-5",`+okMessages+`}`)
	if r.Status != 400 || !strings.Contains(string(r.Body), "prompt is too long") || env.Vertex.Requests.Count() != before ||
		r.Header.Get("X-OpenToken-Attempts") != "" {
		t.Errorf("a 400 of the request: %d %s, %d Vertex calls", r.Status, r.Body, env.Vertex.Requests.Count()-before)
	}
}

// TestFinalErrorRule: when every supplier fails, one rule picks the
// answer: all throttled → 429 with the shortest Retry-After; all refusing
// the gateway's credentials → 502 (vertex_auth_failed when the token
// exchange failed); otherwise 503 no_supplier, naming each failure.
func TestFinalErrorRule(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{VertexLocations: []string{"global"}})
	env.Gemini.Faults.Push(emulator.Fault{Status: 429, Body: geminiOverloaded, Header: map[string]string{"Retry-After": "30"}})
	env.Vertex.Faults.Push(emulator.Fault{Status: 429, Body: vertexExhausted, Header: map[string]string{"Retry-After": "7"}})
	r := env.Chat(t, `{"model":"google/gemini-3-flash",`+okMessages+`}`)
	if r.Status != 429 || r.Header.Get("Retry-After") != "7" || r.Header.Get("X-OpenToken-Attempts") != "2" {
		t.Errorf("all throttled: %d, Retry-After %q, %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	env.Anthropic.Faults.Push(emulator.Fault{Status: 529, Body: claudeOverloaded})
	env.Vertex.Faults.Push(emulator.Fault{Status: 429, Body: vertexExhausted})
	r = env.Chat(t, `{"model":"anthropic/claude-opus-4-6",`+okMessages+`}`)
	if r.Status != 503 || !strings.Contains(string(r.Body), `"code":"no_supplier"`) || !strings.Contains(string(r.Body), "anthropic: ") ||
		!strings.Contains(string(r.Body), "vertex:global: ") {
		t.Errorf("mixed failures: %d %s", r.Status, r.Body)
	}
}

// TestVertexAuthFailure: a token exchange the endpoint refuses moves on
// to the next supplier; with none after it, it is a 502
// vertex_auth_failed with Google's reason and nothing secret.
func TestVertexAuthFailure(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Suppliers: func(env *gatewaytest.Env) map[matrix.Provider][]adapter.Upstream {
		return map[matrix.Provider][]adapter.Upstream{
			matrix.ProviderGoogle:    {env.Supplier("vertex:global"), env.Supplier("gemini")},
			matrix.ProviderAnthropic: {env.Supplier("vertex:global")},
		}
	}})
	env.Vertex.RevokeKey()
	r := env.Chat(t, `{"model":"google/gemini-3-flash",`+okMessages+`}`)
	if r.Status != 200 || r.Header.Get("X-OpenToken-Supplier") != "gemini" || r.Header.Get("X-OpenToken-Attempts") != "2" {
		t.Errorf("a refused token, then the Gemini API: %d %s %q", r.Status, r.Body, r.Header.Get("X-OpenToken-Supplier"))
	}
	r = env.Chat(t, `{"model":"anthropic/claude-sonnet-4-6",`+okMessages+`}`)
	if r.Status != 502 || !strings.Contains(string(r.Body), `"code":"vertex_auth_failed"`) || !strings.Contains(string(r.Body), "invalid_grant: Invalid JWT Signature.") {
		t.Errorf("a refused token, alone: %d %s", r.Status, r.Body)
	}
}

// TestModelNoSupplierServes: a preview Gemini model where only a regional
// Vertex location is configured is a 503 no_supplier without an upstream
// call; a GA model is served there.
func TestModelNoSupplierServes(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Suppliers: func(env *gatewaytest.Env) map[matrix.Provider][]adapter.Upstream {
		return map[matrix.Provider][]adapter.Upstream{
			matrix.ProviderGoogle:    {env.Supplier("vertex:us-central1")},
			matrix.ProviderAnthropic: {env.Supplier("anthropic")},
		}
	}})
	r := env.Chat(t, `{"model":"google/gemini-3-flash",`+okMessages+`}`)
	if r.Status != 503 || !strings.Contains(string(r.Body), `"code":"no_supplier"`) || env.Vertex.Requests.Count() != 0 {
		t.Errorf("a preview model at a regional location only: %d %s, %d calls", r.Status, r.Body, env.Vertex.Requests.Count())
	}
	r = env.Chat(t, `{"model":"google/gemini-2.5-pro",`+okMessages+`}`)
	last, _ := env.Vertex.Requests.Last()
	if r.Status != 200 || r.Header.Get("X-OpenToken-Supplier") != "vertex:us-central1" || !strings.Contains(last.Path, "/locations/us-central1/") {
		t.Errorf("a GA model at a regional location: %d %s, path %s", r.Status, r.Body, last.Path)
	}
}

// TestStreamCommitPoint: a stream commits at its upstream's first
// content-bearing event. An upstream failing before it — Anthropic's
// overloaded_error as the first event inside a 200 — is left for the next
// supplier, and the client sees one clean stream; after it, there is no
// failover: one error frame, then [DONE], and no second upstream call.
func TestStreamCommitPoint(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{VertexLocations: []string{"global"}})
	for _, p := range []struct {
		model string
		push  func(emulator.Fault)
	}{{"anthropic/claude-sonnet-4-6", env.Anthropic.Faults.Push}, {"google/gemini-2.5-pro", env.Gemini.Faults.Push}} {
		body := `{"model":"` + p.model + `","stream":true,"messages":[{"role":"user","content":"` + strings.Repeat("word ", 20) + `"}]}`
		p.push(emulator.Fault{Stream: &emulator.StreamFault{AfterEvents: 0, Error: true}})
		resp := env.Stream(t, body)
		frames := gatewaytest.ReadFrames(t, resp.Body)
		n := len(frames)
		if resp.StatusCode != 200 || resp.Header.Get("X-OpenToken-Supplier") != "vertex:global" || resp.Header.Get("X-OpenToken-Attempts") != "2" ||
			n < 4 || !frames[n-1].Done || frames[n-2].Chunk.Usage == nil {
			t.Errorf("%s, failing before its first content: %d, supplier %q, %d frames", p.model, resp.StatusCode, resp.Header.Get("X-OpenToken-Supplier"), n)
		}
		for _, f := range frames {
			if f.Chunk.Error != nil {
				t.Errorf("%s: the failed attempt reached the client: %s", p.model, f.Raw)
			}
		}

		committed := make(chan struct{})
		p.push(emulator.Fault{Stream: &emulator.StreamFault{AfterEvents: 5, Error: true, Wait: committed}})
		before := env.Vertex.Requests.Count()
		resp = env.Stream(t, body)
		frames = gatewaytest.ReadFrames(t, &onFirstRead{r: resp.Body, do: func() { close(committed) }})
		n = len(frames)
		if n < 3 || !frames[n-1].Done || frames[n-2].Chunk.Error == nil || env.Vertex.Requests.Count() != before {
			t.Errorf("%s, failing after its first content: %d frames, %d Vertex calls", p.model, n, env.Vertex.Requests.Count()-before)
		}
		for _, f := range frames[:max(n-2, 0)] {
			if f.Chunk.Choices != nil && f.Chunk.Choices[0].FinishReason != nil {
				t.Errorf("%s: a cut stream ends as a success: %s", p.model, f.Raw)
			}
		}
	}
}

// TestSilentSupplierIsLeft: a supplier silent past the first-byte bound,
// before its head (buffered) or before its first content (streamed), is
// left for the next, which has the rest of the deadline.
func TestSilentSupplierIsLeft(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{VertexLocations: []string{"global"},
		Limits: server.Limits{FailoverFirstByteTimeout: 300 * time.Millisecond}})
	for _, stream := range []bool{false, true} {
		release := make(chan struct{})
		if stream {
			env.Anthropic.Faults.Push(emulator.Fault{Stream: &emulator.StreamFault{AfterEvents: 1, Stall: release}})
		} else {
			env.Anthropic.Faults.Push(emulator.Fault{Hang: release})
		}
		body := `{"model":"anthropic/claude-opus-4-7","stream":` + strconv.FormatBool(stream) + `,` + okMessages + `}`
		r := gatewaytest.ReadResponse(t, env.Stream(t, body))
		close(release)
		if r.Status != 200 || r.Header.Get("X-OpenToken-Supplier") != "vertex:global" || r.Header.Get("X-OpenToken-Attempts") != "2" {
			t.Errorf("stream %v: %d %s, supplier %q", stream, r.Status, r.Body, r.Header.Get("X-OpenToken-Supplier"))
		}
	}
}

// TestBreakerSkipsAFlappingSupplier: a supplier failing five times in a
// row for a model is skipped for that model while its breaker is open —
// one attempt a request, at the next supplier — and when every supplier
// is open the one that reopens first is still tried, not an instant 503.
// A model with one supplier passes every request through.
func TestBreakerSkipsAFlappingSupplier(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{VertexLocations: []string{"global"}, Metrics: true,
		Limits: server.Limits{BreakerOpen: time.Hour, BreakerMaxOpen: time.Hour}})
	body := `{"model":"anthropic/claude-haiku-4-5",` + okMessages + `}`
	for range 5 {
		env.Anthropic.Faults.Push(emulator.Fault{Status: 503, Body: `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`})
		if r := env.Chat(t, body); r.Status != 200 || r.Header.Get("X-OpenToken-Attempts") != "2" {
			t.Fatalf("while anthropic fails: %d, attempts %q", r.Status, r.Header.Get("X-OpenToken-Attempts"))
		}
	}
	before := env.Anthropic.Requests.Count()
	for range 3 {
		if r := env.Chat(t, body); r.Status != 200 || r.Header.Get("X-OpenToken-Supplier") != "vertex:global" || r.Header.Get("X-OpenToken-Attempts") != "" {
			t.Errorf("anthropic's breaker open: %d, supplier %q, attempts %q", r.Status, r.Header.Get("X-OpenToken-Supplier"), r.Header.Get("X-OpenToken-Attempts"))
		}
	}
	if n := env.Anthropic.Requests.Count() - before; n != 0 {
		t.Errorf("an open breaker let %d requests through", n)
	}
	// Another model of the same supplier has its own breaker.
	if r := env.Chat(t, `{"model":"anthropic/claude-sonnet-4-5",`+okMessages+`}`); r.Header.Get("X-OpenToken-Supplier") != "anthropic" {
		t.Errorf("another model: supplier %q", r.Header.Get("X-OpenToken-Supplier"))
	}
	// Vertex fails five times too: both open. A request still tries the
	// supplier whose breaker reopens first.
	for range 5 {
		env.Vertex.Faults.Push(emulator.Fault{Status: 500, Body: `{"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}}`})
		env.Chat(t, body)
	}
	r := env.Chat(t, body)
	if r.Status != 200 || r.Header.Get("X-OpenToken-Attempts") != "" {
		t.Errorf("every breaker open: %d %s, attempts %q; want one attempt at the first to reopen", r.Status, r.Body, r.Header.Get("X-OpenToken-Attempts"))
	}
	text := string(env.Do(t, "GET", "/metrics", "", nil).Body)
	for _, want := range []string{
		`opentoken_breaker_state{supplier="vertex:global",model="anthropic/claude-haiku-4-5"} 1`,
		`opentoken_breaker_state{supplier="anthropic",model="anthropic/claude-sonnet-4-5"} 0`,
		`opentoken_upstream_attempts_total{supplier="anthropic",outcome="failed_over"} 5`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestBudgetSpent: with no failover budget, a failed attempt answers the
// request instead of moving on.
func TestBudgetSpent(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{VertexLocations: []string{"global"},
		Limits: server.Limits{FailoverBudgetPercent: 1, FailoverBudgetMin: 1}})
	// One extra attempt is allowed at a time: a stalled failover holds it.
	release := make(chan struct{})
	arrived := make(chan struct{})
	env.Anthropic.Faults.Push(emulator.Fault{Status: 529, Body: claudeOverloaded})
	env.Vertex.Faults.Push(emulator.Fault{Hang: release, Arrived: arrived})
	done := make(chan *gatewaytest.Response, 1)
	go func() { done <- env.Chat(t, `{"model":"anthropic/claude-haiku-4-5",`+okMessages+`}`) }()
	<-arrived
	env.Anthropic.Faults.Push(emulator.Fault{Status: 529, Body: claudeOverloaded})
	r := env.Chat(t, `{"model":"anthropic/claude-opus-4-6",`+okMessages+`}`)
	if r.Status != 503 || r.Header.Get("X-OpenToken-Attempts") != "" || !strings.Contains(string(r.Body), "Overloaded") {
		t.Errorf("with the budget spent: %d %s, attempts %q; want anthropic's failure, one attempt", r.Status, r.Body, r.Header.Get("X-OpenToken-Attempts"))
	}
	close(release)
	<-done
}

// TestClientLeavesDuringFailover: a client that leaves while its request
// is upstream stops the attempts: the attempt in flight is cancelled, no
// other supplier is tried, and nothing leaks (TestMain's goleak).
func TestClientLeavesDuringFailover(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{VertexLocations: []string{"global"}})
	for _, stream := range []bool{false, true} {
		release, arrived := make(chan struct{}), make(chan struct{})
		env.Anthropic.Faults.Push(emulator.Fault{Hang: release, Arrived: arrived})
		before := env.Vertex.Requests.Count()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			req, _ := http.NewRequestWithContext(ctx, "POST", env.URL+"/v1/chat/completions",
				strings.NewReader(`{"model":"anthropic/claude-haiku-4-5","stream":`+strconv.FormatBool(stream)+`,`+okMessages+`}`))
			req.Header.Set("Authorization", "Bearer "+gatewaytest.ClientKey)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		<-arrived
		cancel()
		<-done
		close(release)
		if n := env.Vertex.Requests.Count() - before; n != 0 {
			t.Errorf("stream %v: a client that left made %d attempts at the next supplier", stream, n)
		}
	}
	// Shutdown waits for every request in flight: none may be left
	// attempting.
	if err := env.Server.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if n := env.Vertex.Requests.Count(); n != 0 {
		t.Errorf("%d attempts at Vertex in all", n)
	}
}

// TestEmbeddingsFailover: an embeddings request whose first supplier
// fails for a reason of its own is served whole by the next — Vertex's
// :predict, one input a call for gemini-embedding-001 — never a mix.
func TestEmbeddingsFailover(t *testing.T) {
	env := gatewaytest.Start(t, gatewaytest.Options{Suppliers: func(env *gatewaytest.Env) map[matrix.Provider][]adapter.Upstream {
		return map[matrix.Provider][]adapter.Upstream{
			matrix.ProviderGoogle:    {env.Supplier("gemini"), env.Supplier("vertex:us-central1")},
			matrix.ProviderAnthropic: {env.Supplier("anthropic")},
		}
	}})
	env.Gemini.Faults.Push(emulator.Fault{Status: 503, Body: `{"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`})
	r := env.Do(t, "POST", "/v1/embeddings", gatewaytest.ClientKey, []byte(`{"model":"google/gemini-embedding-001","input":["a","b","c"],"dimensions":768}`))
	var out struct {
		Data []struct {
			Index     int       `json:"index"`
			Embedding []float64 `json:"embedding"`
		} `json:"data"`
	}
	_ = json.Unmarshal(r.Body, &out)
	last, _ := env.Vertex.Requests.Last()
	if r.Status != 200 || r.Header.Get("X-OpenToken-Supplier") != "vertex:us-central1" || r.Header.Get("X-OpenToken-Attempts") != "2" ||
		len(out.Data) != 3 || out.Data[2].Index != 2 || len(out.Data[0].Embedding) != 768 {
		t.Fatalf("embeddings failing over: %d %.300s, supplier %q, attempts %q", r.Status, r.Body, r.Header.Get("X-OpenToken-Supplier"), r.Header.Get("X-OpenToken-Attempts"))
	}
	if n := env.Vertex.Requests.Count(); n != 3 || !strings.HasSuffix(last.Path, "/locations/us-central1/publishers/google/models/gemini-embedding-001:predict") ||
		!strings.Contains(string(last.Body), `"outputDimensionality":768`) {
		t.Errorf("Vertex got %d calls, the last %s %s; want one input a call", n, last.Path, last.Body)
	}
}
