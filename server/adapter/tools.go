package adapter

import (
	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/llm"
	"github.com/opentoken/opentoken/matrix"
)

// resolveTools settles what tools and a response format do to the call,
// by the model's tool-loop facts: thinking the upstream would refuse with
// them is turned off and reported, rather than the request failing
// upstream.
func (c *Call) resolveTools() *llm.Error {
	m, t := c.Model, c.Req.ToolSet
	forced := t != nil && (t.Choice.Mode == llm.ToolRequired || t.Choice.Mode == llm.ToolNamed)
	if c.Thinking.On && forced && m.ToolLoop.ForcedChoiceDropsThinking {
		// The upstream takes a forced choice only without (manual)
		// thinking: the forced call is what the client asked for.
		c.dropThinking()
	}
	if c.Thinking.On && m.ToolLoop.Unsigned == matrix.UnsignedDropThinking && !c.currentTurnSigned() {
		// The tool loop's calls came back without the signed reasoning
		// that led to them, which the upstream needs to go on thinking.
		c.dropThinking()
	}
	if c.Req.Format != nil && c.usesTools() && !m.Caps.Has(matrix.CapStructuredOutputsWithTools) {
		return llm.Unsupported("response_format", m.ID+" cannot combine tools with a JSON response_format; send one of them, or use a model that takes both")
	}
	if t != nil && !m.Caps.Has(matrix.CapStrictTools) {
		for i := range t.Functions {
			if s := t.Functions[i].Strict; s != nil && *s {
				c.adjust("tools."+t.Functions[i].Name+".strict", "true", "false")
			}
		}
	}
	return nil
}

// Legacy reports whether calls are answered in the deprecated
// function_call form.
func (c *Call) Legacy() bool { return c.Req.ToolSet != nil && c.Req.ToolSet.Legacy }

// signed reports whether the answer returns its signed reasoning: only
// for a request with tools, whose loop needs it back. Gemini thinks (and
// signs) unasked; Claude only when thinking is on.
func (c *Call) signed() bool {
	switch c.Model.ToolLoop.Replay {
	case matrix.ReplayThoughtSignature:
		return c.Req.ToolSet != nil
	case matrix.ReplayThinkingBlocks:
		return c.Req.ToolSet != nil && c.Thinking.On
	}
	return false
}

// usesTools reports whether the model may call a tool in this request.
func (c *Call) usesTools() bool {
	t := c.Req.ToolSet
	return t != nil && len(t.Functions) > 0 && t.Choice.Mode != llm.ToolNone
}

// parallelOff reports whether the client limited the model to one call
// and the model can be told so.
func (c *Call) parallelOff() bool {
	p := c.Req.Superset.ParallelToolCalls
	return c.Forward.Has(generated.ParamParallelToolCalls) && p != nil && !*p
}

// currentTurn returns the index of the first message of the current turn:
// the one after the last user message. A tool loop is one assistant turn,
// so its calls and results all come after it.
func currentTurn(msgs []llm.Message) int {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return i + 1
		}
	}
	return 0
}

// currentTurnSigned reports whether every assistant message of the current
// turn that made calls came back with the signed thinking that preceded
// them (Claude's replay).
func (c *Call) currentTurnSigned() bool {
	msgs := c.Req.Messages
	for i := currentTurn(msgs); i < len(msgs); i++ {
		m := &msgs[i]
		if m.Role != "assistant" || len(m.ToolCalls) == 0 {
			continue
		}
		signed := false
		for j := range m.ReasoningDetails {
			signed = signed || claudeBlock(&m.ReasoningDetails[j])
		}
		if !signed {
			return false
		}
	}
	return true
}

// claudeBlock reports whether a reasoning detail is a Claude thinking block
// that can go back: signed thinking, or redacted thinking.
func claudeBlock(d *llm.ReasoningDetail) bool {
	if d.Format != "" && d.Format != llm.FormatAnthropic {
		return false
	}
	return d.Type == llm.DetailText && d.Signature != "" || d.Type == llm.DetailEncrypted && d.Data != ""
}

// toolResultText returns a tool message's content as one text.
func toolResultText(m *llm.Message) string {
	if !m.Content.IsParts {
		return m.Content.Text
	}
	var j joined
	for k := range m.Content.Parts {
		j.add(m.Content.Parts[k].Text)
	}
	return j.String()
}

// historyTools returns the names of the functions called in msgs, each
// once, for an upstream that needs every called tool declared.
func historyTools(msgs []llm.Message) []string {
	var names []string
	for i := range msgs {
		for _, tc := range msgs[i].ToolCalls {
			seen := false
			for _, n := range names {
				seen = seen || n == tc.Function.Name
			}
			if !seen {
				names = append(names, tc.Function.Name)
			}
		}
	}
	return names
}

// allowed reports whether the choice lets the model call name.
func allowed(ch *llm.ToolChoice, name string) bool {
	if ch.Allowed == nil {
		return true
	}
	for _, n := range ch.Allowed {
		if n == name {
			return true
		}
	}
	return false
}
