package tenancy

import (
	"context"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/opentoken/opentoken/store"
)

// replicas starts n Tenancies on one database, as n gateways on one
// PostgreSQL would be (SQLite here: the lease rules are the database's
// transactions, the same on both).
func replicas(t *testing.T, n int) (*flaky, []*Tenancy) {
	t.Helper()
	db, first, _ := setup(t)
	tns := []*Tenancy{first}
	for i := 1; i < n; i++ {
		tn, err := Start(context.Background(), Options{Store: db, SpillPath: filepath.Join(t.TempDir(), "spill"), Refresh: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		tns = append(tns, tn)
	}
	t.Cleanup(func() {
		for _, tn := range tns {
			tn.Close()
		}
	})
	return db, tns
}

// TestLeasesShareALimit: replicas billing one limited key in turn spend
// its limit, and past it only what each had admitted when its share ran
// out — here one answer each, however stale their views are (they are
// never refreshed in this test).
func TestLeasesShareALimit(t *testing.T) {
	db, tns := replicas(t, 3)
	ctx := context.Background()
	if err := db.AddCredit(ctx, "acme", store.FromDollars(100), "test"); err != nil {
		t.Fatal(err)
	}
	limit := store.FromDollars(1)
	k, secret := mustKey(t, db, store.NewKey{Name: "shared", SpendLimit: &limit, LimitReset: store.ResetDaily})
	for _, tn := range tns {
		if err := tn.load(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cost := store.FromDollars(0.03)
	var spent store.USD
	refused := 0
	for i := 0; refused < len(tns) && i < 1000; i++ {
		tn := tns[i%len(tns)]
		now := time.Now()
		if _, err := tn.Check([]byte(secret), now); err != nil {
			if refusedFor(err) != refusedLimit {
				t.Fatalf("refused with %v", err)
			}
			refused++
			continue
		}
		refused = 0
		tn.Bill(&Principal{Key: &k}, store.UsageRecord{RequestID: "r", Model: "m", Cost: cost,
			StartedAt: now, FinishedAt: now})
		spent += cost
	}
	if spent < limit || spent > limit+store.USD(len(tns))*cost {
		t.Errorf("spent $%v of a $1 limit on %d replicas, want at least the limit and at most one answer each past it", spent.Dollars(), len(tns))
	}
	for _, tn := range tns {
		tn.Flush()
	}
	if got, _ := db.WindowSpends(ctx, store.ResetDaily.WindowStart(time.Now())); got[k.ID] != spent {
		t.Errorf("the ledger has $%v spent, the replicas billed $%v", got[k.ID].Dollars(), spent.Dollars())
	}
}

// TestIdleLeasesGoBack: a replica that stopped billing a key gives its
// share back at the next refresh, so another may spend the whole limit;
// a replica that closes gives back what it holds.
func TestIdleLeasesGoBack(t *testing.T) {
	db, tns := replicas(t, 2)
	a, b := tns[0], tns[1]
	ctx := context.Background()
	_ = db.AddCredit(ctx, "acme", store.FromDollars(100), "test")
	limit := store.FromDollars(1)
	k, secret := mustKey(t, db, store.NewKey{Name: "shared", SpendLimit: &limit, LimitReset: store.ResetDaily})
	_ = a.load(ctx)
	_ = b.load(ctx)
	window := store.ResetDaily.WindowStart(time.Now())
	if _, e := a.Check([]byte(secret), time.Now()); e != nil {
		t.Fatal(e)
	}
	free := func() store.USD {
		got, err := db.Reserve(ctx, store.Reservation{KeyID: k.ID, Window: window, Replica: "probe"}, limit, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		_ = db.Release(ctx, store.Reservation{KeyID: k.ID, Window: window, Replica: "probe"}, got)
		return got
	}
	if got := free(); got != limit-limit/leaseParts {
		t.Errorf("while a holds a share, $%v is free, want $%v", got.Dollars(), (limit - limit/leaseParts).Dollars())
	}
	a.tendLeases(ctx, time.Now()) // a has billed nothing since it reserved
	if got := free(); got != limit {
		t.Errorf("after a's idle share went back, $%v is free, want the whole limit", got.Dollars())
	}
	if _, e := b.Check([]byte(secret), time.Now()); e != nil {
		t.Fatal(e)
	}
	b.Close()
	if got := free(); got != limit {
		t.Errorf("after b closed, $%v is free, want the whole limit", got.Dollars())
	}

	// a spends past its share (an answer in flight when it ran out), then
	// goes idle: its debt is closed with its lease, not forgiven to
	// whoever reserves next.
	if _, e := a.Check([]byte(secret), time.Now()); e != nil {
		t.Fatal(e)
	}
	now := time.Now()
	a.Bill(&Principal{Key: &k}, store.UsageRecord{RequestID: "over", Model: "m", Cost: limit / leaseParts * 2,
		StartedAt: now, FinishedAt: now})
	a.Flush()
	a.tendLeases(ctx, now) // billed since the last: kept
	a.tendLeases(ctx, now) // idle: closed
	if got := free(); got != limit-limit/leaseParts*2 {
		t.Errorf("after a's lease closed in debt, $%v is free, want the limit less what a spent ($%v)", got.Dollars(), (limit - limit/leaseParts*2).Dollars())
	}
}

// TestReleaseRetried: a share that could not be given back is kept, and
// given back at the next refresh.
func TestReleaseRetried(t *testing.T) {
	db, tns := replicas(t, 1)
	a := tns[0]
	ctx := context.Background()
	_ = db.AddCredit(ctx, "acme", store.FromDollars(100), "test")
	limit := store.FromDollars(1)
	k, secret := mustKey(t, db, store.NewKey{Name: "shared", SpendLimit: &limit, LimitReset: store.ResetDaily})
	_ = a.load(ctx)
	if _, e := a.Check([]byte(secret), time.Now()); e != nil {
		t.Fatal(e)
	}
	window := store.ResetDaily.WindowStart(time.Now())
	probe := store.Reservation{KeyID: k.ID, Window: window, Replica: "probe"}
	free := func() store.USD {
		got, err := db.Reserve(ctx, probe, limit, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		_ = db.Store.Release(ctx, probe, got) // the probe's own release never fails
		return got
	}
	db.releaseDown.Store(true)
	a.tendLeases(ctx, time.Now())
	if got := free(); got != limit-limit/leaseParts {
		t.Errorf("after a failed release, $%v is free, want $%v", got.Dollars(), (limit - limit/leaseParts).Dollars())
	}
	if _, e := a.Check([]byte(secret), time.Now()); e != nil { // the kept share still admits
		t.Fatal(e)
	}
	db.releaseDown.Store(false)
	a.tendLeases(ctx, time.Now())
	if got := free(); got != limit {
		t.Errorf("after the release was retried, $%v is free, want the whole limit", got.Dollars())
	}
}

// TestLeasesWithoutTheDatabase: while no share can be reserved, the view
// and the replica's own bills decide, as without leases.
func TestLeasesWithoutTheDatabase(t *testing.T) {
	db, tn, _ := setup(t)
	defer tn.Close()
	ctx := context.Background()
	_ = db.AddCredit(ctx, "acme", store.FromDollars(100), "test")
	limit := store.FromDollars(1)
	k, secret := mustKey(t, db, store.NewKey{Name: "capped", SpendLimit: &limit, LimitReset: store.ResetDaily})
	_ = tn.load(ctx)
	db.reserveDown.Store(true)
	now := time.Now()
	if _, e := tn.Check([]byte(secret), now); e != nil {
		t.Fatalf("with the database away, a key under its limit: %v", e)
	}
	tn.Bill(&Principal{Key: &k}, store.UsageRecord{RequestID: "r", Model: "m", Cost: limit,
		StartedAt: now, FinishedAt: now})
	if c := code(t, tn, secret, now); c != refusedLimit {
		t.Errorf("with the database away, a key at its limit: %q", c)
	}
}

// TestLeasesUnderRace: many requests at once on several replicas, each
// billed as it ends, while refreshes close idle leases, spend past the
// limit at most what the requests in flight cost.
func TestLeasesUnderRace(t *testing.T) {
	db, tns := replicas(t, 3)
	ctx := context.Background()
	_ = db.AddCredit(ctx, "acme", store.FromDollars(100), "test")
	limit := store.FromDollars(1)
	k, secret := mustKey(t, db, store.NewKey{Name: "raced", SpendLimit: &limit, LimitReset: store.ResetDaily})
	for _, tn := range tns {
		_ = tn.load(ctx)
	}
	const inFlight = 48 // goroutines, each one request at a time
	cost := store.FromDollars(0.003)
	var mu sync.Mutex
	var spent store.USD
	var wg sync.WaitGroup
	for g := range inFlight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tn := tns[g%len(tns)]
			// Requests keep coming after the limit is reached, as they
			// would from clients.
			for range 200 {
				now := time.Now()
				if _, e := tn.Check([]byte(secret), now); e != nil {
					continue
				}
				runtime.Gosched() // a request's time upstream: others run
				tn.Bill(&Principal{Key: &k}, store.UsageRecord{RequestID: "r", Model: "m", Cost: cost,
					StartedAt: now, FinishedAt: now})
				mu.Lock()
				spent += cost
				mu.Unlock()
			}
		}()
	}
	// Meanwhile the ledger is written and refreshes close idle leases,
	// debts included.
	stop := make(chan struct{})
	tended := make(chan struct{})
	go func() {
		defer close(tended)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, tn := range tns {
				tn.Flush()
				tn.tendLeases(ctx, time.Now())
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-tended
	t.Logf("spent $%v of a $1 limit, %d requests in flight", spent.Dollars(), inFlight)
	if spent > limit+inFlight*cost {
		t.Errorf("spent $%v of a $1 limit, more than the %d requests in flight cost past it", spent.Dollars(), inFlight)
	}
}
