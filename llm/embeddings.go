package llm

import "github.com/opentoken/opentoken/internal/json"

// EmbeddingsRequest is an embeddings request: OpenAI's fields, and the
// docs' task_type and title extensions for Gemini's task types.
type EmbeddingsRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int64          `json:"dimensions"`
	User           string          `json:"user"`
	TaskType       string          `json:"task_type"`
	Title          string          `json:"title"`
	// ServiceTier is accepted and ignored: no embeddings lane differs
	// (the flex lane is for chat), so it is reported as dropped.
	ServiceTier json.RawMessage `json:"service_tier"`
	// Inputs is input decoded: one text per vector.
	Inputs []string `json:"-"`
}
