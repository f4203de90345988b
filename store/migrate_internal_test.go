package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/opentoken/opentoken/internal/pgtest"
)

// TestUpgradeFromVersion1 migrates a database written by schema version 1
// (usage unique by request id) to the current one: its records stay, and a
// request id may then be recorded again.
func TestUpgradeFromVersion1(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		upgrade(t, "sqlite://"+filepath.Join(t.TempDir(), "v1.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		upgrade(t, pgtest.Start(t))
	})
}

func upgrade(t *testing.T, url string) {
	ctx := context.Background()
	st, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*sqlStore)
	defer s.Close()
	current := s.d
	v1 := *current
	v1.migrations = current.migrations[:1]
	s.d = &v1
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ws, err := s.CreateWorkspace(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	if _, err := s.db.ExecContext(ctx, s.q(`INSERT INTO usage (request_id, key_id, workspace_id, model, prompt_tokens, completion_tokens,
		cached_tokens, cache_write_tokens, reasoning_tokens, cost, status, partial, started_at, finished_at)
		VALUES ('req_old', 1, ?, 'm', 10, 2, 0, 0, 0, 5, 200, false, ?, ?)`), ws.ID, now, now); err != nil {
		t.Fatal(err)
	}

	s.d = current
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrating version 1: %v", err)
	}
	rec := UsageRecord{RequestID: "req_old", KeyID: 1, WorkspaceID: ws.ID, Model: "m", Cost: 5, Status: 200,
		StartedAt: time.Now(), FinishedAt: time.Now()}
	if err := s.Record(ctx, Batch{ID: NewBatchID(), Records: []UsageRecord{rec}}); err != nil {
		t.Fatalf("the same request id after the upgrade: %v", err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM usage WHERE request_id = 'req_old'`).Scan(&n); err != nil || n != 2 {
		t.Errorf("%d records of req_old (%v), want the old one and the new", n, err)
	}
	// The new record's debit names it, with its cost.
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM credit_ledger c JOIN usage u ON u.id = c.usage_id
		WHERE u.request_id = 'req_old' AND c.amount = -u.cost AND c.workspace_id = u.workspace_id`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d debits naming their usage row (%v), want 1", n, err)
	}
}
