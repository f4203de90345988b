package anthropic

import (
	"testing"

	"github.com/opentoken/opentoken/llm"
)

// A refusal names the place in the request the way Anthropic does, down
// to a block inside a tool result's content.
func TestErrorPaths(t *testing.T) {
	const head = `{"model":"claude-sonnet-4-6","max_tokens":10,`
	for _, c := range []struct{ body, param, message string }{
		{head + `"system":[{"type":"text","text":"a"},{"type":"image"}],"messages":[{"role":"user","content":"hi"}]}`,
			"system.1.type", "system.1.type: system blocks are text blocks"},
		{head + `"messages":[{"role":"user","content":"hi"},{"role":"bot","content":"x"}]}`,
			"messages.1.role", "messages.1.role: Input should be 'user' or 'assistant'"},
		{head + `"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image"}]}]}`,
			"messages.0.content.1.source", "messages.0.content.1.source: Field required"},
		{head + `"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"text","text":"b"},{"type":"tool_use","id":"t"}]}]}`,
			"messages.1.content.1", "messages.1.content.1: a tool_use block needs its id and name"},
		{head + `"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"r"},{"type":"tool_use"}]}]}]}`,
			"messages.0.content.0.content.1.type", `messages.0.content.0.content.1.type: a tool_result holds text and image blocks, not "tool_use"`},
		{head + `"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"image"}]}]}]}`,
			"messages.0.content.0.content.0.source", "messages.0.content.0.content.0.source: Field required"},
		{head + `"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f","input_schema":{"type":"object"}},{"name":"g"}]}`,
			"tools.1.input_schema", "tools.1.input_schema: Field required (a JSON Schema object)"},
	} {
		var req llm.Request
		var dec Decoded
		e := Decode([]byte(c.body), &req, &dec, false)
		if e == nil || e.Param != c.param || e.Message != c.message {
			t.Errorf("%s:\n got %+v\nwant param %q, message %q", c.body, e, c.param, c.message)
		}
	}
}
