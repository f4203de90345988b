package adapter

import (
	"strconv"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/matrix"
)

// AnthropicVersion is the anthropic-version header every request carries.
const AnthropicVersion = "2023-06-01"

// VertexAnthropicVersion is the anthropic_version a request to Claude on
// Vertex AI carries in its body, which names no model (its URL does).
const VertexAnthropicVersion = "vertex-2023-10-16"

// Anthropic speaks the Anthropic Messages API (POST /v1/messages).
type Anthropic struct{}

var anthropicImageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// BuildRequest implements Adapter.
func (Anthropic) BuildRequest(req *fasthttp.Request, buf []byte, c *Call, up *Upstream) ([]byte, *llm.Error) {
	v := up.Vertex
	body, err := appendAnthropicBody(buf, c, v != nil)
	if err != nil {
		return buf, err
	}
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	switch {
	case v != nil && c.Count:
		// Vertex counts at a model of its own, which the body names.
		v.setURI(req, up.BaseURL, "anthropic", "count-tokens", "rawPredict")
		if e := v.authorize(req); e != nil {
			return body, e
		}
	case v != nil:
		method := "rawPredict"
		if c.Stream {
			method = "streamRawPredict"
		}
		v.setURI(req, up.BaseURL, "anthropic", c.upstreamID(), method)
		if e := v.authorize(req); e != nil {
			return body, e
		}
	default:
		path := "/v1/messages"
		if c.Count {
			path = "/v1/messages/count_tokens"
		}
		setURI(req, up.BaseURL, path)
		req.Header.Set("x-api-key", up.APIKey)
		req.Header.Set("anthropic-version", AnthropicVersion)
	}
	if betas := c.ForwardedBetas(nil); len(betas) > 0 {
		req.Header.SetBytesV("anthropic-beta", betas)
	}
	req.SetBodyRaw(body)
	return body, nil
}

// appendAnthropicBody writes the Messages body; for Vertex, without the
// model and with Vertex's anthropic_version. A count carries only what
// count_tokens takes: the model, system, messages, tools and thinking.
func appendAnthropicBody(dst []byte, c *Call, vertex bool) ([]byte, *llm.Error) {
	switch {
	case vertex && c.Count:
		// Vertex's count-tokens model takes the counted model in the body.
		dst = append(dst, `{"anthropic_version":"`+VertexAnthropicVersion+`","model":`...)
		dst = jsonw.String(dst, c.upstreamID())
	case vertex:
		dst = append(dst, `{"anthropic_version":"`+VertexAnthropicVersion+`"`...)
	default:
		dst = append(dst, `{"model":`...)
		dst = jsonw.String(dst, c.upstreamID())
	}
	if c.MaxTokens > 0 && !c.Count {
		dst = append(dst, ',')
		dst = jsonw.Key(dst, c.Model.Rename[generated.ParamMaxTokens])
		dst = jsonw.Int(dst, c.MaxTokens)
	}
	var err *llm.Error
	if dst, err = appendAnthropicSystem(dst, c.Req.Messages); err != nil {
		return dst, err
	}
	if dst, err = appendAnthropicMessages(dst, c); err != nil {
		return dst, err
	}
	if !c.Count {
		dst = appendForwarded(dst, c)
	}
	if c.Stream {
		dst = append(dst, `,"stream":true`...)
	}
	if c.Req.ToolSet != nil || c.Req.ToolHistory {
		if dst, err = appendAnthropicTools(dst, c); err != nil {
			return dst, err
		}
	}
	effort := ""
	if t := &c.Thinking; t.On {
		switch c.Model.Thinking.Style {
		case matrix.ThinkingAnthropicBudget:
			dst = append(dst, `,"thinking":{"type":"enabled","budget_tokens":`...)
			dst = jsonw.Int(dst, t.Budget)
			dst = append(dst, '}')
		case matrix.ThinkingAnthropicAdaptive:
			dst = append(dst, `,"thinking":{"type":"adaptive"}`...)
			effort = t.Level
		}
	}
	// output_config carries both the effort and the response format.
	if (effort != "" || c.Req.Format != nil) && !c.Count {
		dst = append(dst, `,"output_config":{`...)
		if effort != "" {
			dst = append(dst, `"effort":`...)
			dst = jsonw.String(dst, effort)
		}
		if c.Req.Format != nil {
			if dst, err = appendAnthropicFormat(jsonw.Comma(dst), c.Req.Format); err != nil {
				return dst, err
			}
		}
		dst = append(dst, '}')
	}
	return append(dst, '}'), nil
}

// appendAnthropicFormat writes output_config.format: the schema in
// Anthropic's dialect, or for json_object an object of any members.
func appendAnthropicFormat(dst []byte, f *llm.ResponseFormat) ([]byte, *llm.Error) {
	dst = append(dst, `"format":{"type":"json_schema","schema":`...)
	schema := f.Schema()
	if schema == nil {
		return append(dst, `{"type":"object","additionalProperties":true}}`...), nil
	}
	dst, err := appendSchema(dst, schema, &claudeSchema, responseSchema)
	return append(dst, '}'), err
}

// appendAnthropicTools writes tools and tool_choice. A history with tool
// blocks needs its tools declared: when the request declares none, the
// called ones are declared with any input and tool_choice none.
func appendAnthropicTools(dst []byte, c *Call) ([]byte, *llm.Error) {
	t := c.Req.ToolSet
	if t == nil || len(t.Functions) == 0 {
		names := historyTools(c.Req.Messages)
		if len(names) == 0 {
			return dst, nil
		}
		dst = append(dst, `,"tools":[`...)
		for _, n := range names {
			dst = jsonw.Comma(dst)
			dst = append(dst, `{"name":`...)
			dst = jsonw.String(dst, n)
			dst = append(dst, `,"input_schema":{"type":"object"}}`...)
		}
		return append(dst, `],"tool_choice":{"type":"none"}`...), nil
	}
	strict := c.Model.Caps.Has(matrix.CapStrictTools)
	dst = append(dst, `,"tools":[`...)
	for i := range t.Functions {
		f := &t.Functions[i]
		if !allowed(&t.Choice, f.Name) {
			continue // Anthropic has no allowed list: the others are not offered
		}
		dst = jsonw.Comma(dst)
		dst = append(dst, `{"name":`...)
		dst = jsonw.String(dst, f.Name)
		if f.Description != "" {
			dst = append(dst, `,"description":`...)
			dst = jsonw.String(dst, f.Description)
		}
		dst = append(dst, `,"input_schema":`...)
		isStrict := strict && f.Strict != nil && *f.Strict
		switch {
		case !matrix.RawPresent(f.Parameters):
			dst = append(dst, `{"type":"object","properties":{}}`...)
		case isStrict:
			var err *llm.Error
			if dst, err = appendSchema(dst, f.Parameters, &claudeSchema, toolSchema(i)); err != nil {
				return dst, err
			}
		default:
			dst = append(dst, f.Parameters...)
		}
		if isStrict {
			dst = append(dst, `,"strict":true`...)
		}
		dst = appendCacheControl(dst, f.CacheControl)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"tool_choice":{"type":`...)
	switch t.Choice.Mode {
	case llm.ToolNone:
		return append(dst, `"none"}`...), nil
	case llm.ToolRequired:
		dst = append(dst, `"any"`...)
	case llm.ToolNamed:
		dst = append(dst, `"tool","name":`...)
		dst = jsonw.String(dst, t.Choice.Name)
	default:
		dst = append(dst, `"auto"`...)
	}
	if c.parallelOff() {
		dst = append(dst, `,"disable_parallel_tool_use":true`...)
	}
	return append(dst, '}'), nil
}

// appendAnthropicSystem gathers system and developer messages, in order, into
// the top-level system blocks, keeping their cache_control breakpoints.
// Blocks without text are left out: Anthropic rejects them.
func appendAnthropicSystem(dst []byte, msgs []llm.Message) ([]byte, *llm.Error) {
	opened := false
	block := func(text string, cc *llm.CacheControl) {
		if !hasText(text) {
			return
		}
		if !opened {
			dst = append(dst, `,"system":[`...)
			opened = true
		}
		dst = jsonw.Comma(dst)
		dst = appendAnthropicText(dst, text, cc)
	}
	for i := range msgs {
		m := &msgs[i]
		if m.Role != "system" && m.Role != "developer" {
			continue
		}
		if !m.Content.IsParts {
			block(m.Content.Text, nil)
			continue
		}
		for j := range m.Content.Parts {
			p := &m.Content.Parts[j]
			if p.Type != "text" {
				return dst, llm.BadRequest(partParam(i, j)+".type", "system messages take only text parts")
			}
			block(p.Text, p.CacheControl)
		}
	}
	if opened {
		dst = append(dst, ']')
	}
	return dst, nil
}

// appendAnthropicMessages writes the user and assistant turns. Anthropic
// rejects text blocks that are empty or only white space, which OpenAI
// accepts: such blocks are left out, an assistant turn left with nothing is
// skipped, and a user turn left with nothing is refused with a clear 400.
// Consecutive tool messages become one user turn of tool_result blocks,
// which Anthropic requires first in the turn after the calls.
func appendAnthropicMessages(dst []byte, c *Call) ([]byte, *llm.Error) {
	msgs := c.Req.Messages
	dst = append(dst, `,"messages":[`...)
	for i := 0; i < len(msgs); i++ {
		m := &msgs[i]
		switch {
		case m.Role == "tool":
			dst = jsonw.Comma(dst)
			dst = append(dst, `{"role":"user","content":[`...)
			for ; i < len(msgs) && msgs[i].Role == "tool"; i++ {
				dst = appendToolResult(jsonw.Comma(dst), &msgs[i])
			}
			// A user message right after the results joins their turn, as a
			// Messages client sent it (results first, then its words).
			if i < len(msgs) && msgs[i].Role == "user" && msgs[i].Content.IsParts {
				var err *llm.Error
				if dst, err = appendAnthropicParts(dst, &msgs[i], i); err != nil {
					return dst, err
				}
				i++
			}
			i--
			dst = append(dst, "]}"...)
			continue
		case m.Role != "user" && m.Role != "assistant":
			continue
		case m.Role == "assistant" && len(m.ToolCalls) > 0:
			dst = appendAnthropicCalls(jsonw.Comma(dst), m, c.Thinking.On)
			continue
		}
		if !anthropicHasContent(&m.Content) {
			if m.Role == "assistant" {
				continue
			}
			return dst, llm.BadRequest("messages["+strconv.Itoa(i)+"].content",
				"Claude models reject a user message without text or an image; this one is empty or only white space")
		}
		dst = jsonw.Comma(dst)
		dst = append(dst, `{"role":`...)
		dst = jsonw.String(dst, m.Role)
		dst = append(dst, `,"content":`...)
		if !m.Content.IsParts {
			dst = jsonw.String(dst, m.Content.Text)
			dst = append(dst, '}')
			continue
		}
		var err *llm.Error
		if dst, err = appendAnthropicParts(append(dst, '['), m, i); err != nil {
			return dst, err
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, ']'), nil
}

func appendAnthropicParts(dst []byte, m *llm.Message, i int) ([]byte, *llm.Error) {
	for j := range m.Content.Parts {
		p := &m.Content.Parts[j]
		switch p.Type {
		case "text":
			if hasText(p.Text) {
				dst = jsonw.Comma(dst)
				dst = appendAnthropicText(dst, p.Text, p.CacheControl)
			}
		case "image_url":
			var err *llm.Error
			dst = jsonw.Comma(dst)
			if dst, err = appendAnthropicImage(dst, p, i, j); err != nil {
				return dst, err
			}
		case "document":
			dst = appendAnthropicDocument(jsonw.Comma(dst), p)
		}
	}
	return dst, nil
}

// appendAnthropicCalls writes an assistant turn that made calls: its
// thinking blocks as they came (when thinking is on), its text, then a
// tool_use block per call.
func appendAnthropicCalls(dst []byte, m *llm.Message, thinking bool) []byte {
	dst = append(dst, `{"role":"assistant","content":[`...)
	if thinking {
		for j := range m.ReasoningDetails {
			d := &m.ReasoningDetails[j]
			if !claudeBlock(d) {
				continue
			}
			dst = jsonw.Comma(dst)
			if d.Type == llm.DetailEncrypted {
				dst = append(dst, `{"type":"redacted_thinking","data":`...)
				dst = jsonw.String(dst, d.Data)
			} else {
				dst = append(dst, `{"type":"thinking","thinking":`...)
				dst = jsonw.String(dst, d.Text)
				dst = append(dst, `,"signature":`...)
				dst = jsonw.String(dst, d.Signature)
			}
			dst = append(dst, '}')
		}
	}
	if !m.Content.IsParts && hasText(m.Content.Text) {
		dst = appendAnthropicText(jsonw.Comma(dst), m.Content.Text, nil)
	}
	for j := range m.Content.Parts {
		if p := &m.Content.Parts[j]; p.Type == "text" && hasText(p.Text) {
			dst = appendAnthropicText(jsonw.Comma(dst), p.Text, p.CacheControl)
		}
	}
	for j := range m.ToolCalls {
		tc := &m.ToolCalls[j]
		dst = jsonw.Comma(dst)
		dst = append(dst, `{"type":"tool_use","id":`...)
		dst = appendAnthropicID(dst, tc.ID)
		dst = append(dst, `,"name":`...)
		dst = jsonw.String(dst, tc.Function.Name)
		dst = append(dst, `,"input":`...)
		dst = append(dst, tc.Function.Arguments...) // a JSON object, checked by the door
		dst = appendCacheControl(dst, tc.CacheControl)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// appendToolResult writes a tool message as a tool_result block.
func appendToolResult(dst []byte, m *llm.Message) []byte {
	dst = append(dst, `{"type":"tool_result","tool_use_id":`...)
	dst = appendAnthropicID(dst, m.ToolCallID)
	if hasImage(m) {
		// A result with images is sent as blocks, its text and images in order.
		dst = append(dst, `,"content":[`...)
		for j := range m.Content.Parts {
			switch p := &m.Content.Parts[j]; {
			case p.Type == "image_url":
				dst, _ = appendAnthropicImage(jsonw.Comma(dst), &llm.Part{Type: p.Type, ImageURL: p.ImageURL}, 0, j)
			case hasText(p.Text):
				dst = append(jsonw.Comma(dst), `{"type":"text","text":`...)
				dst = jsonw.String(dst, p.Text)
				dst = append(dst, '}')
			}
		}
		dst = append(dst, ']')
	} else if text := toolResultText(m); hasText(text) {
		dst = append(dst, `,"content":`...)
		dst = jsonw.String(dst, text)
	}
	if m.ToolError {
		dst = append(dst, `,"is_error":true`...)
	}
	// A breakpoint on the tool message's text goes on its result block.
	for j := len(m.Content.Parts) - 1; j >= 0; j-- {
		if cc := m.Content.Parts[j].CacheControl; live(cc) {
			dst = appendCacheControl(dst, cc)
			break
		}
	}
	return append(dst, '}')
}

// hasImage reports whether a tool message returns an image.
func hasImage(m *llm.Message) bool {
	for j := range m.Content.Parts {
		if m.Content.Parts[j].Type == "image_url" {
			return true
		}
	}
	return false
}

// appendAnthropicID writes a tool call id as Anthropic takes it: letters,
// digits, _ and -. Ids made by other providers may hold other characters;
// each becomes _, the same way for a call and its result.
func appendAnthropicID(dst []byte, id string) []byte {
	start := len(dst)
	dst = jsonw.String(dst, id)
	for k := start + 1; k < len(dst)-1; k++ {
		c := dst[k]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			dst[k] = '_'
		}
	}
	return dst
}

// anthropicHasContent reports whether c has a block Anthropic would accept.
func anthropicHasContent(c *llm.Content) bool {
	if !c.IsParts {
		return hasText(c.Text)
	}
	for j := range c.Parts {
		if p := &c.Parts[j]; p.Type == "image_url" || p.Type == "document" || hasText(p.Text) {
			return true
		}
	}
	return false
}

func appendAnthropicText(dst []byte, text string, cc *llm.CacheControl) []byte {
	dst = append(dst, `{"type":"text","text":`...)
	dst = jsonw.String(dst, text)
	dst = appendCacheControl(dst, cc)
	return append(dst, '}')
}

func appendCacheControl(dst []byte, cc *llm.CacheControl) []byte {
	if !live(cc) {
		return dst
	}
	dst = append(dst, `,"cache_control":{"type":"ephemeral"`...)
	if cc.TTL != "" {
		dst = append(dst, `,"ttl":`...)
		dst = jsonw.String(dst, cc.TTL)
	}
	return append(dst, '}')
}

func appendAnthropicImage(dst []byte, p *llm.Part, i, j int) ([]byte, *llm.Error) {
	url := p.ImageURL.URL
	if mediaType, data, ok := llm.DataURL(url); ok {
		if !anthropicImageTypes[mediaType] {
			return dst, llm.BadRequest(partParam(i, j)+".image_url.url", "Claude models take image/jpeg, image/png, image/gif or image/webp, not "+mediaType)
		}
		dst = append(dst, `{"type":"image","source":{"type":"base64","media_type":`...)
		dst = jsonw.String(dst, mediaType)
		dst = append(dst, `,"data":`...)
		dst = jsonw.String(dst, data)
	} else if llm.IsHTTPURL(url) {
		dst = append(dst, `{"type":"image","source":{"type":"url","url":`...)
		dst = jsonw.String(dst, url)
	} else {
		return dst, llm.BadRequest(partParam(i, j)+".image_url.url", "an image URL must be a base64 data: URL or an http(s) URL")
	}
	dst = append(dst, '}')
	dst = appendCacheControl(dst, p.CacheControl)
	return append(dst, '}'), nil
}

// appendAnthropicDocument writes a document block: base64 data, plain
// text, or a URL Anthropic fetches, with its title, context, citations
// setting and breakpoint.
func appendAnthropicDocument(dst []byte, p *llm.Part) []byte {
	d := p.Document
	switch {
	case d.URL != "":
		dst = append(dst, `{"type":"document","source":{"type":"url","url":`...)
		dst = jsonw.String(dst, d.URL)
	case d.Data != "":
		dst = append(dst, `{"type":"document","source":{"type":"base64","media_type":`...)
		dst = jsonw.String(dst, d.MediaType)
		dst = append(dst, `,"data":`...)
		dst = jsonw.String(dst, d.Data)
	default:
		dst = append(dst, `{"type":"document","source":{"type":"text","media_type":"text/plain","data":`...)
		dst = jsonw.String(dst, d.Text)
	}
	dst = append(dst, '}')
	if d.Title != "" {
		dst = append(dst, `,"title":`...)
		dst = jsonw.String(dst, d.Title)
	}
	if d.Context != "" {
		dst = append(dst, `,"context":`...)
		dst = jsonw.String(dst, d.Context)
	}
	if matrix.RawPresent(d.Citations) {
		dst = append(dst, `,"citations":`...)
		dst = append(dst, d.Citations...)
	}
	dst = appendCacheControl(dst, p.CacheControl)
	return append(dst, '}')
}

// ParseCount implements Adapter: count_tokens answers {"input_tokens":N}.
func (Anthropic) ParseCount(body []byte) (int64, error) {
	var r struct {
		InputTokens *int64 `json:"input_tokens"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, err
	}
	if r.InputTokens == nil {
		return 0, errNotAMessage
	}
	return *r.InputTokens, nil
}

// ParseError implements Adapter.
func (Anthropic) ParseError(status int, body []byte) UpstreamError {
	var e struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
		return UpstreamError{Message: fallbackMessage(status, body)}
	}
	if e.Error.Type == "" {
		// Vertex AI's own refusals (auth, a model a location lacks) come
		// in Google's shape even for Claude.
		return Gemini{}.ParseError(status, body)
	}
	return UpstreamError{
		Message:    "anthropic: " + e.Error.Message,
		AuthFailed: e.Error.Type == "authentication_error" || e.Error.Type == "permission_error",
		Overloaded: e.Error.Type == "overloaded_error",
	}
}
