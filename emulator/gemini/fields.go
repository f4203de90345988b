package gemini

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/emulator"
)

// The real API's "unknown field" message names the field as it was sent
// (min_p stays min_p) at the path of its parent in the proto's snake_case
// names, with list indices in brackets:
//
//	Invalid JSON payload received. Unknown name "min_p" at 'generation_config': Cannot find field.

// unknownField finds the first field of v (decoded JSON, as sent, in
// either case) that shape does not allow, and returns the API's message
// for it; "" when every field is known. Fields are visited in sorted
// order, so that the answer is deterministic.
func unknownField(v any, shape *emulator.Shape, at string) string {
	if shape == nil || shape.Open {
		return ""
	}
	switch v := v.(type) {
	case map[string]any:
		if shape.Fields == nil {
			return ""
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sub, ok := shape.Fields[camel(k)]
			if !ok {
				return unknownName(k, at)
			}
			if msg := unknownField(v[k], sub, joinProto(at, snake(k))); msg != "" {
				return msg
			}
		}
	case []any:
		for i, e := range v {
			if msg := unknownField(e, shape.Items, at+"["+strconv.Itoa(i)+"]"); msg != "" {
				return msg
			}
		}
	}
	return ""
}

func unknownName(name, at string) string {
	if at == "" {
		return "Invalid JSON payload received. Unknown name \"" + name + "\": Cannot find field."
	}
	return "Invalid JSON payload received. Unknown name \"" + name + "\" at '" + at + "': Cannot find field."
}

func joinProto(at, field string) string {
	if at == "" {
		return field
	}
	return at + "." + field
}

// snake is a field's proto name: lowerCamel to snake_case.
func snake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// schemaFields are the fields of the Schema message, the OpenAPI subset
// that a declaration's `parameters` takes (full JSON Schema goes in
// `parametersJsonSchema`, which is free JSON).
var schemaFields = map[string]bool{
	"type": true, "format": true, "title": true, "description": true, "nullable": true, "enum": true,
	"items": true, "minItems": true, "maxItems": true, "properties": true, "required": true,
	"minProperties": true, "maxProperties": true, "minimum": true, "maximum": true, "minLength": true,
	"maxLength": true, "pattern": true, "example": true, "anyOf": true, "propertyOrdering": true, "default": true,
}

// schemaUnknown checks a Schema given as `parameters` at path at: a JSON
// Schema keyword the subset lacks (additionalProperties, $schema, const,
// oneOf…) is an unknown name, and a list of types cannot be given to its
// single `type`. The properties map's entries are named by their position
// as sent, as the API names them.
func schemaUnknown(raw json.RawMessage, at string) string {
	entries, ok := objectEntries(raw)
	if !ok {
		return ""
	}
	for _, e := range entries {
		field := camel(e.key)
		if !schemaFields[field] {
			return unknownName(e.key, at)
		}
		val := bytes.TrimSpace(e.val)
		switch field {
		case "type":
			if len(val) > 0 && val[0] == '[' {
				return "Invalid JSON payload received. Unknown name \"" + e.key + "\" at '" + at + "': Proto field is not repeating, cannot start list."
			}
		case "items":
			if msg := schemaUnknown(val, at+".items"); msg != "" {
				return msg
			}
		case "properties":
			props, _ := objectEntries(val)
			for i, p := range props {
				if msg := schemaUnknown(p.val, at+".properties["+strconv.Itoa(i)+"].value"); msg != "" {
					return msg
				}
			}
		case "anyOf":
			var list []json.RawMessage
			_ = json.Unmarshal(val, &list)
			for i, s := range list {
				if msg := schemaUnknown(s, at+".any_of["+strconv.Itoa(i)+"]"); msg != "" {
					return msg
				}
			}
		}
	}
	return ""
}

type entry struct {
	key string
	val json.RawMessage
}

// objectEntries reads a JSON object's members in the order sent; ok is
// false when raw is not an object.
func objectEntries(raw json.RawMessage) ([]entry, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out []entry
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return out, true
		}
		key, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return out, true
		}
		out = append(out, entry{key, val})
	}
	return out, true
}
