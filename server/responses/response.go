package responses

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/internal/bytesconv"
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/matrix"
)

// paramName is a superset parameter's name in the Responses dialect.
func paramName(p matrix.Param) string {
	switch p {
	case generated.ParamMaxTokens:
		return "max_output_tokens"
	case generated.ParamVerbosity:
		return "text.verbosity"
	}
	return generated.ParamSpecs[p].Name
}

// Kinds of output item.
const (
	itemReasoning = iota + 1
	itemMessage
	itemCall
)

// outItem is one output item, as a response lists it. Its id is made of
// the response's and its position (msg_<response>_1), written, never
// kept.
type outItem struct {
	kind int
	n    int // its position in the output
	// text is a message's text, or a reasoning item's summary, as a
	// stream gathers it; str is a whole answer's, which need not be copied.
	text []byte
	str  string
	// function_call
	callID, name, namespace string
	args                    []byte
	argStr                  string // a whole answer's arguments
	// details is a reasoning item's signed reasoning, sealed into its
	// encrypted_content.
	details []llm.ReasoningDetail
	done    bool
}

// Meta is what a response object says beside its output.
type Meta struct {
	ID        string
	CreatedAt int64
	// Model is the id the client asked for.
	Model string
	// Request is the request's settings, repeated.
	Request *Decoded
	// Seal seals a reasoning item's details; nil when the request did not
	// include reasoning.encrypted_content.
	Seal func([]llm.ReasoningDetail) string
}

// Status of a response.
const (
	StatusInProgress = "in_progress"
	StatusCompleted  = "completed"
	StatusIncomplete = "incomplete"
	StatusFailed     = "failed"
)

// appendResponse appends a response object.
func appendResponse(dst []byte, m *Meta, status string, items []outItem, finish llm.Finish, u *llm.Usage, fail *llm.Error) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, m.ID)
	dst = append(dst, `,"object":"response","created_at":`...)
	dst = jsonw.Int(dst, m.CreatedAt)
	dst = append(dst, `,"status":"`...)
	dst = append(dst, status...) // one of the Status constants: nothing to escape
	dst = append(dst, `","background":false,"error":`...)
	if fail != nil {
		dst = append(dst, `{"code":`...)
		code := fail.Code
		if code == "" {
			code = "server_error"
		}
		dst = jsonw.String(dst, code)
		dst = append(dst, `,"message":`...)
		dst = jsonw.String(dst, fail.Message)
		dst = append(dst, '}')
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"incomplete_details":`...)
	switch {
	case status != StatusIncomplete:
		dst = append(dst, "null"...)
	case finish == llm.FinishRefusal:
		dst = append(dst, `{"reason":"content_filter"}`...)
	default:
		dst = append(dst, `{"reason":"max_output_tokens"}`...)
	}
	e := &m.Request.Echo
	dst = append(dst, `,"instructions":`...)
	dst = nullableString(dst, e.Instructions)
	dst = append(dst, `,"max_output_tokens":`...)
	if e.MaxOutputTokens != nil {
		dst = jsonw.Int(dst, *e.MaxOutputTokens)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"model":`...)
	dst = jsonw.String(dst, m.Model)
	dst = append(dst, `,"output":[`...)
	for i := range items {
		dst = jsonw.Comma(dst)
		dst = appendItem(dst, m, &items[i])
	}
	dst = append(dst, `],"parallel_tool_calls":`...)
	dst = jsonw.Bool(dst, e.ParallelToolCalls)
	dst = append(dst, `,"previous_response_id":`...)
	dst = nullable(dst, m.Request.PreviousResponseID)
	dst = append(dst, `,"reasoning":{"effort":`...)
	dst = nullableString(dst, e.Effort)
	dst = append(dst, `,"summary":`...)
	dst = nullableString(dst, e.Summary)
	dst = append(dst, `},"store":`...)
	dst = jsonw.Bool(dst, m.Request.Store)
	dst = append(dst, `,"temperature":`...)
	dst = numberOr(dst, e.temperature, "1")
	dst = append(dst, `,"text":`...)
	if matrix.RawKind(e.Text) == '{' {
		dst = append(dst, bytes.TrimSpace(e.Text)...)
	} else {
		dst = append(dst, `{"format":{"type":"text"}}`...)
	}
	dst = append(dst, `,"tool_choice":`...)
	if matrix.RawPresent(e.ToolChoice) {
		dst = append(dst, e.ToolChoice...)
	} else {
		dst = append(dst, `"auto"`...)
	}
	dst = append(dst, `,"tools":`...)
	if matrix.RawKind(e.Tools) == '[' {
		dst = append(dst, bytes.TrimSpace(e.Tools)...)
	} else {
		dst = append(dst, "[]"...)
	}
	dst = append(dst, `,"top_p":`...)
	dst = numberOr(dst, e.topP, "1")
	dst = append(dst, `,"truncation":"disabled"`...)
	if u != nil {
		dst = append(dst, `,"usage":`...) // an object when present, never null
		dst = appendUsage(dst, u)
	}
	if e.PromptCacheKey != nil {
		dst = append(dst, `,"prompt_cache_key":`...)
		dst = jsonw.String(dst, *e.PromptCacheKey)
	}
	if e.User != nil {
		dst = append(dst, `,"user":`...) // a string when present, never null
		dst = jsonw.String(dst, *e.User)
	}
	dst = append(dst, `,"metadata":`...)
	if matrix.RawKind(e.Metadata) == '{' {
		dst = append(dst, e.Metadata...)
	} else {
		dst = append(dst, "{}"...)
	}
	if u != nil && u.Tier != "" {
		dst = append(dst, `,"service_tier":`...)
		dst = jsonw.String(dst, u.Tier)
	}
	return append(dst, '}')
}

// appendID appends an item's id: its kind's prefix, the response id's
// unique part and the item's position.
func appendID(dst []byte, m *Meta, it *outItem) []byte {
	prefix := "fc_"
	switch it.kind {
	case itemReasoning:
		prefix = "rs_"
	case itemMessage:
		prefix = "msg_"
	}
	dst = append(dst, '"')
	dst = append(dst, prefix...)
	dst = append(dst, strings.TrimPrefix(m.ID, "resp_")...)
	dst = append(dst, '_')
	dst = strconv.AppendInt(dst, int64(it.n), 10)
	return append(dst, '"')
}

// textOf is an item's text, gathered or whole.
func (it *outItem) textOf() string {
	if it.text != nil {
		return bytesconv.String(it.text)
	}
	return it.str
}

// appendItem appends one output item whole.
func appendItem(dst []byte, m *Meta, it *outItem) []byte {
	status := `"completed"`
	if !it.done {
		status = `"in_progress"`
	}
	switch it.kind {
	case itemReasoning:
		dst = append(dst, `{"type":"reasoning","id":`...)
		dst = appendID(dst, m, it)
		dst = append(dst, `,"summary":[`...)
		if text := it.textOf(); text != "" {
			dst = append(dst, `{"type":"summary_text","text":`...)
			dst = jsonw.String(dst, text)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
		if it.done && m.Seal != nil && len(it.details) > 0 {
			dst = append(dst, `,"encrypted_content":`...)
			dst = jsonw.String(dst, m.Seal(it.details))
		}
		return append(dst, '}')
	case itemMessage:
		dst = append(dst, `{"type":"message","id":`...)
		dst = appendID(dst, m, it)
		dst = append(dst, `,"status":`...)
		dst = append(dst, status...)
		dst = append(dst, `,"role":"assistant","content":[`...)
		if it.done {
			dst = appendTextPart(dst, it.textOf())
		}
		return append(dst, "]}"...)
	}
	dst = append(dst, `{"type":"function_call","id":`...)
	dst = appendID(dst, m, it)
	dst = append(dst, `,"call_id":`...)
	dst = jsonw.String(dst, it.callID)
	dst = append(dst, `,"name":`...)
	dst = jsonw.String(dst, it.name)
	if it.namespace != "" {
		dst = append(dst, `,"namespace":`...)
		dst = jsonw.String(dst, it.namespace)
	}
	dst = append(dst, `,"arguments":`...)
	if it.done {
		dst = jsonw.String(dst, it.argsOf())
	} else {
		dst = append(dst, `""`...)
	}
	dst = append(dst, `,"status":`...)
	dst = append(dst, status...)
	return append(dst, '}')
}

// argsOf is a call's arguments, {} for none.
func (it *outItem) argsOf() string {
	switch {
	case len(it.args) > 0:
		return bytesconv.String(it.args)
	case it.argStr != "":
		return it.argStr
	}
	return "{}"
}

func appendTextPart(dst []byte, text string) []byte {
	dst = append(dst, `{"type":"output_text","text":`...)
	dst = jsonw.String(dst, text)
	return append(dst, `,"annotations":[],"logprobs":[]}`...)
}

// appendUsage appends the Responses usage, every detail always present
// (Codex reads reasoning_tokens and cached_tokens and fails without them).
func appendUsage(dst []byte, u *llm.Usage) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = jsonw.Int(dst, u.Prompt)
	dst = append(dst, `,"input_tokens_details":{"cached_tokens":`...)
	dst = jsonw.Int(dst, u.Cached)
	dst = append(dst, `,"cache_write_tokens":`...)
	dst = jsonw.Int(dst, u.CacheCreation)
	dst = append(dst, `},"output_tokens":`...)
	dst = jsonw.Int(dst, u.Completion)
	dst = append(dst, `,"output_tokens_details":{"reasoning_tokens":`...)
	dst = jsonw.Int(dst, u.Reasoning)
	dst = append(dst, `},"total_tokens":`...)
	dst = jsonw.Int(dst, u.Prompt+u.Completion)
	return append(dst, '}')
}

func nullable(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return jsonw.String(dst, s)
}

func nullableString(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return jsonw.String(dst, *s)
}

// numberOr appends a number as the request wrote it, or def when it set
// none (or null).
func numberOr(dst []byte, raw []byte, def string) []byte {
	if k := matrix.RawKind(raw); k == 0 || k == 'n' {
		return append(dst, def...)
	}
	return append(dst, bytes.TrimSpace(raw)...)
}

// status is a finished answer's status: a cut answer is incomplete.
func statusOf(f llm.Finish) string {
	if f == llm.FinishLength || f == llm.FinishRefusal {
		return StatusIncomplete
	}
	return StatusCompleted
}

// items builds a whole answer's output items into buf, in the order a
// model produces them: its reasoning, its text, its calls. Their strings
// are the completion's.
func items(buf []outItem, m *Meta, c *llm.Completion) []outItem {
	out := buf[:0]
	var calls []llm.ToolCall
	var details []llm.ReasoningDetail
	if c.Tools != nil {
		calls, details = c.Tools.Calls, c.Tools.ReasoningDetails
	}
	summary := m.Request.Summary && c.Reasoning != ""
	if summary || (m.Seal != nil && len(details) > 0) {
		it := outItem{kind: itemReasoning, n: len(out), details: details, done: true}
		if summary {
			it.str = c.Reasoning
		}
		out = append(out, it)
	}
	text := c.Content
	if c.Refusal != "" {
		text = c.Refusal
	}
	if text != "" || len(calls) == 0 {
		out = append(out, outItem{kind: itemMessage, n: len(out), str: text, done: true})
	}
	for i := range calls {
		tc := &calls[i]
		it := outItem{kind: itemCall, n: len(out), callID: tc.ID, name: tc.Function.Name, argStr: tc.Function.Arguments, done: true}
		if ns, ok := m.Request.Namespaces[it.name]; ok {
			it.namespace, it.name = ns[0], ns[1]
		}
		out = append(out, it)
	}
	return out
}

// AppendResponse appends a whole answer as a response object.
func AppendResponse(dst []byte, m *Meta, c *llm.Completion) []byte {
	var buf [4]outItem
	return appendResponse(dst, m, statusOf(c.Finish), items(buf[:], m, c), c.Finish, &c.Usage, nil)
}

// AppendHistory appends what a stored response hands the next request
// (previous_response_id): its input items, then its output items, the
// reasoning sealed whatever the request included.
func AppendHistory(dst []byte, dec *Decoded, m *Meta, c *llm.Completion) []byte {
	var buf [4]outItem
	return appendHistory(dst, dec, m, items(buf[:], m, c))
}

func appendHistory(dst []byte, dec *Decoded, m *Meta, out []outItem) []byte {
	input := dec.InputItems()
	dst = append(dst, input[:len(input)-1]...)
	for i := range out {
		if len(dst) > 1 {
			dst = append(dst, ',')
		}
		dst = appendItem(dst, m, &out[i])
	}
	return append(dst, ']')
}

// SealDetails is the plaintext of a reasoning item's encrypted_content.
func SealDetails(details []llm.ReasoningDetail) []byte {
	b, _ := json.Marshal(details)
	return b
}

// OpenDetails reads the plaintext SealDetails wrote.
func OpenDetails(plain []byte) ([]llm.ReasoningDetail, error) {
	var d []llm.ReasoningDetail
	if err := json.Unmarshal(plain, &d); err != nil {
		return nil, err
	}
	return d, nil
}
