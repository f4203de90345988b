package store_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/opentoken/opentoken/store"
)

// BenchmarkRecord is the ledger's cost per billed answer on the embedded
// database: batches of 1024 records (as many as wake the ledger's writer),
// each a usage row and a debit, one transaction a batch. ns/op is per
// record.
//
//	go test ./store -run '^$' -bench Record -benchtime 204800x -count 6
func BenchmarkRecord(b *testing.B) {
	ctx := context.Background()
	s, err := store.Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "opentoken.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	ws, err := s.CreateWorkspace(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	limit := store.FromDollars(1e6)
	k, _, err := s.CreateKey(ctx, store.NewKey{Workspace: "bench", Name: "load", SpendLimit: &limit, LimitReset: store.ResetDaily})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	window := store.ResetDaily.WindowStart(now)
	const batch = 1024
	recs := make([]store.UsageRecord, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += batch {
		for i := range recs {
			recs[i] = store.UsageRecord{RequestID: "req_" + strconv.Itoa(n+i), KeyID: k.ID, WorkspaceID: ws.ID,
				Model: "anthropic/claude-sonnet-4-5", Prompt: 1200, Completion: 300, Cost: store.FromDollars(0.0081),
				Status: 200, StartedAt: now, FinishedAt: now, WindowStart: window}
		}
		if err := s.Record(ctx, store.Batch{ID: store.NewBatchID(), Records: recs[:min(batch, b.N-n)]}); err != nil {
			b.Fatal(err)
		}
	}
}
