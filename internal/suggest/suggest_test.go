package suggest

import "testing"

func TestClosest(t *testing.T) {
	commands := []string{"serve", "emulate", "check-config", "workspaces", "keys", "credits", "usage", "help", "version"}
	settings := []string{"OPENTOKEN_METRICS", "OPENTOKEN_ACCESS_LOG", "OPENTOKEN_MAX_BODY_BYTES", "GEMINI_API_KEY", "ANTHROPIC_API_KEY"}
	for _, c := range []struct {
		word       string
		candidates []string
		want       string
	}{
		{"key", commands, "keys"},
		{"credit", commands, "credits"},
		{"chek-config", commands, "check-config"},
		{"verison", commands, "version"}, // a transposition is one edit
		{"KEYS", commands, "keys"},
		{"deploy", commands, ""},
		{"x", commands, ""},
		{"OPENTOKEN_METRIC", settings, "OPENTOKEN_METRICS"},
		{"OPENTOKEN_MAX_BODY_SIZE", settings, ""},
		{"OPENTOKEN_MAX_BODY_BYTE", settings, "OPENTOKEN_MAX_BODY_BYTES"},
		{"GEMINI_KEY", settings, ""},
		{"GOOGLE_API_KEY", settings, ""},
		{"GEMNI_API_KEY", settings, "GEMINI_API_KEY"},
	} {
		if got := Closest(c.word, c.candidates); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.word, got, c.want)
		}
	}
}
