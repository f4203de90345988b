package gen

import (
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opentoken/opentoken/matrix"
)

// The second stage: a validated intermediate model with everything the
// emitters need precomputed (bit numbers, identifiers, sorted tables), so
// that emitting is a straight walk with no decisions about the spec left.

// maxParams is the width of matrix.Mask.
const maxParams = 64

// efforts are the reasoning efforts in matrix.Effort order: matrix's own
// list, the one source. The spec's reasoning_effort enum must repeat it
// exactly, and the generated code guards the numbering at compile time.
var efforts = matrix.EffortNames[:]

// capabilities are matrix's capability names, the one source: a model's
// capabilities list and a parameter's requires use them.
var capabilities = matrix.CapabilityNames[:]

// Matrix names of the spec's enumerations: the spec spelling maps to the
// identifier of the constant in package matrix.
var (
	typeConsts = map[string]string{
		"number": "TypeNumber", "integer": "TypeInteger", "boolean": "TypeBoolean",
		"string": "TypeString", "enum": "TypeEnum", "object": "TypeObject", "array": "TypeArray",
		"string_or_array": "TypeStringOrArray", "string_or_object": "TypeStringOrObject",
	}
	policyConsts = map[string]string{
		"drop": "PolicyDrop", "reject": "PolicyReject", "control": "PolicyControl", "core": "",
	}
	providerConsts = map[string]string{"anthropic": "ProviderAnthropic", "google": "ProviderGoogle"}
	kindConsts     = map[string]string{"chat": "KindChat", "embedding": "KindEmbedding"}
	supplierConsts = map[string]string{"anthropic": "SupplierAnthropic", "gemini": "SupplierGemini", "vertex": "SupplierVertex"}
	// ownSupplier is each provider's own API, which serves its models
	// unless a model's [[supplier]] tables say otherwise.
	ownSupplier = map[string]string{"anthropic": "anthropic", "google": "gemini"}
	locationRE  = regexp.MustCompile(`^(global|\*|[a-z]+-[a-z]+[0-9]+)$`)
	// thinkingStyles gives, per style, its constant and the provider it belongs to.
	replayConsts = map[string]struct{ constant, provider string }{
		"none": {"ReplayNone", ""}, "thinking_blocks": {"ReplayThinkingBlocks", "anthropic"},
		"thought_signature": {"ReplayThoughtSignature", "google"},
	}
	cacheStyles = map[string]struct{ constant, provider string }{
		"anthropic_breakpoints": {"CacheAnthropicBreakpoints", "anthropic"},
		"gemini_explicit":       {"CacheGeminiExplicit", "google"},
	}
	unsignedConsts = map[string]string{"accept": "UnsignedAccept", "drop_thinking": "UnsignedDropThinking", "placeholder": "UnsignedPlaceholder"}
	thinkingStyles = map[string]struct{ constant, provider string }{
		"none":               {"ThinkingNone", ""},
		"anthropic_budget":   {"ThinkingAnthropicBudget", "anthropic"},
		"anthropic_adaptive": {"ThinkingAnthropicAdaptive", "anthropic"},
		"gemini_budget":      {"ThinkingGeminiBudget", "google"},
		"gemini_level":       {"ThinkingGeminiLevel", "google"},
	}
)

type matrixIR struct {
	paramsFile string
	params     []*paramInfo // the numbered parameters, in bit order
	core       []*paramInfo // model and messages: validated by hand-written code
	byName     map[string]*paramInfo
	models     []*modelInfo // sorted by id
}

type paramInfo struct {
	name     string
	ident    string // Go name: "TopP"
	bit      int    // -1 for core fields
	typ      string // spec type
	policy   string
	min, max float64 // ±Inf when open
	enum     []string
	maxItems int
	aliasOf  *paramInfo
	thinking bool   // honoured only by models with a thinking style
	requires string // a capability the model must list to take it; "" for none
}

func (p *paramInfo) numeric() bool { return p.typ == "number" || p.typ == "integer" }

type modelInfo struct {
	file       string
	id         string
	name       string   // display name
	aliases    []string // the upstream's own ids for the model
	ident      string   // Go name: "AnthropicClaudeHaiku45"
	index      int      // position in the registry, which lists models sorted by id
	goFile     string   // generated file name
	provider   string
	kind       string
	upstreamID string

	supported []*paramInfo // sorted by bit
	rename    map[*paramInfo]string
	clamps    map[*paramInfo][2]float64
	exclusive [][2]*paramInfo // winner, loser
	maxStop   int
	stopText  bool // stop sequences must hold non-whitespace text

	contextLength, maxOutput, defaultMax int

	thinkingStyle        string
	drops                []*paramInfo
	budgets              []int    // per effort, budget styles
	levels               []string // per effort, level styles
	minBudget, maxBudget int

	input, output                       float64
	cacheRead, cacheWrite, cacheWrite1h *float64
	flex                                *PricingDecl // the flex lane's prices

	caps     []string // capability names, in matrix.CapabilityNames order
	inputs   []string // input modality names, in matrix.ModalityNames order
	fetches  []string // the modalities the upstream fetches by URL
	toolLoop toolLoopInfo
	embed    *EmbeddingDecl // embedding models only
	cache    *CacheDecl     // chat models that cache
	retired  *RetiredDecl   // a model its upstream no longer serves
	supplies []SupplierDecl // the provider's own API first
}

type toolLoopInfo struct {
	replay, unsigned, placeholder string
	forcedChoiceDropsThinking     bool
}

var (
	paramNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	// aliasRE is an upstream's own model id: no provider prefix.
	aliasRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*$`)
	// betaRE is an anthropic-beta value such as interleaved-thinking-2025-05-14.
	betaRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	// upstreamNameRE is a forwarded parameter's upstream name: a field,
	// or one member of an object (metadata.user_id).
	upstreamNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)
	modelIDRE      = regexp.MustCompile(`^[a-z][a-z0-9]*/[a-z0-9][a-z0-9.-]*$`)
)

// build validates the specs and lowers them to the intermediate model. It
// reports every problem it finds, each naming its file and key.
func build(s *Specs) (*matrixIR, error) {
	var errs errorList
	ir := &matrixIR{paramsFile: s.Params.Path, byName: map[string]*paramInfo{}}
	buildParams(ir, s.Params, &errs)
	if len(errs) > 0 {
		return nil, errs.err()
	}
	seenID := map[string]string{}
	seenIdent := map[string]string{}
	for _, mf := range s.Models {
		m := buildModel(ir, mf, &errs)
		if m == nil {
			continue
		}
		if prev, dup := seenID[m.id]; dup {
			errs.addf(mf.Path, "id", "duplicate model id %q, also in %s", m.id, prev)
			continue
		}
		if prev, dup := seenIdent[m.ident]; dup {
			errs.addf(mf.Path, "id", "model id %q maps to Go name %s, as %s does", m.id, m.ident, prev)
			continue
		}
		seenID[m.id], seenIdent[m.ident] = mf.Path, m.id
		ir.models = append(ir.models, m)
	}
	if len(errs) > 0 {
		return nil, errs.err()
	}
	sort.Slice(ir.models, func(i, j int) bool { return ir.models[i].id < ir.models[j].id })
	for i, m := range ir.models {
		m.index = i
	}
	checkReplacements(ir, &errs)
	checkAliases(ir, &errs)
	if len(errs) > 0 {
		return nil, errs.err()
	}
	return ir, nil
}

// checkReplacements checks each retired model's replacement: a registered
// model of the same provider and kind that is not retired itself.
func checkReplacements(ir *matrixIR, errs *errorList) {
	byID := map[string]*modelInfo{}
	for _, m := range ir.models {
		byID[m.id] = m
	}
	for _, m := range ir.models {
		if m.retired == nil {
			continue
		}
		r := byID[m.retired.Replacement]
		switch {
		case r == nil:
			errs.addf(m.file, "retired.replacement", "%q is not a registered model", m.retired.Replacement)
		case r.retired != nil:
			errs.addf(m.file, "retired.replacement", "%q is retired too", r.id)
		case r.provider != m.provider || r.kind != m.kind:
			errs.addf(m.file, "retired.replacement", "%q is not a %s %s model", r.id, m.provider, m.kind)
		}
	}
}

// checkAliases checks that an alias names one model only, and that no
// alias is a registered model's id: a lookup must find one model.
func checkAliases(ir *matrixIR, errs *errorList) {
	owner := map[string]string{}
	for _, m := range ir.models {
		owner[m.id] = m.id
	}
	for _, m := range ir.models {
		for _, a := range m.aliases {
			if prev, ok := owner[a]; ok {
				errs.addf(m.file, "aliases", "%q already names %s", a, prev)
				continue
			}
			owner[a] = m.id
		}
	}
}

func buildParams(ir *matrixIR, pf ParamsFile, errs *errorList) {
	file := pf.Path
	for i, d := range pf.Param {
		key := "param[" + itoa(i) + "]"
		if !paramNameRE.MatchString(d.Name) {
			errs.addf(file, key+".name", "%q is not a snake_case parameter name", d.Name)
			continue
		}
		key = "param." + d.Name
		if ir.byName[d.Name] != nil {
			errs.addf(file, key, "duplicate parameter")
			continue
		}
		p := &paramInfo{name: d.Name, ident: goName(d.Name), bit: -1, typ: d.Type, policy: d.Policy,
			min: math.Inf(-1), max: math.Inf(1), enum: d.Enum, maxItems: d.MaxItems}
		if _, ok := typeConsts[d.Type]; !ok {
			errs.addf(file, key+".type", "unknown type %q", d.Type)
		}
		if _, ok := policyConsts[d.Policy]; !ok {
			errs.addf(file, key+".policy", "unknown policy %q", d.Policy)
		}
		if (d.Min != nil || d.Max != nil) && !p.numeric() {
			errs.addf(file, key, "min and max apply only to number and integer parameters")
		}
		if d.Min != nil {
			p.min = *d.Min
		}
		if d.Max != nil {
			p.max = *d.Max
		}
		if p.min > p.max {
			errs.addf(file, key+".max", "max %v < min %v", p.max, p.min)
		}
		if d.Type == "integer" && (p.min != math.Trunc(p.min) || p.max != math.Trunc(p.max)) {
			errs.addf(file, key, "an integer parameter needs whole-number bounds")
		}
		if (d.Type == "enum") != (len(d.Enum) > 0) {
			errs.addf(file, key+".enum", "enum values are required for, and only for, type enum")
		}
		if hasDuplicate(d.Enum) {
			errs.addf(file, key+".enum", "duplicate enum value")
		}
		if d.Name == "reasoning_effort" && !slices.Equal(d.Enum, efforts) {
			errs.addf(file, key+".enum", "must list matrix.EffortNames, in order: %s", strings.Join(efforts, ", "))
		}
		if d.MaxItems < 0 || d.MaxItems > 0 && d.Type != "array" && d.Type != "string_or_array" {
			errs.addf(file, key+".max_items", "max_items must be positive and applies only to arrays")
		}
		switch {
		case d.Requires == "":
		case d.Requires == "thinking":
			p.thinking = true
			if d.Policy != "control" {
				errs.addf(file, key+".requires", "only a control parameter can require thinking")
			}
		case slices.Contains(capabilities, d.Requires):
			p.requires = d.Requires
			if d.Policy != "drop" && d.Policy != "reject" {
				errs.addf(file, key+".requires", "a capability decides support for a drop or reject parameter, which models without it drop or refuse")
			}
		default:
			errs.addf(file, key+".requires", "unknown requirement %q: thinking or a capability (%s)", d.Requires, strings.Join(capabilities, ", "))
		}
		if d.AliasOf != "" {
			p.aliasOf = ir.byName[d.AliasOf]
			switch {
			case p.aliasOf == nil:
				errs.addf(file, key+".alias_of", "%q is not a parameter listed earlier", d.AliasOf)
			case p.aliasOf.aliasOf != nil || p.aliasOf.bit < 0:
				errs.addf(file, key+".alias_of", "%q is itself an alias or a core field", d.AliasOf)
			case p.aliasOf.typ != p.typ || p.aliasOf.policy != p.policy:
				errs.addf(file, key+".alias_of", "an alias must have the type and policy of %q", d.AliasOf)
			}
		}
		ir.byName[d.Name] = p
		if d.Policy == "core" {
			ir.core = append(ir.core, p)
			continue
		}
		p.bit = len(ir.params)
		ir.params = append(ir.params, p)
	}
	if len(ir.params) > maxParams {
		errs.addf(file, "param", "%d numbered parameters do not fit a %d-bit mask", len(ir.params), maxParams)
	}
}

func buildModel(ir *matrixIR, mf ModelFile, errs *errorList) *modelInfo {
	d, file := mf.Model, mf.Path
	n := len(*errs)
	if !modelIDRE.MatchString(d.ID) {
		errs.addf(file, "id", "%q is not a {provider}/{model} id", d.ID)
		return nil
	}
	if want := "models/" + d.ID + ".toml"; !strings.HasSuffix(file, want) {
		errs.addf(file, "id", "model %q belongs in %s", d.ID, want)
	}
	provider, _, _ := strings.Cut(d.ID, "/")
	m := &modelInfo{
		file: file, id: d.ID, name: d.Name, aliases: d.Aliases, ident: goName(d.ID), provider: d.Provider, kind: d.Kind,
		goFile:     strings.ReplaceAll(strings.ReplaceAll(d.ID, "/", "_"), ".", "_") + ".gen.go",
		upstreamID: d.UpstreamID, rename: map[*paramInfo]string{}, clamps: map[*paramInfo][2]float64{},
		maxStop: d.MaxStop, stopText: d.StopNeedsText, contextLength: d.ContextLength, maxOutput: d.MaxOutputTokens,
		defaultMax: d.DefaultMaxTokens, thinkingStyle: "none",
	}
	if m.kind == "" {
		m.kind = "chat"
	}
	if _, ok := providerConsts[d.Provider]; !ok {
		errs.addf(file, "provider", "unknown provider %q", d.Provider)
	} else if d.Provider != provider {
		errs.addf(file, "provider", "%q does not match the id's prefix %q", d.Provider, provider)
	}
	if _, ok := kindConsts[m.kind]; !ok {
		errs.addf(file, "kind", "unknown kind %q", d.Kind)
	}
	if d.UpstreamID == "" {
		errs.addf(file, "upstream_id", "required")
	}
	if strings.TrimSpace(d.Name) == "" {
		m.name = d.ID // no display name: the id
	}
	for _, a := range d.Aliases {
		if !aliasRE.MatchString(a) {
			errs.addf(file, "aliases", "%q is not a bare model id such as claude-sonnet-4-6", a)
		}
	}
	if d.ContextLength <= 0 {
		errs.addf(file, "context_length", "must be positive")
	}
	if m.kind == "chat" && (d.MaxOutputTokens <= 0 || d.MaxOutputTokens > d.ContextLength) {
		errs.addf(file, "max_output_tokens", "must be positive and at most context_length")
	}
	if d.DefaultMaxTokens < 0 || d.DefaultMaxTokens > d.MaxOutputTokens {
		errs.addf(file, "default_max_tokens", "must be between 0 (send none) and max_output_tokens")
	}
	buildPricing(m, d.Pricing, file, errs)
	buildForward(ir, m, d, file, errs)
	buildThinking(ir, m, d.Thinking, file, errs)
	buildCapabilities(m, d, file, errs)
	buildModalities(m, d, file, errs)
	buildEmbedding(m, d.Embedding, file, errs)
	buildCache(m, d.Cache, file, errs)
	buildSupplies(m, d, file, errs)
	if r := d.Retired; r != nil {
		m.retired = r
		if _, err := time.Parse(time.DateOnly, r.On); err != nil {
			errs.addf(file, "retired.on", "%q is not a YYYY-MM-DD date", r.On)
		}
	}
	if m.kind == "embedding" && (len(d.Forward) > 0 || d.Thinking != nil) {
		errs.addf(file, "forward", "an embedding model forwards no chat parameters and has no thinking")
	}
	if len(*errs) > n {
		return nil
	}
	return m
}

func buildPricing(m *modelInfo, p PricingDecl, file string, errs *errorList) {
	if p.Input == nil || p.Output == nil {
		errs.addf(file, "pricing", "input and output prices are required")
		return
	}
	m.input, m.output, m.cacheRead, m.cacheWrite, m.cacheWrite1h = *p.Input, *p.Output, p.CacheRead, p.CacheWrite, p.CacheWrite1h
	if f := p.Flex; f != nil {
		if f.Input == nil || f.Output == nil || f.Flex != nil {
			errs.addf(file, "pricing.flex", "input and output prices are required, and no flex of its own")
		} else {
			m.flex = f
		}
	}
	prices := []struct {
		key string
		v   *float64
	}{{"input", p.Input}, {"output", p.Output}, {"cache_read", p.CacheRead}, {"cache_write", p.CacheWrite}, {"cache_write_1h", p.CacheWrite1h}}
	for _, pr := range prices {
		if pr.v != nil && (*pr.v < 0 || math.IsInf(*pr.v, 0) || math.IsNaN(*pr.v)) {
			errs.addf(file, "pricing."+pr.key, "must be a non-negative price")
		}
	}
}

func buildForward(ir *matrixIR, m *modelInfo, d ModelDecl, file string, errs *errorList) {
	supported := map[*paramInfo]bool{}
	for _, name := range sortedKeys(d.Forward) {
		p, key := ir.byName[name], "forward."+name
		switch {
		case p == nil:
			errs.addf(file, key, "unknown parameter")
			continue
		case p.bit < 0 || p.aliasOf != nil || p.policy == "control":
			errs.addf(file, key, "%s is not forwarded by name: core fields, aliases and control parameters follow from the rest", name)
			continue
		case d.Forward[name] == "":
			errs.addf(file, key, "the upstream name must not be empty")
			continue
		case !upstreamNameRE.MatchString(d.Forward[name]):
			errs.addf(file, key, "%q: an upstream name is a field, or one member of an object (parent.member)", d.Forward[name])
			continue
		}
		supported[p] = true
		m.rename[p] = d.Forward[name]
	}
	// A member of an object is written as the object: one member per
	// object, and no field of the object's own name.
	parents := map[string]string{}
	for _, name := range sortedKeys(d.Forward) {
		up := d.Forward[name]
		parent, _, nested := strings.Cut(up, ".")
		if !nested {
			continue
		}
		if other, ok := parents[parent]; ok {
			errs.addf(file, "forward."+name, "%q and %q are both members of %s; one member per object", other, up, parent)
		}
		parents[parent] = up
	}
	for _, name := range sortedKeys(d.Forward) {
		if up := d.Forward[name]; parents[up] != "" {
			errs.addf(file, "forward."+name, "%q is also the object of %q", up, parents[up])
		}
	}
	// Aliases are forwarded exactly when their parameter is; control
	// parameters are honoured by every chat model, the thinking ones only by
	// models that can think.
	canThink := d.Thinking != nil && d.Thinking.Style != "none"
	for _, p := range ir.params {
		switch {
		case p.aliasOf != nil && supported[p.aliasOf]:
			supported[p] = true
			m.rename[p] = m.rename[p.aliasOf]
		case p.policy == "control" && m.kind == "chat" && (!p.thinking || canThink):
			supported[p] = true
		case p.requires != "" && m.kind == "chat" && slices.Contains(d.Capabilities, p.requires):
			// Honoured by the adapter itself, as a control parameter is.
			supported[p] = true
		}
	}
	for _, p := range ir.params {
		if supported[p] {
			m.supported = append(m.supported, p)
		}
	}
	for _, name := range sortedKeys(d.Clamp) {
		p, key, r := ir.byName[name], "clamp."+name, d.Clamp[name]
		switch {
		case p == nil:
			errs.addf(file, key, "unknown parameter")
		case !supported[p] || p.aliasOf != nil:
			errs.addf(file, key, "clamps only a parameter listed in [forward]")
		case !p.numeric():
			errs.addf(file, key, "clamps only number and integer parameters")
		case len(r) != 2 || r[0] > r[1]:
			errs.addf(file, key, "want [min, max] with min <= max")
		case r[0] < p.min || r[1] > p.max:
			errs.addf(file, key, "[%v, %v] is outside the superset's range [%v, %v]", r[0], r[1], p.min, p.max)
		default:
			m.clamps[p] = [2]float64{r[0], r[1]}
		}
	}
	// max_tokens beyond the model's output limit is a 400 upstream; clamping
	// it is the only answer that never fails, so it is implied for every model.
	if mt := ir.byName["max_tokens"]; mt != nil && supported[mt] {
		if _, set := m.clamps[mt]; !set {
			m.clamps[mt] = [2]float64{1, float64(m.maxOutput)}
		}
	}
	for p, c := range m.clamps {
		for _, a := range ir.params {
			if a.aliasOf == p {
				m.clamps[a] = c
			}
		}
	}
	for i, pair := range d.Exclusive {
		key := "exclusive[" + itoa(i) + "]"
		if len(pair) != 2 || pair[0] == pair[1] {
			errs.addf(file, key, "want [winner, loser], two different parameters")
			continue
		}
		w, l := ir.byName[pair[0]], ir.byName[pair[1]]
		if w == nil || l == nil || !supported[w] || !supported[l] {
			errs.addf(file, key, "both parameters must be listed in [forward]")
			continue
		}
		m.exclusive = append(m.exclusive, [2]*paramInfo{w, l})
	}
	stop := ir.byName["stop"]
	if d.MaxStop < 0 || d.MaxStop > 0 && (stop == nil || !supported[stop]) {
		errs.addf(file, "max_stop", "applies only to a model that forwards stop, and must be positive")
	}
	if d.StopNeedsText && (stop == nil || !supported[stop]) {
		errs.addf(file, "stop_needs_text", "applies only to a model that forwards stop")
	}
}

func buildThinking(ir *matrixIR, m *modelInfo, t *ThinkingDecl, file string, errs *errorList) {
	if t == nil {
		return
	}
	style, ok := thinkingStyles[t.Style]
	switch {
	case !ok:
		errs.addf(file, "thinking.style", "unknown style %q", t.Style)
		return
	case style.provider != "" && style.provider != m.provider:
		errs.addf(file, "thinking.style", "%s is a style of %s models", t.Style, style.provider)
		return
	}
	m.thinkingStyle = t.Style
	for _, name := range t.Drops {
		p := ir.byName[name]
		if p == nil || p.bit < 0 {
			errs.addf(file, "thinking.drops", "unknown parameter %q", name)
			continue
		}
		m.drops = append(m.drops, p)
	}
	sort.Slice(m.drops, func(i, j int) bool { return m.drops[i].bit < m.drops[j].bit })
	for key := range t.Budgets {
		if !slices.Contains(efforts, key) {
			errs.addf(file, "thinking.budgets."+key, "unknown effort")
		}
	}
	for key := range t.Levels {
		if !slices.Contains(efforts, key) {
			errs.addf(file, "thinking.levels."+key, "unknown effort")
		}
	}
	switch t.Style {
	case "anthropic_budget", "gemini_budget":
		if t.MinBudget <= 0 || t.MaxBudget < t.MinBudget {
			errs.addf(file, "thinking", "min_budget and max_budget must be positive, min <= max")
		}
		if len(t.Levels) > 0 || len(t.Allowed) > 0 {
			errs.addf(file, "thinking", "a budget style takes budgets, not levels")
		}
		m.minBudget, m.maxBudget = t.MinBudget, t.MaxBudget
		for _, e := range efforts {
			b, ok := t.Budgets[e]
			if !ok || b != 0 && (b < t.MinBudget || b > t.MaxBudget) {
				errs.addf(file, "thinking.budgets."+e, "every effort needs a budget: 0 (off) or within [min_budget, max_budget]")
			}
			m.budgets = append(m.budgets, b)
		}
	case "anthropic_adaptive", "gemini_level":
		if len(t.Allowed) == 0 || hasDuplicate(t.Allowed) {
			errs.addf(file, "thinking.allowed", "list the upstream's levels, each once")
		}
		if len(t.Budgets) > 0 || t.MinBudget != 0 || t.MaxBudget != 0 {
			errs.addf(file, "thinking", "a level style takes levels, not budgets")
		}
		for _, e := range efforts {
			l, ok := t.Levels[e]
			if !ok || l != "" && !slices.Contains(t.Allowed, l) {
				errs.addf(file, "thinking.levels."+e, "every effort needs a level: \"\" (off) or one of allowed")
			}
			m.levels = append(m.levels, l)
		}
	}
}

// modalities are matrix.ModalityNames.
var modalities = []string{"text", "image", "pdf", "audio"}

// buildModalities checks a model's input modalities: known names, text
// among them (an embedding model reads only text), image exactly when it
// has the vision capability, and the URL-fetched ones among them.
func buildModalities(m *modelInfo, d ModelDecl, file string, errs *errorList) {
	if d.InputModalities == nil {
		d.InputModalities = []string{"text"} // a model that lists none reads text
	}
	for _, x := range append(slices.Clone(d.InputModalities), d.FetchesURLs...) {
		if !slices.Contains(modalities, x) {
			errs.addf(file, "input_modalities", "unknown modality %q: one of %s", x, strings.Join(modalities, ", "))
		}
	}
	switch {
	case !slices.Contains(d.InputModalities, "text"):
		errs.addf(file, "input_modalities", "text must be among them")
	case m.kind != "chat" && len(d.InputModalities) != 1:
		errs.addf(file, "input_modalities", "an embedding model reads text only")
	case slices.Contains(d.InputModalities, "image") != slices.Contains(d.Capabilities, "vision"):
		errs.addf(file, "input_modalities", "image goes with the vision capability, and only with it")
	}
	for _, x := range d.FetchesURLs {
		if x != "image" && x != "pdf" || !slices.Contains(d.InputModalities, x) {
			errs.addf(file, "fetches_urls", "%q is not a modality the model reads by URL (image or pdf, among its input_modalities)", x)
		}
	}
	for _, x := range modalities {
		if slices.Contains(d.InputModalities, x) {
			m.inputs = append(m.inputs, x)
		}
		if slices.Contains(d.FetchesURLs, x) {
			m.fetches = append(m.fetches, x)
		}
	}
}

func buildCapabilities(m *modelInfo, d ModelDecl, file string, errs *errorList) {
	for _, c := range d.Capabilities {
		if !slices.Contains(capabilities, c) {
			errs.addf(file, "capabilities", "unknown capability %q: one of %s", c, strings.Join(capabilities, ", "))
		}
	}
	if hasDuplicate(d.Capabilities) {
		errs.addf(file, "capabilities", "duplicate capability")
	}
	if m.kind != "chat" && len(d.Capabilities) > 0 {
		errs.addf(file, "capabilities", "an embedding model has no chat capabilities")
	}
	for _, c := range capabilities {
		if slices.Contains(d.Capabilities, c) {
			m.caps = append(m.caps, c)
		}
	}
	if !slices.Contains(d.Capabilities, "tools") {
		for _, c := range []string{"parallel_tool_calls", "strict_tools", "structured_outputs_with_tools"} {
			if slices.Contains(d.Capabilities, c) {
				errs.addf(file, "capabilities", "%s needs tools", c)
			}
		}
	}
	m.toolLoop = toolLoopInfo{replay: "none", unsigned: "accept"}
	t := d.ToolLoop
	if t == nil {
		return
	}
	if !slices.Contains(d.Capabilities, "tools") {
		errs.addf(file, "tool_loop", "a tool loop needs the tools capability")
	}
	if t.Replay != "" {
		m.toolLoop.replay = t.Replay
	}
	if t.Unsigned != "" {
		m.toolLoop.unsigned = t.Unsigned
	}
	m.toolLoop.placeholder, m.toolLoop.forcedChoiceDropsThinking = t.Placeholder, t.ForcedChoiceDropsThinking
	r, ok := replayConsts[m.toolLoop.replay]
	switch {
	case !ok:
		errs.addf(file, "tool_loop.replay", "unknown replay %q: none, thinking_blocks or thought_signature", t.Replay)
	case r.provider != "" && r.provider != m.provider:
		errs.addf(file, "tool_loop.replay", "%s is what %s models need back", t.Replay, r.provider)
	}
	if _, ok := unsignedConsts[m.toolLoop.unsigned]; !ok {
		errs.addf(file, "tool_loop.unsigned", "unknown policy %q: accept, drop_thinking or placeholder", t.Unsigned)
	}
	if (m.toolLoop.unsigned == "placeholder") != (t.Placeholder != "") {
		errs.addf(file, "tool_loop.placeholder", "a placeholder signature is required for, and only for, unsigned = \"placeholder\"")
	}
	if m.toolLoop.unsigned == "drop_thinking" && m.thinkingStyle == "none" {
		errs.addf(file, "tool_loop.unsigned", "drop_thinking needs a thinking style")
	}
	if t.ForcedChoiceDropsThinking && m.thinkingStyle == "none" {
		errs.addf(file, "tool_loop.forced_choice_drops_thinking", "applies only to a model that thinks")
	}
}

func buildCache(m *modelInfo, c *CacheDecl, file string, errs *errorList) {
	if c == nil {
		return
	}
	m.cache = c
	st, ok := cacheStyles[c.Style]
	switch {
	case m.kind != "chat":
		errs.addf(file, "cache", "only a chat model caches prompts")
	case !ok:
		errs.addf(file, "cache.style", "unknown style %q: anthropic_breakpoints or gemini_explicit", c.Style)
	case st.provider != m.provider:
		errs.addf(file, "cache.style", "%s is how %s models cache", c.Style, st.provider)
	case c.MaxBreakpoints <= 0 || c.MinTokens <= 0:
		errs.addf(file, "cache", "max_breakpoints and min_tokens must be positive")
	}
}

func buildEmbedding(m *modelInfo, e *EmbeddingDecl, file string, errs *errorList) {
	if (m.kind == "embedding") != (e != nil) {
		errs.addf(file, "embedding", "an [embedding] table is required for, and only for, kind = \"embedding\"")
		return
	}
	if e == nil {
		return
	}
	m.embed = e
	switch {
	case e.Dimensions <= 0 || e.MinDimensions <= 0 || e.MinDimensions > e.Dimensions:
		errs.addf(file, "embedding.dimensions", "want 0 < min_dimensions <= dimensions")
	case e.MaxInputTokens <= 0 || e.MaxInputTokens > m.contextLength:
		errs.addf(file, "embedding.max_input_tokens", "must be positive and at most context_length")
	case e.MaxBatch <= 0:
		errs.addf(file, "embedding.max_batch", "must be positive")
	case hasDuplicate(e.TaskTypes):
		errs.addf(file, "embedding.task_types", "duplicate task type")
	}
}

// buildSupplies checks a model's [[supplier]] tables: kinds that serve
// the provider's models, each once, the provider's own API first, Vertex
// with its locations and no other kind with any. Without tables, the
// provider's own API serves the model under its upstream_id.
func buildSupplies(m *modelInfo, d ModelDecl, file string, errs *errorList) {
	own := ownSupplier[m.provider]
	if len(d.Supplier) == 0 {
		m.supplies = []SupplierDecl{{Kind: own, UpstreamID: m.upstreamID}}
		return
	}
	seen := map[string]bool{}
	for i, s := range d.Supplier {
		key := "supplier[" + itoa(i) + "]"
		if _, ok := supplierConsts[s.Kind]; !ok {
			errs.addf(file, key+".kind", "unknown supplier kind %q", s.Kind)
			continue
		}
		if s.Kind != "vertex" && s.Kind != own {
			errs.addf(file, key+".kind", "%s does not serve %s models", s.Kind, m.provider)
		}
		if seen[s.Kind] {
			errs.addf(file, key+".kind", "%s is listed twice", s.Kind)
		}
		seen[s.Kind] = true
		if i == 0 && s.Kind != own {
			errs.addf(file, key+".kind", "the first supplier is the provider's own API, %s", own)
		}
		switch {
		case s.Kind == "vertex" && len(s.Locations) == 0:
			errs.addf(file, key+".locations", "vertex needs the locations that serve the model (\"*\" for every one)")
		case s.Kind != "vertex" && len(s.Locations) > 0:
			errs.addf(file, key+".locations", "only vertex has locations")
		}
		for _, l := range s.Locations {
			if !locationRE.MatchString(l) {
				errs.addf(file, key+".locations", "%q is not a location such as global or us-central1", l)
			}
		}
		if s.UpstreamID == "" {
			s.UpstreamID = m.upstreamID
		}
		if len(s.Betas) > 0 && m.provider != "anthropic" {
			errs.addf(file, key+".betas", "anthropic-beta values go only to Claude models")
		}
		for _, b := range s.Betas {
			if !betaRE.MatchString(b) {
				errs.addf(file, key+".betas", "%q is not an anthropic-beta value such as interleaved-thinking-2025-05-14", b)
			}
		}
		switch {
		case s.Flex && (s.Kind != "vertex" || m.provider != "google" || m.kind != "chat"):
			errs.addf(file, key+".flex", "the flex lane is Vertex AI's, for Google's chat models")
		case s.Flex && !slices.Contains(s.Locations, "global") && !slices.Contains(s.Locations, "*"):
			errs.addf(file, key+".flex", "the flex lane is served at the global location only")
		case s.Flex && d.Pricing.Flex == nil:
			errs.addf(file, key+".flex", "a flex lane needs [pricing.flex]")
		case s.MaxBatch < 0 || s.MaxBatch > 0 && m.kind != "embedding":
			errs.addf(file, key+".max_batch", "a positive batch size, for an embedding model's supplier")
		}
		m.supplies = append(m.supplies, s)
	}
}

// goName turns "anthropic/claude-haiku-4-5" or "top_p" into an exported Go
// identifier: AnthropicClaudeHaiku45, TopP.
func goName(s string) string {
	var b strings.Builder
	upper := true
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			if upper {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			upper = false
		case r >= '0' && r <= '9':
			b.WriteRune(r)
			upper = true
		default:
			upper = true
		}
	}
	return b.String()
}

func hasDuplicate(s []string) bool {
	seen := map[string]bool{}
	for _, v := range s {
		if seen[v] {
			return true
		}
		seen[v] = true
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func itoa(i int) string { return strconv.Itoa(i) }
