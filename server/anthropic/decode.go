// Package anthropic is OpenToken's second front door: the Anthropic
// Messages API (POST /v1/messages, /v1/messages/count_tokens), which Claude
// Code and the Anthropic SDKs speak. It decodes a Messages request into the
// neutral llm.Request the chat door produces too, so that the same
// generated filters, adapters, suppliers, tenancy and metrics serve it, and
// writes the answer, its stream and its errors in Anthropic's shapes. It
// knows nothing of upstreams.
package anthropic

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/bytesconv"
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonread"
	"github.com/opentoken/opentoken/internal/jsonscan"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/matrix"
)

// request is a Messages request body as sent.
type request struct {
	Model         string          `json:"model"`
	MaxTokens     *int64          `json:"max_tokens"`
	System        json.RawMessage `json:"system"`
	Messages      []message       `json:"messages"`
	Tools         []tool          `json:"tools"`
	ToolChoice    *toolChoice     `json:"tool_choice"`
	Thinking      *thinking       `json:"thinking"`
	OutputConfig  *outputConfig   `json:"output_config"`
	Temperature   *float64        `json:"temperature"`
	TopP          *float64        `json:"top_p"`
	TopK          *int64          `json:"top_k"`
	StopSequences []string        `json:"stop_sequences"`
	Metadata      *metadata       `json:"metadata"`
	Stream        *bool           `json:"stream"`
	ServiceTier   *string         `json:"service_tier"`
}

// unserved are Messages API fields no served model takes through the
// gateway (Anthropic-hosted features): accepted, dropped and reported.
var unserved = map[string]bool{"container": true, "context_management": true, "mcp_servers": true, "inference_geo": true}

// known are the fields of a Messages request.
var known = map[string]bool{"model": true, "max_tokens": true, "system": true, "messages": true, "tools": true,
	"tool_choice": true, "thinking": true, "output_config": true, "temperature": true, "top_p": true, "top_k": true,
	"stop_sequences": true, "metadata": true, "stream": true, "service_tier": true}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// block is one content block of any type; each type uses its fields.
type block struct {
	Type         string            `json:"type"`
	Text         string            `json:"text"`
	CacheControl *llm.CacheControl `json:"cache_control"`
	// image and document
	Source    *source         `json:"source"`
	Title     string          `json:"title"`
	Context   string          `json:"context"`
	Citations json.RawMessage `json:"citations"`
	// tool_use
	ID    string          `json:"id"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"`
	// tool_result
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	IsError   bool            `json:"is_error"`
	// thinking and redacted_thinking
	Thinking  string `json:"thinking"`
	Signature string `json:"signature"`
	Data      string `json:"data"`
}

type source struct {
	Type      string `json:"type"` // base64, url or text
	MediaType string `json:"media_type"`
	Data      string `json:"data"`
	URL       string `json:"url"`
}

type tool struct {
	Type         string            `json:"type"`
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	InputSchema  json.RawMessage   `json:"input_schema"`
	Strict       *bool             `json:"strict"`
	CacheControl *llm.CacheControl `json:"cache_control"`
}

type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use"`
}

type thinking struct {
	Type         string `json:"type"`
	BudgetTokens *int64 `json:"budget_tokens"`
	Display      string `json:"display"`
}

type outputConfig struct {
	Effort *string         `json:"effort"`
	Format json.RawMessage `json:"format"`
}

type metadata struct {
	UserID *string `json:"user_id"`
}

// GeminiSignature starts the signature of a thinking block that carries a
// Gemini thought signature instead of Claude's: the gateway writes it
// before a tool_use block of a Gemini answer, and reads it back onto that
// call. Claude's signatures are base64, which has no ':'.
const GeminiSignature = "opentoken-gemini:"

// Decoded is a Messages request as the door needs it beside the neutral
// request: what the client named the model, and what was dropped that is
// not a parameter of the superset.
type Decoded struct {
	Model   string
	Dropped []string
}

// Decode parses and checks a Messages request body into req, which must be
// zero but for Messages: an empty list there lends its room to the
// messages. count is set for count_tokens, which takes no max_tokens. Every failure is a 400
// naming the field the way Anthropic does (messages.0.content.1.text).
func Decode(body []byte, req *llm.Request, out *Decoded, count bool) *llm.Error {
	if matrix.RawKind(body) != '{' {
		return llm.BadRequest("", "request body must be a JSON object")
	}
	var r request
	if err := decodeRequest(body, &r); err != nil {
		var syntaxErr *json.SyntaxError
		if errors.As(err, &syntaxErr) {
			return llm.BadRequest("", "request body is not valid JSON: "+err.Error())
		}
		return llm.BadRequest("", "invalid request: "+err.Error())
	}
	if e := checkFields(body, out); e != nil {
		return e
	}
	switch {
	case r.Model == "":
		return llm.BadRequest("model", "model: Field required")
	case r.MaxTokens == nil && !count:
		return llm.BadRequest("max_tokens", "max_tokens: Field required")
	case r.MaxTokens != nil && *r.MaxTokens < 1:
		return llm.BadRequest("max_tokens", "max_tokens: must be at least 1")
	case len(r.Messages) == 0:
		return llm.BadRequest("messages", "messages: at least one message is required")
	}
	out.Model = r.Model
	d := decoder{req: req}
	if e := d.system(r.System); e != nil {
		return e
	}
	for i := range r.Messages {
		if e := d.message(&r.Messages[i], i); e != nil {
			return e
		}
	}
	if e := d.tools(&r); e != nil {
		return e
	}
	if e := d.sampling(&r, count, out); e != nil {
		return e
	}
	req.ToolHistory = d.history
	req.CacheBreakpoints = d.breakpoints
	return nil
}

// checkFields refuses a field the Messages API does not have, as Anthropic
// does, and notes the Anthropic-hosted ones as dropped. It scans the
// body's keys in place: the body was decoded whole already.
func checkFields(body []byte, out *Decoded) *llm.Error {
	obj := jsonscan.NewObject(body)
	for {
		key, _, ok := obj.Next()
		if !ok {
			return nil
		}
		k := bytesconv.String(key)
		switch {
		case known[k]:
		case unserved[k]:
			out.Dropped = append(out.Dropped, strings.Clone(k))
		default:
			k = strings.Clone(k)
			return llm.BadRequest(k, k+": Extra inputs are not permitted")
		}
	}
}

type decoder struct {
	req         *llm.Request
	history     bool
	breakpoints int
}

func (d *decoder) mark(cc *llm.CacheControl, at path) *llm.Error {
	if cc == nil {
		return nil
	}
	if e := llm.CheckCacheControl(cc, at.String()); e != nil {
		return e
	}
	d.breakpoints++
	return nil
}

// path is where in the request a value is, for an error message
// (messages.2.content.1); its text is built only when one is written.
type path struct {
	base string // messages, system or tools
	idx  [3]int // the index in base, then of a content block in each content
	n    int
}

func pathOf(base string, i int) path { return path{base: base, idx: [3]int{i}, n: 1} }

// content is the path of p's content block j.
func (p path) content(j int) path {
	p.idx[p.n] = j
	p.n++
	return p
}

// refuse is a 400 for the value at p's field (".source", or "" for p
// itself), named the way Anthropic names it.
func (p path) refuse(field, message string) *llm.Error {
	name := p.String() + field
	return llm.BadRequest(name, name+": "+message)
}

func (p path) String() string {
	b := append(make([]byte, 0, 32), p.base...)
	for k := range p.n {
		if k > 0 {
			b = append(b, ".content"...)
		}
		b = strconv.AppendInt(append(b, '.'), int64(p.idx[k]), 10)
	}
	return string(b)
}

// system maps system, a string or text blocks, to one system message
// whose parts keep every block, in order, with its breakpoint.
func (d *decoder) system(raw json.RawMessage) *llm.Error {
	switch matrix.RawKind(raw) {
	case 0, 'n':
		return nil
	case '"':
		text, ok := rawString(raw)
		if !ok {
			return llm.BadRequest("system", "system: must be a string or an array of text blocks")
		}
		d.req.Messages = append(d.req.Messages, llm.Message{Role: "system", Content: llm.Content{Text: text}})
		return nil
	case '[':
		var blocks []block
		if err := decodeBlocks(raw, &blocks); err != nil {
			return llm.BadRequest("system", "system: must be a string or an array of text blocks")
		}
		parts := make([]llm.Part, 0, len(blocks))
		for i := range blocks {
			b := &blocks[i]
			at := pathOf("system", i)
			if b.Type != "text" {
				return at.refuse(".type", "system blocks are text blocks")
			}
			if e := d.mark(b.CacheControl, at); e != nil {
				return e
			}
			parts = append(parts, llm.Part{Type: "text", Text: b.Text, CacheControl: b.CacheControl})
		}
		d.req.Messages = append(d.req.Messages, llm.Message{Role: "system", Content: llm.Content{Parts: parts, IsParts: true}})
		return nil
	}
	return llm.BadRequest("system", "system: must be a string or an array of text blocks")
}

// message maps one turn. A user turn's tool_result blocks become tool
// messages, in order, before a user message with its other blocks; an
// assistant turn's thinking blocks become its signed reasoning and its
// tool_use blocks its calls.
func (d *decoder) message(m *message, i int) *llm.Error {
	at := pathOf("messages", i)
	if m.Role != "user" && m.Role != "assistant" {
		return at.refuse(".role", "Input should be 'user' or 'assistant'")
	}
	switch matrix.RawKind(m.Content) {
	case '"':
		text, ok := rawString(m.Content)
		if !ok {
			return at.refuse(".content", "must be a string or an array of content blocks")
		}
		d.req.Messages = append(d.req.Messages, llm.Message{Role: m.Role, Content: llm.Content{Text: text}})
		return nil
	case '[':
	default:
		return at.refuse(".content", "must be a string or an array of content blocks")
	}
	var blocks []block
	if err := decodeBlocks(m.Content, &blocks); err != nil {
		return at.refuse(".content", err.Error())
	}
	if m.Role == "assistant" {
		return d.assistant(blocks, at)
	}
	var parts []llm.Part
	for j := range blocks {
		b := &blocks[j]
		bat := at.content(j)
		if e := d.mark(b.CacheControl, bat); e != nil {
			return e
		}
		if b.Type == "tool_result" {
			tm, e := d.toolResult(b, bat)
			if e != nil {
				return e
			}
			d.req.Messages = append(d.req.Messages, tm)
			continue
		}
		p, e := d.part(b, bat)
		if e != nil {
			return e
		}
		parts = append(parts, p)
	}
	if len(parts) > 0 {
		d.req.Messages = append(d.req.Messages, llm.Message{Role: "user", Content: llm.Content{Parts: parts, IsParts: true}})
	}
	return nil
}

// part maps a text, image or document block.
func (d *decoder) part(b *block, at path) (llm.Part, *llm.Error) {
	switch b.Type {
	case "text":
		return llm.Part{Type: "text", Text: b.Text, CacheControl: b.CacheControl}, nil
	case "image":
		s := b.Source
		switch {
		case s == nil:
			return llm.Part{}, at.refuse(".source", "Field required")
		case s.Type == "base64":
			if d.req.Images == "" {
				d.req.Images = at.String()
			}
			return llm.Part{Type: "image_url", ImageURL: &llm.ImageURL{URL: "data:" + s.MediaType + ";base64," + s.Data}, CacheControl: b.CacheControl}, nil
		case s.Type == "url":
			if d.req.Images == "" {
				d.req.Images = at.String()
			}
			return llm.Part{Type: "image_url", ImageURL: &llm.ImageURL{URL: s.URL}, CacheControl: b.CacheControl}, nil
		}
		return llm.Part{}, at.refuse(".source.type", "an image source is base64 or url")
	case "document":
		s := b.Source
		if s == nil {
			return llm.Part{}, at.refuse(".source", "Field required")
		}
		doc := &llm.Document{Title: b.Title, Context: b.Context, Citations: b.Citations}
		switch s.Type {
		case "base64":
			if s.MediaType != "application/pdf" {
				return llm.Part{}, at.refuse(".source.media_type", "a base64 document is application/pdf")
			}
			doc.MediaType, doc.Data = s.MediaType, s.Data
		case "url":
			doc.URL = s.URL
		case "text":
			doc.Text = s.Data
		default:
			return llm.Part{}, at.refuse(".source.type", "a document source is base64, url or text")
		}
		return llm.Part{Type: "document", Document: doc, CacheControl: b.CacheControl}, nil
	}
	return llm.Part{}, at.refuse(".type", strconv.Quote(b.Type)+" blocks are not served here; send text, image, document, tool_use, tool_result or thinking blocks")
}

// toolResult maps a tool_result block to a tool message; its content is a
// string or text blocks.
func (d *decoder) toolResult(b *block, at path) (llm.Message, *llm.Error) {
	d.history = true
	if b.ToolUseID == "" {
		return llm.Message{}, at.refuse(".tool_use_id", "Field required")
	}
	m := llm.Message{Role: "tool", ToolCallID: b.ToolUseID, ToolError: b.IsError}
	switch matrix.RawKind(b.Content) {
	case 0, 'n':
	case '"':
		text, ok := rawString(b.Content)
		if !ok {
			return m, at.refuse(".content", "must be a string or an array of text blocks")
		}
		m.Content.Text = text
	case '[':
		var blocks []block
		if err := decodeBlocks(b.Content, &blocks); err != nil {
			return m, at.refuse(".content", "must be a string or an array of text blocks")
		}
		m.Content.IsParts = true
		for k := range blocks {
			c := &blocks[k]
			cat := at.content(k)
			if c.Type != "text" && c.Type != "image" {
				return m, cat.refuse(".type", "a tool_result holds text and image blocks, not "+strconv.Quote(c.Type))
			}
			p, e := d.part(c, cat)
			if e != nil {
				return m, e
			}
			m.Content.Parts = append(m.Content.Parts, p)
		}
	default:
		return m, at.refuse(".content", "must be a string or an array of text blocks")
	}
	if b.CacheControl != nil {
		// The block's breakpoint goes on its last text, where the adapters
		// look for a tool message's.
		if !m.Content.IsParts {
			m.Content = llm.Content{Parts: []llm.Part{{Type: "text", Text: m.Content.Text}}, IsParts: true}
		}
		if n := len(m.Content.Parts); n > 0 {
			m.Content.Parts[n-1].CacheControl = b.CacheControl
		}
	}
	return m, nil
}

// assistant maps an assistant turn.
func (d *decoder) assistant(blocks []block, at path) *llm.Error {
	m := llm.Message{Role: "assistant", Content: llm.Content{IsParts: true}}
	geminiSig := "" // a Gemini signature waiting for its call
	for j := range blocks {
		b := &blocks[j]
		bat := at.content(j)
		if e := d.mark(b.CacheControl, bat); e != nil {
			return e
		}
		switch b.Type {
		case "thinking":
			if sig, ok := strings.CutPrefix(b.Signature, GeminiSignature); ok {
				geminiSig = sig
				continue
			}
			m.ReasoningDetails = append(m.ReasoningDetails, llm.ReasoningDetail{Type: llm.DetailText, Text: b.Thinking,
				Signature: b.Signature, Format: llm.FormatAnthropic, Index: len(m.ReasoningDetails)})
		case "redacted_thinking":
			m.ReasoningDetails = append(m.ReasoningDetails, llm.ReasoningDetail{Type: llm.DetailEncrypted, Data: b.Data,
				Format: llm.FormatAnthropic, Index: len(m.ReasoningDetails)})
		case "text":
			m.Content.Parts = append(m.Content.Parts, llm.Part{Type: "text", Text: b.Text, CacheControl: b.CacheControl})
		case "tool_use":
			d.history = true
			if b.ID == "" || b.Name == "" {
				return bat.refuse("", "a tool_use block needs its id and name")
			}
			input := bytes.TrimSpace(b.Input)
			if matrix.RawKind(input) != '{' {
				return bat.refuse(".input", "must be an object")
			}
			tc := llm.ToolCall{ID: b.ID, Type: "function", Function: llm.FunctionCall{Name: b.Name, Arguments: bytesconv.String(input)},
				CacheControl: b.CacheControl}
			if geminiSig != "" {
				tc.ExtraContent = llm.GoogleSignature(geminiSig)
				geminiSig = ""
			}
			m.ToolCalls = append(m.ToolCalls, tc)
		default:
			return bat.refuse(".type", strconv.Quote(b.Type)+" blocks are not served in an assistant turn here")
		}
	}
	d.req.Messages = append(d.req.Messages, m)
	return nil
}

// tools maps tools and tool_choice. Only custom tools are served: a
// server tool (web search, code execution) runs at Anthropic, and no
// upstream here runs it for every model.
func (d *decoder) tools(r *request) *llm.Error {
	if len(r.Tools) == 0 && r.ToolChoice == nil {
		return nil
	}
	t := &llm.Tools{Functions: make([]llm.Function, 0, len(r.Tools))}
	for i := range r.Tools {
		tl := &r.Tools[i]
		at := pathOf("tools", i)
		if tl.Type != "" && tl.Type != "custom" {
			return at.refuse(".type", strconv.Quote(tl.Type)+" is a tool Anthropic runs itself; the gateway serves custom tools (name, description, input_schema) on every model")
		}
		if !llm.ValidToolName(tl.Name) {
			return at.refuse(".name", "must be "+llm.ToolNameRule)
		}
		if matrix.RawKind(tl.InputSchema) != '{' {
			return at.refuse(".input_schema", "Field required (a JSON Schema object)")
		}
		for k := range t.Functions {
			if t.Functions[k].Name == tl.Name {
				return at.refuse(".name", "tool names must be unique; "+strconv.Quote(tl.Name)+" is declared twice")
			}
		}
		if e := d.mark(tl.CacheControl, at); e != nil {
			return e
		}
		t.Functions = append(t.Functions, llm.Function{Name: tl.Name, Description: tl.Description, Parameters: tl.InputSchema,
			Strict: tl.Strict, CacheControl: tl.CacheControl})
	}
	d.req.Superset.Tools = json.RawMessage("[]")
	if len(t.Functions) > 0 {
		d.req.Superset.Tools = json.RawMessage(`[{}]`) // present: the filter sees tools
	}
	if c := r.ToolChoice; c != nil {
		switch c.Type {
		case "auto":
			t.Choice.Mode = llm.ToolAuto
			d.req.Superset.ToolChoice = json.RawMessage(`"auto"`)
		case "any":
			t.Choice.Mode = llm.ToolRequired
			d.req.Superset.ToolChoice = json.RawMessage(`"required"`)
		case "none":
			t.Choice.Mode = llm.ToolNone
			d.req.Superset.ToolChoice = json.RawMessage(`"none"`)
		case "tool":
			if !declared(t, c.Name) {
				return llm.BadRequest("tool_choice.name", "tool_choice.name: "+strconv.Quote(c.Name)+" is not a declared tool")
			}
			t.Choice = llm.ToolChoice{Mode: llm.ToolNamed, Name: c.Name}
			d.req.Superset.ToolChoice = json.RawMessage(`{"type":"function"}`)
		default:
			return llm.BadRequest("tool_choice.type", "tool_choice.type: must be auto, any, tool or none")
		}
		if c.DisableParallelToolUse {
			off := false
			d.req.Superset.ParallelToolCalls = &off
		}
	}
	d.req.ToolSet = t
	return nil
}

func declared(t *llm.Tools, name string) bool {
	for i := range t.Functions {
		if t.Functions[i].Name == name {
			return true
		}
	}
	return false
}

// sampling maps the sampling values, thinking and output_config onto the
// superset, where the model's generated filter decides what goes on, and
// checks their ranges with the superset's rules.
func (d *decoder) sampling(r *request, count bool, out *Decoded) *llm.Error {
	s := &d.req.Superset
	s.Temperature, s.TopP, s.TopK, s.Stream = r.Temperature, r.TopP, r.TopK, r.Stream
	if !count {
		s.MaxTokens = r.MaxTokens
	}
	if len(r.StopSequences) > 0 {
		s.Stop = matrix.Strings(r.StopSequences)
	}
	if r.Metadata != nil && r.Metadata.UserID != nil {
		s.User = r.Metadata.UserID
	}
	if t := r.ServiceTier; t != nil {
		switch *t {
		case "auto":
			// Anthropic's default: asks for nothing.
		case "standard_only":
			out.Dropped = append(out.Dropped, "service_tier")
		default:
			return llm.BadRequest("service_tier", "service_tier: must be auto or standard_only")
		}
	}
	effort := ""
	if oc := r.OutputConfig; oc != nil {
		if oc.Effort != nil {
			if _, ok := matrix.ParseEffort(*oc.Effort); !ok || *oc.Effort == "none" {
				return llm.BadRequest("output_config.effort", "output_config.effort: must be low, medium, high, xhigh or max")
			}
			effort = *oc.Effort
		}
		if matrix.RawPresent(oc.Format) {
			if e := d.format(oc.Format); e != nil {
				return e
			}
		}
	}
	if th := r.Thinking; th != nil {
		switch th.Type {
		case "enabled":
			if th.BudgetTokens == nil || *th.BudgetTokens < 1024 {
				return llm.BadRequest("thinking.budget_tokens", "thinking.budget_tokens: must be at least 1024")
			}
			if r.MaxTokens != nil && *th.BudgetTokens >= *r.MaxTokens {
				return llm.BadRequest("thinking.budget_tokens", "thinking.budget_tokens: must be less than max_tokens")
			}
			d.req.ReasoningObject = &llm.Reasoning{MaxTokens: th.BudgetTokens}
			if effort != "" {
				d.req.ReasoningObject.Effort = stringPtr(effort)
			}
		case "adaptive":
			if effort == "" {
				effort = "high" // Anthropic's default effort
			}
			d.req.ReasoningObject = &llm.Reasoning{Effort: stringPtr(effort)}
		case "disabled":
			if effort != "" {
				out.Dropped = append(out.Dropped, "output_config.effort")
			}
		default:
			return llm.BadRequest("thinking.type", "thinking.type: must be enabled, adaptive or disabled")
		}
		if d.req.ReasoningObject != nil {
			s.Reasoning = json.RawMessage(`{}`) // present: the filter sees reasoning
		}
	} else if effort != "" {
		// Effort without thinking: the model thinks at that effort where it
		// can choose (adaptive), as Anthropic's effort asks.
		d.req.ReasoningObject = &llm.Reasoning{Effort: stringPtr(effort)}
		s.Reasoning = json.RawMessage(`{}`)
	}
	if bad, ok := s.Validate(); !ok {
		spec := &generated.ParamSpecs[bad]
		name := spec.Name
		if bad == generated.ParamStop {
			name = "stop_sequences"
		}
		return llm.BadRequest(name, name+": must be between "+strconv.FormatFloat(spec.Min, 'g', -1, 64)+" and "+strconv.FormatFloat(spec.Max, 'g', -1, 64))
	}
	return nil
}

// stringPtr points at a copy of s: a local whose address is taken goes to
// the heap on every request, kept or not.
func stringPtr(s string) *string { return &s }

// rawString decodes a JSON string value, pointing into raw where it has no
// escapes (raw is the request body's, alive as long as the request). What
// the one-pass reader refuses (bytes that are not UTF-8) is goccy/go-json's
// to decode, as before.
func rawString(raw []byte) (string, bool) {
	r := jsonread.New(raw)
	if text := r.String(); r.End() {
		return text, true
	}
	var text string
	err := json.Unmarshal(raw, &text)
	return text, err == nil
}

// format maps output_config.format ({"type":"json_schema","schema":…}).
func (d *decoder) format(raw json.RawMessage) *llm.Error {
	var f struct {
		Type   string          `json:"type"`
		Schema json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal(raw, &f); err != nil || f.Type != "json_schema" || matrix.RawKind(f.Schema) != '{' {
		return llm.BadRequest("output_config.format", "output_config.format: must be {\"type\":\"json_schema\",\"schema\":{…}}")
	}
	d.req.Format = &llm.ResponseFormat{Type: "json_schema", JSONSchema: &llm.JSONSchema{Name: "output", Schema: f.Schema}}
	d.req.Superset.ResponseFormat = json.RawMessage(`{"type":"json_schema"}`)
	return nil
}

// ParseBetas splits an anthropic-beta header's comma-separated values.
func ParseBetas(h []byte) []string {
	var out []string
	for _, v := range bytes.Split(h, []byte{','}) {
		if v = bytes.TrimSpace(v); len(v) > 0 {
			out = append(out, string(v))
		}
	}
	return out
}
