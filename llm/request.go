// Package llm is OpenToken's neutral model of a generation: the request
// every front door decodes into (messages, content parts, tool calls and
// results, signed reasoning, cache marks, and the sampling values as the
// generated filters see them), the answer the adapters parse each
// upstream's reply into, and the errors both speak. It knows no client
// dialect and no upstream: the doors (server/openai, server/anthropic)
// translate to and from it, the adapters (server/adapter) from and to the
// upstreams.
//
// Its JSON tags are the OpenRouter superset's names, the one spelling the
// chat door decodes straight into; other doors fill it in Go.
package llm

import (
	"errors"
	"strings"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/matrix"
)

// Request is a generation request: its model, its messages, and every
// parameter of the superset through the generated Superset.
type Request struct {
	Model    string    `json:"model"`
	Messages []Message `json:"messages"`
	generated.Superset
	// ReasoningObject is the reasoning parameter decoded and validated by
	// the door's decoder; nil when the client sent none (or null).
	ReasoningObject *Reasoning `json:"-"`
	// ToolSet is tools and tool_choice (or functions and function_call)
	// decoded and checked by the door's decoder; nil when the client sent none.
	ToolSet *Tools `json:"-"`
	// Format is a response_format asking for JSON, checked by the door's decoder;
	// nil for none or plain text.
	Format *ResponseFormat `json:"-"`
	// ToolHistory: messages hold tool calls and results (the door's decoder sets
	// it), whether or not the request declares tools.
	ToolHistory bool `json:"-"`
	// CacheBreakpoints counts the cache_control breakpoints of parts and
	// tools (the door's decoder sets it).
	CacheBreakpoints int `json:"-"`
	// Images is the path of the first image part, "" for none (the door's decoder
	// sets it), for a model that cannot see.
	Images string `json:"-"`
	// Documents and Audio are the paths of the first document and audio
	// part, "" for none, for a model that cannot read them.
	Documents string `json:"-"`
	Audio     string `json:"-"`
	// Betas are the anthropic-beta values the client sent (the Messages
	// door); each is forwarded only where the serving supplier takes it.
	Betas []string `json:"-"`
}

// Message is one entry of messages.
type Message struct {
	Role       string     `json:"role"`
	Content    Content    `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	Refusal    *string    `json:"refusal,omitempty"`
	// FunctionCall is the deprecated form of ToolCalls; the door's decoder maps it
	// onto ToolCalls.
	FunctionCall *FunctionCall `json:"function_call,omitempty"`
	// ReasoningDetails is what an earlier answer returned of its reasoning
	// (OpenRouter's field), echoed back so a tool loop keeps thinking on.
	// (An earlier answer's reasoning text, reasoning, is accepted and
	// ignored like any unknown message field: only signed blocks go back.)
	ReasoningDetails []ReasoningDetail `json:"reasoning_details,omitempty"`
	// Audio references an earlier audio answer.
	Audio json.RawMessage `json:"audio,omitempty"`
	// ToolError marks a tool message as the tool's failure (Anthropic's
	// is_error).
	ToolError bool `json:"-"`
}

// Content is a message's content: a string, or an array of parts.
type Content struct {
	Text    string
	Parts   []Part
	IsParts bool // the client sent an array
	IsNull  bool // absent or null
}

// UnmarshalJSON accepts a string, an array of parts, or null.
func (c *Content) UnmarshalJSON(b []byte) error {
	*c = Content{}
	switch matrix.RawKind(b) {
	case '"':
		return json.UnmarshalNoCopy(b, &c.Text)
	case '[':
		c.IsParts = true
		return json.UnmarshalNoCopy(b, &c.Parts)
	case 'n', 0:
		c.IsNull = true
		return nil
	}
	return errContentType
}

// Part is one content part.
type Part struct {
	Type         string        `json:"type"`
	Text         string        `json:"text,omitempty"`
	ImageURL     *ImageURL     `json:"image_url,omitempty"`
	CacheControl *CacheControl `json:"cache_control,omitempty"`
	// InputAudio and File are OpenAI part kinds no current model takes.
	InputAudio json.RawMessage `json:"input_audio,omitempty"`
	File       json.RawMessage `json:"file,omitempty"`
	// Document is a "document" part's source (a PDF or a text, from the
	// chat door's file parts and the Messages door's document blocks).
	Document *Document `json:"-"`
	// Sound is an "audio" part's clip (the chat door's input_audio).
	Sound *Audio `json:"-"`
}

// Audio is a clip given whole: base64 data in a format (wav, mp3).
type Audio struct {
	Format string
	Data   string
}

// AudioMediaType is the media type of an audio format, "" for one no
// upstream here reads.
func AudioMediaType(format string) string {
	switch format {
	case "wav":
		return "audio/wav"
	case "mp3":
		return "audio/mp3"
	}
	return ""
}

// Document is a document given whole: base64 data of a media type
// (application/pdf), plain text, or a URL the upstream fetches.
type Document struct {
	MediaType string
	Data      string // base64
	Text      string
	URL       string
	Title     string
	Context   string
	// Citations is the document's citations setting, passed on as sent.
	Citations json.RawMessage
}

// ImageURL is an image_url part's payload: a data: URL or an http(s) URL.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// CacheControl marks a prompt-caching breakpoint, Anthropic style.
type CacheControl struct {
	Type string `json:"type"`
	TTL  string `json:"ttl,omitempty"`
}

// Reasoning is the OpenRouter reasoning object.
type Reasoning struct {
	Effort    *string `json:"effort"`
	MaxTokens *int64  `json:"max_tokens"`
	Exclude   *bool   `json:"exclude"`
	Enabled   *bool   `json:"enabled"`
	// Summary is OpenAI's Responses-API spelling, accepted and ignored.
	Summary *string `json:"summary"`
}

var errContentType = errors.New("content must be a string, an array of parts or null")

// CheckCacheControl refuses a malformed breakpoint on every model: the
// caching is best-effort, but a breakpoint no upstream would take is the
// client's mistake to hear about.
func CheckCacheControl(cc *CacheControl, at string) *Error {
	switch {
	case cc == nil:
		return nil
	case cc.Type != "ephemeral":
		return BadRequest(at+".cache_control.type", "cache_control.type must be ephemeral")
	case cc.TTL != "" && cc.TTL != "5m" && cc.TTL != "1h":
		return BadRequest(at+".cache_control.ttl", "cache_control.ttl must be 5m or 1h")
	}
	return nil
}

// DataURL splits "data:image/png;base64,AAAA" into its media type and
// base64 payload; ok is false for anything else.
func DataURL(url string) (mediaType, data string, ok bool) {
	rest, found := strings.CutPrefix(url, "data:")
	if !found {
		return "", "", false
	}
	meta, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	mediaType, found = strings.CutSuffix(meta, ";base64")
	if !found || mediaType == "" || data == "" {
		return "", "", false
	}
	return mediaType, data, true
}

// IsHTTPURL reports whether u is an http(s) URL, which an upstream (or the
// gateway) must fetch, as opposed to a data: URL.
func IsHTTPURL(u string) bool {
	return strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")
}
