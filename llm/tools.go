package llm

import (
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/matrix"
)

// Function is a function the model may call: a function tool, or an entry
// of the legacy functions list.
type Function struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"`
	// CacheControl is a prompt-caching breakpoint on the tool (Anthropic
	// style, on the entry of tools).
	CacheControl *CacheControl `json:"-"`
}

// ToolCall is a call the model made, in an assistant message of the
// history or of an answer.
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function FunctionCall `json:"function"`
	// ExtraContent carries Gemini's thought signature for the call, as
	// Google's own OpenAI-compatible endpoint does.
	ExtraContent *ExtraContent `json:"extra_content,omitempty"`
	// CacheControl is a breakpoint on the call's block (the Messages door).
	CacheControl *CacheControl `json:"-"`
}

// FunctionCall is a call's function and its arguments, a JSON text.
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// ExtraContent is provider-specific data on a tool call.
type ExtraContent struct {
	Google *struct {
		ThoughtSignature string `json:"thought_signature"`
	} `json:"google"`
}

// ThoughtSignature returns the Gemini signature a client echoed, if any.
func (c *ToolCall) ThoughtSignature() string {
	if c.ExtraContent == nil || c.ExtraContent.Google == nil {
		return ""
	}
	return c.ExtraContent.Google.ThoughtSignature
}

// ReasoningDetail is one entry of OpenRouter's reasoning_details: a piece
// of reasoning with what the upstream needs back of it in a tool loop.
type ReasoningDetail struct {
	Type      string `json:"type"` // reasoning.text or reasoning.encrypted
	Text      string `json:"text,omitempty"`
	Signature string `json:"signature,omitempty"`
	Data      string `json:"data,omitempty"` // redacted thinking, or a Gemini thought signature
	ID        string `json:"id,omitempty"`   // the tool call a Gemini signature belongs to
	Format    string `json:"format,omitempty"`
	Index     int    `json:"index"`
}

// The reasoning_details types and formats the gateway writes and reads.
const (
	DetailText      = "reasoning.text"
	DetailEncrypted = "reasoning.encrypted"
	FormatAnthropic = "anthropic-claude-v1"
	FormatGoogle    = "google-gemini-v1"
)

// LegacyCallIDPrefix starts the ids the gateway gives calls of the
// deprecated function_call form, which have none.
const LegacyCallIDPrefix = "call_legacy_"

// ToolMode is what tool_choice (or function_call) asks of the model.
type ToolMode uint8

const (
	ToolAuto     ToolMode = iota // the model decides
	ToolNone                     // no calls
	ToolRequired                 // at least one call (of Allowed, when set)
	ToolNamed                    // a call of Name
)

// ToolChoice is tool_choice resolved.
type ToolChoice struct {
	Mode ToolMode
	Name string // ToolNamed: the function to call
	// Allowed restricts the model to these functions (allowed_tools); nil
	// for all of them.
	Allowed []string
}

// Tools is the tool part of a chat request, decoded and checked by
// the door's decoder when the client sent any; the legacy functions form is mapped
// onto it.
type Tools struct {
	Functions []Function
	Choice    ToolChoice
	// Legacy: the request used functions / function_call, and is answered
	// in that form.
	Legacy bool
}

// ResponseFormat is response_format when it asks for JSON.
type ResponseFormat struct {
	Type       string      `json:"type"` // json_object or json_schema
	JSONSchema *JSONSchema `json:"json_schema"`
}

// JSONSchema is response_format.json_schema.
type JSONSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
	Strict      *bool           `json:"strict"`
}

// Schema returns the JSON Schema the answer must follow; nil for any JSON
// object (json_object, or json_schema without a schema).
func (f *ResponseFormat) Schema() json.RawMessage {
	if f.JSONSchema == nil || !matrix.RawPresent(f.JSONSchema.Schema) {
		return nil
	}
	return f.JSONSchema.Schema
}

// GoogleSignature wraps a Gemini thought signature as a call's extra_content.
func GoogleSignature(signature string) *ExtraContent {
	e := &ExtraContent{Google: &struct {
		ThoughtSignature string `json:"thought_signature"`
	}{signature}}
	return e
}

// ValidToolName reports whether s is a function name OpenAI accepts: 1 to 64
// characters of a-z, A-Z, 0-9, _ and -. Both upstreams take the same.
func ValidToolName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ToolNameRule says what ValidToolName takes.
const ToolNameRule = "1 to 64 characters of a-z, A-Z, 0-9, underscores and dashes"
