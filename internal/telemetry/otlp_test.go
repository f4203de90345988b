package telemetry

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// receiver keeps the requests an OTLP/HTTP exporter sends, decoded.
type receiver struct {
	mu      sync.Mutex
	got     []*collectortrace.ExportTraceServiceRequest
	headers http.Header
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		z, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = z
	}
	raw, _ := io.ReadAll(body)
	m := &collectortrace.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(raw, m); err != nil || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "bad protobuf", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.got = append(r.got, m)
	r.headers = req.Header.Clone()
	r.mu.Unlock()
}

// spans makes the kinds of span the gateway makes: a server span with
// every attribute type, a status and an event, continuing a remote
// parent, and a client span under it.
func spans(t *testing.T) []sdktrace.ReadOnlySpan {
	mem := tracetest.NewInMemoryExporter()
	res := resource.NewSchemaless(attribute.String("service.name", "opentoken"), attribute.String("service.version", "v1"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(mem), sdktrace.WithResource(res))
	tracer := tp.Tracer("github.com/opentoken/opentoken/server")
	remote := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1, 2, 3}, SpanID: trace.SpanID{4, 5}, TraceFlags: trace.FlagsSampled, Remote: true})
	ctx, server := tracer.Start(trace.ContextWithRemoteSpanContext(context.Background(), remote), "chat anthropic/claude-sonnet-4-6",
		trace.WithSpanKind(trace.SpanKindServer))
	server.SetAttributes(attribute.String("gen_ai.operation.name", "chat"), attribute.Int64("gen_ai.usage.input_tokens", 12),
		attribute.Float64("gen_ai.request.temperature", 0.5), attribute.Bool("opentoken.partial", true),
		attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop", "length"}), attribute.String("unicode", "héllo ✓"))
	server.AddEvent("retry", trace.WithAttributes(attribute.Int("n", 2)))
	_, client := tracer.Start(ctx, "chat claude-sonnet-4-6", trace.WithSpanKind(trace.SpanKindClient))
	client.SetStatus(codes.Error, "the upstream answered 529")
	client.End()
	server.SetStatus(codes.Ok, "")
	server.End()
	var out []sdktrace.ReadOnlySpan
	for _, s := range mem.GetSpans() {
		out = append(out, s.Snapshot())
	}
	_ = tp.Shutdown(context.Background())
	if len(out) != 2 {
		t.Fatalf("%d spans", len(out))
	}
	return out
}

// TestOTLPEncodingMatchesTheOfficialExporter: the same spans, sent by
// the official OTLP/HTTP exporter and by the gateway's, decode (with
// opentelemetry-proto's own types) into the same request.
func TestOTLPEncodingMatchesTheOfficialExporter(t *testing.T) {
	ss := spans(t)
	official, own := &receiver{}, &receiver{}
	a, b := httptest.NewServer(official), httptest.NewServer(own)
	defer a.Close()
	defer b.Close()
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(a.URL+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(context.Background(), ss); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", b.URL+"/")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-tenant=acme,authorization=Bearer%20s3cret")
	t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")
	mine, err := newOTLPHTTP()
	if err != nil || mine == nil {
		t.Fatal(err)
	}
	for range 2 { // the buffers are reused: the second export must be the first's equal
		if err := mine.ExportSpans(context.Background(), ss); err != nil {
			t.Fatal(err)
		}
	}
	if len(official.got) != 1 || len(own.got) != 2 {
		t.Fatalf("requests: official %d, own %d", len(official.got), len(own.got))
	}
	for i, got := range own.got {
		if !proto.Equal(official.got[0], got) {
			t.Errorf("export %d differs from the official exporter's:\nofficial %v\nown      %v", i+1, official.got[0], got)
		}
	}
	if own.headers.Get("X-Tenant") != "acme" || own.headers.Get("Authorization") != "Bearer s3cret" {
		t.Errorf("headers: %v", own.headers)
	}
}

// TestOTLPRefusals: a collector's error is the export's error (the
// queue counts the batch dropped); a bad variable is refused by name.
func TestOTLPRefusals(t *testing.T) {
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }))
	defer down.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", down.URL+"/v1/traces")
	e, err := newOTLPHTTP()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ExportSpans(context.Background(), spans(t)); err == nil {
		t.Error("a 503 was no error")
	}
	for name, v := range map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "soon", "OTEL_EXPORTER_OTLP_COMPRESSION": "zstd", "OTEL_EXPORTER_OTLP_HEADERS": "novalue"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, v)
			if _, err := newOTLPHTTP(); err == nil {
				t.Errorf("%s=%q accepted", name, v)
			}
		})
	}
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://x")
	if _, err := newOTLPHTTP(); err == nil {
		t.Error("an ftp endpoint accepted")
	}
}
