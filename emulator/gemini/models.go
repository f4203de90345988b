package gemini

// model is what the real Gemini API enforces for one model: upstream facts,
// kept apart from spec/ so that tests check the gateway's matrix against them.
type model struct {
	maxOutput int
	// penalties: presencePenalty and frequencyPenalty are enabled.
	penalties bool
	// seed: seed is accepted.
	seed bool
	// minBudget..maxBudget bound thinkingBudget on budget models (2.5);
	// 0 and -1 (dynamic) are checked separately.
	minBudget, maxBudget int
	canDisable           bool // thinkingBudget 0 turns thinking off
	// levels are the thinkingLevel values a Gemini 3 model takes; nil for
	// a budget model, which rejects thinkingLevel.
	levels []string
	// embedding models do not serve generateContent; they embed into
	// dimensions values, or fewer when outputDimensionality asks.
	embedding  bool
	dimensions int
	// gemini3: function calls come with ids and thought signatures, which
	// the current turn's history must return; tools and JSON output combine.
	gemini3 bool
}

// models are the models the Gemini API serves. text-embedding-004 is not
// one: Google retired it on 2026-01-14, and the API answers 404 for it.
var models = map[string]model{
	"gemini-2.5-pro":         {maxOutput: 65536, penalties: true, seed: true, minBudget: 128, maxBudget: 32768},
	"gemini-3-flash-preview": {maxOutput: 65536, levels: []string{"MINIMAL", "LOW", "MEDIUM", "HIGH"}, minBudget: 0, maxBudget: 24576, gemini3: true},
	"gemini-3.1-flash-lite":  {maxOutput: 65536, levels: []string{"MINIMAL", "LOW", "MEDIUM", "HIGH"}, minBudget: 0, maxBudget: 24576, gemini3: true},
	"gemini-3.1-pro-preview": {maxOutput: 65536, levels: []string{"LOW", "MEDIUM", "HIGH"}, minBudget: 128, maxBudget: 32768, gemini3: true},
	"gemini-embedding-001":   {embedding: true, dimensions: 3072},
}
