package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opentoken/opentoken/internal/pgtest"
	"github.com/opentoken/opentoken/store"
)

func openTemp(t *testing.T) (store.Store, string) {
	t.Helper()
	url := "sqlite://" + filepath.Join(t.TempDir(), "opentoken.db")
	s, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, url
}

// TestSQLite runs the store suite on the embedded database.
func TestSQLite(t *testing.T) {
	s, url := openTemp(t)
	suite(t, s)
	// A second process on the same file sees the same data, and a
	// migration already applied is not applied again.
	again, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if err := again.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if keys, err := again.ListKeys(context.Background(), "acme"); err != nil || len(keys) != 4 {
		t.Errorf("another connection: %v, %d keys", err, len(keys))
	}
}

// TestConcurrentMigrations: replicas starting at once on a fresh database
// all succeed, and the schema is applied once.
func TestConcurrentMigrations(t *testing.T) {
	_, url := openTemp(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(context.Background(), url)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			errs <- s.Migrate(context.Background())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// suite is what every Store must do; each implementation runs it.
func suite(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("a second migration: %v", err)
	}
	responsesSuite(t, s)
	ws, err := s.CreateWorkspace(ctx, "acme")
	if err != nil || ws.ID == 0 {
		t.Fatal(err)
	}
	if _, err := s.CreateWorkspace(ctx, "acme"); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("a duplicate workspace: %v", err)
	}

	limit := store.FromDollars(1.5)
	expires := time.Now().Add(24 * time.Hour).Truncate(time.Millisecond)
	k1, secret, err := s.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "ci", ExpiresAt: &expires, SpendLimit: &limit, LimitReset: store.ResetDaily})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, store.KeyPrefix) || len(secret) != len(store.KeyPrefix)+43 || !strings.HasPrefix(secret, k1.Prefix) || k1.Hash == secret {
		t.Errorf("secret %q, key %+v", secret, k1)
	}
	got, err := s.KeyByHash(ctx, store.HashSecret(secret))
	if err != nil || got.ID != k1.ID || got.Workspace != "acme" || got.SpendLimit == nil || *got.SpendLimit != limit ||
		got.LimitReset != store.ResetDaily || got.ExpiresAt == nil || !got.ExpiresAt.Equal(expires) {
		t.Errorf("by hash: %v %+v", err, got)
	}
	if _, err := s.KeyByHash(ctx, store.HashSecret("sk-optk-nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown key: %v", err)
	}
	k2, _, err := s.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "batch"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateKey(ctx, store.NewKey{Workspace: "nobody", Name: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a key in no workspace: %v", err)
	}
	if _, _, err := s.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "x", SpendLimit: &limit}); err == nil {
		t.Error("a limit without a reset window was accepted")
	}
	if keys, err := s.ListKeys(ctx, ""); err != nil || len(keys) != 2 || keys[0].ID != k1.ID {
		t.Errorf("list: %v %+v", err, keys)
	}

	// Revoke by prefix, then by id; revoking twice is harmless. Each
	// change of the keys moves their version (gateways reload on it).
	v0, err := s.KeysVersion(ctx)
	if err != nil || v0 < 2 {
		t.Errorf("the keys' version after two keys: %d (%v)", v0, err)
	}
	revoked, err := s.RevokeKey(ctx, k2.Prefix)
	if err != nil || revoked.ID != k2.ID || revoked.RevokedAt == nil {
		t.Errorf("revoke by prefix: %v %+v", err, revoked)
	}
	if again, err := s.RevokeKey(ctx, strconv.FormatInt(k2.ID, 10)); err != nil || !again.RevokedAt.Equal(*revoked.RevokedAt) {
		t.Errorf("revoke again by id: %v", err)
	}
	if _, err := s.RevokeKey(ctx, "sk-optk-zzzzzz"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoke an unknown key: %v", err)
	}
	if v1, _ := s.KeysVersion(ctx); v1 != v0+1 {
		t.Errorf("the keys' version after one revocation (and a repeat): %d, want %d", v1, v0+1)
	}

	// Credit and debits: the balance is the signed sum.
	if err := s.AddCredit(ctx, "acme", store.FromDollars(10), "top-up"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	window := store.ResetDaily.WindowStart(now)
	recs := []store.UsageRecord{
		{RequestID: "req_1", KeyID: k1.ID, WorkspaceID: ws.ID, Model: "google/gemini-3-flash", Prompt: 100, Completion: 20, Cost: store.FromDollars(0.25), Status: 200, StartedAt: now, FinishedAt: now, WindowStart: window},
		{RequestID: "req_2", KeyID: k1.ID, WorkspaceID: ws.ID, Model: "anthropic/claude-haiku-4-5", Prompt: 50, Completion: 5, Cost: store.FromDollars(0.5), Status: 200, Partial: true, StartedAt: now, FinishedAt: now, WindowStart: window},
	}
	batch := store.Batch{ID: store.NewBatchID(), Records: recs}
	if err := s.Record(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// A replay (after a spill) writes nothing twice, alone or beside a
	// new batch.
	if err := s.Record(ctx, batch, batch); err != nil {
		t.Fatal(err)
	}
	if bal, err := s.Balance(ctx, "acme"); err != nil || bal != store.FromDollars(9.25) {
		t.Errorf("balance %v (%v), want 9.25", bal.Dollars(), err)
	}
	if b, err := s.Balances(ctx); err != nil || b[ws.ID] != store.FromDollars(9.25) {
		t.Errorf("balances: %v %v", b, err)
	}
	if sp, err := s.WindowSpends(ctx, window); err != nil || sp[k1.ID] != store.FromDollars(0.75) || len(sp) != 1 {
		t.Errorf("window spends: %v %v", sp, err)
	}
	if sp, err := s.WindowSpends(ctx, window.AddDate(0, 0, 1)); err != nil || len(sp) != 0 {
		t.Errorf("the next window's spends: %v %v", sp, err)
	}
	rows, err := s.Usage(ctx, store.UsageFilter{Workspace: "acme", Since: now.Add(-time.Hour)})
	if err != nil || len(rows) != 2 || rows[0].Model != "anthropic/claude-haiku-4-5" || rows[1].Prompt != 100 || rows[0].KeyPrefix != k1.Prefix {
		t.Errorf("usage: %v %+v", err, rows)
	}
	if rows, err := s.Usage(ctx, store.UsageFilter{KeyPrefix: k2.Prefix}); err != nil || len(rows) != 0 {
		t.Errorf("usage of a key that made none: %v %+v", err, rows)
	}
	// Two answers under one request id (a client's X-Request-Id) are two
	// records, each debited: the id is the client's, not the ledger's.
	r3 := store.UsageRecord{RequestID: "req_3", KeyID: k1.ID, WorkspaceID: ws.ID, Model: "m", Cost: store.FromDollars(0.05), Status: 200, StartedAt: now, FinishedAt: now, WindowStart: window}
	if err := s.Record(ctx, store.Batch{ID: store.NewBatchID(), Records: []store.UsageRecord{r3, r3}}, store.Batch{ID: store.NewBatchID(), Records: []store.UsageRecord{r3}}); err != nil {
		t.Fatal(err)
	}
	if bal, _ := s.Balance(ctx, "acme"); bal != store.FromDollars(9.1) {
		t.Errorf("balance %v after three answers under one request id, want 9.1", bal.Dollars())
	}
	if b, _ := s.Balances(ctx); b[ws.ID] != store.FromDollars(9.1) {
		t.Errorf("the kept balance %v, want 9.1", b[ws.ID].Dollars())
	}
	if rows, _ := s.Usage(ctx, store.UsageFilter{Workspace: "acme", Since: now.Add(-time.Hour)}); len(rows) != 3 || rows[2].Model != "m" || rows[2].Requests != 3 {
		t.Errorf("usage after three answers under one request id: %+v", rows)
	}

	// Batches of sizes from 1 to 297, 37 apart, go in whole: the
	// statements are of power-of-two rows, so each size takes its own mix
	// of them.
	before, _ := s.Balance(ctx, "acme")
	var want store.USD
	for n := 1; n <= 300; n += 37 {
		recs := make([]store.UsageRecord, n)
		for i := range recs {
			recs[i] = store.UsageRecord{RequestID: "req_n" + strconv.Itoa(i), KeyID: k2.ID, WorkspaceID: ws.ID, Model: "sized",
				Cost: store.USD(i % 3), Status: 200, StartedAt: now, FinishedAt: now} // some cost nothing: no debit
			want += recs[i].Cost
		}
		if err := s.Record(ctx, store.Batch{ID: store.NewBatchID(), Records: recs}); err != nil {
			t.Fatalf("a batch of %d: %v", n, err)
		}
	}
	if bal, _ := s.Balance(ctx, "acme"); before-bal != want {
		t.Errorf("batches of many sizes debited %d, want %d", before-bal, want)
	}
	var sized int64
	rows, _ = s.Usage(ctx, store.UsageFilter{Workspace: "acme", Since: now.Add(-time.Hour)})
	for _, r := range rows {
		if r.Model == "sized" {
			sized += r.Requests
		}
	}
	if sized != 1+38+75+112+149+186+223+260+297 {
		t.Errorf("batches of many sizes recorded %d records", sized)
	}
	reservations(t, s, ws.ID)
	consoleSuite(t, s)
	rateSuite(t, s)
}

// reservations: replicas share a limited key's budget without granting
// the same headroom twice; spending settles a reservation, releasing and
// expiry give it back.
func reservations(t *testing.T, s store.Store, wsID int64) {
	ctx := context.Background()
	limit := store.FromDollars(1)
	k, _, err := s.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "shared-limit", SpendLimit: &limit, LimitReset: store.ResetDaily})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	window := store.ResetDaily.WindowStart(now)
	alive := now.Add(time.Minute)
	at := func(replica string) store.Reservation {
		return store.Reservation{KeyID: k.ID, Window: window, Replica: replica}
	}
	reserve := func(replica string, want float64, expect float64) {
		t.Helper()
		got, err := s.Reserve(ctx, at(replica), store.FromDollars(want), alive)
		if err != nil || got != store.FromDollars(expect) {
			t.Errorf("%s reserving $%v: $%v (%v), want $%v", replica, want, got.Dollars(), err, expect)
		}
	}
	reserve("a", 0.6, 0.6)
	reserve("b", 0.6, 0.4) // what is left
	reserve("b", 0.1, 0)
	// a spends its $0.6 and $0.05 beyond it (an answer in flight when its
	// share ran out), which it will pay out of its next share: what is
	// left for others is the limit less what the live reservations were
	// given.
	spend := []store.UsageRecord{
		{RequestID: "r1", KeyID: k.ID, WorkspaceID: wsID, Model: "m", Cost: store.FromDollars(0.5), Reserved: true, StartedAt: now, FinishedAt: now, WindowStart: window},
		{RequestID: "r2", KeyID: k.ID, WorkspaceID: wsID, Model: "m", Cost: store.FromDollars(0.15), Reserved: true, StartedAt: now, FinishedAt: now, WindowStart: window},
	}
	if err := s.Record(ctx, store.Batch{ID: store.NewBatchID(), Replica: "a", Records: spend}); err != nil {
		t.Fatal(err)
	}
	reserve("c", 1, 0)
	if err := s.Release(ctx, at("b"), store.FromDollars(0.3)); err != nil {
		t.Fatal(err)
	}
	reserve("c", 1, 0.3) // 1 - 0.6 given to a - 0.1 still held by b
	// An answer billed without a reservation counts as it is recorded.
	if err := s.Record(ctx, store.Batch{ID: store.NewBatchID(), Replica: "e", Records: []store.UsageRecord{
		{RequestID: "r3", KeyID: k.ID, WorkspaceID: wsID, Model: "m", Cost: store.FromDollars(0.1), StartedAt: now, FinishedAt: now, WindowStart: window},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, at("c"), store.FromDollars(0.3)); err != nil {
		t.Fatal(err)
	}
	reserve("d", 1, 0.2) // 1 - 0.6 (a) - 0.1 (b) - 0.1 (e's answer)
	// A replica gone (its reservations not renewed) holds nothing: it
	// counts for what its recorded answers cost (b's: none).
	if err := s.Renew(ctx, "b", now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	reserve("f", 1, 0.1) // 1 - 0.6 (a) - 0.1 (e) - 0.2 (d)
	// A new window starts with the whole limit.
	if got, err := s.Reserve(ctx, store.Reservation{KeyID: k.ID, Window: window.AddDate(0, 0, 1), Replica: "a"}, limit, alive); err != nil || got != limit {
		t.Errorf("the next window: $%v (%v)", got.Dollars(), err)
	}
	unlimited, _, _ := s.CreateKey(ctx, store.NewKey{Workspace: "acme", Name: "unlimited"})
	if _, err := s.Reserve(ctx, store.Reservation{KeyID: unlimited.ID, Window: window, Replica: "a"}, 1, alive); err == nil {
		t.Error("a key without a limit was reserved from")
	}
	if _, err := s.Reserve(ctx, store.Reservation{KeyID: 1 << 40, Window: window, Replica: "a"}, 1, alive); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("reserving for an unknown key: %v", err)
	}
}

func TestWindows(t *testing.T) {
	at := time.Date(2026, 11, 26, 18, 30, 0, 0, time.UTC) // a Thursday
	for r, want := range map[store.Reset]time.Time{
		store.ResetDaily:   time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
		store.ResetWeekly:  time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
		store.ResetMonthly: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got := r.WindowStart(at); !got.Equal(want) {
			t.Errorf("%s: %v, want %v", r, got, want)
		}
	}
}

// TestPostgreSQL runs the store suite on a throwaway PostgreSQL cluster,
// and migrations from replicas starting at once.
func TestPostgreSQL(t *testing.T) {
	url := pgtest.Start(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			errs <- s.Migrate(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	suite(t, s)
}

// responsesSuite: stored responses are found by id within their scope
// until they expire, deleted once, and purged by age; a secret is drawn
// once and every later call, whatever it would draw, gets the first.
func responsesSuite(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	r := store.StoredResponse{ID: "resp_1", Scope: "workspace:1", Model: "google/gemini-3-flash", Created: now,
		Expires: now.Add(time.Hour), Body: []byte(`{"id":"resp_1"}`), History: []byte(`[{"role":"user","content":"hi"}]`)}
	if err := s.PutResponse(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := s.PutResponse(ctx, r); err == nil {
		t.Error("a response stored twice under one id")
	}
	got, err := s.GetResponse(ctx, "resp_1", "workspace:1", now)
	if err != nil || string(got.Body) != string(r.Body) || string(got.History) != string(r.History) || got.Model != r.Model || !got.Expires.Equal(r.Expires) {
		t.Errorf("GetResponse: %v %+v", err, got)
	}
	for name, get := range map[string]func() error{
		"another scope":          func() error { _, err := s.GetResponse(ctx, "resp_1", "workspace:2", now); return err },
		"expired":                func() error { _, err := s.GetResponse(ctx, "resp_1", "workspace:1", now.Add(2*time.Hour)); return err },
		"unknown":                func() error { _, err := s.GetResponse(ctx, "resp_2", "workspace:1", now); return err },
		"another scope's delete": func() error { return s.DeleteResponse(ctx, "resp_1", "workspace:2") },
	} {
		if err := get(); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	if err := s.DeleteResponse(ctx, "resp_1", "workspace:1"); err != nil {
		t.Error(err)
	}
	if err := s.DeleteResponse(ctx, "resp_1", "workspace:1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a second delete: %v", err)
	}
	old := r
	old.ID, old.Expires = "resp_old", now.Add(-time.Minute)
	if err := s.PutResponse(ctx, old); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PurgeResponses(ctx, now); err != nil || n != 1 {
		t.Errorf("PurgeResponses: %d %v", n, err)
	}
	first, err := s.Secret(ctx, "k", func() string { return "one" })
	if err != nil || first != "one" {
		t.Fatalf("Secret: %q %v", first, err)
	}
	if again, err := s.Secret(ctx, "k", func() string { return "two" }); err != nil || again != "one" {
		t.Errorf("Secret drawn again: %q %v", again, err)
	}
}
