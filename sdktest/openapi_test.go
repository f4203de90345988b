package sdktest

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// openAPI is OpenAI's OpenAPI spec (testdata/openai-openapi.yml), loaded
// once: its component schemas, by name.
var openAPI = sync.OnceValues(func() (map[string]any, error) {
	b, err := os.ReadFile(filepath.Join("testdata", "openai-openapi.yml"))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Components struct {
			Schemas map[string]any `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	return doc.Components.Schemas, nil
})

// conform checks a JSON document against the spec's schema called name:
// types, required members, enums, array items, allOf/anyOf/oneOf, and
// the members each object's schema names (members it does not name pass,
// as the spec's schemas are open). It returns the first mismatch's path.
func conform(t *testing.T, name string, doc []byte) {
	t.Helper()
	schemas, err := openAPI()
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%s: not JSON: %v", name, err)
	}
	if msg := check(schemas, map[string]any{"$ref": "#/components/schemas/" + name}, v, name, 0); msg != "" {
		t.Errorf("does not conform to OpenAI's spec: %s\n%s", msg, doc)
	}
}

// check returns "" when v matches schema s, else where and why not.
func check(schemas map[string]any, s any, v any, at string, depth int) string {
	sch, _ := s.(map[string]any)
	if sch == nil || depth > 64 {
		return ""
	}
	if ref, ok := sch["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		target, ok := schemas[name]
		if !ok {
			return at + ": unknown schema " + name
		}
		return check(schemas, target, v, at, depth+1)
	}
	if all, ok := sch["allOf"].([]any); ok {
		for _, sub := range all {
			if msg := check(schemas, sub, v, at, depth+1); msg != "" {
				return msg
			}
		}
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		if alts, ok := sch[key].([]any); ok {
			var first string
			matched := false
			for _, sub := range alts {
				msg := check(schemas, sub, v, at, depth+1)
				if msg == "" {
					matched = true
					break
				}
				if first == "" || !strings.Contains(msg, "is not one of") {
					first = msg
				}
			}
			if !matched {
				return at + ": matches no alternative of " + key + " (" + first + ")"
			}
		}
	}
	if enum, ok := sch["enum"].([]any); ok && v != nil {
		found := false
		for _, e := range enum {
			found = found || fmt.Sprint(e) == fmt.Sprint(v)
		}
		if !found {
			return fmt.Sprintf("%s: %v is not one of %v", at, v, enum)
		}
	}
	typ, _ := sch["type"].(string)
	switch typ {
	case "null":
		if v != nil {
			return at + ": want null"
		}
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Sprintf("%s: want a string, got %T", at, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Sprintf("%s: want a boolean, got %T", at, v)
		}
	case "number", "integer":
		f, ok := v.(float64)
		if !ok || typ == "integer" && f != math.Trunc(f) {
			return fmt.Sprintf("%s: want a %s, got %v", at, typ, v)
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return fmt.Sprintf("%s: want an array, got %T", at, v)
		}
		for i, e := range arr {
			if msg := check(schemas, sch["items"], e, fmt.Sprintf("%s[%d]", at, i), depth+1); msg != "" {
				return msg
			}
		}
	case "object":
		if _, ok := v.(map[string]any); !ok {
			return fmt.Sprintf("%s: want an object, got %T", at, v)
		}
	}
	if obj, ok := v.(map[string]any); ok {
		if req, ok := sch["required"].([]any); ok {
			for _, r := range req {
				if _, present := obj[r.(string)]; !present {
					return at + ": lacks required " + r.(string)
				}
			}
		}
		props, _ := sch["properties"].(map[string]any)
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if mv, present := obj[k]; present {
				if msg := check(schemas, props[k], mv, at+"."+k, depth+1); msg != "" {
					return msg
				}
			}
		}
	}
	return ""
}

// eventSchema is the spec's schema of a Responses stream event type:
// the alternative of ResponseStreamEvent whose type enum holds it.
func eventSchema(t *testing.T, typ string) string {
	t.Helper()
	schemas, err := openAPI()
	if err != nil {
		t.Fatal(err)
	}
	alts, _ := schemas["ResponseStreamEvent"].(map[string]any)["anyOf"].([]any)
	for _, a := range alts {
		name := strings.TrimPrefix(a.(map[string]any)["$ref"].(string), "#/components/schemas/")
		props, _ := schemas[name].(map[string]any)["properties"].(map[string]any)
		tp, _ := props["type"].(map[string]any)
		if enum, ok := tp["enum"].([]any); ok && len(enum) == 1 && enum[0] == typ {
			return name
		}
	}
	t.Fatalf("no event schema for %q in the spec", typ)
	return ""
}

// TestConformChecks: the checker itself refuses what the spec refuses.
func TestConformChecks(t *testing.T) {
	schemas, err := openAPI()
	if err != nil {
		t.Fatal(err)
	}
	ref := map[string]any{"$ref": "#/components/schemas/ResponseUsage"}
	for doc, ok := range map[string]bool{
		`{"input_tokens":1,"input_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"output_tokens":2,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":3}`: true,
		`{"input_tokens":1,"input_tokens_details":{"cached_tokens":0},"output_tokens":2,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":3}`:                        false, // cache_write_tokens missing
		`{"input_tokens":1,"output_tokens":2,"total_tokens":3}`: false, // details missing
		`{"input_tokens":"1","input_tokens_details":{"cached_tokens":0,"cache_write_tokens":0},"output_tokens":2,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":3}`: false,
	} {
		var v any
		_ = json.Unmarshal([]byte(doc), &v)
		if got := check(schemas, ref, v, "usage", 0) == ""; got != ok {
			t.Errorf("%s: conforms %v, want %v", doc, got, ok)
		}
	}
}
