package server_test

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/gatewaytest"
	"github.com/opentoken/opentoken/internal/telemetry"
)

// collector is an OTLP/HTTP trace receiver: it decodes the protobuf the
// exporter sends, as a real collector does, and keeps the spans.
type collector struct {
	mu       sync.Mutex
	spans    []*tracepb.Span
	resource []*commonpb.KeyValue
	fail     bool // answer 503, as a collector that is down
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want protobuf on /v1/traces", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	fail := c.fail
	c.mu.Unlock()
	if fail {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		z, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = z
	}
	raw, _ := io.ReadAll(body)
	var req collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	for _, rs := range req.ResourceSpans {
		c.resource = rs.Resource.GetAttributes()
		for _, ss := range rs.ScopeSpans {
			c.spans = append(c.spans, ss.Spans...)
		}
	}
	c.mu.Unlock()
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (c *collector) take() []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.spans
	c.spans = nil
	return s
}

// attr is a span's attribute as text ("" when absent).
func attr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key != key {
			continue
		}
		switch v := kv.Value.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			return v.StringValue
		case *commonpb.AnyValue_IntValue:
			return strconv.FormatInt(v.IntValue, 10)
		case *commonpb.AnyValue_DoubleValue:
			return "float"
		case *commonpb.AnyValue_BoolValue:
			if v.BoolValue {
				return "true"
			}
			return "false"
		case *commonpb.AnyValue_ArrayValue:
			var parts []string
			for _, e := range v.ArrayValue.Values {
				parts = append(parts, e.GetStringValue())
			}
			return strings.Join(parts, ",")
		}
	}
	return ""
}

// traced starts a gateway whose spans go to a collector, through the
// gateway's OTLP/HTTP exporter and bounded queue.
func traced(t *testing.T, opt gatewaytest.Options) (*gatewaytest.Env, *collector, *telemetry.Tracing) {
	t.Helper()
	col := &collector{}
	srv := httptest.NewServer(col)
	t.Cleanup(srv.Close)
	// As production sets it up: from the environment, OTLP/HTTP.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	tr, err := telemetry.FromEnv(context.Background(), "test")
	if err != nil || tr == nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	opt.Tracing = tr
	return gatewaytest.Start(t, opt), col, tr
}

// TestTraces: every endpoint, buffered and streamed, leaves a server span
// named by the GenAI conventions with the request's model, parameters,
// usage, finish and the gateway's own attributes, and a client span per
// upstream attempt under it; a failover shows as two attempts; the
// client's traceparent is continued; no secret and no message content is
// recorded unless asked for.
func TestTraces(t *testing.T) {
	env, col, tr := traced(t, gatewaytest.Options{VertexLocations: []string{"global"}, Metrics: true})
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	const parentID = "00f067aa0ba902b7"
	do := func(method, path, body string, header ...string) *gatewaytest.Response {
		t.Helper()
		req, _ := http.NewRequest(method, env.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+gatewaytest.ClientKey)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r := gatewaytest.ReadResponse(t, resp)
		if r.Status != 200 {
			t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
		}
		return r
	}
	spansOf := func() (server *tracepb.Span, clients []*tracepb.Span) {
		t.Helper()
		if err := tr.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, s := range col.take() {
			switch s.Kind {
			case tracepb.Span_SPAN_KIND_SERVER:
				if server != nil {
					t.Fatalf("two server spans: %q and %q", server.Name, s.Name)
				}
				server = s
			case tracepb.Span_SPAN_KIND_CLIENT:
				clients = append(clients, s)
			}
		}
		if server == nil {
			t.Fatal("no server span")
		}
		for _, c := range clients {
			if string(c.ParentSpanId) != string(server.SpanId) || string(c.TraceId) != string(server.TraceId) {
				t.Errorf("attempt span %q is not the request span's child", c.Name)
			}
		}
		return server, clients
	}

	for _, tc := range []struct {
		name, path, body string
		header           []string
		span, model      string
		want             map[string]string
	}{
		{"chat buffered", "/v1/chat/completions", `{"model":"anthropic/claude-sonnet-4-6","temperature":0.5,"top_k":40,"max_tokens":64,"seed":7,"messages":[{"role":"user","content":"the secret word is swordfish"}]}`,
			[]string{"traceparent", "00-" + traceID + "-" + parentID + "-01"}, "chat anthropic/claude-sonnet-4-6", "anthropic/claude-sonnet-4-6",
			map[string]string{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.request.temperature": "float",
				"gen_ai.request.top_k": "float", "gen_ai.request.max_tokens": "64", "gen_ai.response.finish_reasons": "stop",
				"opentoken.params.dropped": "seed", "http.response.status_code": "200", "opentoken.supplier": "anthropic"}},
		{"chat streamed", "/v1/chat/completions", `{"model":"google/gemini-3-flash","stream":true,"messages":[{"role":"user","content":"hello"}]}`,
			nil, "chat google/gemini-3-flash", "google/gemini-3-flash",
			map[string]string{"gen_ai.provider.name": "gcp.gemini", "gen_ai.response.finish_reasons": "stop"}},
		{"embeddings", "/v1/embeddings", `{"model":"google/gemini-embedding-001","input":["a","b"]}`,
			nil, "embeddings google/gemini-embedding-001", "google/gemini-embedding-001",
			map[string]string{"gen_ai.operation.name": "embeddings"}},
		{"messages", "/v1/messages", `{"model":"claude-sonnet-4-6","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello"}]}`,
			[]string{"anthropic-version", "2023-06-01"}, "chat anthropic/claude-sonnet-4-6", "anthropic/claude-sonnet-4-6",
			map[string]string{"gen_ai.response.finish_reasons": "stop"}},
		{"responses", "/v1/responses", `{"model":"google/gemini-3-flash","input":"hello"}`,
			nil, "chat google/gemini-3-flash", "google/gemini-3-flash", map[string]string{"gen_ai.operation.name": "chat"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			do(http.MethodPost, tc.path, tc.body, tc.header...)
			server, clients := spansOf()
			if server.Name != tc.span || attr(server, "gen_ai.request.model") != tc.model || attr(server, "gen_ai.usage.input_tokens") == "" ||
				attr(server, "gen_ai.usage.output_tokens") == "" || attr(server, "opentoken.request_id") == "" {
				t.Errorf("server span %q: %v", server.Name, server.Attributes)
			}
			for k, v := range tc.want {
				if got := attr(server, k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if len(clients) != 1 || attr(clients[0], "opentoken.attempt.outcome") != "ok" {
				t.Errorf("attempt spans: %d", len(clients))
			}
			if tc.header != nil && tc.header[0] == "traceparent" {
				if hex.EncodeToString(server.TraceId) != traceID || hex.EncodeToString(server.ParentSpanId) != parentID {
					t.Errorf("the client's trace was not continued: trace %x parent %x", server.TraceId, server.ParentSpanId)
				}
			}
			for _, kv := range server.Attributes {
				if v := kv.Value.GetStringValue(); strings.Contains(v, "swordfish") || strings.Contains(v, gatewaytest.ClientKey) || strings.Contains(v, gatewaytest.UpstreamKey) {
					t.Errorf("%s records message content or a secret: %q", kv.Key, v)
				}
			}
		})
	}

	t.Run("failover", func(t *testing.T) {
		env.Gemini.Faults.Push(emulator.Fault{Status: 429, Body: geminiOverloaded})
		do(http.MethodPost, "/v1/chat/completions", `{"model":"google/gemini-3-flash","messages":[{"role":"user","content":"hello"}]}`)
		server, clients := spansOf()
		if len(clients) != 2 || attr(server, "opentoken.attempts") != "2" {
			t.Fatalf("a failover: %d attempt spans, attempts %q", len(clients), attr(server, "opentoken.attempts"))
		}
		first, second := clients[0], clients[1]
		if first.StartTimeUnixNano > second.StartTimeUnixNano {
			first, second = second, first
		}
		if attr(first, "opentoken.supplier") != "gemini" || attr(first, "opentoken.attempt.outcome") != "failed" || attr(first, "http.response.status_code") != "429" ||
			attr(second, "opentoken.supplier") != "vertex:global" || attr(second, "gen_ai.provider.name") != "gcp.vertex_ai" || attr(second, "opentoken.attempt.outcome") != "ok" {
			t.Errorf("attempts: %v / %v", first.Attributes, second.Attributes)
		}
	})

	t.Run("an error", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, env.URL+"/v1/chat/completions", strings.NewReader(`{"model":"google/gemini-3-flash","messages":[]}`))
		req.Header.Set("Authorization", "Bearer "+gatewaytest.ClientKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		server, _ := spansOf()
		if attr(server, "http.response.status_code") != "400" || attr(server, "error.type") == "" {
			t.Errorf("a 400's span: %v", server.Attributes)
		}
	})

	if col.resource == nil || !strings.Contains(func() string {
		var b strings.Builder
		for _, kv := range col.resource {
			b.WriteString(kv.Key + "=" + kv.Value.GetStringValue() + " ")
		}
		return b.String()
	}(), "service.name=opentoken") {
		t.Errorf("the resource: %v", col.resource)
	}
}

// TestTracesNeverSlowARequest: a collector that is down costs requests
// nothing, and its lost spans are counted in /metrics.
func TestTracesNeverSlowARequest(t *testing.T) {
	env, col, tr := traced(t, gatewaytest.Options{Metrics: true})
	col.mu.Lock()
	col.fail = true
	col.mu.Unlock()
	chat := []byte(`{"model":"google/gemini-3-flash","messages":[{"role":"user","content":"hello"}]}`)
	for range 5 {
		if r := env.Do(t, http.MethodPost, "/v1/chat/completions", gatewaytest.ClientKey, chat); r.Status != 200 {
			t.Fatalf("with the collector down: %d", r.Status)
		}
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for tr.Dropped() < 10 { // 5 requests, each a server span and an attempt
		if time.Now().After(deadline) {
			t.Fatalf("dropped %d spans, want 10", tr.Dropped())
		}
		time.Sleep(10 * time.Millisecond)
	}
	m := env.Do(t, http.MethodGet, "/metrics", "", nil)
	if !strings.Contains(string(m.Body), "opentoken_trace_spans_dropped_total 10") {
		t.Errorf("/metrics lacks the dropped spans:\n%s", m.Body)
	}
}
