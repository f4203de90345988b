package anthropic

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/json"
)

type request struct {
	Model         string          `json:"model"`
	MaxTokens     *int64          `json:"max_tokens"`
	Messages      []message       `json:"messages"`
	System        json.RawMessage `json:"system"`
	Temperature   *float64        `json:"temperature"`
	TopP          *float64        `json:"top_p"`
	TopK          *int64          `json:"top_k"`
	StopSequences json.RawMessage `json:"stop_sequences"`
	Stream        *bool           `json:"stream"`
	Thinking      *struct {
		Type         string `json:"type"`
		BudgetTokens *int64 `json:"budget_tokens"`
		Display      string `json:"display"`
	} `json:"thinking"`
	OutputConfig *struct {
		Effort *string `json:"effort"`
		Format *struct {
			Type   string          `json:"type"`
			Schema json.RawMessage `json:"schema"`
		} `json:"format"`
	} `json:"output_config"`
	Tools      []toolDef `json:"tools"`
	ToolChoice *struct {
		Type                   string `json:"type"`
		Name                   string `json:"name"`
		DisableParallelToolUse *bool  `json:"disable_parallel_tool_use"`
	} `json:"tool_choice"`

	stopSequences []string
	system        []block
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	blocks  []block
}

// cacheMark is a cache_control breakpoint.
type cacheMark struct {
	Type string `json:"type"`
	TTL  string `json:"ttl"`
}

type block struct {
	Type string `json:"type"`
	Text string `json:"text"`
	// tool_use, tool_result, thinking and redacted_thinking fields.
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Input        json.RawMessage `json:"input"`
	ToolUseID    string          `json:"tool_use_id"`
	Content      json.RawMessage `json:"content"`
	IsError      *bool           `json:"is_error"`
	Thinking     string          `json:"thinking"`
	Signature    string          `json:"signature"`
	Data         string          `json:"data"`
	CacheControl *cacheMark      `json:"cache_control"`
	Source       *struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
		URL       string `json:"url"`
	} `json:"source"`
}

var imageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// parse decodes and validates a body the way the real API does, returning
// the first problem in the real API's words.
func parse(body []byte) (*request, *model, string) {
	var raw any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, nil, "There was an error parsing the body: " + err.Error()
	}
	if _, ok := raw.(map[string]any); !ok {
		return nil, nil, "Input should be a valid dictionary"
	}
	if path := emulator.Unknown(raw, requestShape, ""); path != "" {
		return nil, nil, path + ": Extra inputs are not permitted"
	}
	req := &request{}
	if err := json.Unmarshal(body, req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, nil, te.Field + ": Input should be a valid " + te.Type.String()
		}
		return nil, nil, err.Error()
	}
	if req.Model == "" {
		return req, nil, "model: Field required"
	}
	m, ok := models[req.Model]
	if !ok {
		return req, nil, "model: " + req.Model
	}
	if msg := req.validate(&m); msg != "" {
		return req, &m, msg
	}
	return req, &m, ""
}

func (r *request) validate(m *model) string {
	switch {
	case r.MaxTokens == nil:
		return "max_tokens: Field required"
	case *r.MaxTokens < 1:
		return "max_tokens: Input should be greater than or equal to 1"
	case *r.MaxTokens > int64(m.maxOutput):
		return "max_tokens: " + strconv.FormatInt(*r.MaxTokens, 10) + " > " + strconv.Itoa(m.maxOutput) +
			", which is the maximum allowed number of output tokens for " + r.Model
	case len(r.Messages) == 0:
		return "messages: at least one message is required"
	}
	if msg := r.validateSystem(); msg != "" {
		return msg
	}
	for i := range r.Messages {
		if msg := r.Messages[i].validate(i); msg != "" {
			return msg
		}
	}
	if len(r.StopSequences) > 0 {
		if emulatorKind(r.StopSequences) != '[' {
			return "stop_sequences: Input should be a valid list"
		}
		if err := json.Unmarshal(r.StopSequences, &r.stopSequences); err != nil {
			return "stop_sequences.0: Input should be a valid string"
		}
		for _, s := range r.stopSequences {
			switch {
			case s == "":
				return "stop_sequences: each stop sequence must be non-empty"
			case strings.TrimSpace(s) == "":
				return "stop_sequences: each stop sequence must contain non-whitespace"
			}
		}
	}
	if msg := r.validateSampling(m); msg != "" {
		return msg
	}
	if msg := r.validateThinking(m); msg != "" {
		return msg
	}
	if msg := r.validateTools(); msg != "" {
		return msg
	}
	if msg := r.validateToolHistory(); msg != "" {
		return msg
	}
	if msg := r.validateCache(); msg != "" {
		return msg
	}
	return r.validateFormat()
}

func (r *request) validateSystem() string {
	switch emulatorKind(r.System) {
	case 0, 'n':
		return ""
	case '"':
		var s string
		_ = json.Unmarshal(r.System, &s)
		r.system = []block{{Type: "text", Text: s}}
		return ""
	case '[':
		if err := json.Unmarshal(r.System, &r.system); err != nil {
			return "system: Input should be a valid list"
		}
		for i, b := range r.system {
			if b.Type != "text" {
				return "system." + strconv.Itoa(i) + ".type: Input should be 'text'"
			}
			if strings.TrimSpace(b.Text) == "" {
				return "system: text content blocks must contain non-whitespace text"
			}
		}
		return ""
	}
	return "system: Input should be a valid string"
}

func (m *message) validate(i int) string {
	at := "messages." + strconv.Itoa(i)
	if m.Role != "user" && m.Role != "assistant" {
		return at + ".role: Input should be 'user' or 'assistant'"
	}
	switch emulatorKind(m.Content) {
	case '"':
		var s string
		_ = json.Unmarshal(m.Content, &s)
		if strings.TrimSpace(s) == "" {
			return "messages: text content blocks must contain non-whitespace text"
		}
		m.blocks = []block{{Type: "text", Text: s}}
		return ""
	case '[':
		if err := json.Unmarshal(m.Content, &m.blocks); err != nil {
			return at + ".content: Input should be a valid list"
		}
	default:
		return at + ".content: Field required"
	}
	if len(m.blocks) == 0 {
		return at + ".content: List should have at least 1 item after validation, not 0"
	}
	for j, b := range m.blocks {
		bat := at + ".content." + strconv.Itoa(j)
		switch b.Type {
		case "text":
			if strings.TrimSpace(b.Text) == "" {
				return "messages: text content blocks must contain non-whitespace text"
			}
		case "image":
			switch {
			case m.Role != "user":
				return bat + ": image blocks are only allowed in user messages"
			case b.Source == nil:
				return bat + ".source: Field required"
			case b.Source.Type == "base64" && !imageTypes[b.Source.MediaType]:
				return bat + ".source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
			case b.Source.Type == "base64" && b.Source.Data == "":
				return bat + ".source.base64.data: Field required"
			case b.Source.Type == "url" && !strings.HasPrefix(b.Source.URL, "http"):
				return bat + ".source.url.url: Input should be a valid URL"
			case b.Source.Type != "base64" && b.Source.Type != "url":
				return bat + ".source.type: Input tag '" + b.Source.Type + "' found using 'type' does not match any of the expected tags: 'base64', 'url', 'file'"
			}
		case "document":
			if msg := validateDocument(&b, bat, m.Role); msg != "" {
				return msg
			}
		case "thinking", "redacted_thinking", "tool_use", "tool_result":
		default:
			return bat + ".type: Input tag '" + b.Type + "' found using 'type' does not match any of the expected tags"
		}
	}
	return ""
}

func (r *request) validateSampling(m *model) string {
	switch {
	case r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > 1):
		return "temperature: Input should be less than or equal to 1"
	case r.TopP != nil && (*r.TopP < 0 || *r.TopP > 1):
		return "top_p: Input should be less than or equal to 1"
	case r.TopK != nil && *r.TopK < 0:
		return "top_k: Input should be greater than or equal to 0"
	}
	if m.noSampling {
		switch {
		case r.Temperature != nil:
			return "`temperature` is deprecated for this model."
		case r.TopP != nil:
			return "`top_p` is deprecated for this model."
		case r.TopK != nil:
			return "`top_k` is deprecated for this model."
		}
	}
	if m.exclusiveSampling && r.Temperature != nil && r.TopP != nil {
		return "`temperature` and `top_p` cannot both be specified for this model. Please use only one."
	}
	return ""
}

func (r *request) validateThinking(m *model) string {
	if r.Thinking != nil {
		switch r.Thinking.Type {
		case "disabled":
		case "enabled":
			if !m.budgetThinking {
				return "thinking.type.enabled is not supported for this model. Use thinking.type.adaptive and output_config.effort to control thinking behavior."
			}
			switch b := r.Thinking.BudgetTokens; {
			case b == nil:
				return "thinking.enabled.budget_tokens: Field required"
			case *b < 1024:
				return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
			case *b >= *r.MaxTokens:
				return "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
			}
		case "adaptive":
			if !m.adaptiveThinking {
				return "thinking.type.adaptive is not supported for this model"
			}
			if r.Thinking.BudgetTokens != nil {
				return "thinking.adaptive.budget_tokens: Extra inputs are not permitted"
			}
		default:
			return "thinking.type: Input tag '" + r.Thinking.Type + "' found using 'type' does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'"
		}
	}
	if oc := r.OutputConfig; oc != nil && oc.Effort != nil {
		ok := false
		for _, e := range m.efforts {
			ok = ok || e == *oc.Effort
		}
		if !ok {
			if len(m.efforts) == 0 {
				return "output_config.effort: effort is not supported for this model"
			}
			return "output_config.effort: Input should be " + quoteList(m.efforts)
		}
	}
	if r.thinkingOn() {
		switch {
		case r.Temperature != nil && *r.Temperature != 1:
			return "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#important-considerations-when-using-extended-thinking"
		case r.TopK != nil:
			return "`top_k` may not be set when thinking is enabled. Please consult our documentation at https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking#feature-compatibility"
		case r.TopP != nil && *r.TopP < 0.95:
			return "`top_p` must be between 0.95 and 1 when thinking is enabled."
		case r.Messages[len(r.Messages)-1].Role == "assistant":
			return "Prefilling the assistant response is not supported when thinking is enabled."
		}
	}
	return ""
}

func (r *request) thinkingOn() bool {
	return r.Thinking != nil && (r.Thinking.Type == "enabled" || r.Thinking.Type == "adaptive")
}

func (r *request) lastUserText() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role != "user" {
			continue
		}
		var b strings.Builder
		for _, blk := range r.Messages[i].blocks {
			if blk.Type == "text" {
				b.WriteString(blk.Text)
			}
		}
		return b.String()
	}
	return ""
}

func (r *request) inputTokens() int {
	n := 0
	for _, b := range r.system {
		n += len(b.Text)
	}
	for _, m := range r.Messages {
		for _, b := range m.blocks {
			n += len(b.Text)
			if b.Source != nil {
				n += 1600 * 4 // an image costs about 1,600 tokens
			}
		}
	}
	return max((n+3)/4, 1)
}

// breakpoint is a cache_control breakpoint: its TTL and the prefix it ends.
type breakpoint struct {
	ttl    string
	prefix []byte // everything cacheable up to and including its block
}

// breakpoints lists the request's breakpoints in prefix order: tools,
// system, messages, as the API builds the cached prefix.
func (r *request) breakpoints() []breakpoint {
	var out []breakpoint
	var prefix []byte
	add := func(cc *cacheMark, content []byte) {
		prefix = append(prefix, content...)
		if cc != nil {
			ttl := cc.TTL
			if ttl == "" {
				ttl = "5m"
			}
			out = append(out, breakpoint{ttl: ttl, prefix: append([]byte(nil), prefix...)})
		}
	}
	for _, t := range r.Tools {
		add(t.CacheControl, append([]byte(t.Name+t.Description), t.InputSchema...))
	}
	for _, b := range r.system {
		add(b.CacheControl, []byte(b.Text))
	}
	for _, m := range r.Messages {
		for _, b := range m.blocks {
			content := []byte(b.Text + b.Thinking + b.ToolUseID + b.ID)
			content = append(append(content, b.Input...), b.Content...)
			if b.Source != nil {
				content = append(content, b.Source.Data+b.Source.URL...)
			}
			add(b.CacheControl, content)
		}
	}
	return out
}

// validateCache checks the breakpoints as the API does.
func (r *request) validateCache() string {
	points := r.breakpoints()
	if len(points) > 4 {
		return "A maximum of 4 blocks with cache_control may be provided. Found " + strconv.Itoa(len(points)) + "."
	}
	short := false
	for _, p := range points {
		switch p.ttl {
		case "5m":
			short = true
		case "1h":
			if short {
				return "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block. Note that blocks are processed in the following order: `tools`, `system`, `messages`."
			}
		default:
			return "cache_control.ttl: Input should be '5m' or '1h'"
		}
	}
	return ""
}

// cachePrefix returns a key for the prefix up to the last breakpoint, its
// TTL and its token count; "" when there is none or the prefix is under
// the model's minimum, which the API caches silently not at all.
func (r *request) cachePrefix(m *model) (key, ttl string, tokens int) {
	points := r.breakpoints()
	if len(points) == 0 {
		return "", "", 0
	}
	last := points[len(points)-1]
	n := max((len(last.prefix)+3)/4, 1)
	if n < m.minCache {
		return "", "", 0
	}
	sum := sha256.Sum256(last.prefix)
	return r.Model + ":" + hex.EncodeToString(sum[:]), last.ttl, n
}

func emulatorKind(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\n' && c != '\t' && c != '\r' {
			return c
		}
	}
	return 0
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = "'" + v + "'"
	}
	return strings.Join(q, ", ")
}

// validateDocument checks a document block as the Messages API does: a
// PDF in base64, plain text, or a URL, in a user message.
func validateDocument(b *block, at, role string) string {
	s := b.Source
	switch {
	case role != "user":
		return at + ": document blocks are only allowed in user messages"
	case s == nil:
		return at + ".source: Field required"
	case s.Type == "base64" && s.MediaType != "application/pdf":
		return at + ".source.base64.media_type: Input should be 'application/pdf'"
	case s.Type == "base64" && s.Data == "":
		return at + ".source.base64.data: Field required"
	case s.Type == "text" && s.MediaType != "text/plain":
		return at + ".source.text.media_type: Input should be 'text/plain'"
	case s.Type == "url" && !strings.HasPrefix(s.URL, "http"):
		return at + ".source.url.url: Input should be a valid URL"
	case s.Type != "base64" && s.Type != "text" && s.Type != "url" && s.Type != "content":
		return at + ".source.type: Input tag '" + s.Type + "' found using 'type' does not match any of the expected tags: 'base64', 'content', 'text', 'url', 'file'"
	}
	if s.Type == "base64" {
		if _, err := base64.StdEncoding.DecodeString(s.Data); err != nil {
			return "messages: the PDF specified was not valid"
		}
	}
	return ""
}
