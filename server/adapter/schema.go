package adapter

import (
	"bytes"
	"strconv"

	"github.com/opentoken/opentoken/llm"

	"github.com/opentoken/opentoken/internal/bytesconv"
	"github.com/opentoken/opentoken/internal/jsonscan"
	"github.com/opentoken/opentoken/internal/jsonw"
	"github.com/opentoken/opentoken/matrix"
)

// schemaDialect is the part of JSON Schema one upstream's constrained
// decoding takes. A schema is rewritten into it the way the upstreams'
// own SDKs do (Anthropic's transformSchema): keywords it cannot enforce are
// moved into the description, where the model still reads them, rather
// than sent to be refused.
type schemaDialect struct {
	// keywords classes each keyword the walk knows: forwarded as it is
	// (kept), and which holds sub-schemas; one lookup a keyword.
	keywords map[string]keyword
	// closeObjects: an object with properties gets additionalProperties
	// false (Anthropic requires it of structured outputs).
	closeObjects bool
	// formats are the string formats enforced; nil for any.
	formats map[string]bool
	// maxMinItems is the largest minItems enforced; -1 for any.
	maxMinItems int64
}

// keyword is what the walk knows of a keyword, as bits.
type keyword uint8

const (
	kept         keyword = 1 << iota // forwarded by the dialect
	schemaMap                        // an object of sub-schemas
	schemaList                       // an array of sub-schemas
	schemaSingle                     // one sub-schema
	schemaTuple                      // or, as well, an array of them (items, before 2020-12)
)

// subSchemaKeywords are walked by appendSchema whatever the dialect.
var subSchemaKeywords = map[keyword][]string{
	schemaMap:    {"properties", "$defs", "definitions"},
	schemaList:   {"anyOf", "oneOf", "allOf", "prefixItems"},
	schemaSingle: {"items", "additionalProperties", "not"},
	schemaTuple:  {"items"},
}

// keywords classes the keywords a dialect keeps and the sub-schema ones.
func keywords(keep ...string) map[string]keyword {
	m := make(map[string]keyword, len(keep)+10)
	for _, k := range keep {
		m[k] |= kept
	}
	for class, names := range subSchemaKeywords {
		for _, k := range names {
			m[k] |= class
		}
	}
	return m
}

// claudeSchema is Anthropic's structured-output and strict-tool dialect
// (upstreams-wave2 §4.3).
var claudeSchema = schemaDialect{
	keywords: keywords("$ref", "type", "description", "title", "enum", "const", "required", "minItems", "format", "pattern",
		"properties", "$defs", "definitions", "anyOf", "allOf", "items", "additionalProperties"),
	closeObjects: true,
	formats:      set("date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"),
	maxMinItems:  1,
}

// geminiSchema is Gemini's responseJsonSchema / parametersJsonSchema
// dialect (upstreams-wave2 §3.1, §4.2); oneOf is sent as anyOf, which is
// how Gemini treats it, and const as a one-value enum.
var geminiSchema = schemaDialect{
	keywords: keywords("$id", "$defs", "$ref", "$anchor", "type", "format", "title", "description", "enum", "items",
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

// schemaWriter rewrites schemas into one dialect.
type schemaWriter struct {
	d *schemaDialect
}

// schemaAt names a schema for a 400: the parameter that holds it, or the
// parameters of tool number tool when tool ≥ 0. The name is built only
// for an error.
type schemaAt struct {
	param string
	tool  int
}

// responseSchema and toolSchema name the two places schemas come from.
var responseSchema = schemaAt{param: "response_format.json_schema.schema", tool: -1}

func toolSchema(i int) schemaAt { return schemaAt{tool: i} }

func (a schemaAt) String() string {
	if a.tool < 0 {
		return a.param
	}
	return "tools[" + strconv.Itoa(a.tool) + "].function.parameters"
}

// refusal is a keyword no upstream can take, found deep in a schema. Its
// path is built as it unwinds, so a schema that is written costs nothing
// for paths it never needed.
type refusal struct {
	path []string // innermost first: ".key", ".name", "[i]"
	why  string
}

func (r *refusal) under(segment string) *refusal {
	r.path = append(r.path, segment)
	return r
}

// appendSchema appends the schema raw rewritten into dialect d; at names
// it in a 400 for what no upstream can take.
func appendSchema(dst, raw []byte, d *schemaDialect, at schemaAt) ([]byte, *llm.Error) {
	if matrix.RawKind(raw) != '{' {
		param := at.String()
		return dst, llm.BadRequest(param, param+" must be a JSON Schema object")
	}
	w := schemaWriter{d: d}
	dst, r := w.schema(dst, raw)
	if r != nil {
		path := at.String()
		for i := len(r.path) - 1; i >= 0; i-- {
			path += r.path[i]
		}
		return dst, llm.BadRequest(path, path+" "+r.why)
	}
	return dst, nil
}

func (w *schemaWriter) schema(dst, raw []byte) ([]byte, *refusal) {
	if matrix.RawKind(raw) != '{' {
		return append(dst, raw...), nil // true, false: schemas too
	}
	d := w.d
	hasProps := false
	for it := jsonscan.NewObject(raw); d.closeObjects; { // only closing objects needs to know first
		key, _, ok := it.Next()
		if !ok {
			break
		}
		hasProps = hasProps || string(key) == "properties"
	}
	var description, notes []byte // a description, and the keywords moved into it
	dst = append(dst, '{')
	for it := jsonscan.NewObject(raw); ; {
		key, val, ok := it.Next()
		if !ok {
			break
		}
		k := bytesconv.String(key)
		name, class := k, d.keywords[k]
		switch {
		case k == "description" && matrix.RawKind(val) == '"':
			description = val
			continue
		case k == "$schema" || k == "strict" || k == "$comment":
			continue // annotations no upstream needs
		case k == "$ref":
			if ref := unquoted(val); len(ref) == 0 || ref[0] != '#' {
				return dst, &refusal{path: []string{"." + string(key)}, why: "points outside the schema; only local references (#/$defs/...) can be sent upstream"}
			}
		case k == "oneOf" && class&kept == 0:
			name = "anyOf" // exactly one of disjoint branches is what constrained decoding gives
		case k == "const" && class&kept == 0:
			dst = jsonw.Comma(dst)
			dst = append(dst, `"enum":[`...)
			dst = append(append(dst, val...), ']')
			continue
		case k == "format" && d.formats != nil && !d.formats[bytesconv.String(unquoted(val))],
			k == "minItems" && d.maxMinItems >= 0 && intValue(val) > d.maxMinItems,
			class == 0:
			if len(notes) > 0 {
				notes = append(notes, ", "...)
			}
			notes = append(append(append(notes, key...), ": "...), val...)
			continue
		case k == "additionalProperties" && d.closeObjects && hasProps:
			continue // written below, as false
		}
		dst = jsonw.Comma(dst)
		if name == k {
			dst = append(append(append(dst, '"'), key...), `":`...) // as written
		} else {
			dst = jsonw.Key(dst, name)
		}
		var r *refusal
		if dst, r = w.subSchemas(dst, class, val); r != nil {
			return dst, r.under("." + k)
		}
	}
	if d.closeObjects && hasProps {
		dst = jsonw.Comma(dst)
		dst = append(dst, `"additionalProperties":false`...)
	}
	switch {
	case len(notes) > 0:
		text := unquoted(description)
		if len(text) > 0 {
			text = append(append([]byte(nil), text...), "\n"...)
		}
		text = append(append(append(text, '{'), notes...), '}')
		dst = jsonw.Comma(dst)
		dst = append(dst, `"description":`...)
		// The description's own text is still JSON-escaped: write it raw.
		dst = append(dst, '"')
		dst = appendEscapedNotes(dst, text, len(unquoted(description)))
		dst = append(dst, '"')
	case description != nil:
		dst = jsonw.Comma(dst)
		dst = append(append(dst, `"description":`...), description...)
	}
	return append(dst, '}'), nil
}

// appendEscapedNotes appends text, whose first n bytes are already JSON
// string content and whose rest is raw JSON to be escaped as string content.
func appendEscapedNotes(dst, text []byte, n int) []byte {
	dst = append(dst, text[:n]...)
	lit := jsonw.String(nil, bytesconv.String(text[n:]))
	return append(dst, lit[1:len(lit)-1]...)
}

// subSchemas appends the value of a keyword of class, rewriting the
// schemas it holds.
func (w *schemaWriter) subSchemas(dst []byte, class keyword, val []byte) ([]byte, *refusal) {
	var r *refusal
	switch kind := matrix.RawKind(val); {
	case class&schemaMap != 0 && kind == '{':
		dst = append(dst, '{')
		for it := jsonscan.NewObject(val); ; {
			name, sub, ok := it.Next()
			if !ok {
				break
			}
			dst = jsonw.Comma(dst)
			dst = append(append(append(dst, '"'), name...), `":`...)
			if dst, r = w.schema(dst, sub); r != nil {
				return dst, r.under("." + string(name))
			}
		}
		return append(dst, '}'), nil
	case class&(schemaList|schemaTuple) != 0 && kind == '[':
		dst = append(dst, '[')
		i := 0
		for it := jsonscan.NewArray(val); ; i++ {
			sub, ok := it.Next()
			if !ok {
				break
			}
			dst = jsonw.Comma(dst)
			if dst, r = w.schema(dst, sub); r != nil {
				return dst, r.under("[" + strconv.Itoa(i) + "]")
			}
		}
		return append(dst, ']'), nil
	case class&schemaSingle != 0 && kind == '{':
		return w.schema(dst, val)
	}
	return append(dst, val...), nil
}

// unquoted returns a JSON string literal's content as written (escapes
// left as they are); nil for anything else.
func unquoted(raw []byte) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' {
		return nil
	}
	return raw[1 : len(raw)-1]
}

func intValue(raw []byte) int64 {
	n, _ := strconv.ParseInt(bytesconv.String(bytes.TrimSpace(raw)), 10, 64)
	return n
}
