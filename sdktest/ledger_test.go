package sdktest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
)

// teamKey is an issued key of a funded workspace on a fresh SQLite
// ledger, served by tenancy, for the tests that run a real agent with it.
// Both are closed when the test ends, after the gateway it serves.
type teamKey struct {
	db     store.Store
	tn     *tenancy.Tenancy
	secret string
}

func newTeamKey(t *testing.T, name string) *teamKey {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	_, _ = db.CreateWorkspace(ctx, "team")
	_ = db.AddCredit(ctx, "team", store.FromDollars(5), "test")
	_, secret, err := db.CreateKey(ctx, store.NewKey{Workspace: "team", Name: name})
	if err != nil {
		t.Fatal(err)
	}
	tn, err := tenancy.Start(ctx, tenancy.Options{Store: db, SpillPath: filepath.Join(dir, "spill")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tn.Close(); err != nil {
			t.Error(err)
		}
	})
	return &teamKey{db: db, tn: tn, secret: secret}
}

// billed checks that the ledger holds answers of each model.
func (k *teamKey) billed(t *testing.T, models ...string) {
	t.Helper()
	k.tn.Flush()
	rows, err := k.db.Usage(context.Background(), store.UsageFilter{})
	seen := map[string]bool{}
	for _, row := range rows {
		seen[row.Model] = true
	}
	for _, m := range models {
		if err != nil || !seen[m] {
			t.Errorf("the key's ledger has no answer of %s: %v %+v", m, err, rows)
		}
	}
}

// npmBinary is a command npm installed in node/ (pinned in
// node/package.json): its path, or the test skipped on a developer
// machine without it (failed in CI, which installs it).
func npmBinary(t *testing.T, name, what string) string {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join("node", "node_modules", ".bin", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(what + " is not installed: .ci/run must run npm ci in sdktest/node")
		}
		t.Skip(what + " is not installed: run npm ci in sdktest/node")
	}
	return bin
}
