package anthropic

import (
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/matrix"
)

// stopReason is Anthropic's name of a finish, as a JSON string.
func stopReason(f llm.Finish) string {
	switch f {
	case llm.FinishStopSequence:
		return `"stop_sequence"`
	case llm.FinishLength:
		return `"max_tokens"`
	case llm.FinishRefusal:
		return `"refusal"`
	case llm.FinishToolCalls:
		return `"tool_use"`
	case llm.FinishPause:
		return `"pause_turn"`
	}
	return `"end_turn"`
}

// AppendMessage appends a whole answer as a message object. model is the
// id the client asked for. The blocks come as Claude orders them: its
// thinking, the text, then the calls, each call of a Gemini answer after a
// thinking block carrying its thought signature.
func AppendMessage(dst []byte, id, model string, c *llm.Completion) []byte {
	dst = append(dst, `{"id":`...)
	dst = jsonw.String(dst, id)
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	dst = jsonw.String(dst, model)
	dst = append(dst, `,"content":[`...)
	var calls []llm.ToolCall
	var details []llm.ReasoningDetail
	if c.Tools != nil {
		calls, details = c.Tools.Calls, c.Tools.ReasoningDetails
	}
	claudeThinking := false
	for i := range details {
		if d := &details[i]; d.Format != llm.FormatGoogle {
			dst = appendThinkingBlock(jsonw.Comma(dst), d)
			claudeThinking = true
		}
	}
	if !claudeThinking && c.Reasoning != "" {
		// Unsigned reasoning (Gemini's thought summaries): shown, never
		// needed back.
		dst = append(jsonw.Comma(dst), `{"type":"thinking","thinking":`...)
		dst = jsonw.String(dst, c.Reasoning)
		dst = append(dst, `,"signature":""}`...)
	}
	text := c.Content
	if c.Refusal != "" {
		text = c.Refusal
	}
	if text != "" {
		dst = append(jsonw.Comma(dst), `{"type":"text","text":`...)
		dst = jsonw.String(dst, text)
		dst = append(dst, `,"citations":null}`...)
	}
	for i := range calls {
		tc := &calls[i]
		if sig := tc.ThoughtSignature(); sig != "" {
			dst = appendGeminiSignature(jsonw.Comma(dst), sig)
		}
		dst = append(jsonw.Comma(dst), `{"type":"tool_use","id":`...)
		dst = jsonw.String(dst, tc.ID)
		dst = append(dst, `,"name":`...)
		dst = jsonw.String(dst, tc.Function.Name)
		dst = append(dst, `,"input":`...)
		dst = appendInput(dst, tc.Function.Arguments)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"stop_reason":`...)
	dst = append(dst, stopReason(c.Finish)...)
	dst = append(dst, `,"stop_sequence":`...)
	dst = nullable(dst, c.StopSequence)
	dst = append(dst, `,"usage":`...)
	dst = AppendUsage(dst, &c.Usage)
	return append(dst, '}')
}

// appendInput appends a call's arguments as its input object; a call
// without arguments has {}.
func appendInput(dst []byte, args string) []byte {
	if args == "" {
		return append(dst, "{}"...)
	}
	return append(dst, args...)
}

func appendThinkingBlock(dst []byte, d *llm.ReasoningDetail) []byte {
	if d.Type == llm.DetailEncrypted {
		dst = append(dst, `{"type":"redacted_thinking","data":`...)
		dst = jsonw.String(dst, d.Data)
		return append(dst, '}')
	}
	dst = append(dst, `{"type":"thinking","thinking":`...)
	dst = jsonw.String(dst, d.Text)
	dst = append(dst, `,"signature":`...)
	dst = jsonw.String(dst, d.Signature)
	return append(dst, '}')
}

// appendGeminiSignature appends the thinking block that carries a Gemini
// thought signature back through a client that keeps thinking blocks.
func appendGeminiSignature(dst []byte, sig string) []byte {
	dst = append(dst, `{"type":"thinking","thinking":"","signature":`...)
	dst = jsonw.String(dst, GeminiSignature+sig)
	return append(dst, '}')
}

// AppendUsage appends Anthropic's usage object: input_tokens excludes the
// cache reads and writes, which have their own counts, and the writes are
// split by how long they live.
func AppendUsage(dst []byte, u *llm.Usage) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = jsonw.Int(dst, u.Prompt-u.Cached-u.CacheCreation)
	dst = append(dst, `,"cache_creation_input_tokens":`...)
	dst = jsonw.Int(dst, u.CacheCreation)
	dst = append(dst, `,"cache_read_input_tokens":`...)
	dst = jsonw.Int(dst, u.Cached)
	dst = append(dst, `,"cache_creation":{"ephemeral_5m_input_tokens":`...)
	dst = jsonw.Int(dst, u.CacheCreation-u.CacheWrite1h)
	dst = append(dst, `,"ephemeral_1h_input_tokens":`...)
	dst = jsonw.Int(dst, u.CacheWrite1h)
	dst = append(dst, `},"output_tokens":`...)
	dst = jsonw.Int(dst, u.Completion)
	dst = append(dst, `,"service_tier":"standard"}`...)
	return dst
}

func nullable(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return jsonw.String(dst, s)
}

// modelsCreatedAt is the created_at of every model, as Anthropic writes it.
const modelsCreatedAt = "2024-01-01T00:00:00Z"

// AppendModel appends one model in Anthropic's shape: its OpenToken id,
// which the Messages door takes as model, and its display name.
func AppendModel(dst []byte, m *matrix.Model) []byte {
	dst = append(dst, `{"type":"model","id":`...)
	dst = jsonw.String(dst, m.ID)
	dst = append(dst, `,"display_name":`...)
	dst = jsonw.String(dst, m.Name)
	dst = append(dst, `,"created_at":"`+modelsCreatedAt+`"}`...)
	return dst
}

// AppendModels appends a page of Anthropic's model list: up to limit of
// models after the one with id after ("" for the first page).
func AppendModels(dst []byte, models []*matrix.Model, after string, limit int) []byte {
	start := 0
	if after != "" {
		for i, m := range models {
			if m.ID == after {
				start = i + 1
			}
		}
	}
	end := min(start+limit, len(models))
	page := models[start:end]
	dst = append(dst, `{"data":[`...)
	for i, m := range page {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendModel(dst, m)
	}
	dst = append(dst, `],"has_more":`...)
	dst = jsonw.Bool(dst, end < len(models))
	dst = append(dst, `,"first_id":`...)
	if len(page) > 0 {
		dst = jsonw.String(dst, page[0].ID)
		dst = append(dst, `,"last_id":`...)
		dst = jsonw.String(dst, page[len(page)-1].ID)
	} else {
		dst = append(dst, `null,"last_id":null`...)
	}
	return append(dst, '}')
}
