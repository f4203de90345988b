package anthropic

// model is what the real Messages API enforces for one Claude model. These
// are upstream facts, kept apart from spec/ so that tests check the gateway's
// matrix against them rather than against itself.
type model struct {
	maxOutput int
	// exclusiveSampling: 400 when temperature and top_p are both sent
	// (Claude 4.x, as widely reported for Sonnet 4.5 and later).
	exclusiveSampling bool
	// noSampling: temperature, top_p and top_k are removed (Opus 4.7).
	noSampling bool
	// budgetThinking: thinking {type: enabled, budget_tokens} is accepted.
	budgetThinking bool
	// adaptiveThinking: thinking {type: adaptive} is accepted.
	adaptiveThinking bool
	// efforts are the output_config.effort levels the model takes.
	efforts []string
	// minCache is the shortest prefix, in tokens, the model caches
	// (reported figures); a shorter one is silently not cached.
	minCache int
}

var models = map[string]model{
	"claude-haiku-4-5":  {maxOutput: 64000, exclusiveSampling: true, budgetThinking: true, minCache: 4096},
	"claude-sonnet-4-5": {maxOutput: 64000, exclusiveSampling: true, budgetThinking: true, minCache: 1024},
	"claude-sonnet-4-6": {maxOutput: 64000, exclusiveSampling: true, budgetThinking: true, adaptiveThinking: true,
		efforts: []string{"low", "medium", "high", "max"}, minCache: 2048},
	"claude-opus-4-6": {maxOutput: 128000, exclusiveSampling: true, budgetThinking: true, adaptiveThinking: true,
		efforts: []string{"low", "medium", "high", "max"}, minCache: 4096},
	"claude-opus-4-7": {maxOutput: 128000, noSampling: true, adaptiveThinking: true,
		efforts: []string{"low", "medium", "high", "xhigh", "max"}, minCache: 2048},
}
