package seal

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	s, err := New(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	text := s.Seal([]byte(`[{"signature":"abc"}]`))
	if got, err := s.Open(text); err != nil || string(got) != `[{"signature":"abc"}]` {
		t.Fatalf("open: %q %v", got, err)
	}
	if a, b := s.Seal([]byte("x")), s.Seal([]byte("x")); a == b {
		t.Error("two seals of the same text are the same: the nonce is not random")
	}
	other, _ := New(NewKey())
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(text, prefix))
	raw[len(raw)-1] ^= 1
	for name, forged := range map[string]string{
		"another key's": other.Seal([]byte("x")),
		"altered":       prefix + base64.RawURLEncoding.EncodeToString(raw),
		"no prefix":     strings.TrimPrefix(text, prefix),
		"not base64":    prefix + "!!!",
		"too short":     prefix + "AAAA",
		"plain text":    `[{"signature":"abc"}]`,
		"empty":         "",
	} {
		if _, err := s.Open(forged); err != ErrForged {
			t.Errorf("%s: %v, want ErrForged", name, err)
		}
	}
	if _, err := ParseKey("short"); err == nil {
		t.Error("a short key was taken")
	}
	if k, err := ParseKey(base64.StdEncoding.EncodeToString(NewKey())); err != nil || len(k) != KeySize {
		t.Errorf("a base64 key: %v", err)
	}
}
