package vertex

// Where Vertex serves each publisher's models: a fact of Vertex, kept here
// apart from the gateway's spec on purpose (a wrong spec shows up as a
// refused request in tests). Preview Gemini models are served at the
// global endpoint only; GA Gemini models and embeddings everywhere; Claude
// models at global and in the regions that host them.
var (
	geminiModels = map[string]bool{ // true: global only
		"gemini-2.5-pro": false, "gemini-3-flash-preview": true, "gemini-3.1-pro-preview": true,
		"gemini-3.1-flash-lite": true,
	}
	// embeddingModels are served by :predict in the regions, each taking
	// at most this many instances a call.
	embeddingModels = map[string]int{"gemini-embedding-001": 1}
	claudeModels    = map[string]bool{
		"claude-haiku-4-5@20251001": true, "claude-sonnet-4-5@20250929": true, "claude-sonnet-4-6": true,
		"claude-opus-4-6": true, "claude-opus-4-7": true,
	}
	claudeLocations = map[string]bool{"global": true, "us-east5": true, "europe-west1": true}
)

// served reports whether Vertex serves a publisher's model at location.
func served(publisher, model, location string) bool {
	switch publisher {
	case "google":
		if _, embedding := embeddingModels[model]; embedding {
			return location != "global"
		}
		globalOnly, known := geminiModels[model]
		return known && (!globalOnly || location == "global")
	case "anthropic":
		return claudeModels[model] && claudeLocations[location]
	}
	return false
}
