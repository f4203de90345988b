// Package json is the gateway's one door to github.com/goccy/go-json, the
// fast decoder it uses for request and upstream bodies. Keeping every use
// here makes the one dangerous option visible: UnmarshalNoCopy.
package json

import (
	"bytes"

	gojson "github.com/goccy/go-json"
)

// The decoder's types, under this package's name.
type (
	RawMessage         = gojson.RawMessage
	UnmarshalTypeError = gojson.UnmarshalTypeError
	SyntaxError        = gojson.SyntaxError
)

// Marshal encodes v.
func Marshal(v any) ([]byte, error) { return gojson.Marshal(v) }

// Unmarshal decodes data into v; v owns copies of every string.
func Unmarshal(data []byte, v any) error { return gojson.Unmarshal(data, v) }

// UnmarshalNoCopy decodes data into v without copying strings: every
// string it sets points into data. v is valid only while data is alive and
// unchanged — a request body until its handler returns, an upstream body
// until its response is released. The hot path uses it on exactly those.
func UnmarshalNoCopy[T any](data []byte, v *T) error {
	return gojson.UnmarshalOf(data, v, gojson.DecodeNoCopyString())
}

// Valid reports whether data is one valid JSON value.
func Valid(data []byte) bool { return gojson.Valid(data) }

// Compact appends data with insignificant white space removed.
func Compact(dst *bytes.Buffer, data []byte) error { return gojson.Compact(dst, data) }
