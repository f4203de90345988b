// Package telemetry sets up OpenTelemetry tracing from the standard
// OTEL_* environment variables, through the official Go SDK. Tracing is
// off unless OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; then:
//
//   - OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL picks http/protobuf (the
//     default) or grpc; the exporters read their own endpoint, headers,
//     timeout, compression and certificate variables;
//   - OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG pick the sampler
//     (the SDK's default: parentbased_always_on);
//   - OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES name the service
//     ("opentoken" by default);
//   - OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
//     OTEL_BSP_SCHEDULE_DELAY and OTEL_BSP_EXPORT_TIMEOUT size the export
//     queue (2048 spans, 512 a batch, every 5 s, 30 s a batch).
//
// Export is asynchronous and bounded: a span ended while the queue is
// full is dropped and counted (Dropped), so a collector that is slow or
// down never slows or fails a request.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracing is the process's tracer provider and its export queue.
type Tracing struct {
	provider *sdktrace.TracerProvider
	queue    *queue
	// CaptureContent: OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
	// is true, and spans may carry the messages.
	CaptureContent bool
}

// Enabled reports whether the environment asks for traces.
func Enabled(getenv func(string) string) bool {
	return getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// FromEnv sets tracing up from the process's environment, or returns nil
// when it asks for none. version is the service's version.
func FromEnv(ctx context.Context, version string) (*Tracing, error) {
	if !Enabled(os.Getenv) {
		return nil, nil
	}
	protocol := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", "http/protobuf":
		// The gateway's own encoder (otlp.go), unless the configuration
		// asks for what only the official exporter does.
		var own *otlpHTTP
		if own, err = newOTLPHTTP(); err == nil && own != nil {
			exp = own
		} else if err == nil {
			exp, err = otlptracehttp.New(ctx)
		}
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: want http/protobuf or grpc", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("the OTLP trace exporter: %w", err)
	}
	return New(ctx, exp, version)
}

// New sets tracing up with an exporter of the caller's.
func New(ctx context.Context, exp sdktrace.SpanExporter, version string) (*Tracing, error) {
	q, err := newQueue(exp)
	if err != nil {
		return nil, err
	}
	// The environment's attributes are merged last: OTEL_SERVICE_NAME
	// overrides the default name.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "opentoken"), attribute.String("service.version", version)),
		resource.WithTelemetrySDK(), resource.WithFromEnv())
	if err != nil && res == nil {
		return nil, fmt.Errorf("the trace resource: %w", err)
	}
	t := &Tracing{
		provider:       sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(q), sdktrace.WithResource(res)),
		queue:          q,
		CaptureContent: strings.EqualFold(os.Getenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"), "true"),
	}
	return t, nil
}

// Tracer is the gateway's tracer.
func (t *Tracing) Tracer() trace.Tracer {
	return t.provider.Tracer("github.com/opentoken/opentoken/server")
}

// OnDrop sets what is told of spans dropped: the queue was full, or the
// collector refused or never took a batch.
func (t *Tracing) OnDrop(f func(n int)) { t.queue.onDrop.Store(&f) }

// Dropped is how many spans were dropped so far.
func (t *Tracing) Dropped() int64 { return t.queue.dropped.Load() }

// Flush exports the spans ended so far.
func (t *Tracing) Flush(ctx context.Context) error { return t.provider.ForceFlush(ctx) }

// Shutdown exports what is queued, within ctx, and stops.
func (t *Tracing) Shutdown(ctx context.Context) error { return t.provider.Shutdown(ctx) }

// queue is a bounded span processor: OnEnd appends under a lock and
// never blocks; a span that finds the queue full is dropped and counted;
// one goroutine exports, woken only when a batch is full (not per span:
// a wake-up per span would cost more than the span), every delay, on a
// flush and at shutdown.
type queue struct {
	exp            sdktrace.SpanExporter
	size, batch    int
	delay, timeout time.Duration

	mu      sync.Mutex
	pending []sdktrace.ReadOnlySpan

	kick    chan struct{} // a batch is full
	flushes chan chan struct{}
	stop    chan struct{}
	done    chan struct{}
	dropped atomic.Int64
	onDrop  atomic.Pointer[func(int)]
	closing sync.Once
	closed  atomic.Bool
}

func newQueue(exp sdktrace.SpanExporter) (*queue, error) {
	size, err := envInt("OTEL_BSP_MAX_QUEUE_SIZE", 2048)
	if err != nil {
		return nil, err
	}
	batch, err := envInt("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512)
	if err != nil {
		return nil, err
	}
	delay, err := envInt("OTEL_BSP_SCHEDULE_DELAY", 5000)
	if err != nil {
		return nil, err
	}
	timeout, err := envInt("OTEL_BSP_EXPORT_TIMEOUT", 30000)
	if err != nil {
		return nil, err
	}
	q := &queue{exp: exp, size: size, batch: min(batch, size), pending: make([]sdktrace.ReadOnlySpan, 0, size),
		delay: time.Duration(delay) * time.Millisecond, timeout: time.Duration(timeout) * time.Millisecond,
		kick: make(chan struct{}, 1), flushes: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go q.run()
	return q, nil
}

// envInt reads a positive integer variable, def when unset.
func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q: want a positive integer", name, v)
	}
	return n, nil
}

func (q *queue) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

func (q *queue) OnEnd(s sdktrace.ReadOnlySpan) {
	if q.closed.Load() || !s.SpanContext().IsSampled() {
		return
	}
	q.mu.Lock()
	if len(q.pending) >= q.size {
		q.mu.Unlock()
		q.drop(1)
		return
	}
	q.pending = append(q.pending, s)
	full := len(q.pending) == q.batch
	q.mu.Unlock()
	if full {
		select {
		case q.kick <- struct{}{}:
		default: // already woken
		}
	}
}

func (q *queue) drop(n int) {
	q.dropped.Add(int64(n))
	if f := q.onDrop.Load(); f != nil {
		(*f)(n)
	}
}

// run exports what is pending when a batch is full, every delay, on a
// flush and at shutdown.
func (q *queue) run() {
	defer close(q.done)
	tick := time.NewTicker(q.delay)
	defer tick.Stop()
	spare := make([]sdktrace.ReadOnlySpan, 0, q.size)
	for {
		var flushed chan struct{}
		stopping := false
		select {
		case <-q.kick:
		case <-tick.C:
		case flushed = <-q.flushes:
		case <-q.stop:
			stopping = true
		}
		q.mu.Lock()
		taken := q.pending
		q.pending = spare[:0]
		q.mu.Unlock()
		for rest := taken; len(rest) > 0; {
			n := min(len(rest), q.batch)
			q.export(rest[:n])
			rest = rest[n:]
		}
		clear(taken) // let the exported spans go
		spare = taken[:0]
		if flushed != nil {
			close(flushed)
		}
		if stopping {
			return
		}
	}
}

func (q *queue) export(batch []sdktrace.ReadOnlySpan) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), q.timeout)
	defer cancel()
	if err := q.exp.ExportSpans(ctx, batch); err != nil {
		q.drop(len(batch))
	}
}

func (q *queue) ForceFlush(ctx context.Context) error {
	if q.closed.Load() {
		return nil
	}
	done := make(chan struct{})
	select {
	case q.flushes <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (q *queue) Shutdown(ctx context.Context) error {
	var err error
	q.closing.Do(func() {
		q.closed.Store(true)
		close(q.stop)
		select {
		case <-q.done:
		case <-ctx.Done():
			err = ctx.Err()
		}
		err = errors.Join(err, q.exp.Shutdown(ctx))
	})
	return err
}
