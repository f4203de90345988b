package tenancy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opentoken/opentoken/server/openai"
	"github.com/opentoken/opentoken/store"
)

// flaky is a store whose writes fail while down is set (a database that
// went away), or, while lostAck is set, are made but reported failed (an
// answer lost on its way back).
type flaky struct {
	store.Store
	down, lostAck atomic.Bool
	reserveDown   atomic.Bool // reservations fail
	releaseDown   atomic.Bool // giving them back fails
}

func (f *flaky) Release(ctx context.Context, r store.Reservation, amount store.USD) error {
	if f.down.Load() || f.releaseDown.Load() {
		return errors.New("connection refused")
	}
	return f.Store.Release(ctx, r, amount)
}

func (f *flaky) Reserve(ctx context.Context, r store.Reservation, want store.USD, expires time.Time) (store.USD, error) {
	if f.down.Load() || f.reserveDown.Load() {
		return 0, errors.New("connection refused")
	}
	return f.Store.Reserve(ctx, r, want, expires)
}

func (f *flaky) Record(ctx context.Context, batches ...store.Batch) error {
	if f.down.Load() {
		return errors.New("connection refused")
	}
	if err := f.Store.Record(ctx, batches...); err != nil || !f.lostAck.Load() {
		return err
	}
	return errors.New("connection reset by peer")
}

func setup(t *testing.T) (*flaky, *Tenancy, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := store.Open(context.Background(), "sqlite://"+filepath.Join(dir, "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	db := &flaky{Store: s}
	if _, err := db.CreateWorkspace(context.Background(), "acme"); err != nil {
		t.Fatal(err)
	}
	spillPath := filepath.Join(dir, "spill.jsonl")
	tn, err := Start(context.Background(), Options{Store: db, SpillPath: spillPath, Refresh: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return db, tn, spillPath
}

func mustKey(t *testing.T, db store.Store, nk store.NewKey) (store.Key, string) {
	t.Helper()
	nk.Workspace = "acme"
	k, secret, err := db.CreateKey(context.Background(), nk)
	if err != nil {
		t.Fatal(err)
	}
	return k, secret
}

func code(t *testing.T, tn *Tenancy, secret string, now time.Time) string {
	t.Helper()
	_, e := tn.Check([]byte(secret), now)
	if e == nil {
		return ""
	}
	return e.Code
}

// TestChecks: every refusal, in the docs' codes, and the pass.
func TestChecks(t *testing.T) {
	db, tn, _ := setup(t)
	defer tn.Close()
	ctx := context.Background()
	now := time.Now()
	soon := now.Add(time.Hour)
	limit := store.FromDollars(1)
	_, plain := mustKey(t, db, store.NewKey{Name: "plain"})
	_, expiring := mustKey(t, db, store.NewKey{Name: "expiring", ExpiresAt: &soon})
	limited, capped := mustKey(t, db, store.NewKey{Name: "capped", SpendLimit: &limit, LimitReset: store.ResetDaily})
	gone, revoked := mustKey(t, db, store.NewKey{Name: "gone"})
	if _, err := db.RevokeKey(ctx, gone.Prefix); err != nil {
		t.Fatal(err)
	}
	if err := tn.load(ctx); err != nil {
		t.Fatal(err)
	}
	if c := code(t, tn, plain, now); c != openai.CodeInsufficientCredit {
		t.Errorf("no credit: %q", c)
	}
	if err := db.AddCredit(ctx, "acme", store.FromDollars(5), "test"); err != nil {
		t.Fatal(err)
	}
	_ = tn.load(ctx)
	for secret, want := range map[string]string{
		plain: "", expiring: "", capped: "", revoked: "invalid_key", "sk-optk-unknown0000000000000000000000000000000000000": "invalid_key",
	} {
		if c := code(t, tn, secret, now); c != want {
			t.Errorf("%s: %q, want %q", secret[:14], c, want)
		}
	}
	if c := code(t, tn, expiring, soon.Add(time.Second)); c != openai.CodeExpiredKey {
		t.Errorf("past its expiry: %q", c)
	}
	// Billing is seen at once, before the ledger or a refresh has it.
	tn.Bill(store.UsageRecord{RequestID: "r1", KeyID: limited.ID, WorkspaceID: limited.WorkspaceID, Model: "m", Cost: store.FromDollars(1), StartedAt: now, FinishedAt: now})
	_, e := tn.Check([]byte(capped), now)
	if e == nil || e.Code != openai.CodeSpendLimitExceeded || e.Status != 429 || e.RetryAfter == "" {
		t.Errorf("over the limit: %+v", e)
	}
	if c := code(t, tn, plain, now); c != "" {
		t.Errorf("another key of the workspace: %q", c)
	}
	tn.Bill(store.UsageRecord{RequestID: "r2", KeyID: limited.ID, WorkspaceID: limited.WorkspaceID, Model: "m", Cost: store.FromDollars(4), StartedAt: now, FinishedAt: now})
	if c := code(t, tn, plain, now); c != openai.CodeInsufficientCredit {
		t.Errorf("the workspace spent its credit: %q", c)
	}
	// The next window resets the limit.
	if _, e := tn.Check([]byte(capped), store.ResetDaily.WindowStart(now).AddDate(0, 0, 1)); e == nil || e.Code != openai.CodeInsufficientCredit {
		t.Errorf("tomorrow the limit is fresh, the credit still gone: %+v", e)
	}
}

// TestLedger: billed answers reach the ledger, once; with the database
// away they spill to the file and are replayed, once, when it is back;
// Close writes what is queued.
func TestLedger(t *testing.T) {
	db, tn, spillPath := setup(t)
	ctx := context.Background()
	k, _ := mustKey(t, db, store.NewKey{Name: "k"})
	if err := db.AddCredit(ctx, "acme", store.FromDollars(10), "test"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rec := func(id string) store.UsageRecord {
		return store.UsageRecord{RequestID: id, KeyID: k.ID, WorkspaceID: k.WorkspaceID, Model: "m", Prompt: 10, Cost: store.FromDollars(1), Status: 200, StartedAt: now, FinishedAt: now}
	}
	db.down.Store(true)
	tn.Bill(rec("a"))
	tn.Bill(rec("b"))
	tn.Flush()
	if n := spilledRecords(t, spillPath); n != 2 {
		t.Fatalf("spilled %d records, want 2", n)
	}
	if err := tn.load(ctx); err != nil {
		t.Fatal(err)
	}
	if info := tn.Info(&Principal{Key: &k}); info.Balance != store.FromDollars(8) {
		t.Errorf("while spilled the balance is %v, want 8", info.Balance.Dollars())
	}
	db.down.Store(false)
	tn.replay(ctx)
	tn.replay(ctx) // a second replay writes nothing twice
	if n := spilledRecords(t, spillPath); n != 0 {
		t.Errorf("%d records left in the spill file", n)
	}

	// The database takes a batch but its answer is lost: the batch is
	// spilled, and its replay writes nothing twice.
	db.lostAck.Store(true)
	tn.Bill(rec("c"))
	tn.Flush()
	db.lostAck.Store(false)
	if n := spilledRecords(t, spillPath); n != 1 {
		t.Fatalf("spilled %d records after a lost answer, want 1", n)
	}
	tn.replay(ctx)

	tn.Bill(rec("a")) // the same request id again is another answer
	if err := tn.Close(); err != nil {
		t.Fatal(err)
	}
	tn.Bill(rec("late")) // an answer finished after Close goes to the file
	if n := spilledRecords(t, spillPath); n != 1 {
		t.Errorf("%d records spilled after Close, want 1", n)
	}
	if bal, _ := db.Balance(ctx, "acme"); bal != store.FromDollars(6) {
		t.Errorf("balance %v, want 6 (four answers of $1)", bal.Dollars())
	}
	rows, _ := db.Usage(ctx, store.UsageFilter{})
	if len(rows) != 1 || rows[0].Requests != 4 {
		t.Errorf("usage %+v", rows)
	}
}

// TestQueueBound: a queue at its bound is spilled whole, in one write,
// rather than grow or block; a full batch wakes the writer.
func TestQueueBound(t *testing.T) {
	spillPath := filepath.Join(t.TempDir(), "spill.jsonl")
	bound := batchSize + 100
	tn := newTenancy(Options{SpillPath: spillPath, QueueSize: bound})
	for i := range bound + 5 {
		tn.Bill(store.UsageRecord{RequestID: strconv.Itoa(i), KeyID: 1, WorkspaceID: 1, Model: "m", Cost: 1})
	}
	batches, err := readBatches(spillPath)
	if err != nil || len(batches) != 1 || len(batches[0].Records) != bound+1 || len(tn.queued) != 4 {
		t.Errorf("%d batches spilled (%v), %d queued; want the full queue and the answer that found it full in one, 4 queued after",
			len(batches), err, len(tn.queued))
	}
	select {
	case <-tn.kick:
	default:
		t.Error("a full batch did not wake the writer")
	}
	if tn.pendingWS[1] != store.USD(bound+5) {
		t.Errorf("pending %d, want every record's cost, spilled or queued", tn.pendingWS[1])
	}
}

// TestSpillSurvivesACutLine: a line cut by a crash does not take the
// batches appended after it down with it.
func TestSpillSurvivesACutLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "spill.jsonl")
	sp := &spill{path: path, n: -1}
	rec := store.UsageRecord{RequestID: "r", Model: "m", Cost: 1}
	if err := sp.write(store.Batch{ID: "one", Records: []store.UsageRecord{rec}}); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"ID":"cut","Records":[{"Req`)
	f.Close()
	if err := sp.write(store.Batch{ID: "two", Records: []store.UsageRecord{rec}}); err != nil {
		t.Fatal(err)
	}
	batches, err := sp.read()
	if err != nil || len(batches) != 2 || batches[0].ID != "one" || batches[1].ID != "two" {
		t.Errorf("read %+v (%v), want batches one and two", batches, err)
	}
}

func spilledRecords(t *testing.T, path string) int {
	t.Helper()
	batches, err := readBatches(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range batches {
		n += len(b.Records)
	}
	return n
}

// TestRefreshWithinOneSecond: a key created in the database (by the CLI
// or another replica) is taken within one refresh.
func TestRefreshWithinOneSecond(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(context.Background(), "sqlite://"+filepath.Join(dir, "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.Migrate(context.Background())
	_, _ = s.CreateWorkspace(context.Background(), "acme")
	_ = s.AddCredit(context.Background(), "acme", store.FromDollars(1), "")
	tn, err := Start(context.Background(), Options{Store: s, SpillPath: filepath.Join(dir, "spill")})
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	_, secret := mustKey(t, s, store.NewKey{Name: "new"})
	deadline := time.Now().Add(time.Second)
	for code(t, tn, secret, time.Now()) != "" {
		if time.Now().After(deadline) {
			t.Fatal("a new key was not taken within 1 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
