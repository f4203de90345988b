package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestRecordOnOneConnection: the ledger's writes need no second
// connection while their transaction holds one (an operator may cap the
// pool; a stall would hold the writer until the context's deadline).
func TestRecordOnOneConnection(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "one.db"))
	if err != nil {
		t.Fatal(err)
	}
	s := st.(*sqlStore)
	defer s.Close()
	s.db.SetMaxOpenConns(1)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ws, err := s.CreateWorkspace(ctx, "one")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	recs := make([]UsageRecord, 300) // 256 + 32 + 8 + 4 rows: four statements
	for i := range recs {
		recs[i] = UsageRecord{RequestID: "r", KeyID: 1, WorkspaceID: ws.ID, Model: "m", Cost: 1, StartedAt: now, FinishedAt: now}
	}
	if err := s.Record(ctx, Batch{ID: NewBatchID(), Records: recs}); err != nil {
		t.Fatalf("recording on one connection: %v", err)
	}
	if bal, err := s.Balance(ctx, "one"); err != nil || bal != -300 {
		t.Errorf("balance %d (%v), want -300", bal, err)
	}
}
