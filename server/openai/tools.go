package openai

import (
	"strconv"

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

// tool is one entry of tools.
type tool struct {
	Type         string          `json:"type"`
	Function     *Function       `json:"function"`
	Custom       json.RawMessage `json:"custom"`
	CacheControl *CacheControl   `json:"cache_control"`
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
// DecodeChat when the client sent any; the legacy functions form is mapped
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

// validName reports whether s is a function name OpenAI accepts: 1 to 64
// characters of a-z, A-Z, 0-9, _ and -. Both upstreams take the same.
func validName(s string) bool {
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

const nameRule = "1 to 64 characters of a-z, A-Z, 0-9, underscores and dashes"

// decodeTools reads tools, tool_choice, functions and function_call into
// req.Tools. It runs only for requests that sent one of them.
func decodeTools(req *ChatRequest) *Error {
	hasTools, hasFunctions := matrix.RawPresent(req.Superset.Tools), matrix.RawPresent(req.Superset.Functions)
	if hasTools && hasFunctions {
		return BadRequest("functions", "send tools or the deprecated functions, not both")
	}
	t := &Tools{}
	if hasTools {
		var list []tool
		if err := json.UnmarshalNoCopy(req.Superset.Tools, &list); err != nil {
			return BadRequest("tools", "tools must be an array of {type: \"function\", function: {name, description, parameters, strict}}")
		}
		for i := range list {
			switch {
			case list[i].Type == "custom":
				return BadRequest("tools", toolAt("tools", i, true)+" is a custom tool; only function tools are supported, as no upstream runs custom tools")
			case list[i].Type != "function":
				return BadRequest("tools", toolAt("tools", i, true)+".type must be function")
			case list[i].Function == nil:
				return BadRequest("tools", toolAt("tools", i, true)+".function is required")
			}
			if t.Functions == nil {
				t.Functions = make([]Function, 0, len(list))
			}
			if cc := list[i].CacheControl; cc != nil {
				if e := checkCacheControl(cc, toolAt("tools", i, true)); e != nil {
					return e
				}
			}
			f := *list[i].Function
			f.CacheControl = list[i].CacheControl
			if f.CacheControl != nil {
				req.CacheBreakpoints++
			}
			t.Functions = append(t.Functions, f)
		}
	}
	if hasFunctions {
		t.Legacy = true
		if err := json.UnmarshalNoCopy(req.Superset.Functions, &t.Functions); err != nil {
			return BadRequest("functions", "functions must be an array of {name, description, parameters}")
		}
	}
	param := "tools"
	if t.Legacy {
		param = "functions"
	}
	for i := range t.Functions {
		f := &t.Functions[i]
		switch {
		case !validName(f.Name):
			return BadRequest(param, toolAt(param, i, t.Legacy)+".name must be "+nameRule)
		case t.declared(f.Name, i):
			return BadRequest(param, toolAt(param, i, t.Legacy)+".name "+strconv.Quote(f.Name)+" is declared twice")
		case matrix.RawPresent(f.Parameters) && matrix.RawKind(f.Parameters) != '{':
			return BadRequest(param, toolAt(param, i, t.Legacy)+".parameters must be a JSON Schema object")
		}
	}
	var err *Error
	switch {
	case matrix.RawPresent(req.Superset.ToolChoice):
		if t.Legacy {
			return BadRequest("tool_choice", "tool_choice goes with tools; with functions, use function_call")
		}
		t.Choice, err = decodeToolChoice(req.Superset.ToolChoice, t)
	case matrix.RawPresent(req.Superset.FunctionCall):
		if !t.Legacy && hasTools {
			return BadRequest("function_call", "function_call goes with functions; with tools, use tool_choice")
		}
		t.Choice, err = decodeFunctionCall(req.Superset.FunctionCall, t)
		t.Legacy = true
	}
	if err != nil {
		return err
	}
	if len(t.Functions) == 0 && (t.Choice.Mode == ToolRequired || t.Choice.Mode == ToolNamed) {
		return BadRequest(param, "a required or named tool choice needs tools to choose from")
	}
	req.ToolSet = t
	return nil
}

func decodeToolChoice(raw json.RawMessage, t *Tools) (ToolChoice, *Error) {
	const param = "tool_choice"
	if matrix.RawKind(raw) == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case "auto":
			return ToolChoice{Mode: ToolAuto}, nil
		case "none":
			return ToolChoice{Mode: ToolNone}, nil
		case "required":
			return ToolChoice{Mode: ToolRequired}, nil
		}
		return ToolChoice{}, BadRequest(param, "tool_choice must be none, auto, required or an object naming a function")
	}
	var c struct {
		Type     string `json:"type"`
		Function *struct {
			Name string `json:"name"`
		} `json:"function"`
		AllowedTools *struct {
			Mode  string `json:"mode"`
			Tools []tool `json:"tools"`
		} `json:"allowed_tools"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return ToolChoice{}, BadRequest(param, "tool_choice must be none, auto, required or an object naming a function")
	}
	switch c.Type {
	case "function":
		if c.Function == nil || !t.declared(c.Function.Name, len(t.Functions)) {
			return ToolChoice{}, BadRequest(param, "tool_choice.function.name must name a function of tools")
		}
		return ToolChoice{Mode: ToolNamed, Name: c.Function.Name}, nil
	case "allowed_tools":
		a := c.AllowedTools
		if a == nil || (a.Mode != "auto" && a.Mode != "required") || len(a.Tools) == 0 {
			return ToolChoice{}, BadRequest(param, "tool_choice.allowed_tools needs mode auto or required and a non-empty tools list")
		}
		choice := ToolChoice{Mode: ToolAuto, Allowed: make([]string, 0, len(a.Tools))}
		if a.Mode == "required" {
			choice.Mode = ToolRequired
		}
		for i, at := range a.Tools {
			if at.Type != "function" || at.Function == nil || !t.declared(at.Function.Name, len(t.Functions)) {
				return ToolChoice{}, BadRequest(param, "tool_choice.allowed_tools.tools["+strconv.Itoa(i)+"] must name a function of tools")
			}
			choice.Allowed = append(choice.Allowed, at.Function.Name)
		}
		return choice, nil
	case "custom":
		return ToolChoice{}, BadRequest(param, "tool_choice names a custom tool; only function tools are supported")
	}
	return ToolChoice{}, BadRequest(param, "tool_choice.type must be function or allowed_tools")
}

func decodeFunctionCall(raw json.RawMessage, t *Tools) (ToolChoice, *Error) {
	const param = "function_call"
	if matrix.RawKind(raw) == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case "auto":
			return ToolChoice{Mode: ToolAuto}, nil
		case "none":
			return ToolChoice{Mode: ToolNone}, nil
		}
		return ToolChoice{}, BadRequest(param, "function_call must be none, auto or {\"name\": ...}")
	}
	var c struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || !t.declared(c.Name, len(t.Functions)) {
		return ToolChoice{}, BadRequest(param, "function_call.name must name one of functions")
	}
	return ToolChoice{Mode: ToolNamed, Name: c.Name}, nil
}

// decodeResponseFormat reads a response_format that asks for JSON.
func decodeResponseFormat(req *ChatRequest) *Error {
	const param = "response_format"
	f := &ResponseFormat{}
	if err := json.Unmarshal(req.Superset.ResponseFormat, f); err != nil {
		return BadRequest(param, "response_format must be {type: text | json_object | json_schema, json_schema: {name, schema, strict}}")
	}
	switch f.Type {
	case "text":
		return nil // plain text: nothing to do
	case "json_object":
	case "json_schema":
		s := f.JSONSchema
		switch {
		case s == nil:
			return BadRequest(param, "response_format.json_schema is required with type json_schema")
		case !validName(s.Name):
			return BadRequest(param, "response_format.json_schema.name must be "+nameRule)
		case matrix.RawPresent(s.Schema) && matrix.RawKind(s.Schema) != '{':
			return BadRequest(param, "response_format.json_schema.schema must be a JSON Schema object")
		}
	default:
		return BadRequest(param, "response_format.type must be text, json_object or json_schema")
	}
	req.Format = f
	return nil
}

// Schema returns the JSON Schema the answer must follow; nil for any JSON
// object (json_object, or json_schema without a schema).
func (f *ResponseFormat) Schema() json.RawMessage {
	if f.JSONSchema == nil || !matrix.RawPresent(f.JSONSchema.Schema) {
		return nil
	}
	return f.JSONSchema.Schema
}

// declared reports whether one of the first n functions is called name.
// Lists are short (OpenAI allows 128): a scan beats building a map.
func (t *Tools) declared(name string, n int) bool {
	for i := range t.Functions[:n] {
		if t.Functions[i].Name == name {
			return true
		}
	}
	return false
}

// toolAt is the path of tool i, for errors: tools[i].function, or the
// entry itself when bare (functions[i], or tools[i] for its type).
func toolAt(param string, i int, bare bool) string {
	at := param + "[" + strconv.Itoa(i) + "]"
	if !bare {
		at += ".function"
	}
	return at
}
