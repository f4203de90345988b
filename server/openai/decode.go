package openai

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/llm"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/bytesconv"
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonscan"
	"github.com/opentoken/opentoken/matrix"
)

// DecodeChat parses and validates a chat request body into req, which
// must be zero but for Messages: an empty list there lends its room to the
// messages (a server reuses one from request to request). Every failure is
// a 400 whose param names the offending field.
//
// Two decoders read the body: decodeFast in one pass for the requests
// clients send, and decodeCareful, through goccy/go-json, for every body
// the fast one does not take; the careful one is also what explains a
// refusal. They decode the same bodies to the same values (FuzzDecoders).
func DecodeChat(body []byte, req *llm.Request) *llm.Error {
	if matrix.RawKind(body) != '{' {
		if len(body) == 0 {
			return llm.BadRequest("", "request body is empty; send a JSON object")
		}
		return llm.BadRequest("", "request body must be a JSON object")
	}
	read, ok := decodeFast(body, req)
	var tools []tool
	if read != nil {
		defer recycleTools(read)
		tools = *read
	}
	if !ok {
		*req, tools = llm.Request{}, nil
		if e := decodeCareful(body, req); e != nil {
			return e
		}
	}
	if req.Model == "" {
		return llm.BadRequest("model", "model is required: a {provider}/{model} id such as google/gemini-3-flash")
	}
	if len(req.Messages) == 0 {
		return llm.BadRequest("messages", "messages must be a non-empty array")
	}
	if bad, ok := req.Superset.Validate(); !ok {
		return rangeError(bad)
	}
	if matrix.RawPresent(req.Reasoning) {
		r := &llm.Reasoning{}
		if err := json.Unmarshal(req.Reasoning, r); err != nil {
			return llm.BadRequest("reasoning", "reasoning must be an object with effort, max_tokens, exclude and enabled")
		}
		req.ReasoningObject = r
		if r.Effort != nil {
			if _, ok := matrix.ParseEffort(*r.Effort); !ok {
				return llm.BadRequest("reasoning.effort", "reasoning.effort must be one of: "+strings.Join(matrix.EffortNames[:], ", "))
			}
		}
		if r.MaxTokens != nil && *r.MaxTokens < 0 {
			return llm.BadRequest("reasoning.max_tokens", "reasoning.max_tokens must not be negative")
		}
	}
	if raw := &req.Superset; matrix.RawPresent(raw.Tools) || matrix.RawPresent(raw.Functions) ||
		matrix.RawPresent(raw.ToolChoice) || matrix.RawPresent(raw.FunctionCall) {
		if e := decodeTools(req, tools); e != nil {
			return e
		}
	}
	if matrix.RawPresent(req.Superset.ResponseFormat) {
		if e := decodeResponseFormat(req); e != nil {
			return e
		}
	}
	return validateMessages(req)
}

// decodeCareful decodes body with goccy/go-json and then looks for a key
// no field took, which goccy/go-json ignores.
func decodeCareful(body []byte, req *llm.Request) *llm.Error {
	if err := json.UnmarshalNoCopy(body, req); err != nil {
		return decodeError(body, err)
	}
	if key, ok := unknownKey(body); !ok {
		return llm.BadRequest(key, "unknown field "+strconv.Quote(key)+": not an OpenAI Chat Completions or OpenRouter parameter")
	}
	return nil
}

// decodeError turns a decoding failure into a 400 naming the field, in
// the one spelling the gateway uses for paths: messages[0].content[1].text.
func decodeError(body []byte, err error) *llm.Error {
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return llm.BadRequest("", "request body is not valid JSON: "+err.Error())
	}
	// The decoder names the field of a plain type mismatch, but not of a
	// value a custom decoder (content, stop) refused, nor the index of a
	// message: find the path by decoding the body's parts one at a time.
	// This runs only for requests that are refused anyway.
	path := locate(body)
	var typeErr *json.UnmarshalTypeError
	switch {
	case path == "":
		return llm.BadRequest("", "invalid request body: "+err.Error())
	case errors.As(err, &typeErr):
		return llm.BadRequest(path, path+": wrong type ("+typeErr.Value+"); see the OpenAI Chat Completions schema")
	}
	// A custom decoder's message says which shape it wanted.
	return llm.BadRequest(path, path+": "+err.Error())
}

// locate returns the path of the first value of body, in key order, that
// does not decode into a chat request.
func locate(body []byte) string {
	return locateIn(body, func(one []byte) error { var r llm.Request; return json.Unmarshal(one, &r) },
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
		path := locateIn(m, func(one []byte) error { var msg llm.Message; return json.Unmarshal(one, &msg) },
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
		var part llm.Part
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
func rangeError(p matrix.Param) *llm.Error {
	s := &generated.ParamSpecs[p]
	switch s.Type {
	case matrix.TypeNumber, matrix.TypeInteger:
		return llm.BadRequest(s.Name, s.Name+" must be "+describeRange(s))
	case matrix.TypeEnum:
		return llm.BadRequest(s.Name, s.Name+" must be one of: "+strings.Join(s.Enum, ", "))
	case matrix.TypeStringOrArray:
		return llm.BadRequest(s.Name, s.Name+" must have at most "+strconv.Itoa(s.MaxItems)+" items")
	case matrix.TypeObject:
		return llm.BadRequest(s.Name, s.Name+" must be an object")
	case matrix.TypeArray:
		return llm.BadRequest(s.Name, s.Name+" must be an array")
	case matrix.TypeStringOrObject:
		return llm.BadRequest(s.Name, s.Name+" must be a string or an object")
	}
	return llm.BadRequest(s.Name, s.Name+" is invalid")
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

func validateMessages(req *llm.Request) *llm.Error {
	msgs := req.Messages
	conversation := false
	var loop toolLoop
	for i := range msgs {
		m := &msgs[i]
		if m.Role == "function" {
			// The deprecated result message: answers the latest call of its
			// function, and is a tool message from here on.
			m.Role, m.ToolCallID = "tool", loop.byName(m.Name)
			if m.ToolCallID == "" {
				return llm.BadRequest(msgAt(i)+".name", "a function message must answer a function_call of the assistant message before it; none calls "+strconv.Quote(m.Name))
			}
		}
		if m.Role != "tool" {
			if e := loop.close(); e != nil {
				return e
			}
		}
		switch {
		case !roles[m.Role]:
			return llm.BadRequest(msgAt(i)+".role", msgAt(i)+".role must be system, developer, user, assistant or tool")
		case m.Role == "tool":
			if e := loop.answer(m, i); e != nil {
				return e
			}
		case m.Audio != nil && matrix.RawPresent(m.Audio):
			return llm.Unsupported(msgAt(i)+".audio", "audio is not supported")
		case m.Content.IsNull && m.Role != "assistant":
			return llm.BadRequest(msgAt(i)+".content", msgAt(i)+".content is required")
		}
		if m.Role == "assistant" {
			if e := loop.open(m, i); e != nil {
				return e
			}
			req.ToolHistory = req.ToolHistory || len(m.ToolCalls) > 0
		}
		if m.Role == "user" || m.Role == "assistant" {
			conversation = true
		}
		if e := validateParts(req, m, i); e != nil {
			return e
		}
	}
	if e := loop.close(); e != nil {
		return e
	}
	if !conversation {
		return llm.BadRequest("messages", "messages must include at least one user or assistant message")
	}
	return nil
}

// msgAt is the path of message i, for errors.
func msgAt(i int) string { return "messages[" + strconv.Itoa(i) + "]" }

// validateParts checks message i's parts, and notes on req its first image
// and its cache breakpoints. A part's path is built only for an error.
func validateParts(req *llm.Request, m *llm.Message, i int) *llm.Error {
	for j := range m.Content.Parts {
		p := &m.Content.Parts[j]
		pat := func() string { return msgAt(i) + ".content[" + strconv.Itoa(j) + "]" }
		switch p.Type {
		case "text":
		case "image_url":
			if req.Images == "" {
				req.Images = pat()
			}
			if m.Role != "user" {
				return llm.BadRequest(pat()+".type", "image parts are allowed only in user messages")
			}
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return llm.BadRequest(pat()+".image_url.url", pat()+".image_url.url is required")
			}
		case "refusal":
			if m.Role != "assistant" {
				return llm.BadRequest(pat()+".type", "refusal parts are allowed only in assistant messages")
			}
		case "file":
			if e := decodeFile(req, p, m, pat); e != nil {
				return e
			}
		case "input_audio":
			if e := decodeAudio(req, p, m, pat); e != nil {
				return e
			}
		default:
			return llm.BadRequest(pat()+".type", pat()+".type must be text, image_url, file or input_audio")
		}
		if p.CacheControl != nil {
			req.CacheBreakpoints++
			if e := llm.CheckCacheControl(p.CacheControl, pat()); e != nil {
				return e
			}
		}
	}
	return nil
}

// decodeFile reads a file part: a PDF as a base64 data: URL
// (file.file_data) or an http(s) URL, into a document. File ids name
// OpenAI's own storage, which no upstream here has.
func decodeFile(req *llm.Request, p *llm.Part, m *llm.Message, pat func() string) *llm.Error {
	var f struct {
		FileData string `json:"file_data"`
		Filename string `json:"filename"`
		FileID   string `json:"file_id"`
	}
	if err := json.Unmarshal(p.File, &f); err != nil {
		return llm.BadRequest(pat()+".file", pat()+".file must be an object with file_data and filename")
	}
	if m.Role != "user" {
		return llm.BadRequest(pat()+".type", "file parts are allowed only in user messages")
	}
	doc := &llm.Document{Title: f.Filename}
	switch {
	case f.FileID != "" && f.FileData == "":
		return llm.Unsupported(pat()+".file.file_id", "file ids name files stored at OpenAI, which no upstream here can read; send the file as file_data")
	case strings.HasPrefix(f.FileData, "data:"):
		mediaType, data, ok := llm.DataURL(f.FileData)
		if !ok {
			return llm.BadRequest(pat()+".file.file_data", pat()+".file.file_data must be a base64 data: URL such as data:application/pdf;base64,…")
		}
		if mediaType != "application/pdf" {
			return llm.Unsupported(pat()+".file.file_data", "files of type "+mediaType+" are not read by any model here; PDFs are (application/pdf)")
		}
		doc.MediaType, doc.Data = mediaType, data
	case strings.HasPrefix(f.FileData, "https://") || strings.HasPrefix(f.FileData, "http://"):
		doc.URL = f.FileData
	default:
		return llm.BadRequest(pat()+".file.file_data", pat()+".file.file_data is required: a base64 data: URL of a PDF, or its http(s) URL")
	}
	p.Type, p.Document = "document", doc
	if req.Documents == "" {
		req.Documents = pat()
	}
	return nil
}

// decodeAudio reads an input_audio part: base64 data in wav or mp3.
func decodeAudio(req *llm.Request, p *llm.Part, m *llm.Message, pat func() string) *llm.Error {
	var a struct {
		Data   string `json:"data"`
		Format string `json:"format"`
	}
	if err := json.Unmarshal(p.InputAudio, &a); err != nil || a.Data == "" {
		return llm.BadRequest(pat()+".input_audio", pat()+".input_audio must be an object with data (base64) and format")
	}
	if m.Role != "user" {
		return llm.BadRequest(pat()+".type", "input_audio parts are allowed only in user messages")
	}
	if llm.AudioMediaType(a.Format) == "" {
		return llm.BadRequest(pat()+".input_audio.format", pat()+".input_audio.format must be wav or mp3")
	}
	p.Type, p.Sound = "audio", &llm.Audio{Format: a.Format, Data: a.Data}
	if req.Audio == "" {
		req.Audio = pat()
	}
	return nil
}

// toolLoop follows the calls of the latest assistant message: each must be
// answered by a tool message before the conversation goes on, as OpenAI
// requires and both upstreams do too.
type toolLoop struct {
	calls    []llm.ToolCall // of the latest assistant message
	answered []bool
}

// open starts following an assistant message's calls, mapping a legacy
// function_call onto a call with an id of its own.
func (l *toolLoop) open(m *llm.Message, i int) *llm.Error {
	if len(m.ToolCalls) == 0 && m.FunctionCall == nil {
		return nil
	}
	at := msgAt(i)
	if m.FunctionCall != nil {
		if len(m.ToolCalls) > 0 {
			return llm.BadRequest(at+".function_call", "an assistant message carries tool_calls or the deprecated function_call, not both")
		}
		// Legacy calls have no id: one is made from the message's position,
		// the same on every turn of the loop.
		m.ToolCalls = []llm.ToolCall{{ID: llm.LegacyCallIDPrefix + strconv.Itoa(i), Type: "function", Function: *m.FunctionCall}}
	}
	for j := range m.ToolCalls {
		c := &m.ToolCalls[j]
		cat := at + ".tool_calls[" + strconv.Itoa(j) + "]"
		switch {
		case c.ID == "":
			return llm.BadRequest(cat+".id", cat+".id is required")
		case c.Type != "function" && c.Type != "":
			return llm.BadRequest(cat+".type", cat+".type must be function")
		case !llm.ValidToolName(c.Function.Name):
			return llm.BadRequest(cat+".function.name", cat+".function.name must be "+nameRule)
		}
		if c.Function.Arguments == "" {
			c.Function.Arguments = "{}"
		}
		if args := []byte(c.Function.Arguments); matrix.RawKind(args) != '{' || !json.Valid(args) {
			return llm.BadRequest(cat+".function.arguments", cat+".function.arguments must be a JSON object, as text")
		}
	}
	if len(m.ToolCalls) > 0 {
		l.calls, l.answered = m.ToolCalls, make([]bool, len(m.ToolCalls))
	}
	return nil
}

// answer checks a tool message against the calls it may answer.
func (l *toolLoop) answer(m *llm.Message, i int) *llm.Error {
	at := msgAt(i)
	if m.ToolCallID == "" {
		return llm.BadRequest(at+".tool_call_id", at+".tool_call_id is required")
	}
	for j := range m.Content.Parts {
		if m.Content.Parts[j].Type != "text" {
			return llm.BadRequest(at+".content["+strconv.Itoa(j)+"].type", "tool messages take only text parts")
		}
	}
	for j := range l.calls {
		if l.calls[j].ID == m.ToolCallID {
			if l.answered[j] {
				return llm.BadRequest(at+".tool_call_id", "tool_call_id "+strconv.Quote(m.ToolCallID)+" is answered twice")
			}
			l.answered[j] = true
			return nil
		}
	}
	return llm.BadRequest(at+".tool_call_id", "Invalid parameter: messages with role 'tool' must be a response to a preceding message with 'tool_calls'; "+
		strconv.Quote(m.ToolCallID)+" is not a call of the assistant message before it")
}

// byName returns the id of the latest unanswered call of a function.
func (l *toolLoop) byName(name string) string {
	for j := len(l.calls) - 1; j >= 0; j-- {
		if l.calls[j].Function.Name == name && !l.answered[j] {
			return l.calls[j].ID
		}
	}
	return ""
}

// close ends the loop: every call must have been answered.
func (l *toolLoop) close() *llm.Error {
	var missing []string
	for j := range l.calls {
		if !l.answered[j] {
			missing = append(missing, l.calls[j].ID)
		}
	}
	l.calls, l.answered = nil, nil
	if missing != nil {
		return llm.BadRequest("messages", "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: "+strings.Join(missing, ", "))
	}
	return nil
}

// unknownKey walks the top-level keys of a body that already decoded, and
// returns the first one that is neither a core field nor a parameter of the
// superset. The body is known to be valid JSON, so the walk only needs to
// find where each value ends.
func unknownKey(body []byte) (string, bool) {
	i := jsonscan.SkipSpace(body, 0) + 1 // past '{'
	for {
		i = jsonscan.SkipSpace(body, i)
		if i >= len(body) || body[i] == '}' {
			return "", true
		}
		if body[i] == ',' {
			i++
			continue
		}
		end := jsonscan.StringEnd(body, i)
		name := bytesconv.String(body[i+1 : end-1])
		if hasByte(body[i+1:end-1], '\\') {
			name = unescape(body[i:end])
		}
		if !generated.KnownField(name) {
			return strings.Clone(name), false
		}
		i = jsonscan.SkipSpace(body, end)
		i = jsonscan.ValueEnd(body, jsonscan.SkipSpace(body, i+1)) // past ':' and the value
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

func hasByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}
