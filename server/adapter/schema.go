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
	keywords *keywordTable
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

// keywordTable classes the keywords a dialect keeps and the sub-schema
// ones. It is a small open-addressing table hashed on a keyword's length
// and its first and last bytes: every key of every schema is looked up,
// and a Go map, hashing the whole key, cost a fifth of writing a
// tool-heavy request's schemas.
type keywordTable struct {
	names   [64]string
	classes [64]keyword
	n       int
}

func keywordSlot(k string) int {
	if k == "" {
		return 0
	}
	return (len(k)*7 + int(k[0])*3 + int(k[len(k)-1])*5) & 63
}

// class is k's class, 0 for a keyword the table does not hold.
func (t *keywordTable) class(k string) keyword {
	for i := keywordSlot(k); t.names[i] != ""; i = (i + 1) & 63 {
		if t.names[i] == k {
			return t.classes[i]
		}
	}
	return 0
}

func (t *keywordTable) add(k string, c keyword) {
	i := keywordSlot(k)
	for t.names[i] != "" && t.names[i] != k {
		i = (i + 1) & 63
	}
	if t.names[i] == "" {
		t.n++
	}
	t.names[i] = k
	t.classes[i] |= c
}

// keywords builds the table of a dialect that keeps keep.
func keywords(keep ...string) *keywordTable {
	t := &keywordTable{}
	for _, k := range keep {
		t.add(k, kept)
	}
	for class, names := range subSchemaKeywords {
		for _, k := range names {
			t.add(k, class)
		}
	}
	if t.n > len(t.names)/2 {
		panic("adapter: a schema dialect knows too many keywords for its table") // kept sparse, lookups stay short
	}
	return t
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
	raw = bytes.TrimSpace(raw)
	if matrix.RawKind(raw) != '{' {
		param := at.String()
		return dst, llm.BadRequest(param, param+" must be a JSON Schema object")
	}
	w := schemaWriter{d: d}
	dst, _, r := w.schema(dst, raw)
	if r != nil {
		path := at.String()
		for i := len(r.path) - 1; i >= 0; i-- {
			path += r.path[i]
		}
		return dst, llm.BadRequest(path, path+" "+r.why)
	}
	return dst, nil
}

// The walk reads each schema once: a function handed text starting at a
// value reads that value, writes it rewritten, and returns how many bytes
// it took, so a nested schema is not scanned once to find its end and
// again to be written.

// schema appends the value at the start of raw, a schema, rewritten; n is
// the value's length in raw.
func (w *schemaWriter) schema(dst, raw []byte) (_ []byte, n int, r *refusal) {
	if matrix.RawKind(raw) != '{' {
		n = jsonscan.ValueEnd(raw, 0)
		return append(dst, raw[:n]...), n, nil // true, false: schemas too
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
	it := jsonscan.NewObject(raw)
	for {
		key, rest, ok := it.Key()
		if !ok {
			break
		}
		k := bytesconv.String(key)
		name, class := k, d.keywords.class(k)
		if k == "oneOf" && class&kept == 0 {
			name = "anyOf" // exactly one of disjoint branches is what constrained decoding gives
		}
		if holdsSchemas(class, matrix.RawKind(rest)) && !(k == "additionalProperties" && d.closeObjects && hasProps) {
			dst = appendSchemaKey(dst, key, name)
			if dst, n, r = w.subSchemas(dst, class, rest); r != nil {
				return dst, 0, r.under("." + k)
			}
			it.Took(n)
			continue
		}
		n = jsonscan.ValueEnd(rest, 0)
		val := rest[:n]
		it.Took(n)
		switch {
		case k == "description" && matrix.RawKind(val) == '"':
			description = val
			continue
		case k == "$schema" || k == "strict" || k == "$comment":
			continue // annotations no upstream needs
		case k == "$ref":
			if ref := unquoted(val); len(ref) == 0 || ref[0] != '#' {
				return dst, 0, &refusal{path: []string{"." + k}, why: "points outside the schema; only local references (#/$defs/...) can be sent upstream"}
			}
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
		dst = appendSchemaKey(dst, key, name)
		dst = append(dst, val...) // a keyword kept as it is, or a sub-schema keyword of the wrong shape
	}
	if d.closeObjects && hasProps {
		dst = jsonw.Comma(dst)
		dst = append(dst, `"additionalProperties":false`...)
	}
	switch {
	case len(notes) > 0:
		// A copy: the description's text is a view of the request body,
		// which appending to would overwrite.
		text := append([]byte(nil), unquoted(description)...)
		if len(text) > 0 {
			text = append(text, '\n')
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
	return append(dst, '}'), it.Len(), nil
}

// holdsSchemas reports whether a keyword of class whose value starts with
// the byte kind holds sub-schemas to walk: an object of them, a list, or
// one.
func holdsSchemas(class keyword, kind byte) bool {
	switch kind {
	case '{':
		return class&(schemaMap|schemaSingle) != 0
	case '[':
		return class&(schemaList|schemaTuple) != 0
	}
	return false
}

// appendSchemaKey writes a member's key: as written, or renamed.
func appendSchemaKey(dst, key []byte, name string) []byte {
	dst = jsonw.Comma(dst)
	if name == bytesconv.String(key) {
		return append(append(append(dst, '"'), key...), `":`...) // as written
	}
	return jsonw.Key(dst, name)
}

// appendEscapedNotes appends text, whose first n bytes are already JSON
// string content and whose rest is raw JSON to be escaped as string content.
func appendEscapedNotes(dst, text []byte, n int) []byte {
	dst = append(dst, text[:n]...)
	lit := jsonw.String(nil, bytesconv.String(text[n:]))
	return append(dst, lit[1:len(lit)-1]...)
}

// subSchemas appends the value at the start of raw, of a keyword of class
// that holds sub-schemas (holdsSchemas), rewriting them; n is the value's
// length in raw.
func (w *schemaWriter) subSchemas(dst []byte, class keyword, raw []byte) (_ []byte, n int, r *refusal) {
	kind := matrix.RawKind(raw)
	if kind == '{' && class&schemaMap != 0 {
		dst = append(dst, '{')
		it := jsonscan.NewObject(raw)
		for {
			name, rest, ok := it.Key()
			if !ok {
				break
			}
			dst = jsonw.Comma(dst)
			dst = append(append(append(dst, '"'), name...), `":`...)
			if dst, n, r = w.schema(dst, rest); r != nil {
				return dst, 0, r.under("." + string(name))
			}
			it.Took(n)
		}
		return append(dst, '}'), it.Len(), nil
	}
	if kind == '[' {
		dst = append(dst, '[')
		it := jsonscan.NewArray(raw)
		for i := 0; ; i++ {
			rest, ok := it.Elem()
			if !ok {
				break
			}
			dst = jsonw.Comma(dst)
			if dst, n, r = w.schema(dst, rest); r != nil {
				return dst, 0, r.under("[" + strconv.Itoa(i) + "]")
			}
			it.Took(n)
		}
		return append(dst, ']'), it.Len(), nil
	}
	return w.schema(dst, raw) // one sub-schema
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
