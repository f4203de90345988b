package anthropic

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/emulator"
	"github.com/opentoken/opentoken/internal/json"
)

// toolDef is one entry of tools.
type toolDef struct {
	Type         string          `json:"type"`
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	InputSchema  json.RawMessage `json:"input_schema"`
	Strict       *bool           `json:"strict"`
	CacheControl *cacheMark      `json:"cache_control"`
}

var toolIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// validateTools checks tools and tool_choice as the Messages API does.
func (r *request) validateTools() string {
	names := map[string]bool{}
	for i, t := range r.Tools {
		at := "tools." + strconv.Itoa(i) + ".custom"
		switch {
		case !emulator.ValidToolName(t.Name):
			return at + ".name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'"
		case len(t.InputSchema) == 0:
			return at + ".input_schema: Field required"
		case names[t.Name]:
			return "tools: Tool names must be unique."
		}
		var schema struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(t.InputSchema, &schema) != nil || schema.Type != "object" {
			return at + ".input_schema.type: Input should be 'object'"
		}
		if t.Strict != nil && *t.Strict {
			if msg := checkSchema(t.InputSchema, at+".input_schema"); msg != "" {
				return msg
			}
		}
		names[t.Name] = true
	}
	tc := r.ToolChoice
	if tc == nil {
		return ""
	}
	switch tc.Type {
	case "auto", "any":
	case "tool":
		if !names[tc.Name] {
			return "tool_choice.tool.name: Tool '" + tc.Name + "' not found in the provided tools"
		}
	case "none":
		if tc.DisableParallelToolUse != nil {
			return "tool_choice.none.disable_parallel_tool_use: Extra inputs are not permitted"
		}
	default:
		return "tool_choice.type: Input tag '" + tc.Type + "' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"
	}
	if (tc.Type == "any" || tc.Type == "tool") && r.Thinking != nil && r.Thinking.Type == "enabled" {
		return "Thinking may not be enabled when tool_choice forces tool use."
	}
	return ""
}

// validateToolHistory checks the tool_use / tool_result pairing and the
// thinking blocks a tool loop needs, with the real API's messages.
func (r *request) validateToolHistory() string {
	hasBlocks := false
	for i := range r.Messages {
		m := &r.Messages[i]
		var uses []string
		for j, b := range m.blocks {
			bat := "messages." + strconv.Itoa(i) + ".content." + strconv.Itoa(j)
			switch b.Type {
			case "tool_use":
				hasBlocks = true
				if m.Role != "assistant" {
					return bat + ": tool_use blocks are only allowed in assistant messages"
				}
				if !toolIDPattern.MatchString(b.ID) {
					return bat + ".tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'"
				}
				uses = append(uses, b.ID)
			case "tool_result":
				hasBlocks = true
				if m.Role != "user" {
					return bat + ": tool_result blocks are only allowed in user messages"
				}
				if !toolIDPattern.MatchString(b.ToolUseID) {
					return bat + ".tool_result.tool_use_id: String should match pattern '^[a-zA-Z0-9_-]+$'"
				}
				if !r.calledBefore(i, b.ToolUseID) {
					return bat + ": unexpected `tool_use_id` found in `tool_result` blocks: " + b.ToolUseID +
						". Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
				}
			case "thinking":
				sum := sha256.Sum256([]byte(b.Thinking))
				if b.Signature != base64.StdEncoding.EncodeToString(sum[:]) {
					return bat + ": Invalid `signature` in `thinking` block"
				}
			}
		}
		if len(uses) == 0 {
			continue
		}
		if i+1 >= len(r.Messages) {
			continue // the calls of a prefilled last turn
		}
		next := r.Messages[i+1].blocks
		leading := 0
		for leading < len(next) && next[leading].Type == "tool_result" {
			leading++
		}
		var missing []string
		for _, id := range uses {
			found := false
			for _, b := range next {
				found = found || b.Type == "tool_result" && b.ToolUseID == id
			}
			if !found {
				missing = append(missing, id)
			}
		}
		if missing != nil {
			return "messages." + strconv.Itoa(i+1) + ": `tool_use` ids were found without `tool_result` blocks immediately after: " +
				strings.Join(missing, ", ") + ". Each `tool_use` block must have a corresponding `tool_result` block in the next message."
		}
		if leading < len(uses) {
			return "messages." + strconv.Itoa(i+1) + ": Did not find " + strconv.Itoa(len(uses)) + " `tool_result` block(s) at the beginning of this message. " +
				"Messages following `tool_use` blocks must begin with a matching number of `tool_result` blocks."
		}
	}
	if hasBlocks && len(r.Tools) == 0 {
		return "Requests which include `tool_use` or `tool_result` blocks must define tools."
	}
	return r.validateLoopThinking()
}

// calledBefore reports whether the message before message i made call id.
func (r *request) calledBefore(i int, id string) bool {
	if i == 0 || r.Messages[i-1].Role != "assistant" {
		return false
	}
	for _, b := range r.Messages[i-1].blocks {
		if b.Type == "tool_use" && b.ID == id {
			return true
		}
	}
	return false
}

// validateLoopThinking: with thinking on, the assistant turn of a tool loop
// in progress must start with its thinking block; with thinking off, a
// final assistant message cannot hold thinking.
func (r *request) validateLoopThinking() string {
	last := len(r.Messages) - 1
	if !r.thinkingOn() {
		if r.Messages[last].Role == "assistant" {
			for _, b := range r.Messages[last].blocks {
				if b.Type == "thinking" || b.Type == "redacted_thinking" {
					return "When thinking is disabled, an `assistant` message in the final position cannot contain `thinking`. To use thinking blocks, enable `thinking` in your request."
				}
			}
		}
		return ""
	}
	if !r.endsWithResults() || last < 1 {
		return ""
	}
	a := r.Messages[last-1]
	if len(a.blocks) > 0 && a.blocks[0].Type != "thinking" && a.blocks[0].Type != "redacted_thinking" {
		return "messages." + strconv.Itoa(last-1) + ".content.0.type: Expected `thinking` or `redacted_thinking`, but found `" + a.blocks[0].Type +
			"`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). " +
			"We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
	}
	return ""
}

// endsWithResults reports whether the last message carries tool results.
func (r *request) endsWithResults() bool {
	for _, b := range r.Messages[len(r.Messages)-1].blocks {
		if b.Type == "tool_result" {
			return true
		}
	}
	return false
}

// validateFormat checks output_config.format.
func (r *request) validateFormat() string {
	if r.OutputConfig == nil || r.OutputConfig.Format == nil {
		return ""
	}
	f := r.OutputConfig.Format
	switch {
	case f.Type != "json_schema":
		return "output_config.format.type: Input tag '" + f.Type + "' found using 'type' does not match any of the expected tags: 'json_schema'"
	case len(f.Schema) == 0:
		return "output_config.format.json_schema.schema: Field required"
	}
	for _, m := range r.Messages[len(r.Messages)-1:] {
		if m.Role == "assistant" {
			return "Prefilling the assistant message is not supported when using structured outputs."
		}
	}
	return checkSchema(f.Schema, "output_config.format.schema")
}

// schemaKeywords are the keywords Anthropic's constrained decoding takes
// (the SDK's transformSchema keeps exactly these).
var schemaKeywords = map[string]bool{
	"$ref": true, "$defs": true, "definitions": true, "type": true, "anyOf": true, "allOf": true, "description": true,
	"title": true, "enum": true, "const": true, "properties": true, "additionalProperties": true, "required": true,
	"items": true, "minItems": true, "format": true, "pattern": true,
}

// checkSchema refuses a schema constrained decoding cannot compile.
func checkSchema(raw json.RawMessage, at string) string {
	var s any
	if json.Unmarshal(raw, &s) != nil {
		return at + ": Input should be a valid dictionary"
	}
	return walkSchema(s, at)
}

func walkSchema(v any, at string) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	for k, sub := range m {
		if !schemaKeywords[k] {
			return at + ": keyword '" + k + "' is not supported in structured output schemas"
		}
		switch k {
		case "properties", "$defs", "definitions":
			if props, ok := sub.(map[string]any); ok {
				for name, p := range props {
					if msg := walkSchema(p, at+"."+k+"."+name); msg != "" {
						return msg
					}
				}
			}
		case "anyOf", "allOf":
			list, _ := sub.([]any)
			for i, p := range list {
				if msg := walkSchema(p, at+"."+k+"."+strconv.Itoa(i)); msg != "" {
					return msg
				}
			}
		case "items", "additionalProperties":
			if msg := walkSchema(sub, at+"."+k); msg != "" {
				return msg
			}
		case "minItems":
			if n, _ := sub.(float64); n > 1 {
				return at + ".minItems: only 0 and 1 are supported"
			}
		}
	}
	if _, hasProps := m["properties"]; hasProps {
		if ap, ok := m["additionalProperties"].(bool); !ok || ap {
			return at + ": For 'object' type, 'additionalProperties' must be explicitly set to false"
		}
	}
	return ""
}

// call is a tool call the emulated model makes.
type call struct {
	id, name string
	input    []byte
}

// calls decides the tool calls of the reply, by the rules in
// emulator/tools.go: none after tool results or under tool_choice none.
func (e *Emulator) calls(r *request) []call {
	if len(r.Tools) == 0 || r.endsWithResults() {
		return nil
	}
	names := make([]string, len(r.Tools))
	for i, t := range r.Tools {
		names[i] = t.Name
	}
	var chosen []string
	one := false
	switch tc := r.ToolChoice; {
	case tc == nil || tc.Type == "auto":
		chosen = emulator.MentionedTools(names, r.lastUserText())
		one = tc != nil && tc.DisableParallelToolUse != nil && *tc.DisableParallelToolUse
	case tc.Type == "any":
		if chosen = emulator.MentionedTools(names, r.lastUserText()); chosen == nil {
			chosen = names[:1]
		}
		one = tc.DisableParallelToolUse != nil && *tc.DisableParallelToolUse
	case tc.Type == "tool":
		chosen = []string{tc.Name}
	}
	if one && len(chosen) > 1 {
		chosen = chosen[:1]
	}
	var out []call
	for _, name := range chosen {
		for _, t := range r.Tools {
			if t.Name != name {
				continue
			}
			var schema any
			_ = json.Unmarshal(t.InputSchema, &schema)
			input, _ := json.Marshal(emulator.Example(schema))
			out = append(out, call{id: fmt.Sprintf("toolu_emu%016x", e.ids.Add(1)), name: name, input: input})
		}
	}
	return out
}

// formatText is the structured-output answer: a value of the schema.
func (r *request) formatText() (string, bool) {
	if r.OutputConfig == nil || r.OutputConfig.Format == nil {
		return "", false
	}
	var schema any
	_ = json.Unmarshal(r.OutputConfig.Format.Schema, &schema)
	b, _ := json.Marshal(emulator.Example(schema))
	return string(b), true
}

// lastResults is the text of the tool results that end the conversation.
func (r *request) lastResults() string {
	var b strings.Builder
	for _, blk := range r.Messages[len(r.Messages)-1].blocks {
		if blk.Type != "tool_result" {
			continue
		}
		var text string
		if json.Unmarshal(blk.Content, &text) != nil {
			var parts []block
			_ = json.Unmarshal(blk.Content, &parts)
			for _, p := range parts {
				text += p.Text
			}
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(text)
	}
	return b.String()
}
