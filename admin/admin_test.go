package admin_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/opentoken/opentoken/admin"
	"github.com/opentoken/opentoken/store"
)

func service(t *testing.T) *admin.Service {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return &admin.Service{Store: st, Now: func() time.Time { return time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC) }}
}

// TestInputIsChecked: what a flag or a form may hold wrong is refused
// with an InputError, before the database is asked.
func TestInputIsChecked(t *testing.T) {
	a := service(t)
	ctx := context.Background()
	if _, err := a.CreateWorkspace(ctx, admin.All, "acme"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []admin.KeyRequest{
		{Workspace: "acme"},
		{Workspace: "acme", Name: "x", Expires: "yesterday"},
		{Workspace: "acme", Name: "x", Expires: "2026-12-01T00:00:00Z"},
		{Workspace: "acme", Name: "x", Expires: "0d"},
		{Workspace: "acme", Name: "x", LimitUSD: "5"},
		{Workspace: "acme", Name: "x", LimitUSD: "-5", LimitReset: "daily"},
		{Workspace: "acme", Name: "x", LimitUSD: "NaN", LimitReset: "daily"},
		{Workspace: "acme", Name: "x", LimitUSD: "5", LimitReset: "hourly"},
		{Workspace: "acme", Name: "x", RPM: "-1"},
		{Workspace: "acme", Name: "x", TPM: "1e3"},
		{Workspace: "acme", Name: "x", MaxConcurrent: "two"},
	} {
		var ie *admin.InputError
		if _, _, err := a.CreateKey(ctx, admin.All, r); !errors.As(err, &ie) {
			t.Errorf("%+v: %v, want an InputError", r, err)
		}
	}
	for _, usd := range []float64{0, -1, 2e6} {
		var ie *admin.InputError
		if _, err := a.AddCredit(ctx, admin.All, "acme", usd); !errors.As(err, &ie) {
			t.Errorf("credit %v: %v", usd, err)
		}
	}
	k, _, err := a.CreateKey(ctx, admin.All, admin.KeyRequest{Workspace: "acme", Name: "ok", Expires: "2026-12-31T10:00", RPM: "60", LimitUSD: "2.5", LimitReset: "weekly"})
	if err != nil || k.ExpiresAt == nil || k.ExpiresAt.Format(time.RFC3339) != "2026-12-31T10:00:00Z" || k.RPM != 60 || *k.SpendLimit != store.FromDollars(2.5) {
		t.Errorf("a good key: %v %+v", err, k)
	}
	k, err = a.UpdateKey(ctx, admin.All, k.Prefix, admin.KeyChange{Expires: "never", LimitUSD: "none", TPM: "5000"})
	if err != nil || k.ExpiresAt != nil || k.SpendLimit != nil || k.RPM != 60 || k.TPM != 5000 {
		t.Errorf("an update: %v %+v", err, k)
	}
}

// TestScope: a user scoped to a workspace reaches nothing of another's.
func TestScope(t *testing.T) {
	a := service(t)
	ctx := context.Background()
	var keys []store.Key
	for _, ws := range []string{"acme", "globex"} {
		w, err := a.CreateWorkspace(ctx, admin.All, ws)
		if err != nil {
			t.Fatal(err)
		}
		_ = w
		k, _, err := a.CreateKey(ctx, admin.All, admin.KeyRequest{Workspace: ws, Name: ws + "-key"})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	acme := admin.Scope{WorkspaceID: keys[0].WorkspaceID, Workspace: "acme"}
	globex := keys[1]
	for name, err := range map[string]error{
		"create a workspace": func() error { _, err := a.CreateWorkspace(ctx, acme, "new"); return err }(),
		"credit another":     func() error { _, err := a.AddCredit(ctx, acme, "globex", 5); return err }(),
		"balance of another": func() error { _, err := a.Balance(ctx, acme, "globex"); return err }(),
		"a key in another": func() error {
			_, _, err := a.CreateKey(ctx, acme, admin.KeyRequest{Workspace: "globex", Name: "x"})
			return err
		}(),
		"list another's": func() error { _, err := a.Keys(ctx, acme, "globex"); return err }(),
		"admin tokens":   func() error { _, _, err := a.CreateAdminToken(ctx, acme, "x", ""); return err }(),
	} {
		if !errors.Is(err, admin.ErrForbidden) {
			t.Errorf("%s: %v, want ErrForbidden", name, err)
		}
	}
	for _, id := range []string{strconv.FormatInt(globex.ID, 10), globex.Prefix} {
		if _, err := a.RevokeKey(ctx, acme, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("revoking another's key by %s: %v, want not found", id, err)
		}
		if _, err := a.UpdateKey(ctx, acme, id, admin.KeyChange{RPM: "1"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("updating another's key by %s: %v, want not found", id, err)
		}
	}
	if list, _ := a.Keys(ctx, acme, ""); len(list) != 1 || list[0].Workspace != "acme" {
		t.Errorf("acme's keys: %+v", list)
	}
	if list, _ := a.Workspaces(ctx, acme); len(list) != 1 || list[0].Name != "acme" {
		t.Errorf("acme's workspaces: %+v", list)
	}
}

// TestUsageReport: a day per day of the range, the series by spend with
// the ninth and beyond summed as "other", and the totals.
func TestUsageReport(t *testing.T) {
	a := service(t)
	ctx := context.Background()
	if _, err := a.CreateWorkspace(ctx, admin.All, "acme"); err != nil {
		t.Fatal(err)
	}
	k, _, _ := a.CreateKey(ctx, admin.All, admin.KeyRequest{Workspace: "acme", Name: "k"})
	day := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	var recs []store.UsageRecord
	for m := range 10 {
		recs = append(recs, store.UsageRecord{RequestID: "r", KeyID: k.ID, WorkspaceID: k.WorkspaceID, Model: "model-" + strconv.Itoa(m),
			Prompt: 10, Completion: 1, Cost: store.USD(1000 * (m + 1)), Status: 200, StartedAt: day, FinishedAt: day.AddDate(0, 0, m%2)})
	}
	if err := a.Store.Record(ctx, store.Batch{ID: store.NewBatchID(), Records: recs}); err != nil {
		t.Fatal(err)
	}
	r, err := a.Usage(ctx, admin.All, admin.UsageQuery{From: day, To: day.AddDate(0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Days) != 3 || len(r.Series) != admin.MaxSeries || len(r.All) != 10 || r.Series[0].Name != "model-9" || r.Series[admin.MaxSeries-1].Name != "other" {
		t.Fatalf("the report: %d days, %d series (first %q), %d in all", len(r.Days), len(r.Series), r.Series[0].Name, len(r.All))
	}
	if other := r.Series[admin.MaxSeries-1].Totals.Cost; other != store.USD(1000*(1+2+3)) {
		t.Errorf("other: %v, want the three cheapest", other)
	}
	if r.Totals.Requests != 10 || r.Totals.Cost != 55000 || r.PerDay[0].Requests != 5 || r.PerDay[1].Requests != 5 || r.PerDay[2].Requests != 0 {
		t.Errorf("totals %+v per day %+v", r.Totals, r.PerDay)
	}
	var ie *admin.InputError
	if _, err := a.Usage(ctx, admin.All, admin.UsageQuery{From: day, To: day.AddDate(0, 0, -1)}); !errors.As(err, &ie) {
		t.Errorf("a range ending before it starts: %v", err)
	}
	if _, err := a.Usage(ctx, admin.All, admin.UsageQuery{From: day.AddDate(-2, 0, 0), To: day}); !errors.As(err, &ie) {
		t.Errorf("two years: %v", err)
	}
}
