package telemetry

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/protobuf/encoding/protowire"
)

// An OTLP/HTTP protobuf span exporter. The official exporter converts
// every span into the generated protobuf structs and marshals those: a
// hundred allocations and most of tracing's CPU for the two spans of a
// request (bench/RESULTS-traces.md). This one appends the same wire
// format (opentelemetry-proto's ExportTraceServiceRequest) straight from
// the spans into one reused buffer. It reads the exporter's standard
// variables — endpoint, headers, timeout, compression, certificate —
// the way the official one does; a configuration it does not cover (a
// client certificate) is left to the official exporter.

// otlpHTTP exports spans by OTLP/HTTP in protobuf.
type otlpHTTP struct {
	url     string
	headers http.Header
	gzip    bool
	timeout time.Duration
	client  *http.Client
	buf     []byte       // the request body, reused: ExportSpans is never called concurrently
	scratch [][]byte     // a buffer per nesting level of the message
	zbuf    bytes.Buffer // the compressed body, reused
	zw      *gzip.Writer
}

// otlpEnv reads an exporter variable: the traces' own, else the general.
func otlpEnv(name string) string {
	if v := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_" + name); v != "" {
		return v
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_" + name)
}

// newOTLPHTTP builds the exporter from the environment, or returns nil
// when the environment asks for what it does not do.
func newOTLPHTTP() (*otlpHTTP, error) {
	if otlpEnv("CLIENT_CERTIFICATE") != "" || otlpEnv("CLIENT_KEY") != "" {
		return nil, nil
	}
	e := &otlpHTTP{headers: http.Header{}, timeout: 10 * time.Second}
	// The signal's own endpoint is used as it is; the general one gets
	// the signal's path.
	if u := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); u != "" {
		e.url = u
	} else {
		e.url = strings.TrimRight(os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "/") + "/v1/traces"
	}
	if u, err := url.Parse(e.url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("the OTLP traces endpoint %q: want an http(s) URL", e.url)
	}
	if h := otlpEnv("HEADERS"); h != "" {
		for _, pair := range strings.Split(h, ",") {
			k, v, ok := strings.Cut(pair, "=")
			key, err1 := url.PathUnescape(strings.TrimSpace(k))
			val, err2 := url.PathUnescape(strings.TrimSpace(v))
			if !ok || key == "" || err1 != nil || err2 != nil {
				return nil, errors.New("OTEL_EXPORTER_OTLP_HEADERS: want key=value pairs, comma-separated, values URL-encoded")
			}
			e.headers.Add(key, val)
		}
	}
	if t := otlpEnv("TIMEOUT"); t != "" {
		ms, err := strconv.Atoi(t)
		if err != nil || ms <= 0 {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_TIMEOUT=%q: want milliseconds", t)
		}
		e.timeout = time.Duration(ms) * time.Millisecond
	}
	switch c := otlpEnv("COMPRESSION"); c {
	case "", "none":
	case "gzip":
		e.gzip = true
		e.zw = gzip.NewWriter(&e.zbuf)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_COMPRESSION=%q: want gzip or none", c)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if cert := otlpEnv("CERTIFICATE"); cert != "" {
		pem, err := os.ReadFile(cert)
		if err != nil {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_CERTIFICATE %s holds no PEM certificate", cert)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	e.client = &http.Client{Transport: transport}
	return e, nil
}

// ExportSpans implements sdktrace.SpanExporter.
func (e *otlpHTTP) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	e.buf = e.encode(e.buf[:0], spans)
	body := e.buf
	if e.gzip {
		e.zbuf.Reset()
		e.zw.Reset(&e.zbuf)
		_, _ = e.zw.Write(body)
		_ = e.zw.Close()
		body = e.zbuf.Bytes()
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range e.headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if e.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the OTLP collector answered %s", resp.Status)
	}
	return nil
}

// Shutdown implements sdktrace.SpanExporter.
func (e *otlpHTTP) Shutdown(context.Context) error {
	e.client.CloseIdleConnections()
	return nil
}

// The field numbers of opentelemetry-proto's trace messages.
const (
	fRequestResourceSpans = 1 // ExportTraceServiceRequest.resource_spans
	fResource             = 1 // ResourceSpans.resource
	fScopeSpans           = 2 // ResourceSpans.scope_spans
	fResourceAttributes   = 1 // Resource.attributes
	fScope                = 1 // ScopeSpans.scope
	fSpans                = 2 // ScopeSpans.spans
	fScopeName            = 1
	fScopeVersion         = 2
	fTraceID              = 1
	fSpanID               = 2
	fTraceState           = 3
	fParentSpanID         = 4
	fName                 = 5
	fKind                 = 6
	fStart                = 7
	fEnd                  = 8
	fAttributes           = 9
	fDroppedAttributes    = 10
	fEvents               = 11
	fDroppedEvents        = 12
	fDroppedLinks         = 14
	fStatus               = 15
	fFlags                = 16
	fEventTime            = 1
	fEventName            = 2
	fEventAttributes      = 3
	fStatusMessage        = 2
	fStatusCode           = 3
	fKey                  = 1
	fValue                = 2
	fString               = 1
	fBool                 = 2
	fInt                  = 3
	fDouble               = 4
	fArray                = 5
	fArrayValues          = 1
)

// level returns the scratch buffer of a nesting level, emptied.
func (e *otlpHTTP) level(n int) []byte {
	for len(e.scratch) <= n {
		e.scratch = append(e.scratch, make([]byte, 0, 1024))
	}
	return e.scratch[n][:0]
}

// encode appends an ExportTraceServiceRequest of spans: one ResourceSpans
// per resource and one ScopeSpans per scope, in the order they come.
func (e *otlpHTTP) encode(dst []byte, spans []sdktrace.ReadOnlySpan) []byte {
	for i := 0; i < len(spans); {
		res := spans[i].Resource()
		j := i
		for j < len(spans) && spans[j].Resource() == res {
			j++
		}
		rs := e.level(0)
		r := e.level(1)
		if res != nil {
			for it := res.Iter(); it.Next(); {
				r = e.keyValue(r, fResourceAttributes, it.Attribute(), 2)
			}
		}
		rs = appendMessage(rs, fResource, r)
		for k := i; k < j; {
			scope := spans[k].InstrumentationScope()
			l := k
			for l < j && spans[l].InstrumentationScope() == scope {
				l++
			}
			ss := e.level(1)
			sc := e.level(2)
			sc = appendString(sc, fScopeName, scope.Name)
			sc = appendString(sc, fScopeVersion, scope.Version)
			ss = appendMessage(ss, fScope, sc)
			for _, s := range spans[k:l] {
				ss = appendMessage(ss, fSpans, e.span(e.level(2), s))
			}
			rs = appendMessage(rs, fScopeSpans, ss)
			e.scratch[1] = ss
			k = l
		}
		dst = appendMessage(dst, fRequestResourceSpans, rs)
		e.scratch[0] = rs
		i = j
	}
	return dst
}

// span appends one Span's fields to b, which is nesting level 2.
func (e *otlpHTTP) span(b []byte, s sdktrace.ReadOnlySpan) []byte {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	b = protowire.AppendTag(b, fTraceID, protowire.BytesType)
	b = protowire.AppendBytes(b, tid[:])
	b = protowire.AppendTag(b, fSpanID, protowire.BytesType)
	b = protowire.AppendBytes(b, sid[:])
	if ts := sc.TraceState().String(); ts != "" {
		b = appendString(b, fTraceState, ts)
	}
	if p := s.Parent(); p.SpanID().IsValid() {
		pid := p.SpanID()
		b = protowire.AppendTag(b, fParentSpanID, protowire.BytesType)
		b = protowire.AppendBytes(b, pid[:])
	}
	b = appendString(b, fName, s.Name())
	b = protowire.AppendTag(b, fKind, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(s.SpanKind()))
	b = protowire.AppendTag(b, fStart, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, uint64(s.StartTime().UnixNano()))
	b = protowire.AppendTag(b, fEnd, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, uint64(s.EndTime().UnixNano()))
	for _, kv := range s.Attributes() {
		b = e.keyValue(b, fAttributes, kv, 3)
	}
	if n := s.DroppedAttributes(); n > 0 {
		b = protowire.AppendTag(b, fDroppedAttributes, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(n))
	}
	for _, ev := range s.Events() {
		m := e.level(3)
		m = protowire.AppendTag(m, fEventTime, protowire.Fixed64Type)
		m = protowire.AppendFixed64(m, uint64(ev.Time.UnixNano()))
		m = appendString(m, fEventName, ev.Name)
		for _, kv := range ev.Attributes {
			m = e.keyValue(m, fEventAttributes, kv, 4)
		}
		b = appendMessage(b, fEvents, m)
		e.scratch[3] = m
	}
	if n := s.DroppedEvents(); n > 0 {
		b = protowire.AppendTag(b, fDroppedEvents, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(n))
	}
	// Links are not made by the gateway; a span with some says how many
	// it leaves out.
	if n := len(s.Links()) + s.DroppedLinks(); n > 0 {
		b = protowire.AppendTag(b, fDroppedLinks, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(n))
	}
	if st := s.Status(); st.Code != codes.Unset {
		m := e.level(3)
		if st.Description != "" {
			m = appendString(m, fStatusMessage, st.Description)
		}
		m = protowire.AppendTag(m, fStatusCode, protowire.VarintType)
		code := uint64(1) // STATUS_CODE_OK
		if st.Code == codes.Error {
			code = 2
		}
		m = protowire.AppendVarint(m, code)
		b = appendMessage(b, fStatus, m)
		e.scratch[3] = m
	}
	b = protowire.AppendTag(b, fFlags, protowire.Fixed32Type)
	flags := uint32(sc.TraceFlags()) | 0x100 // SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
	if s.Parent().IsRemote() {
		flags |= 0x200 // SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
	}
	b = protowire.AppendFixed32(b, flags)
	e.scratch[2] = b
	return b
}

// keyValue appends a KeyValue field, using nesting level n for its
// message and n+1 for its value's.
func (e *otlpHTTP) keyValue(dst []byte, field protowire.Number, kv attribute.KeyValue, n int) []byte {
	m := e.level(n)
	m = appendString(m, fKey, string(kv.Key))
	v := e.level(n + 1)
	switch kv.Value.Type() {
	case attribute.BOOL:
		v = protowire.AppendTag(v, fBool, protowire.VarintType)
		v = protowire.AppendVarint(v, protowire.EncodeBool(kv.Value.AsBool()))
	case attribute.INT64:
		v = protowire.AppendTag(v, fInt, protowire.VarintType)
		v = protowire.AppendVarint(v, uint64(kv.Value.AsInt64()))
	case attribute.FLOAT64:
		v = protowire.AppendTag(v, fDouble, protowire.Fixed64Type)
		v = protowire.AppendFixed64(v, math.Float64bits(kv.Value.AsFloat64()))
	case attribute.STRING:
		v = appendString(v, fString, kv.Value.AsString())
	case attribute.STRINGSLICE:
		a := e.level(n + 2)
		for _, s := range kv.Value.AsStringSlice() {
			el := e.level(n + 3)
			el = appendString(el, fString, s)
			a = appendMessage(a, fArrayValues, el)
			e.scratch[n+3] = el
		}
		v = appendMessage(v, fArray, a)
		e.scratch[n+2] = a
	default:
		v = appendString(v, fString, kv.Value.String())
	}
	m = appendMessage(m, fValue, v)
	e.scratch[n+1] = v
	dst = appendMessage(dst, field, m)
	e.scratch[n] = m
	return dst
}

func appendString(b []byte, field protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, field protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}
