package openai

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/bytesconv"
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/matrix"
)

// DecodeChat parses and validates a chat request body into req. Every
// failure is a 400 whose param names the offending field.
func DecodeChat(body []byte, req *ChatRequest) *Error {
	if matrix.RawKind(body) != '{' {
		if len(body) == 0 {
			return BadRequest("", "request body is empty; send a JSON object")
		}
		return BadRequest("", "request body must be a JSON object")
	}
	if err := json.UnmarshalNoCopy(body, req); err != nil {
		return decodeError(body, err)
	}
	if key, ok := unknownKey(body); !ok {
		return BadRequest(key, "unknown field "+strconv.Quote(key)+": not an OpenAI Chat Completions or OpenRouter parameter")
	}
	if req.Model == "" {
		return BadRequest("model", "model is required: a {provider}/{model} id such as google/gemini-3-flash")
	}
	if len(req.Messages) == 0 {
		return BadRequest("messages", "messages must be a non-empty array")
	}
	if bad, ok := req.Superset.Validate(); !ok {
		return rangeError(bad)
	}
	if matrix.RawPresent(req.Reasoning) {
		r := &Reasoning{}
		if err := json.Unmarshal(req.Reasoning, r); err != nil {
			return BadRequest("reasoning", "reasoning must be an object with effort, max_tokens, exclude and enabled")
		}
		req.ReasoningObject = r
		if r.Effort != nil {
			if _, ok := matrix.ParseEffort(*r.Effort); !ok {
				return BadRequest("reasoning.effort", "reasoning.effort must be one of: "+strings.Join(matrix.EffortNames[:], ", "))
			}
		}
		if r.MaxTokens != nil && *r.MaxTokens < 0 {
			return BadRequest("reasoning.max_tokens", "reasoning.max_tokens must not be negative")
		}
	}
	return validateMessages(req.Messages)
}

// decodeError turns a decoding failure into a 400 naming the field, in
// the one spelling the gateway uses for paths: messages[0].content[1].text.
func decodeError(body []byte, err error) *Error {
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return BadRequest("", "request body is not valid JSON: "+err.Error())
	}
	// The decoder names the field of a plain type mismatch, but not of a
	// value a custom decoder (content, stop) refused, nor the index of a
	// message: find the path by decoding the body's parts one at a time.
	// This runs only for requests that are refused anyway.
	path := locate(body)
	var typeErr *json.UnmarshalTypeError
	switch {
	case path == "":
		return BadRequest("", "invalid request body: "+err.Error())
	case errors.As(err, &typeErr):
		return BadRequest(path, path+": wrong type ("+typeErr.Value+"); see the OpenAI Chat Completions schema")
	}
	// A custom decoder's message says which shape it wanted.
	return BadRequest(path, path+": "+err.Error())
}

// locate returns the path of the first value of body, in key order, that
// does not decode into a chat request.
func locate(body []byte) string {
	return locateIn(body, func(one []byte) error { var r ChatRequest; return json.Unmarshal(one, &r) },
		func(key string, raw []byte) string {
			if key == "messages" {
				return locateMessages(raw)
			}
			return key
		})
}

func locateMessages(raw []byte) string {
	var msgs []json.RawMessage
	if json.Unmarshal(raw, &msgs) != nil {
		return "messages"
	}
	for i, m := range msgs {
		at := "messages[" + strconv.Itoa(i) + "]"
		if matrix.RawKind(m) != '{' {
			return at
		}
		path := locateIn(m, func(one []byte) error { var msg Message; return json.Unmarshal(one, &msg) },
			func(key string, raw []byte) string {
				if key == "content" {
					return at + ".content" + locateParts(raw)
				}
				return at + "." + key
			})
		if path != "" {
			return path
		}
	}
	return "messages"
}

// locateParts returns the path below content of a part that does not
// decode, "" when content itself is of the wrong kind.
func locateParts(raw []byte) string {
	var parts []json.RawMessage
	if matrix.RawKind(raw) != '[' || json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	for j, p := range parts {
		var part Part
		err := json.Unmarshal(p, &part)
		if err == nil {
			continue
		}
		at := "[" + strconv.Itoa(j) + "]"
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return at + "." + typeErr.Field
		}
		return at
	}
	return ""
}

// locateIn decodes each member of the object obj alone with decode, in
// key order, and returns describe of the first that fails; "" when none
// does or obj is not an object.
func locateIn(obj []byte, decode func([]byte) error, describe func(key string, raw []byte) string) string {
	var members map[string]json.RawMessage
	if json.Unmarshal(obj, &members) != nil {
		return ""
	}
	for _, k := range slices.Sorted(maps.Keys(members)) {
		one, err := json.Marshal(map[string]json.RawMessage{k: members[k]})
		if err != nil {
			continue
		}
		if decode(one) != nil {
			return describe(k, members[k])
		}
	}
	return ""
}

// rangeError explains why a parameter failed its spec.
func rangeError(p matrix.Param) *Error {
	s := &generated.ParamSpecs[p]
	switch s.Type {
	case matrix.TypeNumber, matrix.TypeInteger:
		return BadRequest(s.Name, s.Name+" must be "+describeRange(s))
	case matrix.TypeEnum:
		return BadRequest(s.Name, s.Name+" must be one of: "+strings.Join(s.Enum, ", "))
	case matrix.TypeStringOrArray:
		return BadRequest(s.Name, s.Name+" must have at most "+strconv.Itoa(s.MaxItems)+" items")
	case matrix.TypeObject:
		return BadRequest(s.Name, s.Name+" must be an object")
	case matrix.TypeArray:
		return BadRequest(s.Name, s.Name+" must be an array")
	case matrix.TypeStringOrObject:
		return BadRequest(s.Name, s.Name+" must be a string or an object")
	}
	return BadRequest(s.Name, s.Name+" is invalid")
}

func describeRange(s *matrix.ParamSpec) string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	switch {
	case s.Min > -1e308 && s.Max < 1e308:
		return "between " + f(s.Min) + " and " + f(s.Max)
	case s.Min > -1e308:
		return "at least " + f(s.Min)
	default:
		return "at most " + f(s.Max)
	}
}

var roles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true, "function": true}

func validateMessages(msgs []Message) *Error {
	conversation := false
	for i := range msgs {
		m := &msgs[i]
		at := "messages[" + strconv.Itoa(i) + "]"
		switch {
		case !roles[m.Role]:
			return BadRequest(at+".role", at+".role must be system, developer, user, assistant or tool")
		case m.Role == "tool" || m.Role == "function":
			return Unsupported(at+".role", "tool messages need tool calling, which this gateway does not support yet")
		case m.ToolCalls != nil && matrix.RawPresent(m.ToolCalls), m.FunctionCall != nil && matrix.RawPresent(m.FunctionCall):
			return Unsupported(at+".tool_calls", "assistant tool calls need tool calling, which this gateway does not support yet")
		case m.Audio != nil && matrix.RawPresent(m.Audio):
			return Unsupported(at+".audio", "audio is not supported")
		case m.Content.IsNull && m.Role != "assistant":
			return BadRequest(at+".content", at+".content is required")
		}
		if m.Role == "user" || m.Role == "assistant" {
			conversation = true
		}
		for j := range m.Content.Parts {
			p := &m.Content.Parts[j]
			pat := at + ".content[" + strconv.Itoa(j) + "]"
			switch p.Type {
			case "text":
			case "image_url":
				if m.Role != "user" {
					return BadRequest(pat+".type", "image parts are allowed only in user messages")
				}
				if p.ImageURL == nil || p.ImageURL.URL == "" {
					return BadRequest(pat+".image_url.url", pat+".image_url.url is required")
				}
			case "input_audio", "file":
				return Unsupported(pat+".type", p.Type+" content parts are not supported by any registered model")
			default:
				return BadRequest(pat+".type", pat+".type must be text or image_url")
			}
			if p.CacheControl != nil && p.CacheControl.Type != "ephemeral" {
				return BadRequest(pat+".cache_control.type", "cache_control.type must be ephemeral")
			}
		}
	}
	if !conversation {
		return BadRequest("messages", "messages must include at least one user or assistant message")
	}
	return nil
}

// unknownKey walks the top-level keys of a body that already decoded, and
// returns the first one that is neither a core field nor a parameter of the
// superset. The body is known to be valid JSON, so the walk only needs to
// find where each value ends.
func unknownKey(body []byte) (string, bool) {
	i := skipSpace(body, 0) + 1 // past '{'
	for {
		i = skipSpace(body, i)
		if i >= len(body) || body[i] == '}' {
			return "", true
		}
		if body[i] == ',' {
			i++
			continue
		}
		end := stringEnd(body, i)
		name := bytesconv.String(body[i+1 : end-1])
		if hasByte(body[i+1:end-1], '\\') {
			name = unescape(body[i:end])
		}
		if !generated.KnownField(name) {
			return strings.Clone(name), false
		}
		i = skipSpace(body, end)
		i = valueEnd(body, skipSpace(body, i+1)) // past ':' and the value
	}
}

// unescape decodes a JSON string literal whose key uses escapes, which no
// client needs but JSON allows ("\u0074emperature" is temperature).
func unescape(literal []byte) string {
	var s string
	if err := json.Unmarshal(literal, &s); err != nil {
		return string(literal)
	}
	return s
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at b[i] == '"'.
// It jumps from quote to quote (bytes.IndexByte is vectorised) and skips a
// quote that an odd run of backslashes escapes.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return len(b)
		}
		j += q
		backslashes := 0
		for k := j - 1; k > i && b[k] == '\\'; k-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return j + 1
		}
		j++
	}
	return len(b)
}

// valueEnd returns the index just past the value that starts at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ' ' && b[i] != '\n' && b[i] != '\t' && b[i] != '\r' {
		i++
	}
	return i
}

func hasByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}
