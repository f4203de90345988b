package gen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The README's per-model tables are generated too, so that what it says
// each model does is what the matrix says. They sit between these markers;
// make generate rewrites them and a test checks them fresh.
const (
	ReadmeBegin = "<!-- generated:models begin: make generate rewrites this section from spec/ -->"
	ReadmeEnd   = "<!-- generated:models end -->"
)

// ModelTables renders the README's section between the markers: what each
// chat model forwards and under which name, what it clamps, what it drops
// when, and how it serves each reasoning effort.
func ModelTables(specs *Specs) (string, error) {
	ir, err := build(specs)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("| model | forwards (→ upstream name) | clamped | dropped when |\n|---|---|---|---|\n")
	for _, m := range ir.models {
		if m.kind != "chat" {
			continue
		}
		var fwd, clamped, when []string
		for _, p := range m.supported {
			name, ok := m.rename[p]
			if !ok || p.aliasOf != nil {
				continue
			}
			entry := "`" + p.name + "`"
			if name != p.name {
				entry += "→`" + name + "`"
			}
			if p.name == "stop" && m.maxStop > 0 {
				entry += " (≤ " + strconv.Itoa(m.maxStop) + ")"
			}
			fwd = append(fwd, entry)
			if r, ok := m.clamps[p]; ok {
				if r[0] <= 1 && p.typ == "integer" {
					clamped = append(clamped, "`"+p.name+"` ≤ "+num(r[1]))
				} else {
					clamped = append(clamped, "`"+p.name+"` "+num(r[0])+"–"+num(r[1]))
				}
			}
		}
		for _, x := range m.exclusive {
			when = append(when, "`"+x[1].name+"` when `"+x[0].name+"` is sent")
		}
		var drops []string
		for _, p := range m.drops {
			if _, forwarded := m.rename[p]; forwarded {
				drops = append(drops, "`"+p.name+"`")
			}
		}
		if len(drops) > 0 {
			when = append(when, strings.Join(drops, ", ")+" when thinking is on")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", m.id, strings.Join(fwd, ", "), orNone(clamped), orNone(when))
	}
	b.WriteString("\nEvery other parameter of the superset is dropped (reported in `X-OpenToken-Dropped-Params`), or,\n" +
		"if it would change what the answer is, refused with 400 `unsupported_parameter`.\n\n")
	b.WriteString("| model | thinking style | " + strings.Join(efforts, " | ") + " |\n|---|---|" + strings.Repeat("---|", len(efforts)) + "\n")
	for _, m := range ir.models {
		if m.kind != "chat" {
			continue
		}
		cells := make([]string, len(efforts))
		for i := range efforts {
			switch {
			case m.budgets != nil && m.budgets[i] == 0:
				cells[i] = "off"
			case m.budgets != nil:
				cells[i] = strconv.Itoa(m.budgets[i])
			case m.levels != nil && m.levels[i] == "":
				cells[i] = "off"
			case m.levels != nil:
				cells[i] = m.levels[i]
			default:
				cells[i] = "—"
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", m.id, styleName(m.thinkingStyle), strings.Join(cells, " | "))
	}
	b.WriteString("\n| model | tools | `parallel_tool_calls: false` | strict tools | structured outputs | with tools | images | reasoning in a tool loop |\n" +
		"|---|---|---|---|---|---|---|---|\n")
	for _, m := range ir.models {
		if m.kind != "chat" {
			continue
		}
		cells := make([]string, 0, 6)
		for _, c := range []string{"tools", "parallel_tool_calls", "strict_tools", "structured_outputs", "structured_outputs_with_tools", "vision"} {
			if slices.Contains(m.caps, c) {
				cells = append(cells, "yes")
			} else {
				cells = append(cells, "—")
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", m.id, strings.Join(cells, " | "), loopName(m))
	}
	b.WriteString("\n| model | input modalities | by URL |\n|---|---|---|\n")
	for _, m := range ir.models {
		byURL := "fetched by the gateway"
		if len(m.fetches) > 0 {
			byURL = "fetched by the upstream (" + strings.Join(m.fetches, ", ") + ")"
		}
		if len(m.inputs) == 1 {
			byURL = "—"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", m.id, strings.Join(m.inputs, ", "), byURL)
	}
	return b.String(), nil
}

// loopName says what a model needs back in a tool loop, and what happens
// when the client drops it.
func loopName(m *modelInfo) string {
	var s string
	switch m.toolLoop.replay {
	case "thinking_blocks":
		s = "signed thinking blocks (`reasoning_details`)"
	case "thought_signature":
		s = "thought signatures (`reasoning_details`, `extra_content`)"
	default:
		return "—"
	}
	switch m.toolLoop.unsigned {
	case "drop_thinking":
		s += "; without them, thinking off for the request"
	case "placeholder":
		s += "; without them, `" + m.toolLoop.placeholder + "`"
	}
	if m.toolLoop.forcedChoiceDropsThinking {
		s += "; a forced tool choice turns thinking off"
	}
	return s
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func orNone(s []string) string {
	if len(s) == 0 {
		return "—"
	}
	return strings.Join(s, "; ")
}

func styleName(s string) string {
	switch s {
	case "anthropic_budget":
		return "`thinking.budget_tokens`"
	case "anthropic_adaptive":
		return "adaptive, `output_config.effort`"
	case "gemini_budget":
		return "`thinkingBudget`"
	case "gemini_level":
		return "`thinkingLevel`"
	}
	return "none"
}

// SpliceReadme returns readme with its generated section replaced by
// section; false when the markers are missing.
func SpliceReadme(readme, section string) (string, bool) {
	i := strings.Index(readme, ReadmeBegin)
	j := strings.Index(readme, ReadmeEnd)
	if i < 0 || j < i {
		return readme, false
	}
	return readme[:i+len(ReadmeBegin)] + "\n" + section + readme[j:], true
}
