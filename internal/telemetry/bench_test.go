package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// discard is an exporter that encodes each batch as the OTLP/HTTP one
// does and sends it nowhere: the spans' whole cost but the network's.
type discard struct{ e otlpHTTP }

func (d *discard) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	d.e.buf = d.e.encode(d.e.buf[:0], spans)
	return nil
}
func (d *discard) Shutdown(context.Context) error { return nil }

// BenchmarkRequestSpans is a request's tracing as the gateway does it: a
// server span with its attributes and a client span under it, ended,
// queued and encoded. ns/op is per request.
//
//	go test ./internal/telemetry -run '^$' -bench RequestSpans -benchmem
func BenchmarkRequestSpans(b *testing.B) {
	tr, err := New(context.Background(), &discard{}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Shutdown(context.Background())
	tracer := tr.Tracer()
	server, client := trace.WithSpanKind(trace.SpanKindServer), trace.WithSpanKind(trace.SpanKindClient)
	b.ReportAllocs()
	for b.Loop() {
		ctx, sp := tracer.Start(context.Background(), "chat_completions", server)
		sp.SetAttributes(attribute.Float64("gen_ai.request.temperature", 0.7), attribute.Int64("gen_ai.request.max_tokens", 512),
			attribute.String("opentoken.params.forwarded", "temperature,top_p,max_tokens"))
		_, c := tracer.Start(ctx, "chat claude-sonnet-4-5", client, trace.WithAttributes(
			attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.provider.name", "anthropic"),
			attribute.String("gen_ai.request.model", "anthropic/claude-sonnet-4-5"), attribute.String("opentoken.supplier", "anthropic"),
			attribute.String("opentoken.upstream.model", "claude-sonnet-4-5"), attribute.Int("opentoken.attempt", 1)))
		c.SetAttributes(attribute.String("opentoken.attempt.outcome", "ok"), attribute.Float64("opentoken.attempt.seconds", 0.001))
		c.End()
		sp.SetName("chat anthropic/claude-sonnet-4-5")
		sp.SetAttributes(attribute.String("gen_ai.operation.name", "chat"), attribute.Int("http.response.status_code", 200),
			attribute.String("opentoken.request_id", "req_0123456789abcdef"), attribute.Int("opentoken.attempts", 1),
			attribute.String("gen_ai.request.model", "anthropic/claude-sonnet-4-5"), attribute.String("gen_ai.response.model", "anthropic/claude-sonnet-4-5"),
			attribute.String("gen_ai.provider.name", "anthropic"), attribute.String("opentoken.supplier", "anthropic"),
			attribute.Int64("gen_ai.usage.input_tokens", 300), attribute.Int64("gen_ai.usage.output_tokens", 120), attribute.Float64("opentoken.cost_usd", 0.0027))
		sp.End()
	}
}
