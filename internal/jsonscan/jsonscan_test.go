package jsonscan

import (
	"strings"
	"testing"
)

// PlainRun, eight bytes at a time, finds what a byte at a time finds,
// wherever the byte that ends the run lies.
func TestPlainRun(t *testing.T) {
	naive := func(s string, i int) int {
		for ; i < len(s); i++ {
			if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				return i
			}
		}
		return i
	}
	for _, c := range []byte{'"', '\\', 0x00, 0x1f, 0x80, 0xff, 0x7f, ' ', '!', '#', '[', ']', '}'} {
		for at := 0; at < 24; at++ {
			for from := 0; from <= at; from += 3 {
				s := strings.Repeat("a", at) + string([]byte{c}) + strings.Repeat("b", 11) + `"`
				if got, want := PlainRun(s, from), naive(s, from); got != want {
					t.Errorf("byte %#x after %d bytes, from %d: %d, want %d", c, at, from, got, want)
				}
				if got, want := PlainRun([]byte(s), from), naive(s, from); got != want {
					t.Errorf("[]byte: byte %#x after %d bytes, from %d: %d, want %d", c, at, from, got, want)
				}
			}
		}
	}
	if PlainRun("", 0) != 0 || PlainRun("abc", 3) != 3 {
		t.Error("an empty run")
	}
}

// FuzzPlainRun holds PlainRun to a byte-at-a-time scan on any input.
func FuzzPlainRun(f *testing.F) {
	f.Add("plain text with a \" quote", 0)
	f.Add("caf\xc3\xa9 \x01", 2)
	f.Fuzz(func(t *testing.T, s string, from int) {
		if from < 0 || from > len(s) {
			return
		}
		want := len(s)
		for i := from; i < len(s); i++ {
			if c := s[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				want = i
				break
			}
		}
		if got := PlainRun(s, from); got != want {
			t.Fatalf("PlainRun(%q, %d) = %d, want %d", s, from, got, want)
		}
	})
}

// A scalar ends at the bracket of the array it is in, as at a comma or a
// brace: an array of scalars read element by element.
func TestValueEndInArrays(t *testing.T) {
	for text, want := range map[string]int{"true]": 4, "1]": 1, `"a"]`: 3, "null,": 4, "-2.5}": 4, "[1,[2]]]": 7} {
		if got := ValueEnd([]byte(text), 0); got != want {
			t.Errorf("ValueEnd(%q) = %d, want %d", text, got, want)
		}
	}
	var got []string
	for it := NewArray([]byte(`[true, 1,"x",{"a":[2]},null]`)); ; {
		v, ok := it.Next()
		if !ok {
			break
		}
		got = append(got, string(v))
	}
	if len(got) != 5 || got[0] != "true" || got[1] != "1" || got[4] != "null" {
		t.Errorf("elements %q", got)
	}
}
