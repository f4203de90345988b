package jsonw

import (
	"encoding/json"
	"math"
	"testing"
)

func TestStringRoundTrips(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "ctl \x00\x01\x1f\n\r\t", "ünïcødé ✓ 🚀", "line\u2028sep\u2029", "bad \xff utf8"} {
		out := String(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("String(%q) = %s: not JSON: %v", s, out, err)
		}
		want := s
		if s == "bad \xff utf8" {
			want = "bad \ufffd utf8"
		}
		if back != want {
			t.Errorf("String(%q) read back as %q", s, back)
		}
	}
}

func TestNumbers(t *testing.T) {
	f := func(got []byte, want string) {
		t.Helper()
		if string(got) != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	f(Float(nil, 0.7), "0.7")
	f(Float(nil, 1), "1")
	f(Float(nil, math.NaN()), "null")
	f(Int(nil, -42), "-42")
	f(Comma([]byte("{")), "{")
	f(Comma([]byte(`{"a":1`)), `{"a":1,`)
}

func TestNoAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() {
		b := String(buf[:0], "hello \"world\"\n")
		b = Float(b, 0.25)
		_ = Int(b, 7)
	}); n != 0 {
		t.Errorf("allocates %v times, want 0", n)
	}
}
