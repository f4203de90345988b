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

// Refusals by name, for tables.
const (
	refusedInvalid  = "invalid"
	refusedExpired  = "expired"
	refusedNoCredit = "no credit"
	refusedLimit    = "limit"
)

// refusedFor names how Check refused, "" when it did not.
func refusedFor(err error) string {
	var expired *ExpiredError
	var noCredit *NoCreditError
	var limit *LimitError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrInvalidKey):
		return refusedInvalid
	case errors.As(err, &expired):
		return refusedExpired
	case errors.As(err, &noCredit):
		return refusedNoCredit
	case errors.As(err, &limit):
		return refusedLimit
	}
	return "unexpected: " + err.Error()
}

func code(t *testing.T, tn *Tenancy, secret string, now time.Time) string {
	t.Helper()
	_, err := tn.Check([]byte(secret), now)
	return refusedFor(err)
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
	if c := code(t, tn, plain, now); c != refusedNoCredit {
		t.Errorf("no credit: %q", c)
	}
	if err := db.AddCredit(ctx, "acme", store.FromDollars(5), "test"); err != nil {
		t.Fatal(err)
	}
	_ = tn.load(ctx)
	for secret, want := range map[string]string{
		plain: "", expiring: "", capped: "", revoked: refusedInvalid, "sk-optk-unknown0000000000000000000000000000000000000": refusedInvalid,
	} {
		if c := code(t, tn, secret, now); c != want {
			t.Errorf("%s: %q, want %q", secret[:14], c, want)
		}
	}
	if c := code(t, tn, expiring, soon.Add(time.Second)); c != refusedExpired {
		t.Errorf("past its expiry: %q", c)
	}
	// Billing is seen at once, before the ledger or a refresh has it.
	tn.Bill(&Principal{Key: &limited}, store.UsageRecord{RequestID: "r1", Model: "m", Cost: store.FromDollars(1), StartedAt: now, FinishedAt: now})
	_, err := tn.Check([]byte(capped), now)
	var limitErr *LimitError
	if !errors.As(err, &limitErr) || limitErr.RetryAfter(now) <= 0 || !limitErr.ResetAt.Equal(store.ResetDaily.WindowStart(now).AddDate(0, 0, 1)) {
		t.Errorf("over the limit: %v", err)
	}
	if c := code(t, tn, plain, now); c != "" {
		t.Errorf("another key of the workspace: %q", c)
	}
	tn.Bill(&Principal{Key: &limited}, store.UsageRecord{RequestID: "r2", Model: "m", Cost: store.FromDollars(4), StartedAt: now, FinishedAt: now})
	if c := code(t, tn, plain, now); c != refusedNoCredit {
		t.Errorf("the workspace spent its credit: %q", c)
	}
	// The next window resets the limit.
	if c := code(t, tn, capped, store.ResetDaily.WindowStart(now).AddDate(0, 0, 1)); c != refusedNoCredit {
		t.Errorf("tomorrow the limit is fresh, the credit still gone: %q", c)
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
		return store.UsageRecord{RequestID: id, Model: "m", Prompt: 10, Cost: store.FromDollars(1), Status: 200, StartedAt: now, FinishedAt: now}
	}
	db.down.Store(true)
	tn.Bill(&Principal{Key: &k}, rec("a"))
	tn.Bill(&Principal{Key: &k}, rec("b"))
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
	tn.Bill(&Principal{Key: &k}, rec("c"))
	tn.Flush()
	db.lostAck.Store(false)
	if n := spilledRecords(t, spillPath); n != 1 {
		t.Fatalf("spilled %d records after a lost answer, want 1", n)
	}
	tn.replay(ctx)

	tn.Bill(&Principal{Key: &k}, rec("a")) // the same request id again is another answer
	if err := tn.Close(); err != nil {
		t.Fatal(err)
	}
	tn.Bill(&Principal{Key: &k}, rec("late")) // an answer finished after Close goes to the file
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
	one := &Principal{Key: &store.Key{ID: 1, WorkspaceID: 1}}
	for i := range bound + 5 {
		tn.Bill(one, store.UsageRecord{RequestID: strconv.Itoa(i), Model: "m", Cost: 1})
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

// TestWrittenSpendStaysVisible: money the ledger took is seen by every
// check until a view read after the write holds it. Before, it left the
// pending sums as soon as it was written, and a key that had just been
// refused for its limit showed (and was checked against) the spend
// without that answer until the next refresh.
func TestWrittenSpendStaysVisible(t *testing.T) {
	db, tn, _ := setup(t)
	defer tn.Close()
	ctx := context.Background()
	if err := db.AddCredit(ctx, "acme", store.FromDollars(10), "test"); err != nil {
		t.Fatal(err)
	}
	limit := store.FromDollars(1)
	k, secret := mustKey(t, db, store.NewKey{Name: "capped", SpendLimit: &limit, LimitReset: store.ResetDaily})
	if err := tn.load(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tn.Bill(&Principal{Key: &k}, store.UsageRecord{RequestID: "r", Model: "m", Cost: limit, StartedAt: now, FinishedAt: now})
	tn.Flush() // in the ledger; the view (refreshed hourly here) is older
	if info := tn.Info(&Principal{Key: &k}); info.Spent != limit || info.Balance != store.FromDollars(9) {
		t.Errorf("after the write: spent $%v, balance $%v; want $1 and $9", info.Spent.Dollars(), info.Balance.Dollars())
	}
	if c := code(t, tn, secret, now); c != refusedLimit {
		t.Errorf("after the write, before a refresh: %q, want the limit", c)
	}
	if err := tn.load(ctx); err != nil {
		t.Fatal(err)
	}
	if info := tn.Info(&Principal{Key: &k}); info.Spent != limit || info.Balance != store.FromDollars(9) {
		t.Errorf("after a refresh: spent $%v, balance $%v; want $1 and $9 (counted once)", info.Spent.Dollars(), info.Balance.Dollars())
	}
	if len(tn.pendingKey) != 0 || len(tn.writtenKey) != 0 {
		t.Errorf("pending %v, written %v after the refresh; want both empty", tn.pendingKey, tn.writtenKey)
	}
}

// TestExcludedSecret: a secret the options exclude is refused as unknown
// whatever the database holds.
func TestExcludedSecret(t *testing.T) {
	db, tn, _ := setup(t)
	tn.Close()
	ctx := context.Background()
	if err := db.AddCredit(ctx, "acme", store.FromDollars(10), "test"); err != nil {
		t.Fatal(err)
	}
	const public = "sk-optk-public-demo"
	if _, _, err := db.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "demo", Secret: public}); err != nil {
		t.Fatal(err)
	}
	_, other := mustKey(t, db, store.NewKey{Name: "other"})
	tn, err := Start(ctx, Options{Store: db, SpillPath: filepath.Join(t.TempDir(), "s"), Refresh: time.Hour, Exclude: []string{public}})
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	if c := code(t, tn, public, time.Now()); c != refusedInvalid {
		t.Errorf("the excluded secret: %q, want invalid", c)
	}
	if c := code(t, tn, other, time.Now()); c != "" {
		t.Errorf("another key: %q", c)
	}
}

// TestAdmitAgain: a key admitted at a request's start is refused by
// Admit once answers billed meanwhile spent its limit (the check before a
// failover to a supplier priced differently).
func TestAdmitAgain(t *testing.T) {
	db, tn, _ := setup(t)
	defer tn.Close()
	ctx := context.Background()
	if err := db.AddCredit(ctx, "acme", store.FromDollars(10), "test"); err != nil {
		t.Fatal(err)
	}
	limit := store.FromDollars(1)
	k, secret := mustKey(t, db, store.NewKey{Name: "capped", SpendLimit: &limit, LimitReset: store.ResetDaily})
	if err := tn.load(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	p, err := tn.Check([]byte(secret), now)
	if err != nil {
		t.Fatal(err)
	}
	tn.Bill(&Principal{Key: &k}, store.UsageRecord{RequestID: "other", Model: "m", Cost: limit, StartedAt: now, FinishedAt: now})
	if refusedFor(tn.Admit(p, now)) != refusedLimit {
		t.Errorf("admitted again after the limit was spent: %v", tn.Admit(p, now))
	}
}
