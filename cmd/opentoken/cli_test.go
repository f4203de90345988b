package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/internal/gotool"
)

// TestCommandLine runs the built binary as an operator would: a typo or a
// flag of another command is an error with help, never a running server
// nor an opened database; help and version answer and exit 0; errors
// speak of workspaces and keys, not of packages.
func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "opentoken.db")
	db := "OPENTOKEN_DATABASE_URL=sqlite://" + dbPath
	for _, c := range []struct {
		args []string
		code int
		// out is in standard output, err in standard error.
		out, err []string
	}{
		{args: []string{"key", "list"}, code: 2, err: []string{`unknown command "key"; did you mean "keys"?`, "opentoken keys list", "opentoken serve"}},
		{args: []string{"keys", "lst"}, code: 2, err: []string{`unknown command "keys lst"; did you mean "keys list"?`, "opentoken keys revoke"}},
		{args: []string{"deploy"}, code: 2, err: []string{`unknown command "deploy"`, "opentoken check-config"}},
		{args: []string{"keys"}, code: 2, err: []string{"keys needs a subcommand: create, update, list, revoke"}},
		{args: []string{"keys", "revoke", "X", "--usd", "5"}, code: 2, err: []string{"keys revoke has no flag --usd", "Usage: opentoken keys revoke ID-OR-PREFIX"}},
		{args: []string{"keys", "create", "--workspace", "w", "--nme", "n"}, code: 2, err: []string{"keys create has no flag --nme; did you mean --name?"}},
		{args: []string{"keys", "revoke"}, code: 2, err: []string{"keys revoke takes ID-OR-PREFIX"}},
		{args: []string{"keys", "list", "extra"}, code: 2, err: []string{`keys list takes no operands, got "extra"`}},
		{args: []string{"--verbose"}, code: 2, err: []string{"serve has no flag --verbose"}},
		{args: []string{"check-config", "--anthropic", "x"}, code: 2, err: []string{"check-config has no flag --anthropic"}},
		{args: []string{"help"}, out: commandNames()},
		{args: []string{"--help"}, out: commandNames()},
		{args: []string{"-h"}, out: commandNames()},
		{args: []string{"help", "keys", "create"}, out: []string{"Usage: opentoken keys create", "--limit-reset WINDOW"}},
		{args: []string{"keys", "create", "--help"}, out: []string{"Usage: opentoken keys create", "--workspace W"}},
		{args: []string{"keys", "--help"}, out: []string{"opentoken keys create", "opentoken keys list", "opentoken keys revoke"}},
		{args: []string{"version"}, out: []string{"opentoken ", " go1."}},
	} {
		code, stdout, stderr := run(t, []string{db}, c.args...)
		if code != c.code {
			t.Errorf("opentoken %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(c.args, " "), code, c.code, stdout, stderr)
		}
		for _, want := range c.out {
			if !strings.Contains(stdout, want) {
				t.Errorf("opentoken %s: standard output lacks %q:\n%s", strings.Join(c.args, " "), want, stdout)
			}
		}
		for _, want := range c.err {
			if !strings.Contains(stderr, want) {
				t.Errorf("opentoken %s: standard error lacks %q:\n%s", strings.Join(c.args, " "), want, stderr)
			}
		}
		if strings.Contains(stderr, "OpenToken is serving") {
			t.Errorf("opentoken %s served:\n%s", strings.Join(c.args, " "), stderr)
		}
	}
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Errorf("a wrong command line opened the database (%v)", err)
	}

	// Errors in the operator's words.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"credits", "show", "--workspace", "x"}, `opentoken: no workspace named "x"`},
		{[]string{"keys", "revoke", "sk-optk-nope"}, `opentoken: no key has the id or prefix "sk-optk-nope"`},
		{[]string{"keys", "create", "--workspace", "x", "--name", "n"}, `opentoken: no workspace named "x"`},
	} {
		code, _, stderr := run(t, []string{db}, c.args...)
		if code != 1 || !strings.Contains(stderr, c.want) || strings.Contains(stderr, "store:") {
			t.Errorf("opentoken %s: exit %d, %q; want 1 and %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
	if code, _, stderr := run(t, []string{db}, "workspaces", "create", "acme"); code != 0 {
		t.Fatalf("workspaces create: %d %s", code, stderr)
	}
	if code, _, stderr := run(t, []string{db}, "workspaces", "create", "acme"); code != 1 || !strings.Contains(stderr, `a workspace named "acme" already exists`) {
		t.Errorf("a second workspaces create: %d %s", code, stderr)
	}
}

// commandNames is every command, as the overview lists it.
func commandNames() []string {
	var names []string
	for _, c := range commands {
		names = append(names, "opentoken "+c.name)
	}
	return names
}

// TestVersion: the binary names the revision it was built from, when it
// was built from a git checkout.
func TestVersion(t *testing.T) {
	code, stdout, _ := run(t, nil, "version")
	if code != 0 || !strings.HasPrefix(stdout, "opentoken ") {
		t.Fatalf("version: %d %q", code, stdout)
	}
	head, err := exec.Command("git", "-C", gotool.ModuleRoot(t), "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skip("not a git checkout: the build has no revision to name")
	}
	if rev := strings.TrimSpace(string(head)); !strings.Contains(stdout, "revision "+rev) {
		t.Errorf("version %q does not name the revision %s", stdout, rev)
	}
}
