// Package jsonscan walks JSON text that is known to be valid without
// decoding it: where a value ends, and the members of an object in their
// order (which decoding into a map loses, and JSON Schema's
// propertyOrdering and the models' key order depend on).
package jsonscan

import (
	"bytes"

	"github.com/opentoken/opentoken/internal/json"
)

// SkipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// StringEnd returns the index just past the string that starts at b[i] == '"'.
// It jumps from quote to quote (bytes.IndexByte is vectorised) and skips a
// quote that an odd run of backslashes escapes.
func StringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return len(b)
		}
		j += q
		backslashes := 0
		for k := j - 1; k > i && b[k] == '\\'; k-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return j + 1
		}
		j++
	}
	return len(b)
}

// ValueEnd returns the index just past the value that starts at b[i].
func ValueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return StringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = StringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ' ' && b[i] != '\n' && b[i] != '\t' && b[i] != '\r' {
		i++
	}
	return i
}

// Members calls fn with each member of the object obj, in order, until fn
// returns false. val is the member's raw value.
func Members(obj []byte, fn func(key string, val []byte) bool) {
	i := SkipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return
	}
	for i++; ; {
		i = SkipSpace(obj, i)
		if i >= len(obj) || obj[i] == '}' {
			return
		}
		if obj[i] == ',' {
			i++
			continue
		}
		end := StringEnd(obj, i)
		key := string(obj[i+1 : end-1])
		if bytes.IndexByte(obj[i+1:end-1], '\\') >= 0 {
			_ = json.Unmarshal(obj[i:end], &key)
		}
		start := SkipSpace(obj, SkipSpace(obj, end)+1) // past ':'
		i = ValueEnd(obj, start)
		if !fn(key, obj[start:i]) {
			return
		}
	}
}

// Elements calls fn with each element of the array arr, in order, until fn
// returns false.
func Elements(arr []byte, fn func(val []byte) bool) {
	i := SkipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return
	}
	for i++; ; {
		i = SkipSpace(arr, i)
		if i >= len(arr) || arr[i] == ']' {
			return
		}
		if arr[i] == ',' {
			i++
			continue
		}
		start := i
		i = ValueEnd(arr, start)
		if !fn(arr[start:i]) {
			return
		}
	}
}
