package adapter

import (
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/matrix"
)

// Gemini speaks the Google Gemini API (POST /v1beta/models/{id}:generateContent).
type Gemini struct{}

// BuildRequest implements Adapter.
func (Gemini) BuildRequest(req *fasthttp.Request, buf []byte, c *Call, up *Upstream) ([]byte, *llm.Error) {
	var body []byte
	var err *llm.Error
	method := "generateContent"
	switch {
	case c.Count && up.Vertex != nil:
		// Vertex's :countTokens takes the request's members as they are.
		method = "countTokens"
		if body, err = appendGeminiBody(buf, c); err != nil {
			return buf, err
		}
	case c.Count:
		// The Gemini API's :countTokens counts a whole generateContent
		// request, which names its model.
		method = "countTokens"
		body = append(buf, `{"generateContentRequest":{"model":"models/`...)
		body = append(body, c.upstreamID()...)
		body = append(body, `",`...)
		start := len(body)
		if body, err = appendGeminiBody(body, c); err != nil {
			return buf, err
		}
		body = append(append(body[:start], body[start+1:]...), '}') // the request's members, its { left out
	default:
		if body, err = appendGeminiBody(buf, c); err != nil {
			return buf, err
		}
	}
	req.Header.SetMethod(fasthttp.MethodPost)
	if c.Stream {
		method = "streamGenerateContent?alt=sse"
	}
	req.Header.SetContentType("application/json")
	if v := up.Vertex; v != nil {
		v.setURI(req, up.BaseURL, "google", c.upstreamID(), method)
		if e := v.authorize(req); e != nil {
			return body, e
		}
		if c.Flex {
			// The flex lane, and the shared pool rather than provisioned
			// throughput (which flex does not apply to).
			req.Header.Set("X-Vertex-AI-LLM-Shared-Request-Type", "flex")
			req.Header.Set("X-Vertex-AI-LLM-Request-Type", "shared")
		}
	} else {
		setURI(req, up.BaseURL, "/v1beta/models/", c.upstreamID(), ":", method)
		req.Header.Set("x-goog-api-key", up.APIKey)
	}
	req.SetBodyRaw(body)
	return body, nil
}

func appendGeminiBody(dst []byte, c *Call) ([]byte, *llm.Error) {
	var err *llm.Error
	if use := c.Cached; use != nil {
		// The cached entry holds the system instruction, the tools and the
		// contents before use.From; the request must not repeat them.
		dst = append(dst, `{"cachedContent":`...)
		dst = jsonw.String(dst, use.Name)
		dst = append(dst, ',')
		if dst, err = appendGeminiContents(dst, c, use.From, len(c.Req.Messages)); err != nil {
			return dst, err
		}
	} else {
		dst = append(dst, '{')
		if dst, err = appendGeminiPrefix(dst, c, len(c.Req.Messages)); err != nil {
			return dst, err
		}
	}
	dst = append(dst, `,"generationConfig":{`...)
	dst = appendForwarded(dst, c)
	if c.MaxTokens > 0 {
		dst = jsonw.Comma(dst)
		dst = jsonw.Key(dst, c.Model.Rename[generated.ParamMaxTokens])
		dst = jsonw.Int(dst, c.MaxTokens)
	}
	dst = appendThinkingConfig(dst, c)
	if f := c.Req.Format; f != nil {
		dst = jsonw.Comma(dst)
		dst = append(dst, `"responseMimeType":"application/json"`...)
		if schema := f.Schema(); schema != nil {
			dst = append(dst, `,"responseJsonSchema":`...)
			var err *llm.Error
			if dst, err = appendSchema(dst, schema, &geminiSchema, responseSchema); err != nil {
				return dst, err
			}
		}
	}
	return append(dst, "}}"...), nil
}

// appendGeminiTools writes the function declarations and the calling
// config that tool_choice asks for.
func appendGeminiTools(dst []byte, t *llm.Tools) ([]byte, *llm.Error) {
	dst = append(dst, `,"tools":[{"functionDeclarations":[`...)
	for i := range t.Functions {
		f := &t.Functions[i]
		dst = jsonw.Comma(dst)
		dst = append(dst, `{"name":`...)
		dst = appendGeminiName(dst, f.Name)
		if f.Description != "" {
			dst = append(dst, `,"description":`...)
			dst = jsonw.String(dst, f.Description)
		}
		if matrix.RawPresent(f.Parameters) {
			dst = append(dst, `,"parametersJsonSchema":`...)
			var err *llm.Error
			if dst, err = appendSchema(dst, f.Parameters, &geminiSchema, toolSchema(i)); err != nil {
				return dst, err
			}
		}
		dst = append(dst, '}')
	}
	dst = append(dst, `]}],"toolConfig":{"functionCallingConfig":{"mode":`...)
	names := t.Choice.Allowed
	switch t.Choice.Mode {
	case llm.ToolNone:
		return append(dst, `"NONE"}}`...), nil
	case llm.ToolNamed:
		dst, names = append(dst, `"ANY"`...), []string{t.Choice.Name}
	case llm.ToolRequired:
		dst = append(dst, `"ANY"`...)
	default:
		if names == nil {
			return append(dst, `"AUTO"}}`...), nil
		}
		// Only VALIDATED takes a list and still lets the model answer in text.
		dst = append(dst, `"VALIDATED"`...)
	}
	if names != nil {
		dst = append(dst, `,"allowedFunctionNames":[`...)
		for _, n := range names {
			dst = jsonw.Comma(dst)
			dst = appendGeminiName(dst, n)
		}
		dst = append(dst, ']')
	}
	return append(dst, "}}"...), nil
}

// appendFunctionCalls writes an assistant turn that made calls as a model
// content: its text, then a functionCall part per call. The first call of
// the step carries the thought signature the client echoed, or in the
// current turn the model's placeholder when it has none.
func appendFunctionCalls(dst []byte, c *Call, m *llm.Message, current bool) []byte {
	dst = append(dst, `{"role":"model","parts":[`...)
	if text := toolResultText(m); text != "" {
		dst = append(dst, `{"text":`...)
		dst = jsonw.String(dst, text)
		dst = append(dst, '}')
	}
	for j := range m.ToolCalls {
		tc := &m.ToolCalls[j]
		dst = jsonw.Comma(dst)
		dst = append(dst, `{"functionCall":{`...)
		if geminiID(tc.ID) {
			dst = append(dst, `"id":`...)
			dst = jsonw.String(dst, tc.ID)
			dst = append(dst, ',')
		}
		dst = append(dst, `"name":`...)
		dst = appendGeminiName(dst, tc.Function.Name)
		dst = append(dst, `,"args":`...)
		dst = append(dst, tc.Function.Arguments...)
		dst = append(dst, '}')
		sig := thoughtSignature(m, tc)
		if sig == "" && j == 0 && current && c.Model.ToolLoop.Unsigned == matrix.UnsignedPlaceholder {
			sig = c.Model.ToolLoop.Placeholder
		}
		if sig != "" {
			dst = append(dst, `,"thoughtSignature":`...)
			dst = jsonw.String(dst, sig)
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// thoughtSignature returns the signature a client echoed for a call, in
// extra_content or reasoning_details.
func thoughtSignature(m *llm.Message, tc *llm.ToolCall) string {
	if sig := tc.ThoughtSignature(); sig != "" {
		return sig
	}
	for k := range m.ReasoningDetails {
		d := &m.ReasoningDetails[k]
		if d.Type == llm.DetailEncrypted && d.Format == llm.FormatGoogle && d.ID == tc.ID {
			return d.Data
		}
	}
	return ""
}

// appendFunctionResponses writes the tool messages msgs[from:to] as one
// user content of functionResponse parts, in the order of the calls they
// answer, each with the name of its function (which OpenAI's tool message
// does not carry) and its text wrapped as {"output": text}.
func appendFunctionResponses(dst []byte, msgs []llm.Message, from, to int) ([]byte, *llm.Error) {
	dst = append(dst, `{"role":"user","parts":[`...)
	var calls []llm.ToolCall
	if from > 0 {
		calls = msgs[from-1].ToolCalls
	}
	for _, tc := range calls {
		for i := from; i < to; i++ {
			if msgs[i].ToolCallID == tc.ID {
				dst = appendFunctionResponse(jsonw.Comma(dst), &msgs[i], tc.Function.Name)
			}
		}
	}
	// Images a tool returned (a screenshot, a file read) follow the
	// responses in the same turn, which Gemini reads with them.
	for i := from; i < to; i++ {
		for j := range msgs[i].Content.Parts {
			if p := &msgs[i].Content.Parts[j]; p.Type == "image_url" {
				mediaType, data, ok := llm.DataURL(p.ImageURL.URL)
				if !ok {
					return dst, llm.BadRequest(partParam(i, j)+".image_url.url", "Gemini models take images as base64 data: URLs; the gateway does not fetch http(s) URLs for them")
				}
				dst = append(jsonw.Comma(dst), `{"inlineData":{"mimeType":`...)
				dst = jsonw.String(dst, mediaType)
				dst = append(dst, `,"data":`...)
				dst = jsonw.String(dst, data)
				dst = append(dst, "}}"...)
			}
		}
	}
	return append(dst, "]}"...), nil
}

func appendFunctionResponse(dst []byte, m *llm.Message, name string) []byte {
	dst = append(dst, `{"functionResponse":{`...)
	if geminiID(m.ToolCallID) {
		dst = append(dst, `"id":`...)
		dst = jsonw.String(dst, m.ToolCallID)
		dst = append(dst, ',')
	}
	dst = append(dst, `"name":`...)
	dst = appendGeminiName(dst, name)
	if m.ToolError {
		dst = append(dst, `,"response":{"error":`...) // Gemini's key for a failed call
	} else {
		dst = append(dst, `,"response":{"output":`...)
	}
	dst = jsonw.String(dst, toolResultText(m))
	return append(dst, "}}}"...)
}

// Gemini function names must start with a letter or an underscore, which
// OpenAI's need not: a name starting with a digit or a dash is sent with
// an underscore before it, and answered without (openaiName). The
// declarations are checked not to make two names one (checkGeminiNames).
func geminiRenamed(name string) bool {
	return name != "" && (name[0] == '-' || '0' <= name[0] && name[0] <= '9')
}

func appendGeminiName(dst []byte, name string) []byte {
	if geminiRenamed(name) {
		// Names are of a-z, A-Z, 0-9, _ and - (DecodeChat checks): nothing
		// to escape.
		return append(append(append(dst, `"_`...), name...), '"')
	}
	return jsonw.String(dst, name)
}

// openaiName reverses appendGeminiName for a name Gemini answered with.
func openaiName(t *llm.Tools, name string) string {
	if t == nil || len(name) < 2 || name[0] != '_' || !geminiRenamed(name[1:]) {
		return name
	}
	for i := range t.Functions {
		if t.Functions[i].Name == name[1:] {
			return name[1:]
		}
	}
	return name
}

// checkGeminiNames refuses declarations that Gemini's naming would make
// one: "1x" is sent as "_1x", which must not also be declared, and a name
// of 64 characters has no room for the underscore.
func checkGeminiNames(t *llm.Tools) *llm.Error {
	for i := range t.Functions {
		n := t.Functions[i].Name
		if !geminiRenamed(n) {
			continue
		}
		if len(n) == 64 {
			return llm.BadRequest("tools", "Gemini function names must start with a letter or an underscore; "+strconv.Quote(n)+
				" is sent with an underscore before it, which makes it longer than 64 characters")
		}
		for j := range t.Functions {
			if t.Functions[j].Name == "_"+n {
				return llm.BadRequest("tools", "Gemini function names must start with a letter or an underscore; "+strconv.Quote(n)+
					" is sent as "+strconv.Quote("_"+n)+", which is declared too")
			}
		}
	}
	return nil
}

// Call ids the gateway makes up, for calls that came without one (Gemini
// 2.x, the legacy function_call form). They are never sent to Gemini,
// which matches such calls and results by order.
const madeUpGeminiID = "call_otk_"

// geminiID reports whether a call id is sent to Gemini: every id but the
// ones the gateway made up.
func geminiID(id string) bool {
	return !strings.HasPrefix(id, madeUpGeminiID) && !strings.HasPrefix(id, llm.LegacyCallIDPrefix)
}

// appendGeminiPrefix writes what a cached entry would hold: the contents
// of messages[:to], the system instruction and the tools.
func appendGeminiPrefix(dst []byte, c *Call, to int) ([]byte, *llm.Error) {
	var err *llm.Error
	if dst, err = appendGeminiContents(dst, c, 0, to); err != nil {
		return dst, err
	}
	if dst, err = appendGeminiSystem(dst, c.Req.Messages); err != nil {
		return dst, err
	}
	if t := c.Req.ToolSet; t != nil && len(t.Functions) > 0 {
		if err = checkGeminiNames(t); err != nil {
			return dst, err
		}
		if dst, err = appendGeminiTools(dst, t); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// appendGeminiContents writes "contents": the user and assistant turns of
// messages[from:to], tool calls and results included.
func appendGeminiContents(dst []byte, c *Call, from, to int) ([]byte, *llm.Error) {
	msgs := c.Req.Messages
	turn := currentTurn(msgs)
	dst = append(dst, `"contents":[`...)
	for i := from; i < to; i++ {
		m := &msgs[i]
		switch {
		case m.Role == "tool":
			// The results of one turn's calls: one user content with a
			// functionResponse part per call, in the calls' order.
			end := i
			for end < to && msgs[end].Role == "tool" {
				end++
			}
			var err *llm.Error
			if dst, err = appendFunctionResponses(jsonw.Comma(dst), msgs, i, end); err != nil {
				return dst, err
			}
			i = end - 1
			continue
		case m.Role == "assistant" && len(m.ToolCalls) > 0:
			dst = appendFunctionCalls(jsonw.Comma(dst), c, m, i >= turn)
			continue
		case m.Role != "user" && m.Role != "assistant":
			continue
		case m.Role == "assistant" && (!m.Content.IsParts && m.Content.Text == "" || m.Content.IsParts && len(m.Content.Parts) == 0):
			continue // an empty model turn: Gemini wants no content without parts
		}
		dst = jsonw.Comma(dst)
		if m.Role == "assistant" {
			dst = append(dst, `{"role":"model","parts":[`...)
		} else {
			dst = append(dst, `{"role":"user","parts":[`...)
		}
		var err *llm.Error
		if dst, err = appendGeminiParts(dst, m, i); err != nil {
			return dst, err
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, ']'), nil
}

// appendGeminiSystem writes systemInstruction: one Content of the text
// parts of the system and developer messages, in order.
func appendGeminiSystem(dst []byte, msgs []llm.Message) ([]byte, *llm.Error) {
	opened := false
	for i := range msgs {
		m := &msgs[i]
		if m.Role != "system" && m.Role != "developer" {
			continue
		}
		if !opened {
			dst = append(dst, `,"systemInstruction":{"parts":[`...)
			opened = true
		}
		var err *llm.Error
		if dst, err = appendGeminiParts(dst, m, i); err != nil {
			return dst, err
		}
	}
	if opened {
		dst = append(dst, "]}"...)
	}
	return dst, nil
}

// appendThinkingConfig writes thinkingConfig when the client asked for
// reasoning. A budget of 0 (effort none on Gemini 2.5, which cannot stop
// thinking) omits it, leaving the model's default.
func appendThinkingConfig(dst []byte, c *Call) []byte {
	t := &c.Thinking
	if !t.Requested {
		return dst
	}
	switch c.Model.Thinking.Style {
	case matrix.ThinkingGeminiBudget:
		if t.Budget == 0 {
			return dst
		}
		dst = jsonw.Comma(dst)
		dst = append(dst, `"thinkingConfig":{"thinkingBudget":`...)
		dst = jsonw.Int(dst, t.Budget)
	case matrix.ThinkingGeminiLevel:
		if t.Level == "" {
			return dst
		}
		dst = jsonw.Comma(dst)
		dst = append(dst, `"thinkingConfig":{"thinkingLevel":`...)
		dst = jsonw.String(dst, t.Level)
	default:
		return dst
	}
	if !t.Exclude {
		dst = append(dst, `,"includeThoughts":true`...)
	}
	return append(dst, '}')
}

func appendGeminiParts(dst []byte, m *llm.Message, i int) ([]byte, *llm.Error) {
	if !m.Content.IsParts {
		dst = jsonw.Comma(dst)
		dst = append(dst, `{"text":`...)
		dst = jsonw.String(dst, m.Content.Text)
		return append(dst, '}'), nil
	}
	for j := range m.Content.Parts {
		p := &m.Content.Parts[j]
		dst = jsonw.Comma(dst)
		switch p.Type {
		case "text":
			dst = append(dst, `{"text":`...)
			dst = jsonw.String(dst, p.Text)
			dst = append(dst, '}')
		case "image_url":
			if m.Role != "user" {
				return dst, llm.BadRequest(partParam(i, j)+".type", "Gemini takes images only in user messages")
			}
			mediaType, data, ok := llm.DataURL(p.ImageURL.URL)
			if !ok {
				return dst, llm.BadRequest(partParam(i, j)+".image_url.url", "Gemini models take images as base64 data: URLs; the gateway does not fetch http(s) URLs for them")
			}
			dst = append(dst, `{"inlineData":{"mimeType":`...)
			dst = jsonw.String(dst, mediaType)
			dst = append(dst, `,"data":`...)
			dst = jsonw.String(dst, data)
			dst = append(dst, "}}"...)
		case "audio":
			dst = append(dst, `{"inlineData":{"mimeType":`...)
			dst = jsonw.String(dst, llm.AudioMediaType(p.Sound.Format))
			dst = append(dst, `,"data":`...)
			dst = jsonw.String(dst, p.Sound.Data)
			dst = append(dst, "}}"...)
		case "document":
			d := p.Document
			switch {
			case d.URL != "":
				return dst, llm.BadRequest(partParam(i, j)+".source.url", "Gemini models take documents as base64 data or text; the gateway does not fetch URLs for them")
			case d.Data != "":
				dst = append(dst, `{"inlineData":{"mimeType":`...)
				dst = jsonw.String(dst, d.MediaType)
				dst = append(dst, `,"data":`...)
				dst = jsonw.String(dst, d.Data)
				dst = append(dst, "}}"...)
			default:
				dst = append(dst, `{"text":`...)
				dst = jsonw.String(dst, d.Text)
				dst = append(dst, '}')
			}
		}
	}
	return dst, nil
}

// ParseCount implements Adapter: :countTokens answers {"totalTokens":N}.
func (Gemini) ParseCount(body []byte) (int64, error) {
	var r struct {
		TotalTokens *int64 `json:"totalTokens"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, err
	}
	if r.TotalTokens == nil {
		return 0, errNotAnAnswer
	}
	return *r.TotalTokens, nil
}

// ParseError implements Adapter.
func (Gemini) ParseError(status int, body []byte) UpstreamError {
	var e struct {
		Error struct {
			Message string `json:"message"`
			Status  string `json:"status"`
			Details []struct {
				Type       string `json:"@type"`
				Reason     string `json:"reason"`
				RetryDelay string `json:"retryDelay"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
		return UpstreamError{Message: fallbackMessage(status, body)}
	}
	ue := UpstreamError{Message: "gemini: " + e.Error.Message,
		AuthFailed: e.Error.Status == "PERMISSION_DENIED" || e.Error.Status == "UNAUTHENTICATED",
		CacheMiss:  strings.HasPrefix(e.Error.Message, "CachedContent not found")}
	ue.AuthFailed = ue.AuthFailed && !ue.CacheMiss
	for _, d := range e.Error.Details {
		ue.AuthFailed = ue.AuthFailed || d.Reason == "API_KEY_INVALID"
		if strings.HasSuffix(d.Type, "google.rpc.RetryInfo") {
			// A protobuf Duration in its JSON form, "47s" or "1.5s".
			ue.RetryAfter = strings.TrimSuffix(d.RetryDelay, "s")
		}
	}
	return ue
}
