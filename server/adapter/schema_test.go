package adapter

import (
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
