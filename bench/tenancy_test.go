// Benchmarks of tenancy on the hot path: an issued key's check (view
// lookup, expiry, credit and limit) and the enqueueing of its answer's
// usage record, with a warm view.
//
//	go test ./bench -run '^$' -bench 'Tenancy' -benchmem -count 5
package bench

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/opentoken/opentoken/store"
	"github.com/opentoken/opentoken/tenancy"
)

// ledgerless takes usage records and writes nothing: the benchmark
// measures the gateway's side (check, enqueue, batching), not the
// database's inserts, which a real deployment does on its own cores.
type ledgerless struct{ store.Store }

func (ledgerless) Record(context.Context, ...store.Batch) error { return nil }

func BenchmarkTenancy(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	_ = db.Migrate(ctx)
	_, _ = db.CreateWorkspace(ctx, "acme")
	_ = db.AddCredit(ctx, "acme", store.FromDollars(1e6), "bench")
	limit := store.FromDollars(1e6)
	_, secret, _ := db.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "b", SpendLimit: &limit, LimitReset: store.ResetDaily})
	// The same key with rate limits too, never reached here.
	_, rated, _ := db.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "r", SpendLimit: &limit, LimitReset: store.ResetDaily,
		Rates: store.Rates{RPM: 1 << 40, TPM: 1 << 40, MaxConcurrent: 1 << 20}})
	for i := range 1000 { // a view of 1,000 keys
		_, _, _ = db.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "k" + strconv.Itoa(i)})
	}
	tn, err := tenancy.Start(ctx, tenancy.Options{Store: ledgerless{db}, SpillPath: filepath.Join(dir, "spill"), QueueSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer tn.Close()
	key := []byte(secret)
	b.Run("check", func(b *testing.B) {
		b.ReportAllocs()
		now := time.Now()
		for b.Loop() {
			if _, e := tn.Check(key, now); e != nil {
				b.Fatal(e)
			}
		}
	})
	// check+rates: the check of a key with RPM, TPM and concurrency
	// limits, its admission and its release — what rate limits add to
	// "check" (issue 22's budget: no allocation, at most 100 ns).
	b.Run("check+rates", func(b *testing.B) {
		b.ReportAllocs()
		key := []byte(rated)
		now := time.Now()
		for b.Loop() {
			p, e := tn.Check(key, now)
			if e != nil {
				b.Fatal(e)
			}
			tk, _, e := p.Meter().Acquire(p.Key.Rates, 300, now)
			if e != nil {
				b.Fatal(e)
			}
			tk.Release(250, now)
		}
	})
	b.Run("check+bill", func(b *testing.B) {
		b.ReportAllocs()
		now := time.Now()
		rec := store.UsageRecord{RequestID: "req_0123456789abcdef", Model: "google/gemini-3-flash",
			Prompt: 200, Completion: 50, Cost: 1000, Status: 200, StartedAt: now, FinishedAt: now}
		i := 0
		for b.Loop() {
			p, e := tn.Check(key, now)
			if e != nil {
				b.Fatal(e)
			}
			i++
			rec.RequestID = "req_" + strconv.Itoa(i)
			tn.Bill(p, rec)
		}
	})
	// Every core billing at once, as under load: the queue's lock is
	// shared, and no Bill may wake the writer but one a batch.
	b.Run("check+bill-parallel", func(b *testing.B) {
		b.ReportAllocs()
		now := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			rec := store.UsageRecord{RequestID: "req_0123456789abcdef", Model: "google/gemini-3-flash",
				Prompt: 200, Completion: 50, Cost: 1000, Status: 200, StartedAt: now, FinishedAt: now}
			for pb.Next() {
				p, e := tn.Check(key, now)
				if e != nil {
					b.Fatal(e)
				}
				tn.Bill(p, rec)
			}
		})
	})
}
