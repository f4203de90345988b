// Package responses is OpenToken's third front door: the OpenAI Responses
// API (POST /v1/responses), which Codex and the OpenAI Agents SDK speak. It
// decodes a Responses request into the neutral llm.Request the other doors
// produce, so that the same generated filters, adapters, suppliers, tenancy
// and metrics serve it, and writes the response object and its event
// stream. Reasoning an upstream needs back in a tool loop travels in a
// reasoning item's encrypted_content, sealed by the gateway (Sealer). It
// knows nothing of upstreams.
package responses

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/internal/bytesconv"
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonscan"
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/matrix"
)

// request is a Responses request body as sent.
type request struct {
	Model              string          `json:"model"`
	Instructions       json.RawMessage `json:"-"` // a view of the body, by scanFields: the decoder would copy it
	Input              json.RawMessage `json:"-"` // a view of the body, by scanFields: the decoder would copy it
	Tools              []tool          `json:"tools"`
	ToolChoice         json.RawMessage `json:"-"` // a view of the body, by scanFields: the decoder would copy it
	ParallelToolCalls  *bool           `json:"parallel_tool_calls"`
	Reasoning          *reasoning      `json:"reasoning"`
	MaxOutputTokens    *int64          `json:"max_output_tokens"`
	Temperature        *float64        `json:"temperature"`
	TopP               *float64        `json:"top_p"`
	Text               *textConfig     `json:"text"`
	Include            []string        `json:"include"`
	Store              json.RawMessage `json:"-"` // a view of the body, by scanFields: the decoder would copy it
	PromptCacheKey     *string         `json:"prompt_cache_key"`
	Metadata           json.RawMessage `json:"-"` // a view of the body, by scanFields: the decoder would copy it
	ServiceTier        *string         `json:"service_tier"`
	User               *string         `json:"user"`
	Stream             *bool           `json:"stream"`
	PreviousResponseID *string         `json:"previous_response_id"`
	SafetyIdentifier   *string         `json:"safety_identifier"`
}

// known are the fields of a Responses request the door reads; unserved
// are fields it accepts and reports as dropped (features of OpenAI's own
// platform); any other is refused, as OpenAI refuses it.
var (
	known = map[string]bool{"model": true, "instructions": true, "input": true, "tools": true, "tool_choice": true,
		"parallel_tool_calls": true, "reasoning": true, "max_output_tokens": true, "temperature": true, "top_p": true,
		"text": true, "include": true, "store": true, "prompt_cache_key": true, "metadata": true, "service_tier": true,
		"user": true, "stream": true, "previous_response_id": true, "safety_identifier": true}
	unserved = map[string]bool{"client_metadata": true, "truncation": true, "max_tool_calls": true, "background": true,
		"top_logprobs": true, "prompt": true, "conversation": true, "stream_options": true, "prompt_cache_retention": true,
		"context_management": true}
)

type tool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	Strict      *bool           `json:"strict"`
	// namespace tools group functions.
	Tools []tool `json:"tools"`
}

type reasoning struct {
	Effort  *string `json:"effort"`
	Summary *string `json:"summary"`
}

type textConfig struct {
	Format    *format `json:"format"`
	Verbosity *string `json:"verbosity"`
}

type format struct {
	Type   string          `json:"type"`
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema"`
	Strict *bool           `json:"strict"`
}

// item is one input item of any type; each type uses its fields.
type item struct {
	Type    string          `json:"type"`
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	// function_call
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Arguments string `json:"arguments"`
	// function_call_output
	Output json.RawMessage `json:"output"`
	// reasoning
	EncryptedContent string `json:"encrypted_content"`
}

// part is a content part of a message item.
type part struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL string `json:"image_url"`
	FileID   string `json:"file_id"`
	Refusal  string `json:"refusal"`
	// input_file
	FileData string `json:"file_data"`
	FileURL  string `json:"file_url"`
	Filename string `json:"filename"`
}

// Decoded is what the door keeps of a request beside the neutral one.
type Decoded struct {
	Model string
	// Dropped names what was accepted and not forwarded: platform fields,
	// hosted tools.
	Dropped []string
	// Namespaces maps a flattened function name (ns__fn) to its namespace
	// and name, to restore in answers.
	Namespaces map[string][2]string
	// Include asks for the reasoning's encrypted_content in answers.
	EncryptedReasoning bool
	// Summary asks for reasoning summaries ("auto", "concise", "detailed").
	Summary bool
	// Store is whether the response is kept (the API's default: true).
	Store              bool
	PreviousResponseID string
	// prior and input are the history of the previous response and the
	// request's input, for InputItems.
	prior, input []byte
	// What Echo and the superset point to, kept here rather than in
	// allocations of their own.
	instructions string
	store        bool
	// Echo is the request's settings the response object repeats.
	Echo Echo
}

// Echo is what a response object repeats of its request.
type Echo struct {
	Instructions    *string
	MaxOutputTokens *int64
	// temperature and topP are the numbers as the client wrote them
	// (checked by the decoder), echoed without formatting a float.
	temperature, topP []byte
	ToolChoice        json.RawMessage
	ParallelToolCalls bool
	Metadata          json.RawMessage
	Effort, Summary   *string
	User              *string
	ServiceTier       *string
	PromptCacheKey    *string
	// Tools and Text are the request's, as it wrote them (views of its
	// body).
	Tools, Text json.RawMessage
}

// nsSeparator joins a namespace and a function name into the one name an
// upstream takes (letters, digits, _ and -).
const nsSeparator = "__"

// PreviousID returns the previous_response_id a body names, "" for none.
func PreviousID(body []byte) string {
	obj := jsonscan.NewObject(body)
	for {
		key, val, ok := obj.Next()
		if !ok {
			return ""
		}
		if string(key) == "previous_response_id" {
			var id string
			_ = json.Unmarshal(val, &id)
			return id
		}
	}
}

// Decode parses and checks a Responses body into req. prior is the stored
// history of its previous_response_id (a JSON array of items, nil for
// none), decoded before its input. open unseals a reasoning item's
// encrypted_content. Failures are 400s naming the field with OpenAI's
// paths (input[2].content[0].text).
func Decode(body, prior []byte, req *llm.Request, out *Decoded, open func(string) ([]llm.ReasoningDetail, error)) *llm.Error {
	if matrix.RawKind(body) != '{' {
		return llm.BadRequest("", "request body must be a JSON object")
	}
	var r request
	if !readRequest(body, &r, out) {
		// The careful path: goccy/go-json, then the scan of the keys,
		// which also explain a refusal.
		r, out.Dropped, out.Echo = request{}, nil, Echo{}
		if err := json.UnmarshalNoCopy(body, &r); err != nil {
			var syntaxErr *json.SyntaxError
			if errors.As(err, &syntaxErr) {
				return llm.BadRequest("", "request body is not valid JSON: "+err.Error())
			}
			return llm.BadRequest("", "invalid request: "+err.Error())
		}
		if e := scanFields(body, &r, out); e != nil {
			return e
		}
	}
	if r.Model == "" {
		return llm.BadRequest("model", "model is required: a {provider}/{model} id such as google/gemini-3-flash")
	}
	out.Model = r.Model
	out.Store = true // the API's default
	switch string(r.Store) {
	case "", "null", "true":
	case "false":
		out.Store = false
	default:
		return llm.BadRequest("store", "store must be true or false")
	}
	out.store = out.Store
	if r.PreviousResponseID != nil {
		out.PreviousResponseID = *r.PreviousResponseID
	}
	for _, inc := range r.Include {
		out.EncryptedReasoning = out.EncryptedReasoning || inc == "reasoning.encrypted_content"
	}
	d := decoder{req: req, out: out, open: open}
	var instructions *string
	switch matrix.RawKind(r.Instructions) {
	case 0, 'n':
	case '"':
		if err := json.UnmarshalNoCopy(r.Instructions, &out.instructions); err != nil {
			return llm.BadRequest("instructions", "instructions must be a string")
		}
		instructions = &out.instructions
	default:
		return llm.BadRequest("instructions", "instructions must be a string")
	}
	// One allocation for the messages: the instructions and an item each,
	// at most.
	req.Messages = make([]llm.Message, 0, 1+countItems(r.Input)+countItems(prior))
	if out.instructions != "" {
		req.Messages = append(req.Messages, llm.Message{Role: "system", Content: llm.Content{Text: out.instructions}})
	}
	if e := d.tools(&r); e != nil {
		return e
	}
	if len(prior) > 0 {
		var items []item
		if err := json.Unmarshal(prior, &items); err != nil {
			return &llm.Error{Status: 500, Type: llm.TypeAPI, Message: "a stored response's history is unreadable: " + err.Error()}
		}
		for i := range items {
			if e := d.item(&items[i], loc{prior: true}); e != nil {
				return e
			}
		}
	}
	if e := d.input(r.Input); e != nil {
		return e
	}
	out.prior, out.input = prior, r.Input
	if e := d.settings(&r); e != nil {
		return e
	}
	out.Echo = Echo{temperature: out.Echo.temperature, topP: out.Echo.topP, Tools: out.Echo.Tools, Text: out.Echo.Text, Instructions: instructions, MaxOutputTokens: r.MaxOutputTokens,
		ToolChoice: r.ToolChoice, Metadata: r.Metadata, User: r.User, ServiceTier: r.ServiceTier, PromptCacheKey: r.PromptCacheKey,
		ParallelToolCalls: r.ParallelToolCalls == nil || *r.ParallelToolCalls}
	if r.Reasoning != nil {
		out.Echo.Effort, out.Echo.Summary = r.Reasoning.Effort, r.Reasoning.Summary
	}
	return nil
}

// InputItems is the request's input as items (a string input made one
// user message) after the history of its previous response: what a
// response stored from this request hands the next one. It is made only
// for a response that is stored.
func (d *Decoded) InputItems() []byte {
	prior, input := d.prior, d.input
	out := []byte{'['}
	if len(prior) > 2 {
		out = append(out, prior[1:len(prior)-1]...)
	}
	switch matrix.RawKind(input) {
	case '"':
		out = jsonw.Comma(out)
		out = append(out, `{"type":"message","role":"user","content":`...)
		out = append(out, input...)
		out = append(out, '}')
	case '[':
		trimmed := bytes.TrimSpace(input)
		if inner := bytes.TrimSpace(trimmed[1 : len(trimmed)-1]); len(inner) > 0 {
			out = jsonw.Comma(out)
			out = append(out, inner...)
		}
	}
	return append(out, ']')
}

// oneLine is raw JSON without line breaks, as an event stream's data line
// must be: the value itself when it has none (a client's compact JSON),
// else a compacted copy.
func oneLine(raw []byte) json.RawMessage {
	if !bytes.ContainsAny(raw, "\r\n") {
		return raw
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return nil // not JSON: the decoder refuses the request anyway
	}
	return b.Bytes()
}

// countItems is how many elements an input array has (1 for a string).
func countItems(raw []byte) int {
	switch matrix.RawKind(raw) {
	case '"':
		return 1
	case '[':
		arr := jsonscan.NewArray(raw)
		n := 0
		for _, ok := arr.Next(); ok; _, ok = arr.Next() {
			n++
		}
		return n
	}
	return 0
}

// scanFields refuses a field the Responses API does not have and notes
// the platform ones as dropped. It scans the keys in place, and takes the
// raw members as views of the body: the decoder would copy them.
func scanFields(body []byte, r *request, out *Decoded) *llm.Error {
	obj := jsonscan.NewObject(body)
	for {
		key, val, ok := obj.Next()
		if !ok {
			return nil
		}
		k := bytesconv.String(key)
		switch k {
		case "input":
			r.Input = val
		case "instructions":
			r.Instructions = val
		case "tool_choice":
			r.ToolChoice = val
		case "metadata":
			r.Metadata = val
		case "store":
			r.Store = val
		case "temperature":
			out.Echo.temperature = val
		case "top_p":
			out.Echo.topP = val
		case "tools":
			out.Echo.Tools = oneLine(val)
		case "text":
			out.Echo.Text = oneLine(val)
		}
		switch {
		case known[k]:
		case unserved[k]:
			out.Dropped = append(out.Dropped, strings.Clone(k))
		default:
			k = strings.Clone(k)
			return llm.BadRequest(k, "unknown parameter: '"+k+"'")
		}
	}
}

type decoder struct {
	req  *llm.Request
	out  *Decoded
	open func(string) ([]llm.ReasoningDetail, error)
	// pending is reasoning unsealed from an item, waiting for the
	// assistant turn it belongs to.
	pending []llm.ReasoningDetail
}

// tools maps the function tools, flattening namespaces; hosted tools
// (web_search, file_search, …), which no served model runs, are dropped
// and reported.
func (d *decoder) tools(r *request) *llm.Error {
	var fns []llm.Function
	var add func(t *tool, at, ns string) *llm.Error
	add = func(t *tool, at, ns string) *llm.Error {
		switch t.Type {
		case "function":
		case "namespace":
			if ns != "" || !llm.ValidToolName(t.Name) {
				return llm.BadRequest(at+".name", at+".name must be "+llm.ToolNameRule)
			}
			for k := range t.Tools {
				if e := add(&t.Tools[k], at+".tools["+strconv.Itoa(k)+"]", t.Name); e != nil {
					return e
				}
			}
			return nil
		default:
			d.out.Dropped = append(d.out.Dropped, at+"."+t.Type)
			return nil
		}
		name := t.Name
		if ns != "" {
			name = ns + nsSeparator + t.Name
			if d.out.Namespaces == nil {
				d.out.Namespaces = map[string][2]string{}
			}
			d.out.Namespaces[name] = [2]string{ns, t.Name}
		}
		if !llm.ValidToolName(name) {
			return llm.BadRequest(at+".name", at+".name must be "+llm.ToolNameRule)
		}
		for k := range fns {
			if fns[k].Name == name {
				return llm.BadRequest(at+".name", at+".name "+strconv.Quote(name)+" is declared twice")
			}
		}
		params := t.Parameters
		if matrix.RawPresent(params) && matrix.RawKind(params) != '{' {
			return llm.BadRequest(at+".parameters", at+".parameters must be a JSON Schema object")
		}
		fns = append(fns, llm.Function{Name: name, Description: t.Description, Parameters: params, Strict: t.Strict})
		return nil
	}
	for i := range r.Tools {
		if e := add(&r.Tools[i], "tools["+strconv.Itoa(i)+"]", ""); e != nil {
			return e
		}
	}
	if len(fns) == 0 && !matrix.RawPresent(r.ToolChoice) {
		return nil
	}
	t := &llm.Tools{Functions: fns}
	s := &d.req.Superset
	s.Tools = json.RawMessage("[]")
	if len(fns) > 0 {
		s.Tools = json.RawMessage(`[{}]`) // present: the filter sees tools
	}
	switch kind := matrix.RawKind(r.ToolChoice); {
	case kind == 0 || kind == 'n':
	case kind == '"':
		var c string
		_ = json.Unmarshal(r.ToolChoice, &c)
		switch c {
		case "auto":
			t.Choice.Mode = llm.ToolAuto
		case "none":
			t.Choice.Mode = llm.ToolNone
		case "required":
			t.Choice.Mode = llm.ToolRequired
		default:
			return llm.BadRequest("tool_choice", "tool_choice must be auto, none, required or a function")
		}
		s.ToolChoice = r.ToolChoice
	case kind == '{':
		var c struct{ Type, Name string }
		_ = json.Unmarshal(r.ToolChoice, &c)
		if c.Type != "function" || !declared(fns, c.Name) {
			return llm.BadRequest("tool_choice", "tool_choice names no declared function")
		}
		t.Choice = llm.ToolChoice{Mode: llm.ToolNamed, Name: c.Name}
		s.ToolChoice = json.RawMessage(`{"type":"function"}`)
	default:
		return llm.BadRequest("tool_choice", "tool_choice must be a string or an object")
	}
	if p := r.ParallelToolCalls; p != nil {
		s.ParallelToolCalls = p
	}
	d.req.ToolSet = t
	return nil
}

func declared(fns []llm.Function, name string) bool {
	for i := range fns {
		if fns[i].Name == name {
			return true
		}
	}
	return false
}

// input maps input: a string (one user message) or items.
func (d *decoder) input(raw json.RawMessage) *llm.Error {
	switch matrix.RawKind(raw) {
	case '"':
		var text string
		if err := json.UnmarshalNoCopy(raw, &text); err != nil {
			return llm.BadRequest("input", "input must be a string or an array of items")
		}
		d.req.Messages = append(d.req.Messages, llm.Message{Role: "user", Content: llm.Content{Text: text}})
		return nil
	case '[':
	default:
		return llm.BadRequest("input", "input is required: a string or an array of items")
	}
	// One item decoded at a time: a Codex request holds dozens, and a
	// slice of them would be grown and copied as it decodes.
	arr := jsonscan.NewArray(raw)
	n := 0
	var it item
	for ; ; n++ {
		raw, ok := arr.Next()
		if !ok {
			break
		}
		at := loc{item: n}
		it = item{}
		if err := decodeItem(raw, &it); err != nil {
			return llm.BadRequest(at.String(), at.String()+" is not an item: "+err.Error())
		}
		if e := d.item(&it, at); e != nil {
			return e
		}
	}
	if len(d.req.Messages) == 0 || d.req.Messages[len(d.req.Messages)-1].Role == "system" && n == 0 {
		return llm.BadRequest("input", "input must hold at least one item")
	}
	return nil
}

// assistant returns the assistant turn the next calls and reasoning join:
// the last message when it is an assistant's, else a new one.
func (d *decoder) assistant() *llm.Message {
	msgs := d.req.Messages
	if n := len(msgs); n > 0 && msgs[n-1].Role == "assistant" {
		return &msgs[n-1]
	}
	d.req.Messages = append(d.req.Messages, llm.Message{Role: "assistant", Content: llm.Content{IsParts: true}})
	return &d.req.Messages[len(d.req.Messages)-1]
}

// loc is where an item or part is, made into its path only for an
// error: input[2], input[2].content[1]; an item of the previous
// response's history is previous_response_id.
type loc struct {
	prior bool
	item  int
	field string // "content" or "output" for a part
	part  int
}

func (l loc) in(field string, part int) loc { l.field, l.part = field, part; return l }

func (l loc) String() string {
	s := "previous_response_id"
	if !l.prior {
		s = "input[" + strconv.Itoa(l.item) + "]"
	}
	if l.field != "" {
		s += "." + l.field + "[" + strconv.Itoa(l.part) + "]"
	}
	return s
}

func (d *decoder) item(it *item, at loc) *llm.Error {
	typ := it.Type
	if typ == "" && it.Role != "" {
		typ = "message" // an easy input message
	}
	switch typ {
	case "message":
		return d.message(it, at)
	case "function_call":
		d.req.ToolHistory = true
		if it.CallID == "" || it.Name == "" {
			return llm.BadRequest(at.String(), at.String()+": a function_call needs call_id and name")
		}
		args := strings.TrimSpace(it.Arguments)
		if args == "" {
			args = "{}"
		}
		if !json.Valid([]byte(args)) || args[0] != '{' {
			return llm.BadRequest(at.String()+".arguments", at.String()+".arguments must be a JSON object")
		}
		name := it.Name
		if it.Namespace != "" {
			name = it.Namespace + nsSeparator + it.Name
		}
		m := d.assistant()
		tc := llm.ToolCall{ID: it.CallID, Type: "function", Function: llm.FunctionCall{Name: name, Arguments: args}}
		for i := 0; i < len(d.pending); i++ {
			if p := d.pending[i]; p.Format == llm.FormatGoogle && (p.ID == "" || p.ID == it.CallID) {
				tc.ExtraContent = llm.GoogleSignature(p.Data)
				d.pending = append(d.pending[:i], d.pending[i+1:]...)
				break
			}
		}
		m.ReasoningDetails = append(m.ReasoningDetails, d.pending...)
		d.pending = nil
		m.ToolCalls = append(m.ToolCalls, tc)
		return nil
	case "function_call_output":
		d.req.ToolHistory = true
		if it.CallID == "" {
			return llm.BadRequest(at.String()+".call_id", at.String()+".call_id is required")
		}
		m := llm.Message{Role: "tool", ToolCallID: it.CallID}
		switch matrix.RawKind(it.Output) {
		case '"':
			_ = json.Unmarshal(it.Output, &m.Content.Text)
		case '[':
			parts, err := decodeParts(it.Output)
			if err != nil {
				return llm.BadRequest(at.String()+".output", at.String()+".output must be a string or content parts")
			}
			m.Content.IsParts = true
			for k := range parts {
				p, e := d.part(&parts[k], at.in("output", k))
				if e != nil {
					return e
				}
				m.Content.Parts = append(m.Content.Parts, p)
			}
		default:
			return llm.BadRequest(at.String()+".output", at.String()+".output must be a string or content parts")
		}
		d.req.Messages = append(d.req.Messages, m)
		return nil
	case "reasoning":
		if it.EncryptedContent == "" {
			return nil // a summary alone carries nothing an upstream needs
		}
		details, err := d.open(it.EncryptedContent)
		if err != nil {
			return llm.BadRequest(at.String()+".encrypted_content", at.String()+".encrypted_content was not sealed by this gateway, or was altered: "+err.Error())
		}
		d.pending = append(d.pending, details...)
		return nil
	case "item_reference":
		return llm.BadRequest(at.String()+".type", at.String()+": item references need stored items; send the items themselves")
	}
	d.out.Dropped = append(d.out.Dropped, at.String()+"."+typ)
	return nil
}

// message maps a message item: user, system and developer input, and an
// assistant's earlier output.
func (d *decoder) message(it *item, at loc) *llm.Error {
	role := it.Role
	switch role {
	case "user", "assistant":
	case "system", "developer":
		role = "system"
	default:
		return llm.BadRequest(at.String()+".role", at.String()+".role must be user, assistant, system or developer")
	}
	var content llm.Content
	switch matrix.RawKind(it.Content) {
	case '"':
		if err := json.UnmarshalNoCopy(it.Content, &content.Text); err != nil {
			return llm.BadRequest(at.String()+".content", at.String()+".content must be a string or content parts")
		}
	case '[':
		parts, err := decodeParts(it.Content)
		if err != nil {
			return llm.BadRequest(at.String()+".content", at.String()+".content must be a string or content parts")
		}
		content.IsParts = true
		for k := range parts {
			p, e := d.part(&parts[k], at.in("content", k))
			if e != nil {
				return e
			}
			content.Parts = append(content.Parts, p)
		}
	default:
		return llm.BadRequest(at.String()+".content", at.String()+".content is required")
	}
	if role == "assistant" {
		m := d.assistant()
		if len(m.ToolCalls) > 0 {
			// Text after calls starts a turn of its own.
			d.req.Messages = append(d.req.Messages, llm.Message{Role: "assistant", Content: llm.Content{IsParts: true}})
			m = &d.req.Messages[len(d.req.Messages)-1]
		}
		if content.IsParts {
			m.Content.Parts = append(m.Content.Parts, content.Parts...)
		} else {
			m.Content.Parts = append(m.Content.Parts, llm.Part{Type: "text", Text: content.Text})
		}
		return nil
	}
	d.req.Messages = append(d.req.Messages, llm.Message{Role: role, Content: content})
	return nil
}

// part maps a content part.
func (d *decoder) part(p *part, at loc) (llm.Part, *llm.Error) {
	switch p.Type {
	case "input_text", "output_text", "text":
		return llm.Part{Type: "text", Text: p.Text}, nil
	case "refusal":
		return llm.Part{Type: "text", Text: p.Refusal}, nil
	case "input_image":
		if p.ImageURL == "" {
			return llm.Part{}, llm.BadRequest(at.String()+".image_url", at.String()+": an input_image needs image_url (file ids are OpenAI's storage)")
		}
		if d.req.Images == "" {
			d.req.Images = at.String()
		}
		return llm.Part{Type: "image_url", ImageURL: &llm.ImageURL{URL: p.ImageURL}}, nil
	case "input_file":
		doc := &llm.Document{Title: p.Filename}
		switch {
		case strings.HasPrefix(p.FileData, "data:"):
			mediaType, data, ok := llm.DataURL(p.FileData)
			if !ok || mediaType != "application/pdf" {
				return llm.Part{}, llm.BadRequest(at.String()+".file_data", at.String()+".file_data must be a PDF as a base64 data: URL (data:application/pdf;base64,…)")
			}
			doc.MediaType, doc.Data = mediaType, data
		case p.FileURL != "":
			doc.URL = p.FileURL
		default:
			return llm.Part{}, llm.BadRequest(at.String()+".file_id", at.String()+": send the file as file_data or file_url; file ids name OpenAI's storage")
		}
		if d.req.Documents == "" {
			d.req.Documents = at.String()
		}
		return llm.Part{Type: "document", Document: doc}, nil
	}
	return llm.Part{}, llm.BadRequest(at.String()+".type", at.String()+".type "+strconv.Quote(p.Type)+" is not served; send input_text, input_image, input_file or output_text")
}

// settings maps the sampling values, reasoning and text format onto the
// superset, where the model's generated filter decides what goes on.
func (d *decoder) settings(r *request) *llm.Error {
	s := &d.req.Superset
	s.Temperature, s.TopP, s.Stream, s.MaxTokens = r.Temperature, r.TopP, r.Stream, r.MaxOutputTokens
	s.User, s.ServiceTier, s.PromptCacheKey, s.SafetyIdentifier = r.User, r.ServiceTier, r.PromptCacheKey, r.SafetyIdentifier
	if matrix.RawPresent(r.Metadata) {
		s.Metadata = r.Metadata
	}
	if matrix.RawKind(r.Store) == 't' || matrix.RawKind(r.Store) == 'f' {
		s.Store = &d.out.store
	}
	if rs := r.Reasoning; rs != nil {
		if rs.Effort != nil {
			if _, ok := matrix.ParseEffort(*rs.Effort); !ok {
				return llm.BadRequest("reasoning.effort", "reasoning.effort must be one of: "+strings.Join(matrix.EffortNames[:], ", "))
			}
			d.req.ReasoningObject = &llm.Reasoning{Effort: rs.Effort}
			s.Reasoning = json.RawMessage(`{}`)
		}
		if rs.Summary != nil && *rs.Summary != "" && *rs.Summary != "none" {
			d.out.Summary = true
		}
	}
	if t := r.Text; t != nil {
		if t.Verbosity != nil {
			s.Verbosity = t.Verbosity
		}
		if f := t.Format; f != nil {
			switch f.Type {
			case "text":
			case "json_object":
				d.req.Format = &llm.ResponseFormat{Type: "json_object"}
				s.ResponseFormat = json.RawMessage(`{"type":"json_object"}`)
			case "json_schema":
				if matrix.RawKind(f.Schema) != '{' {
					return llm.BadRequest("text.format.schema", "text.format.schema must be a JSON Schema object")
				}
				d.req.Format = &llm.ResponseFormat{Type: "json_schema", JSONSchema: &llm.JSONSchema{Name: f.Name, Schema: f.Schema, Strict: f.Strict}}
				s.ResponseFormat = json.RawMessage(`{"type":"json_schema"}`)
			default:
				return llm.BadRequest("text.format.type", "text.format.type must be text, json_object or json_schema")
			}
		}
	}
	if bad, ok := s.Validate(); !ok {
		return llm.BadRequest(paramName(bad), paramName(bad)+" is out of range")
	}
	return nil
}
