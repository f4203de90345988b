// Package jsonscan walks JSON text that is known to be valid without
// decoding it: where a value ends, and the members of an object in their
// order (which decoding into a map loses, and JSON Schema's
// propertyOrdering and the models' key order depend on), without
// allocating.
package jsonscan

import (
	"bytes"
	"math/bits"
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
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\n' && b[i] != '\t' && b[i] != '\r' {
		i++
	}
	return i
}

// Object iterates over the members of a JSON object without allocating.
type Object struct {
	b []byte
	i int
}

// NewObject starts iterating over obj; an obj that is not an object has no
// members.
func NewObject(obj []byte) Object {
	i := SkipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return Object{i: len(obj)}
	}
	return Object{b: obj, i: i + 1}
}

// Next returns the next member: its key as written between the quotes
// (escapes left as they are) and its raw value; ok is false at the end.
func (o *Object) Next() (key, val []byte, ok bool) {
	key, rest, ok := o.Key()
	if !ok {
		return nil, nil, false
	}
	n := ValueEnd(rest, 0)
	o.Took(n)
	return key, rest[:n], true
}

// Key returns the next member's key, as Next does, and the text from the
// member's value on, leaving the value unread: a caller that reads the
// value itself (a nested object it walks anyway) says how many bytes it
// took with Took, and no byte is scanned twice.
func (o *Object) Key() (key, rest []byte, ok bool) {
	for {
		o.i = SkipSpace(o.b, o.i)
		if o.i >= len(o.b) || o.b[o.i] == '}' {
			return nil, nil, false
		}
		if o.b[o.i] != ',' {
			break
		}
		o.i++
	}
	end := StringEnd(o.b, o.i)
	key = o.b[o.i+1 : end-1]
	o.i = SkipSpace(o.b, SkipSpace(o.b, end)+1) // past ':'
	return key, o.b[o.i:], true
}

// Took moves past the first n bytes of the value Key left unread.
func (o *Object) Took(n int) { o.i += n }

// Len is how many bytes of its text the iteration has read once it has
// reported the end: up to and with the object's closing brace.
func (o *Object) Len() int { return min(o.i+1, len(o.b)) }

// Array iterates over the elements of a JSON array without allocating.
type Array struct {
	b []byte
	i int
}

// NewArray starts iterating over arr; an arr that is not an array has no
// elements.
func NewArray(arr []byte) Array {
	i := SkipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return Array{i: len(arr)}
	}
	return Array{b: arr, i: i + 1}
}

// Elem returns the text from the next element on, leaving it unread, as
// Object.Key does; say how many bytes it took with Took.
func (a *Array) Elem() (rest []byte, ok bool) {
	for {
		a.i = SkipSpace(a.b, a.i)
		if a.i >= len(a.b) || a.b[a.i] == ']' {
			return nil, false
		}
		if a.b[a.i] != ',' {
			break
		}
		a.i++
	}
	return a.b[a.i:], true
}

// Took moves past the first n bytes of the element Elem left unread.
func (a *Array) Took(n int) { a.i += n }

// Len is how many bytes of its text the iteration has read once it has
// reported the end: up to and with the array's closing bracket.
func (a *Array) Len() int { return min(a.i+1, len(a.b)) }

// Next returns the next element's raw value; ok is false at the end.
func (a *Array) Next() (val []byte, ok bool) {
	rest, ok := a.Elem()
	if !ok {
		return nil, false
	}
	n := ValueEnd(rest, 0)
	a.Took(n)
	return rest[:n], true
}

// PlainRun returns the index of the first byte of s at or after i that a
// JSON string's content cannot hold as it is — a quote, a backslash, a
// control character — or that is not ASCII (and so needs a UTF-8 check),
// len(s) when there is none. Readers and writers of strings skip the plain
// run between such bytes eight bytes at a time.
func PlainRun[T ~string | ~[]byte](s T, i int) int {
	for ; i+8 <= len(s); i += 8 {
		_ = s[i+7] // one bounds check for the eight loads, which combine into one
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if n := notable(x); n != 0 {
			return i + bits.TrailingZeros64(n)/8 // the first flagged byte is never a false one
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return i
		}
	}
	return i
}

// Eight bytes at a time: ones has 1 in every byte, highs the top bit.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// notable has a byte's top bit set where that byte of x (or, by a borrow,
// a byte after it) is a quote, a backslash, a control character or not
// ASCII; it is zero when no byte is. Borrows only run upwards, from a
// flagged byte, so the lowest flagged byte is always a true one.
func notable(x uint64) uint64 {
	quote, backslash := x^(ones*'"'), x^(ones*'\\')
	return (x | (x - ones*0x20) | (quote-ones)&^quote | (backslash-ones)&^backslash) & highs
}
