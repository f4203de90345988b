package adapter

import (
	"strconv"
	"strings"

	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonscan"
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/server/openai"
)

// schemaDialect is the part of JSON Schema one upstream's constrained
// decoding takes. A schema is rewritten into it the way the upstreams'
// own SDKs do (Anthropic's transformSchema): keywords it cannot enforce are
// moved into the description, where the model still reads them, rather
// than sent to be refused.
type schemaDialect struct {
	upstream string
	// keep are the keywords forwarded as they are, beside the sub-schema
	// keywords the walk handles itself.
	keep map[string]bool
	// closeObjects: an object with properties gets additionalProperties
	// false (Anthropic requires it of structured outputs).
	closeObjects bool
	// formats are the string formats enforced; nil for any.
	formats map[string]bool
	// maxMinItems is the largest minItems enforced; -1 for any.
	maxMinItems int64
}

// Sub-schema keywords, walked by sanitize whatever the dialect.
var (
	schemaMaps   = map[string]bool{"properties": true, "$defs": true, "definitions": true}
	schemaLists  = map[string]bool{"anyOf": true, "oneOf": true, "allOf": true, "prefixItems": true}
	schemaSingle = map[string]bool{"items": true, "additionalProperties": true, "not": true}
)

// claudeSchema is Anthropic's structured-output and strict-tool dialect
// (upstreams-wave2 §4.3).
var claudeSchema = schemaDialect{
	upstream: "Claude",
	keep: set("$ref", "type", "description", "title", "enum", "const", "required", "minItems", "format", "pattern",
		"properties", "$defs", "definitions", "anyOf", "allOf", "items", "additionalProperties"),
	closeObjects: true,
	formats:      set("date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"),
	maxMinItems:  1,
}

// geminiSchema is Gemini's responseJsonSchema / parametersJsonSchema
// dialect (upstreams-wave2 §3.1, §4.2); oneOf is sent as anyOf, which is
// how Gemini treats it, and const as a one-value enum.
var geminiSchema = schemaDialect{
	upstream: "Gemini",
	keep: set("$id", "$defs", "$ref", "$anchor", "type", "format", "title", "description", "enum", "items",
		"prefixItems", "minItems", "maxItems", "minimum", "maximum", "anyOf", "properties", "additionalProperties",
		"required", "propertyOrdering", "nullable"),
	maxMinItems: -1,
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// appendSchema appends the schema raw rewritten into dialect d. param
// names the schema in a 400 for what no upstream can take.
func appendSchema(dst, raw []byte, d *schemaDialect, param string) ([]byte, *openai.Error) {
	switch matrix.RawKind(raw) {
	case '{':
	case 't', 'f': // true and false are schemas too
		return append(dst, raw...), nil
	default:
		return dst, openai.BadRequest(param, param+" must be a JSON Schema object")
	}
	var (
		err         *openai.Error
		description string
		notes       []string
		hasProps    bool
	)
	jsonscan.Members(raw, func(key string, _ []byte) bool {
		hasProps = hasProps || key == "properties"
		return !hasProps
	})
	dst = append(dst, '{')
	jsonscan.Members(raw, func(key string, val []byte) bool {
		if key == "description" && matrix.RawKind(val) == '"' {
			description = stringValue(val)
			return true
		}
		name, at := key, param+"."+key
		switch {
		case key == "$schema" || key == "strict" || key == "$comment":
			return true // annotations no upstream needs
		case key == "$ref":
			if ref := stringValue(val); !strings.HasPrefix(ref, "#") {
				err = openai.BadRequest(at, at+" "+strconv.Quote(ref)+" points outside the schema; only local references (#/$defs/...) can be sent upstream")
				return false
			}
		case key == "oneOf" && !d.keep["oneOf"]:
			name = "anyOf" // exactly one of disjoint branches is what constrained decoding gives
		case key == "const" && !d.keep["const"]:
			dst = jsonw.Comma(dst)
			dst = append(dst, `"enum":[`...)
			dst = append(append(dst, val...), ']')
			return true
		case key == "format" && d.formats != nil && !d.formats[stringValue(val)],
			key == "minItems" && d.maxMinItems >= 0 && intValue(val) > d.maxMinItems,
			!d.keep[name] && !schemaMaps[key] && !schemaLists[key] && !schemaSingle[key]:
			notes = append(notes, key+": "+string(val))
			return true
		}
		if key == "additionalProperties" && d.closeObjects && hasProps {
			return true // written below, as false
		}
		dst = jsonw.Comma(dst)
		dst = jsonw.Key(dst, name)
		dst, err = appendSubSchemas(dst, key, val, d, at)
		return err == nil
	})
	if err != nil {
		return dst, err
	}
	if d.closeObjects && hasProps {
		dst = jsonw.Comma(dst)
		dst = append(dst, `"additionalProperties":false`...)
	}
	if len(notes) > 0 {
		if description != "" {
			description += "\n"
		}
		description += "{" + strings.Join(notes, ", ") + "}"
	}
	if description != "" {
		dst = jsonw.Comma(dst)
		dst = append(dst, `"description":`...)
		dst = jsonw.String(dst, description)
	}
	return append(dst, '}'), nil
}

// appendSubSchemas appends the value of keyword key, rewriting the schemas
// it holds.
func appendSubSchemas(dst []byte, key string, val []byte, d *schemaDialect, at string) ([]byte, *openai.Error) {
	var err *openai.Error
	switch {
	case schemaMaps[key] && matrix.RawKind(val) == '{':
		dst = append(dst, '{')
		jsonscan.Members(val, func(name string, sub []byte) bool {
			dst = jsonw.Comma(dst)
			dst = jsonw.Key(dst, name)
			dst, err = appendSchema(dst, sub, d, at+"."+name)
			return err == nil
		})
		return append(dst, '}'), err
	case schemaLists[key] && matrix.RawKind(val) == '[',
		key == "items" && matrix.RawKind(val) == '[':
		dst = append(dst, '[')
		i := 0
		jsonscan.Elements(val, func(sub []byte) bool {
			dst = jsonw.Comma(dst)
			dst, err = appendSchema(dst, sub, d, at+"["+strconv.Itoa(i)+"]")
			i++
			return err == nil
		})
		return append(dst, ']'), err
	case schemaSingle[key] && (matrix.RawKind(val) == '{'):
		return appendSchema(dst, val, d, at)
	}
	return append(dst, val...), nil
}

// stringValue decodes a JSON string literal; "" for anything else.
func stringValue(raw []byte) string {
	var s string
	if matrix.RawKind(raw) != '"' || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func intValue(raw []byte) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	return n
}
