// Package adapter translates a validated llm.Request into one
// upstream's native request, and the upstream's answer back. Per-model facts
// come from the generated matrix; this package holds only the mechanism.
package adapter

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/matrix"
)

// Adapter speaks one upstream API.
type Adapter interface {
	// BuildRequest writes the upstream HTTP request for c into req; the body
	// is appended to buf, which must stay untouched until the request is done.
	BuildRequest(req *fasthttp.Request, buf []byte, c *Call, up *Upstream) ([]byte, *llm.Error)
	// ParseResponse decodes a 2xx upstream body. The strings of out may
	// point into body: use out only while body is alive.
	ParseResponse(c *Call, body []byte, out *llm.Completion) error
	// ParseCount reads the answer of a call made with Call.Count set: the
	// prompt's input tokens.
	ParseCount(body []byte) (int64, error)
	// ParseError reads an upstream error body.
	ParseError(status int, body []byte) UpstreamError
	// NewStream starts translating the event stream of a call made with
	// Call.Stream set into w's frames.
	NewStream(c *Call, w llm.StreamWriter) Stream
}

// Upstream is where an adapter sends its requests: one supplier.
type Upstream struct {
	BaseURL string // an origin such as https://api.anthropic.com, no trailing slash
	APIKey  string
	// Kind is the supplier's kind; zero is the provider's own API.
	Kind matrix.SupplierKind
	// Vertex is set for a Vertex AI location: the adapters build Vertex's
	// paths and authenticate with its bearer token instead of APIKey.
	Vertex *Vertex
}

// Vertex is one Vertex AI location of a project.
type Vertex struct {
	Project, Location string
	// Token returns a bearer token; its error is the token exchange's.
	Token func() (string, error)
}

// Name is the supplier's name in configuration, headers and logs:
// "anthropic", "gemini", "vertex:global".
func (u *Upstream) Name(provider matrix.Provider) string {
	switch {
	case u.Vertex != nil:
		return "vertex:" + u.Vertex.Location
	case u.Kind != 0:
		return u.Kind.String()
	case provider == matrix.ProviderAnthropic:
		return matrix.SupplierAnthropic.String()
	}
	return matrix.SupplierGemini.String()
}

// setURI sets req's URI to origin and the path of a Vertex publisher
// model's method.
func (v *Vertex) setURI(req *fasthttp.Request, origin, publisher, model, method string) {
	setURI(req, origin, "/v1/projects/", v.Project, "/locations/", v.Location, "/publishers/", publisher, "/models/", model, ":", method)
}

// setURI sets req's URI to its parts joined in a buffer on the stack
// (fasthttp copies it): a request's URI costs no allocation.
func setURI(req *fasthttp.Request, parts ...string) {
	var room [256]byte
	uri := room[:0]
	for _, p := range parts {
		uri = append(uri, p...)
	}
	req.SetRequestURIBytes(uri)
}

// authorize sets the bearer token of a Vertex request.
func (v *Vertex) authorize(req *fasthttp.Request) *llm.Error {
	tok, err := v.Token()
	if err != nil {
		return &llm.Error{Status: 502, Type: llm.TypeUpstream, Code: llm.CodeVertexAuthFailed,
			Message: "vertex:" + v.Location + ": " + err.Error()}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// UpstreamError is what an upstream said when it failed.
type UpstreamError struct {
	Message string
	// AuthFailed is set when the upstream rejected our credentials, which is
	// the operator's problem, not the client's.
	AuthFailed bool
	// CacheMiss: the request named a cache entry the upstream no longer
	// has (Gemini answers 403 for it, as for a key it refuses).
	CacheMiss bool
	// Overloaded: the upstream said it is overloaded (Anthropic's 529).
	Overloaded bool
	// RetryAfter is a wait in seconds, possibly fractional, that the body
	// gave (Gemini's RetryInfo), for an upstream that sends no Retry-After
	// header; the server rounds it as it does the header.
	RetryAfter string
}

// Call is one chat request ready for an upstream: the request, its model and
// every forwarding decision, made once before any adapter runs.
type Call struct {
	Req   *llm.Request
	Model *matrix.Model
	// UpstreamID is the model's id at the supplier an attempt goes to;
	// empty for the model's own upstream_id.
	UpstreamID string
	// Flex: the attempt asks for the flex lane (service_tier "flex" at a
	// supplier that serves it); Tier is the service_tier the client asked
	// for, to echo ("" for none).
	Flex bool
	Tier string
	// Betas are the anthropic-beta values the attempt's supplier takes
	// for the model (spec's betas); ForwardedBetas are the client's among
	// them.
	Betas   []string
	Present matrix.Mask // what the client sent
	Forward matrix.Mask // what the model's filter lets through
	// MaxTokens is the output limit to send, 0 for none: the client's
	// max_tokens (or max_completion_tokens), else the model's default,
	// clamped to the model's limit and raised to make room for a thinking
	// budget.
	MaxTokens int64
	Thinking  Thinking
	// Stream asks the upstream for an event stream.
	Stream bool
	// Count asks the upstream to count the request's input tokens instead
	// of answering it (count_tokens, :countTokens): no generation, no bill.
	Count bool
	// Adjusted lists the values rewritten rather than dropped; nil when
	// none was.
	Adjusted []Adjustment
	// DroppedExtra names what was dropped that is not a parameter of the
	// superset (cache_control breakpoints past the upstream's limit).
	DroppedExtra []string
	// Cached, when set, sends the request on a gateway-managed cache entry
	// (Gemini explicit caching); CacheWritten is the size of the entry
	// this request created, 0 when it found one.
	Cached       *CacheUse
	CacheWritten int64
}

// CacheUse is a cache entry a request is sent on: the entry's name and
// the first message it does not hold.
type CacheUse struct {
	Name string
	From int
}

// Thinking is the resolved extended-thinking plan of a call.
type Thinking struct {
	Requested bool // the client sent reasoning, reasoning_effort or include_reasoning
	On        bool // the upstream will think; the filter then drops sampling parameters
	Effort    matrix.Effort
	Budget    int64  // budget styles: the token budget
	Level     string // level and adaptive styles: the upstream's level name
	Exclude   bool   // the client asked not to see reasoning text
}

// maxTokensParams are written by the adapters themselves, from MaxTokens.
const maxTokensParams = matrix.Mask(1)<<generated.ParamMaxTokens | matrix.Mask(1)<<generated.ParamMaxCompletionTokens

// Dropped is what the client sent that is not forwarded.
func (c *Call) Dropped() matrix.Mask { return c.Present &^ c.Forward }

// NewCall resolves reasoning, runs the model's filter and settles max_tokens.
// It fails when the client sent a parameter that the model cannot honour and
// that must not be dropped silently.
func NewCall(req *llm.Request, m *matrix.Model) (*Call, *llm.Error) {
	c := &Call{Req: req, Model: m, Present: req.Present() &^ noOps(&req.Superset), Stream: req.Stream != nil && *req.Stream}
	if c.Stream && !usageDeclined(req.Superset.Raw(generated.ParamStreamOptions)) {
		// Honoured by the gateway itself: every stream ends with its usage.
		// Only include_usage: false is not, and stays reported as dropped.
		c.Present &^= matrix.MaskOf(generated.ParamStreamOptions)
	}
	c.resolveThinking()
	c.filter()
	if req.ToolSet != nil || req.Format != nil || req.ToolHistory {
		if e := c.resolveTools(); e != nil {
			return nil, e
		}
	}
	c.resolveMaxTokens()
	c.noteClamps()
	if req.CacheBreakpoints > 0 {
		c.resolveBreakpoints()
	}
	if rejected := c.Dropped() & generated.RejectParams; rejected != 0 {
		p, _ := rejected.Next()
		name := generated.ParamSpecs[p].Name
		return nil, llm.Unsupported(name, name+" is not supported by "+m.ID+" through this gateway; it would change the answer, so it is refused rather than dropped")
	}
	if m.MaxStop > 0 && c.Forward.Has(generated.ParamStop) && len(req.Stop) > m.MaxStop {
		return nil, llm.BadRequest("stop", m.ID+" takes at most "+strconv.Itoa(m.MaxStop)+" stop sequences; "+strconv.Itoa(len(req.Stop))+" were sent")
	}
	for _, in := range [...]struct {
		path string
		mod  matrix.Modality
	}{{req.Images, matrix.ModImage}, {req.Documents, matrix.ModPDF}, {req.Audio, matrix.ModAudio}} {
		if in.path != "" && !m.Inputs.Has(in.mod) {
			return nil, llm.Unsupported(in.path, m.ID+" does not read "+modalityWords[in.mod]+"; models that do: "+readers(in.mod))
		}
	}
	if req.N != nil && *req.N > 1 {
		return nil, llm.Unsupported("n", "n > 1 is not supported: every registered upstream returns one choice")
	}
	return c, nil
}

// modalityWords name the modalities in errors.
var modalityWords = [matrix.NumModalities]string{"text", "images", "PDFs", "audio"}

// readers lists the served models that read a modality.
func readers(mod matrix.Modality) string {
	var ids []string
	for _, m := range generated.Models {
		if m.Inputs.Has(mod) && m.Retired == nil && m.Kind == matrix.KindChat {
			ids = append(ids, m.ID)
		}
	}
	return strings.Join(ids, ", ")
}

// filter runs the model's filter: what the upstream receives.
func (c *Call) filter() {
	req, m := c.Req, c.Model
	c.Forward = m.Filter(c.Present, c.Thinking.On)
	if m.StopNeedsText && c.Forward.Has(generated.ParamStop) && !anyText(req.Stop) {
		c.Forward &^= matrix.MaskOf(generated.ParamStop) // nothing the upstream would take
	}
}

// dropThinking turns thinking off after all, for a request that cannot
// have it: the sampling parameters thinking excluded are forwarded again,
// and the reasoning the client asked for is reported as dropped.
func (c *Call) dropThinking() {
	c.Thinking.On, c.Thinking.Budget, c.Thinking.Level = false, 0, ""
	c.filter()
	c.Forward &^= reasoningParams
}

// usageDeclined reports whether stream_options asks for no usage chunk,
// which the gateway sends anyway.
func usageDeclined(raw []byte) bool {
	if matrix.RawKind(raw) != '{' {
		return false
	}
	var o struct {
		IncludeUsage *bool `json:"include_usage"`
	}
	return json.Unmarshal(raw, &o) == nil && o.IncludeUsage != nil && !*o.IncludeUsage
}

// reasoningParams are the client's ways to ask for reasoning.
const reasoningParams = matrix.Mask(1)<<generated.ParamReasoning | matrix.Mask(1)<<generated.ParamReasoningEffort |
	matrix.Mask(1)<<generated.ParamIncludeReasoning

// noOps returns the parameters whose values ask for nothing: an empty
// tool list, tool_choice "none" or "auto" with no tools,
// parallel_tool_calls true, a plain-text response_format. Clients and
// frameworks send them by default; they are accepted as if absent, never
// refused.
func noOps(s *generated.Superset) matrix.Mask {
	var m matrix.Mask
	tools := s.Raw(generated.ParamTools)
	noTools := !matrix.RawPresent(tools) || emptyArray(tools)
	if matrix.RawPresent(tools) && noTools {
		m |= matrix.MaskOf(generated.ParamTools)
	}
	if choice := string(bytes.TrimSpace(s.Raw(generated.ParamToolChoice))); noTools && (choice == `"none"` || choice == `"auto"`) {
		m |= matrix.MaskOf(generated.ParamToolChoice)
	}
	if p := s.ParallelToolCalls; p != nil && *p {
		m |= matrix.MaskOf(generated.ParamParallelToolCalls) // the default
	}
	if rf := s.Raw(generated.ParamResponseFormat); matrix.RawKind(rf) == '{' && plainText(rf) {
		m |= matrix.MaskOf(generated.ParamResponseFormat)
	}
	return m
}

// emptyArray reports whether raw is [] (with any white space).
func emptyArray(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) >= 2 && raw[0] == '[' && raw[len(raw)-1] == ']' && len(bytes.TrimSpace(raw[1:len(raw)-1])) == 0
}

// plainText reports whether a response_format object is {"type":"text"}.
// It decodes only when a client sent one, so the plain path allocates
// nothing for it.
func plainText(raw []byte) bool {
	var format map[string]json.RawMessage
	return json.Unmarshal(raw, &format) == nil && len(format) == 1 && string(format["type"]) == `"text"`
}

// resolveThinking reads reasoning, reasoning_effort and include_reasoning
// (validated by openai.DecodeChat) into the model's own thinking terms.
func (c *Call) resolveThinking() {
	req, t := c.Req, &c.Thinking
	effortName, effortParam := "", ""
	var r llm.Reasoning
	if req.ReasoningObject != nil {
		t.Requested = true
		r = *req.ReasoningObject
		if r.Effort != nil {
			effortName, effortParam = *r.Effort, "reasoning.effort"
		}
		t.Exclude = r.Exclude != nil && *r.Exclude
	}
	if req.ReasoningEffort != nil {
		t.Requested = true
		if effortName == "" {
			effortName, effortParam = *req.ReasoningEffort, "reasoning_effort"
		}
	}
	if req.IncludeReasoning != nil {
		t.Requested = true
		t.Exclude = t.Exclude || !*req.IncludeReasoning
	}
	if !t.Requested {
		return
	}
	// Reasoning is off unless asked for; asked for without a size, it is medium.
	t.Effort = matrix.EffortMedium
	if effortName != "" {
		var ok bool
		if t.Effort, ok = matrix.ParseEffort(effortName); !ok {
			// DecodeChat validated it against the spec's list, which the
			// generator requires to be matrix's: a drift is a bug, never a
			// silent "thinking off".
			panic("adapter: reasoning effort " + effortName + " passed validation but matrix does not know it; run make generate")
		}
	}
	if r.Enabled != nil && !*r.Enabled {
		t.Effort = matrix.EffortNone
	}
	if req.IncludeReasoning != nil && !*req.IncludeReasoning && effortName == "" && r.MaxTokens == nil && r.Enabled == nil {
		// include_reasoning: false alone asks for no reasoning at all.
		t.Requested = false
		return
	}
	spec := &c.Model.Thinking
	switch spec.Style {
	case matrix.ThinkingAnthropicBudget, matrix.ThinkingGeminiBudget:
		t.Budget = int64(spec.Budgets[t.Effort])
		if r.MaxTokens != nil && *r.MaxTokens > 0 && t.Effort != matrix.EffortNone {
			t.Budget = min(max(*r.MaxTokens, int64(spec.MinBudget)), int64(spec.MaxBudget))
			if t.Budget != *r.MaxTokens {
				c.adjust("reasoning.max_tokens", strconv.FormatInt(*r.MaxTokens, 10), strconv.FormatInt(t.Budget, 10))
			}
		}
		t.On = t.Budget > 0
	case matrix.ThinkingAnthropicAdaptive, matrix.ThinkingGeminiLevel:
		t.Level = spec.Levels[t.Effort]
		t.On = t.Level != ""
		c.noteEffort(effortParam, effortName)
		if t.Effort == matrix.EffortNone {
			// Gemini 3 cannot stop thinking, only think least; none still
			// means no reasoning shown.
			t.Exclude = true
		}
	}
}

func (c *Call) resolveMaxTokens() {
	m, s := c.Model, &c.Req.Superset
	clientCap, name := true, "max_tokens"
	switch {
	case c.Forward.Has(generated.ParamMaxTokens):
		c.MaxTokens = s.Int(generated.ParamMaxTokens)
	case c.Forward.Has(generated.ParamMaxCompletionTokens):
		c.MaxTokens, name = s.Int(generated.ParamMaxCompletionTokens), "max_completion_tokens"
	default:
		c.MaxTokens, clientCap = int64(m.DefaultMaxTokens), false
	}
	if c.MaxTokens > 0 {
		if cl := m.Clamps[generated.ParamMaxTokens]; cl.Set {
			asked := c.MaxTokens
			c.MaxTokens = int64(cl.Apply(float64(c.MaxTokens)))
			if clientCap && c.MaxTokens != asked {
				c.adjust(name, strconv.FormatInt(asked, 10), strconv.FormatInt(c.MaxTokens, 10))
			}
		}
	}
	// Anthropic counts thinking inside max_tokens and needs a budget of at
	// least its minimum, below max_tokens.
	t := &c.Thinking
	if m.Thinking.Style != matrix.ThinkingAnthropicBudget || !t.On {
		return
	}
	if clientCap {
		// The client's max_tokens is a cap: a budget that does not fit below
		// it is cut to half of it (at least the minimum), and thinking is
		// dropped when even the minimum would not fit.
		minimum := int64(m.Thinking.MinBudget)
		switch {
		case c.MaxTokens <= minimum:
			c.dropThinking()
		case t.Budget >= c.MaxTokens:
			c.cutBudget(max(minimum, c.MaxTokens/2))
		}
		return
	}
	// The model's default: grow max_tokens by the budget so the visible
	// answer keeps its room, within the model's limit.
	if t.Budget >= c.MaxTokens {
		c.MaxTokens = min(c.MaxTokens+t.Budget, int64(m.MaxOutputTokens))
		if t.Budget >= c.MaxTokens {
			c.cutBudget(c.MaxTokens - 1)
		}
	}
}

// cutBudget cuts the thinking budget to fit below max_tokens, and reports
// it as a rewrite of reasoning.max_tokens (the budget), whether the client
// gave the budget or an effort that stood for it. A budget the client gave
// and the spec already moved is reported once, from what it sent.
func (c *Call) cutBudget(to int64) {
	from := c.Thinking.Budget
	c.Thinking.Budget = to
	for i := range c.Adjusted {
		if a := &c.Adjusted[i]; a.Param == "reasoning.max_tokens" {
			a.To = strconv.FormatInt(to, 10)
			return
		}
	}
	c.adjust("reasoning.max_tokens", strconv.FormatInt(from, 10), strconv.FormatInt(to, 10))
}

// ForwardedBetas appends, comma-separated, the client's anthropic-beta
// values that the attempt's supplier takes.
func (c *Call) ForwardedBetas(dst []byte) []byte {
	for _, b := range c.Req.Betas {
		if slices.Contains(c.Betas, b) {
			if len(dst) > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, b...)
		}
	}
	return dst
}

// upstreamID is the model's id at the attempt's supplier.
func (c *Call) upstreamID() string {
	if c.UpstreamID != "" {
		return c.UpstreamID
	}
	return c.Model.UpstreamID
}
