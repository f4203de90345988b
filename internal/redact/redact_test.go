package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	r := New("sk-secret-long", "", "sk-secret", "sk-secret")
	got := r.String("a sk-secret-long b sk-secret c sk-secre")
	if want := "a [REDACTED] b [REDACTED] c sk-secre"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if New() != nil || New("").String("x") != "x" {
		t.Error("no secrets must mean no replacing")
	}
}

// TestHandler: no secret survives in a log record, whatever carries it.
func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	r := New("sk-secret")
	log := slog.New(r.Handler(slog.NewJSONHandler(&buf, nil))).With("key", "sk-secret").WithGroup("g")
	log.Error("message with sk-secret", "err", errors.New("upstream said sk-secret"),
		"panic", struct{ K string }{"sk-secret"}, "nested", slog.GroupValue(slog.String("k", "x sk-secret")), "n", 3)
	out := buf.String()
	if strings.Contains(out, "sk-secret") || strings.Count(out, Placeholder) != 5 || !strings.Contains(out, `"n":3`) {
		t.Errorf("log line: %s", out)
	}
}
