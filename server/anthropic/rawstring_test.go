package anthropic

import (
	"testing"

	"github.com/opentoken/opentoken/internal/json"
)

// FuzzRawString holds rawString to goccy/go-json, which decoded these
// strings before: the same texts taken, to the same values.
func FuzzRawString(f *testing.F) {
	for _, s := range []string{`"plain"`, `"esc \"q\" \\ \n \u00e9 \ud83d\ude00"`, "\"caf\xc3\xa9\"", "\"bad \xff utf-8\"",
		`"unterminated`, `"a" "b"`, `null`, `1`, `""`, "\"ctl \x01\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := rawString(raw)
		var want string
		err := json.Unmarshal(raw, &want)
		if ok != (err == nil) || ok && got != want {
			t.Fatalf("rawString(%q) = %q, %v; goccy/go-json: %q, %v", raw, got, ok, want, err)
		}
	})
}
