package emulator

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// The emulators answer tool requests by fixed rules, so that tests and
// users can script a tool loop (README, "Scripting the emulators"):
//
//   - a forced choice (Anthropic any/tool, Gemini ANY) calls the named tool,
//     or the first allowed one;
//   - under auto, the model calls every declared tool whose name appears in
//     the last user text (only the first when parallel calls are off);
//   - when the conversation ends with tool results, it answers in text;
//   - arguments are an example value of the tool's schema, so they satisfy
//     it; with a structured-output schema, the text is such a value too.

// MentionedTools returns the tools of names that text mentions, in the
// order they are declared.
func MentionedTools(names []string, text string) []string {
	var out []string
	for _, n := range names {
		if n != "" && strings.Contains(text, n) {
			out = append(out, n)
		}
	}
	return out
}

// Example returns a value that satisfies the JSON schema s (as decoded into
// any): every property of an object is filled, the first enum value is
// taken, strings are "emulated", numbers 1.
func Example(s any) any {
	return example(s, map[string]any{}, 0)
}

func example(s any, defs map[string]any, depth int) any {
	m, ok := s.(map[string]any)
	if !ok || depth > 8 {
		return map[string]any{}
	}
	for _, k := range []string{"$defs", "definitions"} {
		if d, ok := m[k].(map[string]any); ok {
			for name, v := range d {
				defs["#/"+k+"/"+name] = v
			}
		}
	}
	if ref, ok := m["$ref"].(string); ok {
		if ref == "#" {
			return map[string]any{}
		}
		return example(defs[ref], defs, depth+1)
	}
	if enum, ok := m["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	if c, ok := m["const"]; ok {
		return c
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if list, ok := m[k].([]any); ok && len(list) > 0 {
			return example(list[0], defs, depth+1)
		}
	}
	typ := m["type"]
	if list, ok := typ.([]any); ok && len(list) > 0 {
		typ = list[0]
	}
	switch strings.ToLower(str(typ)) {
	case "string":
		switch str(m["format"]) {
		case "date-time":
			return "2026-01-01T00:00:00Z"
		case "date":
			return "2026-01-01"
		case "email":
			return "emulated@example.com"
		case "uri":
			return "https://example.com/"
		case "uuid":
			return "00000000-0000-4000-8000-000000000000"
		}
		return "emulated"
	case "integer", "number":
		if v, ok := m["minimum"].(float64); ok && v > 1 {
			return v
		}
		return 1
	case "boolean":
		return true
	case "null":
		return nil
	case "array":
		n := 0
		if v, ok := m["minItems"].(float64); ok {
			n = int(v)
		}
		out := make([]any, 0, n)
		for range n {
			out = append(out, example(m["items"], defs, depth+1))
		}
		return out
	}
	// An object, stated or implied.
	out := map[string]any{}
	props, _ := m["properties"].(map[string]any)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = example(props[k], defs, depth+1)
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// Fragments splits JSON text at awkward places (inside strings, between a
// key and its colon), as upstreams stream tool arguments.
func Fragments(s string) []string {
	const size = 7
	var out []string
	for len(s) > size {
		cut := size
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut++ // each fragment stays valid UTF-8
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return append(out, s)
}

// ValidToolName reports whether name matches ^[a-zA-Z0-9_-]{1,64}$.
func ValidToolName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
