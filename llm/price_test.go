package llm_test

import (
	"math"
	"testing"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/llm"
)

// TestCostPerModel checks the arithmetic of usage.cost on every model,
// against figures worked out by hand from spec/'s prices (USD per 1M
// tokens): 10,000 prompt tokens of which 2,000 read from the cache and
// 3,000 written to it (Claude: 1,000 of them for an hour), and 1,000
// completion tokens.
func TestCostPerModel(t *testing.T) {
	claude := llm.Usage{Prompt: 10000, Cached: 2000, CacheCreation: 3000, CacheWrite1h: 1000, Completion: 1000}
	gemini := llm.Usage{Prompt: 10000, Cached: 2000, CacheCreation: 3000, Completion: 1000}
	cases := map[string]struct {
		u    llm.Usage
		want float64
	}{
		// 5000×1 + 1000×5 + 2000×0.1 + 2000×1.25 + 1000×2
		"anthropic/claude-haiku-4-5": {claude, 0.0147},
		// 5000×5 + 1000×25 + 2000×0.5 + 2000×6.25 + 1000×10
		"anthropic/claude-opus-4-6": {claude, 0.0735},
		"anthropic/claude-opus-4-7": {claude, 0.0735},
		// 5000×3 + 1000×15 + 2000×0.3 + 2000×3.75 + 1000×6
		"anthropic/claude-sonnet-4-5": {claude, 0.0441},
		"anthropic/claude-sonnet-4-6": {claude, 0.0441},
		// 5000×1.25 + 1000×10 + 2000×0.125 + 3000×1.25
		"google/gemini-2.5-pro": {gemini, 0.02025},
		// 5000×0.5 + 1000×3 + 2000×0.05 + 3000×0.5
		"google/gemini-3-flash": {gemini, 0.0071},
		// 5000×0.25 + 1000×1.5 + 2000×0.025 + 3000×0.25
		"google/gemini-3.1-flash-lite": {gemini, 0.00355},
		// 5000×2 + 1000×12 + 2000×0.2 + 3000×2
		"google/gemini-3.1-pro": {gemini, 0.0284},
		// 10000×0.025: an embedding model has no cache rates; reads and
		// writes would be priced as input.
		"google/text-embedding-004": {llm.Usage{Prompt: 10000}, 0.00025},
		// 10000×0.15
		"google/gemini-embedding-001": {llm.Usage{Prompt: 10000}, 0.0015},
	}
	for _, m := range generated.Models {
		c, ok := cases[m.ID]
		if !ok {
			t.Errorf("%s: no worked figure; add one", m.ID)
			continue
		}
		if got := c.u.Price(&m.Pricing); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: cost %v, want %v", m.ID, got, c.want)
		}
	}
}
