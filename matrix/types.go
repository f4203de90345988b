package matrix

// ValueType is the JSON shape a parameter of the superset accepts.
type ValueType uint8

// The JSON shapes of spec/params.toml's "type" key. The generator writes the
// constant's name, and guards the numbering, so renumbering these breaks the
// build of the generated package until it is regenerated.
const (
	TypeNumber         ValueType = iota + 1 // a JSON number, float range
	TypeInteger                             // a JSON number without fraction, integer range
	TypeBoolean                             // true or false
	TypeString                              // any string
	TypeEnum                                // one of a fixed list of strings
	TypeObject                              // a JSON object, checked by its consumer
	TypeArray                               // a JSON array, checked by its consumer
	TypeStringOrArray                       // a string or an array of strings (stop)
	TypeStringOrObject                      // a string or an object (tool_choice)
)

// Policy says what the gateway does when a model's upstream does not support
// a parameter the client sent.
type Policy uint8

const (
	// PolicyDrop silently leaves the parameter out of the upstream request
	// and reports it in X-OpenToken-Dropped-Params. Sampling parameters are
	// dropped: they change how an answer is sampled, not what it is.
	PolicyDrop Policy = iota + 1
	// PolicyReject answers 400 unsupported_parameter. Parameters that change
	// what the answer is (tools, response_format, …) are never dropped.
	PolicyReject
	// PolicyControl marks a parameter that steers the gateway itself (stream,
	// reasoning) rather than being forwarded under a name; its model support
	// is decided by the model's capabilities, not by a rename.
	PolicyControl
)

// ParamSpec describes one parameter of the accepted superset: its wire name,
// JSON shape and the range OpenAI or OpenRouter define for it.
type ParamSpec struct {
	Name     string
	Type     ValueType
	Policy   Policy
	Min, Max float64  // inclusive range of a number or integer; ±Inf when open
	Enum     []string // the allowed strings of a TypeEnum
	MaxItems int      // the longest array a TypeStringOrArray or TypeArray takes; 0 for no limit
	AliasOf  string   // the canonical parameter this one is another name for, if any
	// Gated parameters are taken only by models with the capability
	// Requires; the adapters of those models honour them themselves.
	Requires Capability
	Gated    bool
}

// Provider names the upstream API family a model is served by.
type Provider uint8

const (
	ProviderAnthropic Provider = iota + 1 // Anthropic Messages API
	ProviderGoogle                        // Google Gemini API
)

// String returns the provider prefix of model ids, as in "anthropic/…".
func (p Provider) String() string {
	switch p {
	case ProviderAnthropic:
		return "anthropic"
	case ProviderGoogle:
		return "google"
	}
	return "unknown"
}

// SupplierKind is an upstream API that serves models: a provider's own,
// or a cloud's that serves several providers' models.
type SupplierKind uint8

const (
	SupplierAnthropic SupplierKind = iota + 1 // api.anthropic.com, Anthropic's models
	SupplierGemini                            // the Gemini API with a key, Google's models
	SupplierVertex                            // Vertex AI in one location, Google's and Anthropic's models
)

// String is the supplier kind's name, as configured and reported.
func (k SupplierKind) String() string {
	switch k {
	case SupplierAnthropic:
		return "anthropic"
	case SupplierGemini:
		return "gemini"
	case SupplierVertex:
		return "vertex"
	}
	return "unknown"
}

// GenAIProvider is the supplier kind's gen_ai.provider.name in the
// OpenTelemetry GenAI semantic conventions.
func (k SupplierKind) GenAIProvider() string {
	switch k {
	case SupplierAnthropic:
		return "anthropic"
	case SupplierGemini:
		return "gcp.gemini"
	case SupplierVertex:
		return "gcp.vertex_ai"
	}
	return k.String()
}

// Supply is how one kind of supplier serves a model: under which upstream
// id, and for Vertex in which locations.
type Supply struct {
	Kind       SupplierKind
	UpstreamID string
	// Locations are the Vertex locations that serve the model ("global",
	// "us-central1", …); "*" is every location. Empty for other kinds.
	Locations []string
	// Flex: the supplier serves the model in the flex lane at its global
	// location (Vertex's X-Vertex-AI-LLM-Shared-Request-Type: flex), at
	// the model's Pricing.Flex.
	Flex bool
	// MaxBatch is the most inputs one embeddings call of this supplier
	// takes, 0 for the model's own (Embedding.MaxBatch).
	MaxBatch int
	// Betas are the anthropic-beta values this supplier accepts for the
	// model; a client's others are dropped and reported.
	Betas []string
}

// Serves reports whether the supply serves the model at a Vertex location
// (any location for a supplier kind without locations).
func (s *Supply) Serves(location string) bool {
	if s.Kind != SupplierVertex {
		return true
	}
	for _, l := range s.Locations {
		if l == "*" || l == location {
			return true
		}
	}
	return false
}

// Kind says which endpoint a model serves.
type Kind uint8

const (
	KindChat      Kind = iota + 1 // POST /v1/chat/completions
	KindEmbedding                 // POST /v1/embeddings
)

// ThinkingStyle is how a model's upstream takes a request for extended
// thinking.
type ThinkingStyle uint8

const (
	// ThinkingNone: the model has no thinking control.
	ThinkingNone ThinkingStyle = iota
	// ThinkingAnthropicBudget: thinking {type: enabled, budget_tokens: N},
	// with 1024 <= N < max_tokens.
	ThinkingAnthropicBudget
	// ThinkingAnthropicAdaptive: thinking {type: adaptive} plus
	// output_config.effort.
	ThinkingAnthropicAdaptive
	// ThinkingGeminiBudget: generationConfig.thinkingConfig.thinkingBudget,
	// clamped to the model's range (Gemini 2.5).
	ThinkingGeminiBudget
	// ThinkingGeminiLevel: generationConfig.thinkingConfig.thinkingLevel,
	// one of the levels the model allows (Gemini 3).
	ThinkingGeminiLevel
)

// Effort is the OpenAI/OpenRouter reasoning effort a client asks for.
type Effort uint8

const (
	EffortNone Effort = iota
	EffortMinimal
	EffortLow
	EffortMedium
	EffortHigh
	EffortXHigh
	EffortMax
	NumEfforts = iota
)

// EffortNames are the wire spellings of the efforts, indexed by Effort.
var EffortNames = [NumEfforts]string{"none", "minimal", "low", "medium", "high", "xhigh", "max"}

// ParseEffort maps a wire spelling to its Effort; ok is false for an unknown one.
func ParseEffort(s string) (e Effort, ok bool) {
	for i, n := range EffortNames {
		if n == s {
			return Effort(i), true
		}
	}
	return 0, false
}

// Thinking is a model's thinking control, compiled from its [thinking] table.
type Thinking struct {
	Style ThinkingStyle
	// Drops is the set of parameters removed when thinking is on; the
	// model's filter applies it, it is kept here for documentation and tests.
	Drops Mask
	// Budgets maps each effort to a token budget (budget styles); 0 means
	// thinking stays off for that effort.
	Budgets [NumEfforts]int
	// MinBudget and MaxBudget bound an explicit reasoning.max_tokens.
	MinBudget, MaxBudget int
	// Levels maps each effort to the upstream's name for it (level and
	// adaptive styles); "" means thinking stays off for that effort.
	Levels [NumEfforts]string
}

// Clamp narrows a numeric parameter to an upstream's range.
type Clamp struct {
	Min, Max float64
	Set      bool // false when the superset range already fits the upstream
}

// Apply returns v moved into [c.Min, c.Max] when the clamp is set.
func (c Clamp) Apply(v float64) float64 {
	if !c.Set {
		return v
	}
	return min(max(v, c.Min), c.Max)
}

// Price is a USD price per 1M tokens that may be absent (JSON null).
type Price struct {
	USD   float64
	Valid bool
}

// Pricing is a model's prices per 1M tokens. CacheWrite is the rate of a
// 5-minute (or the upstream's only) cache write, CacheWrite1h that of a
// 1-hour one.
type Pricing struct {
	Input, Output                       float64
	CacheRead, CacheWrite, CacheWrite1h Price
	// Flex is the flex lane's prices (Vertex AI's global endpoint, for
	// Google's models), nil where the model has no flex lane.
	Flex *Pricing
}

// Model is one registered model: everything the hot path needs to route,
// filter and translate a request, compiled from spec/models/<id>.toml.
type Model struct {
	ID   string // the client-facing "{provider}/{model}" id
	Name string // its display name, "Claude Sonnet 4.6"
	// Aliases are the upstream's own ids for the model (bare, dated), by
	// which a client of that upstream's dialect names it.
	Aliases    []string
	Index      int // its position in the registry (generated.Models), for per-model tables
	Provider   Provider
	Kind       Kind
	UpstreamID string // the id sent to the upstream API

	Filter Filter
	// Supported is every parameter the model forwards or honours, before
	// the exclusivity and thinking rules.
	Supported Mask
	// Rename gives, per Param, the upstream's name for a forwarded
	// parameter; "" for one that is not forwarded under a name.
	Rename []string
	// Clamps gives, per Param, the upstream's narrower numeric range.
	Clamps []Clamp
	// MaxStop is the most stop sequences the upstream takes; 0 for no limit.
	MaxStop int
	// StopNeedsText: the upstream rejects a stop sequence that is empty or
	// only white space (Anthropic's "each stop sequence must contain
	// non-whitespace"), so such entries are left out.
	StopNeedsText bool

	ContextLength    int
	MaxOutputTokens  int
	DefaultMaxTokens int // sent when the client gives no max_tokens

	Thinking Thinking
	Pricing  Pricing

	// Caps are the features the model serves beyond sampling.
	Caps Caps
	// Inputs are the modalities the model reads; FetchesURLs those its
	// upstream fetches by URL itself (the gateway fetches the others').
	Inputs, FetchesURLs Modalities
	ToolLoop            ToolLoop
	// Embedding is an embedding model's facts; nil for a chat model.
	Embedding *Embedding
	// Cache is how the model's upstream caches a prompt prefix.
	Cache Cache
	// Retired is set for a model its upstream no longer serves: the
	// gateway refuses it, naming the replacement, and lists it nowhere.
	Retired *Retired
	// Supplies are the supplier kinds that serve the model, the
	// provider's own API first.
	Supplies []Supply
}

// ServedBy returns the model's id at a supplier of kind at a Vertex
// location ("" for other kinds), and whether that supplier serves it.
func (m *Model) ServedBy(kind SupplierKind, location string) (string, bool) {
	if s := m.Supply(kind); s != nil && s.Serves(location) {
		return s.UpstreamID, true
	}
	return "", false
}

// Supply returns how a supplier kind serves the model, nil when it does
// not.
func (m *Model) Supply(kind SupplierKind) *Supply {
	for i := range m.Supplies {
		if m.Supplies[i].Kind == kind {
			return &m.Supplies[i]
		}
	}
	return nil
}

// Retired is when a model's upstream stopped serving it, and the
// registered model that replaces it.
type Retired struct {
	On          string // YYYY-MM-DD
	Replacement string // a model id
}

// CacheStyle is how an upstream caches a prompt prefix.
type CacheStyle uint8

const (
	// CacheNone: no prompt caching.
	CacheNone CacheStyle = iota
	// CacheAnthropicBreakpoints: cache_control breakpoints on blocks,
	// forwarded; the upstream caches the prefix up to each.
	CacheAnthropicBreakpoints
	// CacheGeminiExplicit: the gateway stores the prefix up to the last
	// breakpoint as a cachedContents entry and sends only the rest.
	CacheGeminiExplicit
)

// Cache is a model's prompt caching, compiled from its [cache] table.
type Cache struct {
	Style CacheStyle
	// MaxBreakpoints is the most breakpoints a request may carry.
	MaxBreakpoints int
	// MinTokens is the smallest prefix the upstream caches.
	MinTokens int
}

// Embedding is what an embedding model's upstream takes and gives,
// compiled from its [embedding] table.
type Embedding struct {
	// Dimensions is the vectors' default size; a client's dimensions may
	// be from MinDimensions up to it (the vector is cut at the end).
	Dimensions, MinDimensions int
	// NormalizeTruncated: a vector cut below Dimensions is scaled back to
	// unit length, which the upstream does only for its full size.
	NormalizeTruncated bool
	// TaskTypes are the task_type values the model takes.
	TaskTypes []string
	// MaxInputTokens bounds each input; MaxBatch the inputs of one
	// upstream call.
	MaxInputTokens, MaxBatch int
}

// Strings is a JSON value that is either one string or an array of strings,
// as OpenAI's stop parameter is. It decodes both into a slice.
type Strings []string

// InEnum reports whether v is one of enum.
func InEnum(v string, enum []string) bool {
	for _, e := range enum {
		if e == v {
			return true
		}
	}
	return false
}

// Capability is a feature a model's upstream serves beyond sampling:
// parameters that require one (spec/params.toml's requires) are honoured
// only by models that list it.
type Capability uint8

// The capabilities of spec/models/*.toml's capabilities list.
const (
	// CapTools: function tools, tool_choice, tool calls and results.
	CapTools Capability = iota
	// CapParallelToolCalls: parallel_tool_calls: false is honoured (the
	// upstream can be told to make at most one call).
	CapParallelToolCalls
	// CapStrictTools: a function's strict: true is forwarded as
	// constrained decoding of its arguments.
	CapStrictTools
	// CapStructuredOutputs: response_format json_schema and json_object.
	CapStructuredOutputs
	// CapStructuredOutputsWithTools: a JSON response format and tools in
	// one request.
	CapStructuredOutputsWithTools
	// CapVision: image parts in user messages.
	CapVision
	NumCapabilities = iota
)

// CapabilityNames are the spec spellings of the capabilities, indexed by
// Capability; /v1/models lists them by OpenRouter's names where it has one.
var CapabilityNames = [NumCapabilities]string{"tools", "parallel_tool_calls", "strict_tools", "structured_outputs",
	"structured_outputs_with_tools", "vision"}

// Caps is a set of capabilities.
type Caps uint8

// Has reports whether c holds capability x.
func (c Caps) Has(x Capability) bool { return c&(1<<x) != 0 }

// Modality is a kind of input a model reads.
type Modality uint8

const (
	ModText Modality = iota
	ModImage
	ModPDF
	ModAudio
	NumModalities = iota
)

// ModalityNames are the spec spellings of the modalities (OpenRouter's
// input_modalities use the same, "file" aside), indexed by Modality.
var ModalityNames = [NumModalities]string{"text", "image", "pdf", "audio"}

// Modalities is a set of modalities.
type Modalities uint8

// Has reports whether m holds x.
func (m Modalities) Has(x Modality) bool { return m&(1<<x) != 0 }

// Replay is what a model's upstream needs back, in a tool loop's history,
// of the reasoning that led to a tool call. OpenAI clients drop it; the
// gateway returns it in fields they can echo (reasoning_details,
// extra_content) and puts it back.
type Replay uint8

const (
	// ReplayNone: nothing is needed back.
	ReplayNone Replay = iota
	// ReplayThinkingBlocks: the signed thinking and redacted_thinking
	// blocks, unmodified, before the tool_use blocks (Claude).
	ReplayThinkingBlocks
	// ReplayThoughtSignature: the thoughtSignature of each step's first
	// functionCall part (Gemini).
	ReplayThoughtSignature
)

// Unsigned is what the gateway does with a tool loop whose history lacks
// what the model needs back.
type Unsigned uint8

const (
	// UnsignedAccept: the upstream takes the history as it is.
	UnsignedAccept Unsigned = iota
	// UnsignedDropThinking: thinking is turned off for the request, and
	// the reasoning the client asked for is reported as dropped.
	UnsignedDropThinking
	// UnsignedPlaceholder: the upstream's documented placeholder signature
	// stands in for the missing one.
	UnsignedPlaceholder
)

// ToolLoop are a model's rules for reasoning across a tool loop, compiled
// from its [tool_loop] table.
type ToolLoop struct {
	Replay   Replay
	Unsigned Unsigned
	// Placeholder is the signature sent for a missing one (UnsignedPlaceholder).
	Placeholder string
	// ForcedChoiceDropsThinking: the upstream refuses a forced tool choice
	// (required, a named function) with thinking on; the choice wins and
	// thinking is dropped and reported.
	ForcedChoiceDropsThinking bool
}
