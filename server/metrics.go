package server

import (
	"bytes"
	"strconv"
	"strings"
	"sync"

	"github.com/opentoken/opentoken/llm"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/adapter"
)

// Endpoints, as the requests_total label names them.
const (
	endpointChat       = "chat_completions"
	endpointEmbeddings = "embeddings"
	endpointKey        = "key"
	endpointModels     = "models"
	endpointMessages   = "messages"
	endpointCount      = "count_tokens"
	endpointResponses  = "responses"
	endpointOther      = "other"
)

// meters are the gateway's Prometheus metrics. Everything a request
// touches is created up front or found in a map under a read lock, so that
// observing a request allocates nothing.
type meters struct {
	set *metrics.Set

	mu       sync.RWMutex
	requests map[requestKey]*metrics.Counter

	overhead, upstream, firstByte [numProviders]*metrics.PrometheusHistogram
	upstreamErrors                [numProviders][numUpstreamErrorKinds]*metrics.Counter
	tokens                        [][numTokenKinds]*metrics.Counter // by model index
	dropped                       [generated.NumParams]*metrics.Counter
	adjusted                      map[string]*metrics.Counter // by the client's parameter name; read only
	// attempts by supplier and outcome; filled by New, read only after.
	attempts map[string]*[numAttemptOutcomes]*metrics.Counter
}

// Outcomes of an upstream attempt, for opentoken_upstream_attempts_total.
const (
	attemptServed     = iota // the supplier answered
	attemptFailedOver        // it failed, and the next supplier was tried
	attemptFailed            // it failed, and its error answered the request
	numAttemptOutcomes
)

var attemptOutcomeNames = [numAttemptOutcomes]string{"served", "failed_over", "failed"}

// supplier creates the attempt counters of a supplier, once.
func (m *meters) supplier(name string) {
	if m.attempts[name] != nil {
		return
	}
	var c [numAttemptOutcomes]*metrics.Counter
	for o, outcome := range attemptOutcomeNames {
		c[o] = m.set.NewCounter(`opentoken_upstream_attempts_total{supplier="` + name + `",outcome="` + outcome + `"}`)
	}
	m.attempts[name] = &c
}

// attempt counts an attempt's outcome.
func (m *meters) attempt(supplier string, outcome int) {
	if c := m.attempts[supplier]; c != nil {
		c[outcome].Inc()
	}
}

// breakerGauge exposes a (supplier, model) breaker's state.
func (m *meters) breakerGauge(supplier, model string, state func() float64) {
	m.set.NewGauge(`opentoken_breaker_state{supplier="`+supplier+`",model="`+model+`"}`, state)
}

const numProviders = 3 // indexed by matrix.Provider

type requestKey struct {
	endpoint string
	model    int // index into generated.Models, -1 for none
	status   int
	code     string
}

// Token kinds of opentoken_tokens_total.
const (
	tokensPrompt = iota
	tokensCompletion
	tokensCached
	tokensReasoning
	numTokenKinds
)

var tokenKindNames = [numTokenKinds]string{"prompt", "completion", "cached", "reasoning"}

// Upstream error kinds of opentoken_upstream_errors_total.
const (
	upstreamTimeout = iota
	upstreamUnreachable
	upstreamAuth
	upstreamThrottled
	upstreamUnavailable
	upstreamRejected // another 4xx
	upstreamMalformed
	upstreamTooLarge
	upstreamInterrupted // a stream that failed after it began
	numUpstreamErrorKinds
	noUpstreamError = -1
)

var upstreamErrorKindNames = [numUpstreamErrorKinds]string{"timeout", "unreachable", "auth", "throttled", "unavailable",
	"rejected", "malformed", "too_large", "stream_interrupted"}

// Buckets: the gateway's own time is microseconds, an upstream's seconds.
var (
	overheadBuckets = metrics.ExponentialBuckets(10e-6, 2, 16) // 10 µs .. 0.33 s
	upstreamBuckets = metrics.ExponentialBuckets(5e-3, 2, 17)  // 5 ms .. 5.5 min
)

func newMeters(openStreams func() float64) *meters {
	m := &meters{set: metrics.NewSet(), requests: map[requestKey]*metrics.Counter{}, attempts: map[string]*[numAttemptOutcomes]*metrics.Counter{},
		tokens: make([][numTokenKinds]*metrics.Counter, len(generated.Models))}
	for _, p := range []matrix.Provider{matrix.ProviderAnthropic, matrix.ProviderGoogle} {
		l := `{provider="` + p.String() + `"}`
		m.overhead[p] = m.set.NewPrometheusHistogramExt("opentoken_gateway_overhead_seconds"+l, overheadBuckets)
		m.upstream[p] = m.set.NewPrometheusHistogramExt("opentoken_upstream_duration_seconds"+l, upstreamBuckets)
		m.firstByte[p] = m.set.NewPrometheusHistogramExt("opentoken_stream_first_byte_seconds"+l, upstreamBuckets)
		for k, name := range upstreamErrorKindNames {
			m.upstreamErrors[p][k] = m.set.NewCounter(`opentoken_upstream_errors_total{provider="` + p.String() + `",kind="` + name + `"}`)
		}
	}
	for i, model := range generated.Models {
		for k, name := range tokenKindNames {
			m.tokens[i][k] = m.set.NewCounter(`opentoken_tokens_total{model="` + model.ID + `",kind="` + name + `"}`)
		}
	}
	m.adjusted = map[string]*metrics.Counter{}
	adjustable := []string{"reasoning.effort", "reasoning.max_tokens"}
	for p := range generated.ParamSpecs {
		m.dropped[p] = m.set.NewCounter(`opentoken_dropped_params_total{param="` + generated.ParamSpecs[p].Name + `"}`)
		adjustable = append(adjustable, generated.ParamSpecs[p].Name)
	}
	for _, name := range adjustable {
		m.adjusted[name] = m.set.NewCounter(`opentoken_adjusted_params_total{param="` + name + `"}`)
	}
	m.set.NewGauge("opentoken_open_streams", openStreams)
	return m
}

// request counts one answered request; model is nil before one is known.
func (m *meters) request(endpoint string, model *matrix.Model, status int, code string) {
	k := requestKey{endpoint, -1, status, code}
	if model != nil {
		k.model = model.Index
	}
	m.mu.RLock()
	c := m.requests[k]
	m.mu.RUnlock()
	if c == nil {
		c = m.newRequestCounter(k)
	}
	c.Inc()
}

// newRequestCounter creates the counter of a label set seen for the first
// time. The sets are bounded: endpoints, registered models, statuses and
// the gateway's own error codes.
func (m *meters) newRequestCounter(k requestKey) *metrics.Counter {
	model, provider := "", ""
	if k.model >= 0 {
		model, provider = generated.Models[k.model].ID, generated.Models[k.model].Provider.String()
	}
	name := `opentoken_requests_total{endpoint="` + k.endpoint + `",model="` + model + `",provider="` + provider +
		`",status="` + strconv.Itoa(k.status) + `",code="` + k.code + `"}`
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.requests[k]; c != nil {
		return c
	}
	c := m.set.GetOrCreateCounter(name)
	m.requests[k] = c
	return c
}

func (m *meters) usage(model int, u *llm.Usage) {
	t := &m.tokens[model]
	t[tokensPrompt].Add(int(u.Prompt))
	t[tokensCompletion].Add(int(u.Completion))
	t[tokensCached].Add(int(u.Cached))
	t[tokensReasoning].Add(int(u.Reasoning))
}

func (m *meters) adjustedParams(adjusted []adapter.Adjustment) {
	for _, a := range adjusted {
		if c := m.adjusted[a.Param]; c != nil {
			c.Inc()
		}
	}
}

func (m *meters) droppedParams(dropped matrix.Mask) {
	for dropped != 0 {
		var p matrix.Param
		p, dropped = dropped.Next()
		m.dropped[p].Inc()
	}
}

// help describes each of the gateway's metric families, for # HELP.
var help = map[string]string{
	"opentoken_requests_total":            "Requests answered, by endpoint, model, provider, status and error code.",
	"opentoken_gateway_overhead_seconds":  "Time the gateway itself spent on a buffered request, upstream excluded.",
	"opentoken_upstream_duration_seconds": "Time waiting for an upstream: its head, and its body when buffered.",
	"opentoken_stream_first_byte_seconds": "Time from a streamed request to the upstream's first byte.",
	"opentoken_upstream_errors_total":     "Upstream failures, by provider and kind.",
	"opentoken_tokens_total":              "Tokens in answers, by model and kind (prompt, completion, cached, reasoning).",
	"opentoken_dropped_params_total":      "Request parameters dropped because the model's upstream does not take them.",
	"opentoken_adjusted_params_total":     "Request parameters rewritten to fit the model (clamped, mapped, cut).",
	"opentoken_open_streams":              "Streams in flight.",
	"opentoken_upstream_attempts_total":   "Upstream attempts, by supplier and outcome (served, failed_over, failed).",
	"opentoken_breaker_state":             "Circuit breaker state per supplier and model: 0 closed, 1 open, 2 half-open.",
}

func init() {
	// # HELP and # TYPE for every family; write fills in the help.
	metrics.ExposeMetadata(true)
}

// write serves GET /metrics: the gateway's metrics, then the Go
// runtime's and the process's, each family with # HELP and # TYPE.
func (m *meters) write(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
	buf := getBuf()
	defer putBuf(buf)
	w := bytes.NewBuffer((*buf)[:0])
	m.set.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
	out := w.Bytes()
	// The library writes "# HELP family" without text: the text follows.
	for len(out) > 0 {
		line := out
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			line = out[:i+1]
		}
		out = out[len(line):]
		family, ok := bytes.CutPrefix(bytes.TrimSuffix(line, []byte("\n")), []byte("# HELP "))
		if !ok || bytes.IndexByte(family, ' ') >= 0 {
			ctx.Write(line)
			continue
		}
		ctx.WriteString("# HELP ")
		ctx.Write(family)
		ctx.WriteString(" ")
		ctx.WriteString(helpOf(string(family)))
		ctx.WriteString("\n")
	}
	*buf = w.Bytes()
}

// helpOf is a family's help text.
func helpOf(family string) string {
	switch {
	case help[family] != "":
		return help[family]
	case strings.HasPrefix(family, "go_"):
		return "Go runtime metric " + family + " (runtime/metrics)."
	case strings.HasPrefix(family, "process_"):
		return "Process metric " + family + ", as the Prometheus process collector names it."
	}
	return family + "."
}
