package generated_test

import (
	"strings"
	"testing"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/matrix"
)

// The contract of docs/sampling-parameters, written out independently of the
// TOML so that a wrong spec file fails here instead of defining the truth.

var catalog = []string{
	"anthropic/claude-haiku-4-5", "anthropic/claude-opus-4-6", "anthropic/claude-opus-4-7",
	"anthropic/claude-sonnet-4-5", "anthropic/claude-sonnet-4-6", "google/gemini-2.5-pro",
	"google/gemini-3-flash", "google/gemini-3.1-flash-lite", "google/gemini-3.1-pro",
	"google/gemini-embedding-001", "google/text-embedding-004",
}

// embedding reports whether id is an embedding model, which forwards no
// chat parameter.
func embedding(id string) bool {
	return id == "google/text-embedding-004" || id == "google/gemini-embedding-001"
}

// sampling are the parameters the contract speaks about; the property test
// runs over every subset of them.
var sampling = []string{
	"temperature", "top_p", "top_k", "frequency_penalty", "presence_penalty", "repetition_penalty",
	"min_p", "top_a", "seed", "max_tokens", "stop", "logit_bias",
}

// contractForwards says whether the contract forwards param of model id, given
// the other parameters present and whether thinking is on.
func contractForwards(id, param string, present map[string]bool, thinking bool) bool {
	if !present[param] {
		return false
	}
	switch param {
	case "reasoning", "reasoning_effort", "include_reasoning", "stream", "n", "models", "provider":
		return !embedding(id) // honoured by every chat model (models and provider by the gateway's routing)
	case "tools", "tool_choice", "functions", "function_call", "response_format":
		return !embedding(id) // every chat model serves tools and structured outputs
	case "parallel_tool_calls":
		return strings.HasPrefix(id, "anthropic/") // Gemini cannot be limited to one call
	}
	samplingTrio := param == "temperature" || param == "top_p" || param == "top_k"
	switch {
	case strings.HasPrefix(id, "anthropic/"):
		switch param {
		case "temperature", "top_p", "top_k", "max_tokens", "max_completion_tokens", "stop":
		case "user":
			return true // as metadata.user_id, whatever else is sent
		default:
			return false // never frequency_penalty, presence_penalty, seed, logit_bias, …
		}
		if samplingTrio && (id == "anthropic/claude-opus-4-7" || thinking) {
			return false
		}
		if param == "top_p" && present["temperature"] {
			return false // temperature wins over top_p
		}
		return true
	case id == "google/gemini-2.5-pro":
		switch param {
		case "temperature", "top_p", "top_k", "max_tokens", "max_completion_tokens", "stop",
			"frequency_penalty", "presence_penalty", "seed":
			return true
		}
	case strings.HasPrefix(id, "google/gemini-3"):
		switch param {
		case "temperature", "top_p", "top_k", "max_tokens", "max_completion_tokens", "stop":
			return true
		}
	}
	return false
}

func maskOf(names map[string]bool) matrix.Mask {
	var m matrix.Mask
	for i, s := range generated.ParamSpecs {
		if names[s.Name] {
			m |= matrix.MaskOf(matrix.Param(i))
		}
	}
	return m
}

func TestCatalog(t *testing.T) {
	if len(generated.Models) != len(catalog) {
		t.Fatalf("%d models registered, want %d", len(generated.Models), len(catalog))
	}
	for i, id := range catalog {
		if got := generated.Models[i].ID; got != id {
			t.Errorf("Models[%d] = %s, want %s", i, got, id)
		}
		if m := generated.Lookup(id); m != generated.Models[i] {
			t.Errorf("Lookup(%q) = %v, want the registry's entry", id, m)
		}
	}
	for _, id := range []string{"", "openai/gpt-4o", "anthropic/claude-opus-4-7 ", "ANTHROPIC/claude-opus-4-7", "google/gemini-3"} {
		if m := generated.Lookup(id); m != nil {
			t.Errorf("Lookup(%q) = %s, want nil", id, m.ID)
		}
	}
}

// TestEveryModelEveryParam checks each superset parameter alone, then all of
// them together, on every model, with thinking off and on.
func TestEveryModelEveryParam(t *testing.T) {
	all := map[string]bool{}
	for _, s := range generated.ParamSpecs {
		all[s.Name] = true
	}
	for _, m := range generated.Models {
		for _, thinking := range []bool{false, true} {
			for i, s := range generated.ParamSpecs {
				alone := map[string]bool{s.Name: true}
				got := m.Filter(maskOf(alone), thinking).Has(matrix.Param(i))
				if want := contractForwards(m.ID, s.Name, alone, thinking); got != want {
					t.Errorf("%s thinking=%v: %s alone forwarded=%v, want %v", m.ID, thinking, s.Name, got, want)
				}
			}
			got := m.Filter(maskOf(all), thinking)
			for i, s := range generated.ParamSpecs {
				if want := contractForwards(m.ID, s.Name, all, thinking); got.Has(matrix.Param(i)) != want {
					t.Errorf("%s thinking=%v: %s with all present forwarded=%v, want %v", m.ID, thinking, s.Name, !want, want)
				}
			}
		}
	}
}

func TestClaudeTemperatureWinsOverTopP(t *testing.T) {
	temp, topP, topK := matrix.MaskOf(generated.ParamTemperature), matrix.MaskOf(generated.ParamTopP), matrix.MaskOf(generated.ParamTopK)
	for _, id := range []string{"anthropic/claude-haiku-4-5", "anthropic/claude-opus-4-6", "anthropic/claude-sonnet-4-5", "anthropic/claude-sonnet-4-6"} {
		m := generated.Lookup(id)
		if got := m.Filter(temp|topP|topK, false); got != temp|topK {
			t.Errorf("%s: temperature+top_p+top_k forwards %b, want temperature and top_k", id, got)
		}
		if got := m.Filter(topP, false); got != topP {
			t.Errorf("%s: top_p alone forwards %b, want top_p", id, got)
		}
		if got := m.Filter(temp|topP|topK, true); got != 0 {
			t.Errorf("%s: with thinking forwards %b, want none of them", id, got)
		}
	}
}

// TestFilterProperties runs every subset of the sampling parameters through
// every model, with thinking off and on.
func TestFilterProperties(t *testing.T) {
	var claudeTrio matrix.Mask = matrix.MaskOf(generated.ParamTemperature) | matrix.MaskOf(generated.ParamTopP) | matrix.MaskOf(generated.ParamTopK)
	for _, m := range generated.Models {
		claude := m.Provider == matrix.ProviderAnthropic
		for subset := 0; subset < 1<<len(sampling); subset++ {
			present := map[string]bool{}
			for i, name := range sampling {
				if subset&(1<<i) != 0 {
					present[name] = true
				}
			}
			in := maskOf(present)
			for _, thinking := range []bool{false, true} {
				out := m.Filter(in, thinking)
				if out&^(in&m.Supported) != 0 {
					t.Fatalf("%s: forwarded %b is not within present∩supported %b", m.ID, out, in&m.Supported)
				}
				if claude && out.Has(generated.ParamTemperature) && out.Has(generated.ParamTopP) {
					t.Fatalf("%s: forwards both temperature and top_p for %v", m.ID, present)
				}
				if claude && thinking && out&claudeTrio != 0 {
					t.Fatalf("%s: forwards sampling parameters with thinking on for %v", m.ID, present)
				}
				for i, s := range generated.ParamSpecs {
					if want := contractForwards(m.ID, s.Name, present, thinking); out.Has(matrix.Param(i)) != want {
						t.Fatalf("%s thinking=%v present=%v: %s forwarded=%v, want %v", m.ID, thinking, present, s.Name, !want, want)
					}
				}
			}
		}
	}
}

func TestTablesAgreeWithSupport(t *testing.T) {
	for _, m := range generated.Models {
		for i, name := range m.Rename {
			p := matrix.Param(i)
			if name != "" && !m.Supported.Has(p) {
				t.Errorf("%s: renames %s but does not support it", m.ID, generated.ParamSpecs[p].Name)
			}
			if s := &generated.ParamSpecs[p]; m.Supported.Has(p) && s.Policy != matrix.PolicyControl && !s.Gated && name == "" {
				t.Errorf("%s: supports %s without an upstream name", m.ID, generated.ParamSpecs[p].Name)
			}
		}
	}
	if c := generated.Lookup("anthropic/claude-sonnet-4-5").Clamps[generated.ParamTemperature]; !c.Set || c.Max != 1 {
		t.Errorf("Claude temperature clamp = %+v, want 0..1", c)
	}
	if got := generated.Lookup("google/gemini-2.5-pro").Rename[generated.ParamStop]; got != "stopSequences" {
		t.Errorf("Gemini stop is renamed %q, want stopSequences", got)
	}
}

func TestNoAllocations(t *testing.T) {
	m := generated.Lookup("anthropic/claude-sonnet-4-5")
	present := maskOf(map[string]bool{"temperature": true, "top_p": true, "seed": true})
	var sink matrix.Mask
	if n := testing.AllocsPerRun(1000, func() { sink |= m.Filter(present, false) }); n != 0 {
		t.Errorf("a filter call allocates %v times, want 0", n)
	}
	id := []byte("google/gemini-3.1-flash-lite")
	var found *matrix.Model
	if n := testing.AllocsPerRun(1000, func() { found = generated.Lookup(string(id)) }); n != 0 {
		t.Errorf("a registry lookup allocates %v times, want 0", n)
	}
	if found == nil || sink == 0 {
		t.Fatal("lookup or filter returned nothing")
	}
}

// TestRegistryIndex: each model's Index is its position in Models, which
// per-model tables (the metrics) index by.
func TestRegistryIndex(t *testing.T) {
	for i, m := range generated.Models {
		if m.Index != i {
			t.Errorf("%s: Index %d at position %d", m.ID, m.Index, i)
		}
	}
}
