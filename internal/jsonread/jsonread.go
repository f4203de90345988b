// Package jsonread reads JSON text in one pass, in place and strictly: a
// Reader hands out strings as sub-slices of the text (no copies unless a
// string is escaped), parses numbers where they lie, and refuses anything
// that is not RFC 8259 JSON, or that it does not read exactly as
// goccy/go-json would (a string that is not valid UTF-8, a number out of
// its Go type's range).
//
// It is built for fast decoders that have a careful one behind them: a
// refusal is not an error to show anyone but the signal to decode the same
// bytes the careful way, which explains what is wrong. So a Reader never
// says why; it fails, stays failed, and every later read returns a zero
// value, which keeps the decoders written on it free of error plumbing.
package jsonread

import (
	"strconv"
	"unicode/utf8"

	"github.com/opentoken/opentoken/internal/bytesconv"
	"github.com/opentoken/opentoken/internal/json"
	"github.com/opentoken/opentoken/internal/jsonscan"
)

// Reader reads one JSON text from left to right.
type Reader struct {
	buf    []byte
	pos    int
	failed bool
	depth  int // of the values Skip is inside
}

// maxDepth bounds the nesting Skip follows; deeper text is left to the
// careful decoder, which has its own bound.
const maxDepth = 512

// New returns a Reader of text. Strings it returns point into text, which
// must stay alive and unchanged while they are used.
func New(text []byte) Reader { return Reader{buf: text} }

// Failed reports whether the text was refused.
func (r *Reader) Failed() bool { return r.failed }

// Fail refuses the text: a decoder calls it for a value it does not take.
func (r *Reader) Fail() {
	r.failed = true
	r.pos = len(r.buf)
}

// End reports whether the text was read whole without a refusal: only
// white space may follow the value read.
func (r *Reader) End() bool {
	r.space()
	return !r.failed && r.pos == len(r.buf)
}

func (r *Reader) space() {
	for r.pos < len(r.buf) {
		switch r.buf[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// Kind returns the first byte of the next value without reading it: '{',
// '[', '"', 't', 'f', 'n', '-' or a digit; 0 at the end or after a failure.
func (r *Reader) Kind() byte {
	if r.pos < len(r.buf) && r.buf[r.pos] > ' ' { // no white space: most JSON
		return r.buf[r.pos]
	}
	r.space()
	if r.pos >= len(r.buf) {
		return 0
	}
	return r.buf[r.pos]
}

// Null reads a null if one is next, and reports whether it did.
func (r *Reader) Null() bool {
	if r.Kind() != 'n' {
		return false
	}
	r.literal("null")
	return !r.failed
}

func (r *Reader) literal(word string) {
	if len(r.buf)-r.pos < len(word) || bytesconv.String(r.buf[r.pos:r.pos+len(word)]) != word {
		r.Fail()
		return
	}
	r.pos += len(word)
}

// Object reads the '{' of an object and reports whether a member follows
// (an empty object is read whole). Read each member with Key and a value,
// and ask More for the next:
//
//	for more := r.Object(); more; more = r.More('}') {
//		switch string(r.Key()) { ... }
//	}
func (r *Reader) Object() bool { return r.open('{', '}') }

// Array reads the '[' of an array and reports whether an element follows;
// read each element, then ask More(']') for the next.
func (r *Reader) Array() bool { return r.open('[', ']') }

func (r *Reader) open(opening, closing byte) bool {
	if r.Kind() != opening {
		r.Fail()
		return false
	}
	r.pos++
	if r.Kind() == closing {
		r.pos++
		return false
	}
	return !r.failed
}

// More reads the ',' before the next member or element and reports true,
// or reads the closing byte and reports false.
func (r *Reader) More(closing byte) bool {
	switch r.Kind() {
	case ',':
		r.pos++
		return true
	case closing:
		r.pos++
		return false
	}
	r.Fail()
	return false
}

// Key reads a member's key and its ':'. A key is returned as written; one
// with an escape or not in ASCII is refused, as no client writes one (and
// goccy/go-json folds the case of such keys in ways of its own). Keys are
// short: a byte at a time finds their end soonest.
func (r *Reader) Key() []byte {
	if r.Kind() != '"' {
		r.Fail()
		return nil
	}
	start := r.pos + 1
	end := start
	for end < len(r.buf) && r.buf[end] != '"' {
		if c := r.buf[end]; c < 0x20 || c == '\\' || c >= utf8.RuneSelf {
			r.Fail()
			return nil
		}
		end++
	}
	if end >= len(r.buf) {
		r.Fail()
		return nil
	}
	key := r.buf[start:end]
	r.pos = end + 1
	if r.Kind() != ':' {
		r.Fail()
		return nil
	}
	r.pos++
	return key
}

// plainStringEnd returns the index of the first '"' or '\\' at or after
// from, or -1 when the string runs off the text or holds a control
// character (which JSON forbids raw) or bytes that are not UTF-8.
func (r *Reader) plainStringEnd(from int) int {
	b := r.buf
	ascii := true
	for i := from; ; i++ {
		if i = jsonscan.PlainRun(b, i); i >= len(b) {
			return -1
		}
		switch c := b[i]; {
		case c == '"' || c == '\\':
			if !ascii && !utf8.Valid(b[from:i]) {
				return -1
			}
			return i
		case c < 0x20:
			return -1
		default: // not ASCII
			ascii = false
		}
	}
}

// String reads a string. One without escapes is a sub-slice of the text;
// an escaped one is decoded by goccy/go-json (which is what a client gets
// from the careful decoder too, lone surrogates and all).
func (r *Reader) String() string {
	if r.Kind() != '"' {
		r.Fail()
		return ""
	}
	start := r.pos
	end := r.plainStringEnd(start + 1)
	if end < 0 {
		r.Fail()
		return ""
	}
	if r.buf[end] == '"' {
		r.pos = end + 1
		return bytesconv.String(r.buf[start+1 : end])
	}
	end = r.escapedStringEnd(end)
	if end < 0 {
		r.Fail()
		return ""
	}
	r.pos = end
	if s, ok := unescape(r.buf[start+1 : end-1]); ok {
		return s
	}
	var s string
	if json.Unmarshal(r.buf[start:end], &s) != nil {
		r.Fail()
		return ""
	}
	return s
}

// unescape decodes the checked contents of a string literal whose escapes
// are all of one character (\n, \", …) into a new string; ok is false for
// one with a \u escape, whose surrogate pairs and lone halves goccy/go-json
// decodes.
func unescape(lit []byte) (s string, ok bool) {
	out := make([]byte, 0, len(lit))
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		switch c = lit[i]; c {
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'u':
			return "", false
		}
		out = append(out, c) // '"', '\\' and '/' stand for themselves
	}
	return bytesconv.String(out), true // out is never written again
}

// escapedStringEnd checks the rest of a string from its first escape at
// i, and returns the index just past its closing quote, or -1.
func (r *Reader) escapedStringEnd(i int) int {
	start := i
	for i < len(r.buf) {
		c := r.buf[i]
		switch {
		case c == '"':
			if !utf8.Valid(r.buf[start:i]) {
				return -1
			}
			return i + 1
		case c == '\\':
			if i+1 >= len(r.buf) {
				return -1
			}
			switch r.buf[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(r.buf) || !isHex4(r.buf[i+2:i+6]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		case c < 0x20:
			return -1
		default:
			i++
		}
	}
	return -1
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// number reads a number by JSON's grammar and returns its text and
// whether it is written as an integer (no fraction, no exponent).
func (r *Reader) number() (text string, integer bool) {
	r.space()
	b, i := r.buf, r.pos
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(b, i)
	default:
		r.Fail()
		return "", false
	}
	integer = true
	if i < len(b) && b[i] == '.' {
		integer = false
		if j := digits(b, i+1); j > i+1 {
			i = j
		} else {
			r.Fail()
			return "", false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		integer = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if j := digits(b, i); j > i {
			i = j
		} else {
			r.Fail()
			return "", false
		}
	}
	r.pos = i
	return bytesconv.String(b[start:i]), integer
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// Float reads a number that fits a float64.
func (r *Reader) Float() float64 {
	text, _ := r.number()
	if r.failed {
		return 0
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		r.Fail()
		return 0
	}
	return v
}

// Int reads a number written as an integer that fits an int64.
func (r *Reader) Int() int64 {
	text, integer := r.number()
	if r.failed || !integer {
		r.Fail()
		return 0
	}
	if digits := text; len(digits) <= 18 { // no overflow: add the digits up here
		negative := digits[0] == '-'
		if negative {
			digits = digits[1:]
		}
		var v int64
		for i := 0; i < len(digits); i++ {
			v = v*10 + int64(digits[i]-'0')
		}
		if negative {
			return -v
		}
		return v
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		r.Fail()
		return 0
	}
	return v
}

// Bool reads true or false.
func (r *Reader) Bool() bool {
	switch r.Kind() {
	case 't':
		r.literal("true")
		return !r.failed
	case 'f':
		r.literal("false")
		return false
	}
	r.Fail()
	return false
}

// AppendStrings reads a string, as a list of one, or an array of strings,
// and appends it to list, which should be empty: a caller with room for
// the usual few strings allocates nothing for them. An empty array gives
// list as it is (an empty, non-nil list when list is not nil); a failure,
// nil.
func (r *Reader) AppendStrings(list []string) []string {
	if r.Kind() == '"' {
		return append(list, r.String())
	}
	for more := r.Array(); more; more = r.More(']') {
		list = append(list, r.String())
	}
	if r.failed {
		return nil
	}
	return list
}

// Start returns where the next value starts, for Since.
func (r *Reader) Start() int {
	r.Kind()
	return r.pos
}

// Since returns the text read from start (a Start) to here: the value a
// decoder read member by member, when it needs its text too.
func (r *Reader) Since(start int) []byte {
	if r.failed {
		return nil
	}
	return r.buf[start:r.pos]
}

// Raw reads any value and returns its text.
func (r *Reader) Raw() []byte {
	r.space()
	start := r.pos
	r.Skip()
	if r.failed {
		return nil
	}
	return r.buf[start:r.pos]
}

// RawNonNull reads any value but null and returns its text; a null fails
// r, as goccy/go-json keeps a null raw value in ways of its own (as the
// text "null", or not at all), which a fast decoder leaves to it.
func (r *Reader) RawNonNull() []byte {
	if r.Kind() == 'n' {
		r.Fail()
		return nil
	}
	return r.Raw()
}

// Skip reads any value, checking it is JSON. (One loop with a stack of
// container kinds in bits was tried instead of a call per value: 10–13%
// slower, BenchmarkSkip.)
func (r *Reader) Skip() {
	switch r.Kind() {
	case '{':
		if r.depth++; r.depth > maxDepth {
			r.Fail()
		}
		for more := r.Object(); more; more = r.More('}') {
			r.skipKey()
			r.Skip()
		}
		r.depth--
	case '[':
		if r.depth++; r.depth > maxDepth {
			r.Fail()
		}
		for more := r.Array(); more; more = r.More(']') {
			r.Skip()
		}
		r.depth--
	case '"':
		r.skipString()
	case 't':
		r.literal("true")
	case 'f':
		r.literal("false")
	case 'n':
		r.literal("null")
	default:
		r.number()
	}
}

// skipKey reads a member's key, any string, and its ':'. (Key refuses
// the keys no struct field has; a value skipped whole may hold any.)
func (r *Reader) skipKey() {
	if r.Kind() != '"' {
		r.Fail()
		return
	}
	// Keys are short and plain: a byte at a time finds their end soonest,
	// and a key with an escape or not in ASCII is read as any string.
	b, i := r.buf, r.pos+1
	for i < len(b) && b[i] != '"' && b[i] >= 0x20 && b[i] != '\\' && b[i] < utf8.RuneSelf {
		i++
	}
	if i < len(b) && b[i] == '"' {
		r.pos = i + 1
	} else {
		r.skipString()
	}
	if r.Kind() != ':' {
		r.Fail()
		return
	}
	r.pos++
}

// skipString reads a string without decoding its escapes.
func (r *Reader) skipString() {
	end := r.plainStringEnd(r.pos + 1)
	if end >= 0 && r.buf[end] == '\\' {
		end = r.escapedStringEnd(end)
	} else if end >= 0 {
		end++
	}
	if end < 0 {
		r.Fail()
		return
	}
	r.pos = end
}

// NullableString reads a string, or null as "" (what a string field holds
// when JSON gives it null).
func (r *Reader) NullableString() string {
	if r.Null() {
		return ""
	}
	return r.String()
}

// The optional fields of a struct, pointers that null leaves nil, as
// goccy/go-json leaves them: each read value gets an allocation of its own.

// OptString reads a string, or null as nil.
func (r *Reader) OptString() *string {
	if r.Null() {
		return nil
	}
	v := r.String()
	return &v
}

// OptBool reads true or false, or null as nil.
func (r *Reader) OptBool() *bool {
	if r.Null() {
		return nil
	}
	v := r.Bool()
	return &v
}

// OptFloat reads a number that fits a float64, or null as nil.
func (r *Reader) OptFloat() *float64 {
	if r.Null() {
		return nil
	}
	v := r.Float()
	return &v
}

// Fields is the set of a struct's fields read so far, by a number the
// reading code gives each: goccy/go-json keeps the last of a repeated key,
// and that rule is left to it.
type Fields uint64

// Once fails r when field was read before.
func (f *Fields) Once(r *Reader, field uint) {
	if *f&(1<<field) != 0 {
		r.Fail()
	}
	*f |= 1 << field
}

// SkipUnknown skips a member no field of a struct with the JSON names
// takes, as goccy/go-json ignores it. goccy/go-json matches keys
// regardless of letter case, so a key equal to a name in other letters
// (or one not in ASCII, where case folding has surprises) fails r.
func (r *Reader) SkipUnknown(key []byte, names []string) {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			r.Fail()
			return
		}
	}
	for _, name := range names {
		if asciiEqualFold(key, name) {
			r.Fail()
			return
		}
	}
	r.Skip()
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i]|0x20, s[i]|0x20 // letters differ only in this bit
		if x != y || (b[i] != s[i] && (x < 'a' || x > 'z')) {
			return false
		}
	}
	return true
}

// Decode reads the next value with goccy/go-json itself, strings pointing
// into the text: for the fields a fast decoder has no reader for (rare
// ones), it is what the careful decoder would do with them.
func Decode[T any](r *Reader, v *T) {
	raw := r.Raw()
	if !r.failed && json.UnmarshalNoCopy(raw, v) != nil {
		r.Fail()
	}
}

// StringFields reads an object whose fields are all strings, as the
// structs of many small JSON objects are: the member named names[i] into
// *fields[i] (null leaves it ""), a repeated one failing r, any other
// skipped as SkipUnknown does.
func (r *Reader) StringFields(names []string, fields ...*string) {
	var seen Fields
	for more := r.Object(); more; more = r.More('}') {
		key := r.Key()
		i := 0
		for i < len(names) && names[i] != string(key) {
			i++
		}
		if i == len(names) {
			r.SkipUnknown(key, names)
			continue
		}
		seen.Once(r, uint(i))
		*fields[i] = r.NullableString()
	}
}
