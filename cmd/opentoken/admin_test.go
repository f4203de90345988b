package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opentoken/opentoken/store"
)

// TestAdminCommands drives the tenancy subcommands against a fresh
// database, as an operator would.
func TestAdminCommands(t *testing.T) {
	vars := map[string]string{"OPENTOKEN_DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "t.db")}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := dispatch(context.Background(), args, &env{getenv: func(k string) string { return vars[k] }, stdout: &out, stderr: io.Discard})
		return out.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		return out
	}
	must("workspaces", "create", "acme")
	if _, err := run("workspaces", "create", "acme"); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("a duplicate workspace: %v", err)
	}
	out := must("keys", "create", "--workspace", "acme", "--name", "ci", "--expires", "30d", "--limit-usd", "2.5", "--limit-reset", "weekly")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	secret := lines[len(lines)-1]
	if !strings.HasPrefix(secret, store.KeyPrefix) || len(secret) != len(store.KeyPrefix)+43 {
		t.Fatalf("the secret is not stdout's last line: %q", out)
	}
	list := must("keys", "list", "--workspace", "acme")
	if !strings.Contains(list, secret[:14]) || !strings.Contains(list, "$2.5/weekly") || !strings.Contains(list, "active") || strings.Contains(list, secret) {
		t.Errorf("keys list:\n%s", list)
	}
	if out := must("credits", "add", "--workspace", "acme", "--usd", "10"); !strings.Contains(out, "balance $10") {
		t.Errorf("credits add: %s", out)
	}
	// Rate limits at creation and changed after.
	if out := must("keys", "create", "--workspace", "acme", "--name", "svc", "--rpm", "60", "--tpm", "100000", "--max-concurrent", "4"); !strings.Contains(out, "secret") {
		t.Errorf("keys create with rates: %s", out)
	}
	if list := must("keys", "list"); !strings.Contains(list, "60rpm,100000tpm,4conc") {
		t.Errorf("keys list shows no rates:\n%s", list)
	}
	if out := must("keys", "update", "2", "--rpm", "0", "--tpm", "5000", "--limit-usd", "3", "--limit-reset", "daily", "--expires", "never"); !strings.Contains(out, "5000tpm,4conc") || !strings.Contains(out, "$3/daily") {
		t.Errorf("keys update: %s", out)
	}
	if list := must("workspaces", "list"); !strings.Contains(list, "acme") || !strings.Contains(list, "10") {
		t.Errorf("workspaces list:\n%s", list)
	}
	if list := must("requests"); !strings.Contains(list, "MODEL") {
		t.Errorf("requests:\n%s", list)
	}
	out = must("admin-token", "create", "--name", "lead", "--workspace", "acme")
	adminSecret := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	if !strings.HasPrefix(adminSecret, store.AdminTokenPrefix) {
		t.Fatalf("admin-token create: %q", out)
	}
	if list := must("admin-token", "list"); !strings.Contains(list, "lead") || !strings.Contains(list, "acme") || strings.Contains(list, adminSecret) {
		t.Errorf("admin-token list:\n%s", list)
	}
	if out := must("admin-token", "revoke", "1"); !strings.Contains(out, "revoked") {
		t.Errorf("admin-token revoke: %s", out)
	}
	if out := must("keys", "revoke", secret[:14]); !strings.Contains(out, "revoked") {
		t.Errorf("keys revoke: %s", out)
	}
	if list := must("keys", "list"); !strings.Contains(list, "revoked") {
		t.Errorf("after revoke:\n%s", list)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(must("usage", "--workspace", "acme", "--json")), &rows); err != nil || len(rows) != 0 {
		t.Errorf("usage --json: %v %v", err, rows)
	}
	for _, bad := range [][]string{
		{"keys"}, {"keys", "create", "--name", "x"}, {"keys", "create", "--workspace", "acme", "--name", "x", "--limit-usd", "1"},
		{"keys", "create", "--workspace", "acme", "--name", "x", "--expires", "tomorrow"}, {"credits", "show"}, {"usage", "--since", "yesterday"},
		{"keys", "frobnicate"},
		{"keys", "create", "--workspace", "acme", "--name", "x", "--expires", "2020-01-01T00:00:00Z"},
		{"keys", "create", "--workspace", "nowhere", "--name", "x"},
		{"credits", "add", "--workspace", "acme", "--usd", "-5"},
		{"credits", "add", "--workspace", "nowhere", "--usd", "5"},
		{"keys", "revoke", "not-a-key"},
		{"keys", "create", "--workspace", "acme", "--name", "x", "--rpm", "-1"},
		{"keys", "create", "--workspace", "acme", "--name", "x", "--tpm", "lots"},
		{"keys", "update", "2"},
		{"keys", "update", "2", "--limit-usd", "1"},
		{"keys", "update", "99", "--rpm", "5"},
		{"admin-token", "create"},
		{"admin-token", "revoke", "x"},
		{"admin-token", "revoke", "1"}, // revoked already
	} {
		if _, err := run(bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if out := must("keys", "--help"); !strings.Contains(out, "opentoken keys create") {
		t.Errorf("--help: %s", out)
	}
}
