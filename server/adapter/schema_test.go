package adapter

import (
	"bytes"
	"encoding/json"
	"testing"
)

// A keyword refused deep in a schema is named by its whole path, in both
// dialects, for a tool's parameters and for a response format.
func TestSchemaRefusalPath(t *testing.T) {
	schema := []byte(`{"type":"object","properties":{"a":{"anyOf":[{"type":"string"},{"$ref":"https://example.com/s.json"}]}}}`)
	for _, c := range []struct {
		at   schemaAt
		want string
	}{
		{toolSchema(3), "tools[3].function.parameters.properties.a.anyOf[1].$ref"},
		{responseSchema, "response_format.json_schema.schema.properties.a.anyOf[1].$ref"},
	} {
		for _, d := range []*schemaDialect{&claudeSchema, &geminiSchema} {
			_, err := appendSchema(nil, schema, d, c.at)
			if err == nil || err.Param != c.want || err.Message != c.want+" points outside the schema; only local references (#/$defs/...) can be sent upstream" {
				t.Errorf("refusal %+v; want param %s", err, c.want)
			}
		}
	}
	if _, err := appendSchema(nil, []byte(`[1]`), &geminiSchema, toolSchema(0)); err == nil || err.Param != "tools[0].function.parameters" {
		t.Errorf("a schema that is no object: %+v", err)
	}
	// A schema that is written costs no allocation for its paths.
	ok := []byte(`{"type":"object","properties":{"key":{"type":"string","description":"the key"},"n":{"type":"integer","minimum":1}},"required":["key"]}`)
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { _, _ = appendSchema(buf[:0], ok, &geminiSchema, toolSchema(7)) }); n != 0 {
		t.Errorf("writing a schema allocates %.0f times", n)
	}
}

// The writer reads schemas that are views of the request body: it must
// leave them as they are (an empty description with keywords moved into it
// once appended into the body), and write a tuple's every element.
func TestSchemaWriterLeavesItsInputAlone(t *testing.T) {
	raw := []byte(`{"type":"object","description":"","properties":{"a":{"type":"string","minLength":2,"description":""}},"items":[{"type":"string"},true],"required":["a"]} and the rest of the body`)
	schema := raw[:bytes.Index(raw, []byte(" and"))]
	orig := bytes.Clone(raw)
	for _, d := range []*schemaDialect{&claudeSchema, &geminiSchema} {
		out, err := appendSchema(nil, schema, d, toolSchema(0))
		if err != nil {
			t.Fatal(err.Message)
		}
		if !bytes.Equal(raw, orig) {
			t.Fatalf("the body was written to: %s", raw)
		}
		if !json.Valid(out) || !bytes.Contains(out, []byte(`"items":[{"type":"string"},true]`)) {
			t.Errorf("wrote %s", out)
		}
	}
}

// FuzzSchemaWriter: whatever JSON Schema object a client sends, the writer
// refuses it or writes valid JSON, in both dialects, and never writes into
// what it reads.
func FuzzSchemaWriter(f *testing.F) {
	f.Add([]byte(`{"type":"object","properties":{"a":{"type":"string","format":"email","minLength":2},"b":{"anyOf":[{"type":"integer","minimum":1},{"const":3}]},"c":{"type":"array","items":{"type":"string"},"minItems":3},"d":{"oneOf":[{"$ref":"#/$defs/x"}],"not":{"type":"null"}}},"required":["a"],"additionalProperties":false,"$defs":{"x":{"type":"object","properties":{"y":{"type":"boolean","description":"why"}}}},"description":"top","$schema":"x","items":[{"type":"string"},true]}`))
	f.Add([]byte(`{"properties":{"a":{"$ref":"http://x"}}}`))
	f.Add([]byte(`{"additionalProperties":{"type":"string"},"properties":true,"prefixItems":[{"type":"string"}], "x" : [1, {"a":2}], "description": "" }`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		orig := bytes.Clone(raw)
		for _, d := range []*schemaDialect{&claudeSchema, &geminiSchema} {
			out, err := appendSchema(nil, raw, d, responseSchema)
			if err == nil && !json.Valid(out) {
				t.Fatalf("%s became %s", raw, out)
			}
			if !bytes.Equal(raw, orig) {
				t.Fatalf("the writer wrote into %s", orig)
			}
		}
	})
}

// The keyword table classes what the dialects list, and nothing else.
func TestKeywordTable(t *testing.T) {
	for _, c := range []struct {
		d    *schemaDialect
		keep []string
	}{
		{&claudeSchema, []string{"$ref", "type", "description", "enum", "const", "required", "minItems", "format", "pattern", "properties", "anyOf", "items"}},
		{&geminiSchema, []string{"$id", "$defs", "$anchor", "propertyOrdering", "nullable", "minimum", "maximum", "prefixItems", "maxItems"}},
	} {
		for _, k := range c.keep {
			if c.d.keywords.class(k)&kept == 0 {
				t.Errorf("%s is not kept", k)
			}
		}
		for class, names := range subSchemaKeywords {
			for _, k := range names {
				if c.d.keywords.class(k)&class == 0 {
					t.Errorf("%s is not of class %b", k, class)
				}
			}
		}
		for _, k := range []string{"", "x", "Type", "types", "minLength", "oneof", "$comment", "uniqueItems", "properties "} {
			if got := c.d.keywords.class(k); got != 0 {
				t.Errorf("%q classed %b", k, got)
			}
		}
	}
	if c := claudeSchema.keywords.class("oneOf"); c != schemaList {
		t.Errorf("oneOf on Claude: %b, want a list not kept", c)
	}
}
