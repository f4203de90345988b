package emulator

import (
	"sort"
	"strconv"
)

// Shape lists the field names a JSON object may carry, recursively: the
// strictness of the real APIs, which reject any name they do not know.
type Shape struct {
	Fields map[string]*Shape // for an object; nil with Open means anything
	Items  *Shape            // for an array's elements
	Open   bool              // any content is accepted below this point
}

// Fields maps an object's field names to their shapes.
type Fields = map[string]*Shape

// Obj makes an object shape.
func Obj(fields Fields) *Shape { return &Shape{Fields: fields} }

// Arr makes an array shape.
func Arr(items *Shape) *Shape { return &Shape{Items: items} }

// Any accepts any value.
var Any = &Shape{Open: true}

// Leaf is a scalar (or a value checked elsewhere).
var Leaf = &Shape{}

// Unknown returns the path of the first field in v that shape does not
// allow, as "a.b.0.c", or "" when there is none. v is what
// encoding/json-style decoding into any produces. Fields are visited in
// sorted order so that the answer is deterministic.
func Unknown(v any, shape *Shape, path string) string {
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
			sub, ok := shape.Fields[k]
			if !ok {
				return join(path, k)
			}
			if p := Unknown(v[k], sub, join(path, k)); p != "" {
				return p
			}
		}
	case []any:
		for i, e := range v {
			if p := Unknown(e, shape.Items, join(path, strconv.Itoa(i))); p != "" {
				return p
			}
		}
	}
	return ""
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}
