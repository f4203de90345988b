package store_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/opentoken/opentoken/store"
)

// consoleSuite: key updates, the daily sums the ledger keeps, the
// request pages and the admin tokens, on either database.
func consoleSuite(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, ws := range []string{"console-a", "console-b"} {
		if _, err := s.CreateWorkspace(ctx, ws); err != nil {
			t.Fatal(err)
		}
	}
	ka, _, err := s.CreateKey(ctx, store.NewKey{Workspace: "console-a", Name: "a", Rates: store.Rates{RPM: 10, TPM: 1000, MaxConcurrent: 2}})
	if err != nil {
		t.Fatal(err)
	}
	kb, _, err := s.CreateKey(ctx, store.NewKey{Workspace: "console-b", Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateKey(ctx, store.NewKey{Workspace: "console-a", Name: "neg", Rates: store.Rates{RPM: -1}}); err == nil {
		t.Error("a negative rate was stored")
	}

	// Updates: each field set replaces the key's; the version moves.
	v0, _ := s.KeysVersion(ctx)
	rpm, limit := int64(0), store.FromDollars(3)
	exp := time.Now().Add(48 * time.Hour)
	k, err := s.UpdateKey(ctx, ka.Prefix, store.KeyUpdate{RPM: &rpm, SpendLimit: &limit, LimitReset: store.ResetWeekly, ExpiresAt: &exp})
	if err != nil || k.RPM != 0 || k.TPM != 1000 || k.MaxConcurrent != 2 || k.SpendLimit == nil || *k.SpendLimit != limit || k.ExpiresAt == nil {
		t.Fatalf("update: %v %+v", err, k)
	}
	if v1, _ := s.KeysVersion(ctx); v1 == v0 {
		t.Error("an update did not move the keys' version")
	}
	k, err = s.UpdateKey(ctx, "1"+"0000000", store.KeyUpdate{NoExpiry: true})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("updating no key: %v", err)
	}
	k, _ = s.UpdateKey(ctx, ka.Prefix, store.KeyUpdate{NoExpiry: true, NoSpendLimit: true})
	keys, _ := s.ListKeys(ctx, "console-a")
	if len(keys) != 1 || keys[0].ExpiresAt != nil || keys[0].SpendLimit != nil || keys[0].TPM != 1000 {
		t.Errorf("after removing the expiry and the limit: %+v", keys)
	}
	if _, err := s.UpdateKey(ctx, ka.Prefix, store.KeyUpdate{SpendLimit: &limit}); err == nil {
		t.Error("a spend limit without its window was stored")
	}

	// Found by id or prefix, within a workspace when one is named.
	for _, ref := range []string{kb.Prefix, strconv.FormatInt(kb.ID, 10)} {
		if k, err := s.FindKey(ctx, ref, "console-b"); err != nil || k.ID != kb.ID {
			t.Errorf("FindKey(%s) in its workspace: %v %+v", ref, err, k)
		}
		if _, err := s.FindKey(ctx, ref, "console-a"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FindKey(%s) in another workspace: %v", ref, err)
		}
	}

	// The ledger's daily sums, by model and by key, within a workspace.
	day1 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	var recs []store.UsageRecord
	add := func(k store.Key, model string, at time.Time, status int, cost float64) {
		recs = append(recs, store.UsageRecord{RequestID: "r", KeyID: k.ID, WorkspaceID: k.WorkspaceID, Model: model, Prompt: 100, Completion: 10,
			Cached: 5, Cost: store.FromDollars(cost), Status: status, StartedAt: at, FinishedAt: at})
	}
	add(ka, "m1", day1, 200, 0.01)
	add(ka, "m1", day1.Add(time.Hour), 200, 0.02)
	add(ka, "m2", day2, 500, 0.04)
	add(kb, "m1", day2, 200, 0.08)
	if err := s.Record(ctx, store.Batch{ID: store.NewBatchID(), Records: recs[:2]}, store.Batch{ID: store.NewBatchID(), Records: recs[2:]}); err != nil {
		t.Fatal(err)
	}
	byModel, err := s.DailyUsage(ctx, store.DailyFilter{From: day1, To: day2})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		day      string
		name     string
		requests int64
		cost     store.USD
	}
	var got []row
	for _, d := range byModel {
		got = append(got, row{d.Day.Format(time.DateOnly), d.Model, d.Requests, d.Cost})
	}
	want := []row{{"2026-11-30", "m1", 2, store.FromDollars(0.03)}, {"2026-12-01", "m1", 1, store.FromDollars(0.08)}, {"2026-12-01", "m2", 1, store.FromDollars(0.04)}}
	if len(got) != len(want) {
		t.Fatalf("daily usage by model: %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("daily usage by model, row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	byKey, _ := s.DailyUsage(ctx, store.DailyFilter{From: day2, To: day2, ByKey: true, WorkspaceID: ka.WorkspaceID})
	if len(byKey) != 1 || byKey[0].KeyID != ka.ID || byKey[0].KeyName != "a" || byKey[0].Cost != store.FromDollars(0.04) || byKey[0].Prompt != 100 || byKey[0].Cached != 5 {
		t.Errorf("daily usage by key in one workspace: %+v", byKey)
	}

	// Requests: newest first, a page at a time, filtered.
	page, more, _ := s.Requests(ctx, store.RequestFilter{Limit: 2})
	if len(page) != 2 || more != page[1].ID || page[0].KeyID != kb.ID || page[0].Workspace != "console-b" || page[1].Status != 500 {
		t.Fatalf("the first page: %+v", page)
	}
	next, _, _ := s.Requests(ctx, store.RequestFilter{Limit: 2, Before: page[1].ID})
	if len(next) != 2 || next[0].ID >= page[1].ID || next[1].Model != "m1" {
		t.Errorf("the next page: %+v", next)
	}
	for _, f := range []store.RequestFilter{{Status: 500}, {Model: "m2"}, {KeyID: ka.ID, Model: "m2"}} {
		if l, more, _ := s.Requests(ctx, f); len(l) != 1 || l[0].Model != "m2" || more != 0 {
			t.Errorf("filter %+v: %+v", f, l)
		}
	}
	if l, _, _ := s.Requests(ctx, store.RequestFilter{WorkspaceID: kb.WorkspaceID}); len(l) != 1 || l[0].KeyID != kb.ID {
		t.Errorf("one workspace's requests: %+v", l)
	}

	// A page reads a bounded stretch of the ledger: a rare filter's pages
	// are short, and lead on until the ledger's start.
	undo := store.SetRequestScan(2)
	var seen []int64
	before := int64(0)
	for pages := 0; pages < 100; pages++ {
		l, more, err := s.Requests(ctx, store.RequestFilter{Status: 500, Before: before})
		if err != nil || len(l) > 1 {
			t.Fatalf("a page of 2 rows read: %v %+v", err, l)
		}
		for _, r := range l {
			seen = append(seen, r.ID)
		}
		if more == 0 {
			break
		}
		if before != 0 && more >= before {
			t.Fatalf("the next page (%d) is not older than this one (%d)", more, before)
		}
		before = more
	}
	undo()
	if len(seen) != 1 {
		t.Errorf("paging with a rare filter found %v, want the one 500", seen)
	}

	// Workspaces with their balance and keys.
	list, _ := s.Workspaces(ctx, ka.WorkspaceID)
	if len(list) != 1 || list[0].Name != "console-a" || list[0].Keys != 1 || list[0].Balance != -store.FromDollars(0.07) {
		t.Errorf("one workspace: %+v", list)
	}

	// Admin tokens: hashed, scoped, revoked.
	tok, secret, err := s.CreateAdminToken(ctx, "lead", "console-a")
	if err != nil || tok.WorkspaceID != ka.WorkspaceID || len(secret) < 40 || tok.Prefix != secret[:len(tok.Prefix)] {
		t.Fatalf("an admin token: %v %+v", err, tok)
	}
	if _, _, err := s.CreateAdminToken(ctx, "x", "nowhere"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a token for no workspace: %v", err)
	}
	if found, err := s.AdminTokenByHash(ctx, store.HashSecret(secret)); err != nil || found.ID != tok.ID || found.Workspace != "console-a" {
		t.Errorf("by hash: %v %+v", err, found)
	}
	if _, err := s.RevokeAdminToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		func() error { _, err := s.AdminTokenByHash(ctx, store.HashSecret(secret)); return err }(),
		func() error { _, err := s.AdminTokenByID(ctx, tok.ID); return err }(),
		func() error { _, err := s.RevokeAdminToken(ctx, tok.ID); return err }(),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a revoked token: %v", err)
		}
	}
}

// rateSuite: rate reservations never hold more than the limit together,
// are per window, and slots given back are free again.
func rateSuite(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.CreateWorkspace(ctx, "rates"); err != nil {
		t.Fatal(err)
	}
	k, _, err := s.CreateKey(ctx, store.NewKey{Workspace: "rates", Name: "r", Rates: store.Rates{RPM: 10}})
	if err != nil {
		t.Fatal(err)
	}
	minute := time.Now().Truncate(time.Minute)
	end := minute.Add(2 * time.Minute)
	a := store.RateReservation{KeyID: k.ID, Kind: store.RateRequests, Window: minute, Replica: "a"}
	b := a
	b.Replica = "b"
	for _, step := range []struct {
		r         store.RateReservation
		want, got int64
	}{{a, 4, 4}, {b, 4, 4}, {a, 4, 2}, {b, 1, 0}} {
		if got, err := s.ReserveRate(ctx, step.r, step.want, 10, end); err != nil || got != step.got {
			t.Errorf("%s asks %d: got %d, %v; want %d", step.r.Replica, step.want, got, err, step.got)
		}
	}
	next := a
	next.Window = minute.Add(time.Minute)
	if got, _ := s.ReserveRate(ctx, next, 10, 10, end); got != 10 {
		t.Errorf("the next minute: %d, want all 10", got)
	}
	// Slots: given back, free for another replica; a replica gone (its
	// reservation expired) holds none.
	sa := store.RateReservation{KeyID: k.ID, Kind: store.RateSlots, Replica: "a"}
	sb := sa
	sb.Replica = "b"
	if got, _ := s.ReserveRate(ctx, sa, 3, 3, time.Now().Add(time.Hour)); got != 3 {
		t.Fatalf("slots: %d", got)
	}
	if got, _ := s.ReserveRate(ctx, sb, 1, 3, time.Now().Add(time.Hour)); got != 0 {
		t.Errorf("slots over the limit: %d", got)
	}
	if err := s.ReleaseRate(ctx, sa, 2); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ReserveRate(ctx, sb, 3, 3, time.Now().Add(-time.Millisecond)); got != 2 {
		t.Errorf("slots given back: %d, want 2", got)
	}
	if got, _ := s.ReserveRate(ctx, sa, 3, 3, time.Now().Add(time.Hour)); got != 2 {
		t.Errorf("once b's reservation expired: %d, want 2", got)
	}
}
