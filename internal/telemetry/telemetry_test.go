package telemetry

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// stuck is an exporter that holds every export until released, as a
// collector that does not answer.
type stuck struct {
	release  chan struct{}
	exported atomic.Int64
	once     sync.Once
}

func (s *stuck) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	select {
	case <-s.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.exported.Add(int64(len(spans)))
	return nil
}

func (s *stuck) Shutdown(context.Context) error { s.once.Do(func() { close(s.release) }); return nil }

// TestQueueNeverBlocks: with the collector stuck, ending spans never
// waits; past the queue's size they are dropped and counted, and what was
// queued is exported once the collector answers.
func TestQueueNeverBlocks(t *testing.T) {
	t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "4")
	t.Setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2")
	exp := &stuck{release: make(chan struct{})}
	tr, err := New(context.Background(), exp, "test")
	if err != nil {
		t.Fatal(err)
	}
	var told atomic.Int64
	tr.OnDrop(func(n int) { told.Add(int64(n)) })
	tracer := tr.Tracer()
	start := time.Now()
	for range 50 {
		_, sp := tracer.Start(context.Background(), "request")
		sp.End()
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("ending 50 spans against a stuck collector took %v", d)
	}
	// At most the queue (4) and what the exporter took from it (4, in
	// batches of 2) are held.
	if tr.Dropped() < 42 || told.Load() != tr.Dropped() {
		t.Errorf("dropped %d (told %d), want at least 42 of 50", tr.Dropped(), told.Load())
	}
	close(exp.release)
	exp.once.Do(func() {})
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := exp.exported.Load() + tr.Dropped(); got != 50 {
		t.Errorf("exported %d and dropped %d: %d of 50 spans accounted for", exp.exported.Load(), tr.Dropped(), got)
	}
}

// TestFromEnv: off without an endpoint; a protocol it does not speak is
// an error that names the variable.
func TestFromEnv(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	if tr, err := FromEnv(context.Background(), "v"); tr != nil || err != nil {
		t.Errorf("no endpoint: %v %v", tr, err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
	if _, err := FromEnv(context.Background(), "v"); err == nil {
		t.Error("http/json was accepted")
	}
	for _, p := range []string{"grpc", "http/protobuf"} {
		t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", p)
		tr, err := FromEnv(context.Background(), "v")
		if err != nil || tr == nil {
			t.Fatalf("%s: %v", p, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = tr.Shutdown(ctx)
		cancel()
	}
	t.Setenv("OTEL_BSP_MAX_QUEUE_SIZE", "many")
	if _, err := FromEnv(context.Background(), "v"); err == nil {
		t.Error("a queue size of many was accepted")
	}
}
