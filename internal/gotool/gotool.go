// Package gotool runs the go command for tests that must compile code: the
// generator's golden output, the branch-free check and the drift guards.
package gotool

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ModuleRoot returns the directory holding go.mod, found upward from the
// test's working directory.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// Overlay writes a go build -overlay file that makes the go command see
// files[path] = contents (absolute paths) without touching the tree.
func Overlay(t testing.TB, files map[string][]byte) string {
	t.Helper()
	tmp := t.TempDir()
	replace := map[string]string{}
	i := 0
	for path, contents := range files {
		real := filepath.Join(tmp, "f"+strings.Repeat("x", i)+".go")
		i++
		if err := os.WriteFile(real, contents, 0o644); err != nil {
			t.Fatal(err)
		}
		replace[path] = real
	}
	b, err := json.Marshal(map[string]any{"Replace": replace})
	if err != nil {
		t.Fatal(err)
	}
	overlay := filepath.Join(tmp, "overlay.json")
	if err := os.WriteFile(overlay, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return overlay
}

// Go runs the go command in dir and returns its combined output.
func Go(t testing.TB, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}
