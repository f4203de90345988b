package admin

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/matrix"
	"github.com/opentoken/opentoken/store"
)

// MaxReportDays bounds a usage report's range.
const MaxReportDays = 366

// UsageQuery asks for usage from one UTC day to another, both included,
// of one key when KeyID is set, grouped by model or by key.
type UsageQuery struct {
	From, To time.Time
	KeyID    int64
	ByKey    bool
}

// Series is one model's (or key's) figures, a value per day of the
// report.
type Series struct {
	Name   string
	Cost   []store.USD
	Tokens []int64
}

// UsageReport is usage per day, split into series, and the rows it was
// summed from.
type UsageReport struct {
	Days   []time.Time
	Series []Series
	Rows   []store.DailyUsage
	// Totals over the range.
	Cost                     store.USD
	Requests, Prompt, Output int64
}

// Usage reports usage in scope. It reads the daily sums the ledger keeps:
// one query, however many records the range holds.
func (a *Service) Usage(ctx context.Context, sc Scope, q UsageQuery) (UsageReport, error) {
	from, to := day(q.From), day(q.To)
	switch {
	case to.Before(from):
		return UsageReport{}, input("the report ends (%s) before it starts (%s)", to.Format(time.DateOnly), from.Format(time.DateOnly))
	case to.Sub(from) > MaxReportDays*24*time.Hour:
		return UsageReport{}, input("a report covers at most %d days", MaxReportDays)
	}
	rows, err := a.Store.DailyUsage(ctx, store.DailyFilter{WorkspaceID: sc.WorkspaceID, KeyID: q.KeyID, From: from, To: to})
	if err != nil {
		return UsageReport{}, err
	}
	r := UsageReport{Rows: rows}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		r.Days = append(r.Days, d)
	}
	index := map[string]int{}
	for _, row := range rows {
		name := row.Model
		if q.ByKey {
			name = row.KeyName + " (" + row.KeyPrefix + ")"
		}
		i, ok := index[name]
		if !ok {
			i = len(r.Series)
			index[name] = i
			r.Series = append(r.Series, Series{Name: name, Cost: make([]store.USD, len(r.Days)), Tokens: make([]int64, len(r.Days))})
		}
		d := int(row.Day.Sub(from) / (24 * time.Hour))
		r.Series[i].Cost[d] += row.Cost
		r.Series[i].Tokens[d] += row.Prompt + row.Completion
		r.Cost += row.Cost
		r.Requests += row.Requests
		r.Prompt += row.Prompt
		r.Output += row.Completion
	}
	sort.Slice(r.Series, func(i, j int) bool { return r.Series[i].Name < r.Series[j].Name })
	return r, nil
}

// day is t's UTC day.
func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// Requests lists usage records in scope, newest first, a page at a time.
func (a *Service) Requests(ctx context.Context, sc Scope, f store.RequestFilter) ([]store.Request, error) {
	f.WorkspaceID = sc.WorkspaceID
	return a.Store.Requests(ctx, f)
}

// ModelInfo is a model as the console lists it.
type ModelInfo struct {
	ID, Name, Kind string
	Suppliers      []string
	Pricing        matrix.Pricing
	ContextLength  int
}

// Models lists the models the gateway serves, with their suppliers and
// prices per million tokens.
func Models() []ModelInfo {
	var out []ModelInfo
	for _, m := range generated.Models {
		if m.Retired != nil {
			continue
		}
		info := ModelInfo{ID: m.ID, Name: m.Name, Pricing: m.Pricing, ContextLength: m.ContextLength, Kind: "chat"}
		if m.Embedding != nil {
			info.Kind = "embeddings"
		}
		for _, s := range m.Supplies {
			name := s.Kind.String()
			if len(s.Locations) > 0 {
				name += " (" + strings.Join(s.Locations, ", ") + ")"
			}
			info.Suppliers = append(info.Suppliers, name)
		}
		out = append(out, info)
	}
	return out
}

// CreateAdminToken issues a console sign-in token, for every workspace or
// for one; only an unscoped user may.
func (a *Service) CreateAdminToken(ctx context.Context, sc Scope, name, workspace string) (store.AdminToken, string, error) {
	if sc.Scoped() {
		return store.AdminToken{}, "", ErrForbidden
	}
	if strings.TrimSpace(name) == "" {
		return store.AdminToken{}, "", input("an admin token needs a name")
	}
	return a.Store.CreateAdminToken(ctx, strings.TrimSpace(name), strings.TrimSpace(workspace))
}

// AdminTokens lists the admin tokens; only an unscoped user may.
func (a *Service) AdminTokens(ctx context.Context, sc Scope) ([]store.AdminToken, error) {
	if sc.Scoped() {
		return nil, ErrForbidden
	}
	return a.Store.ListAdminTokens(ctx)
}

// RevokeAdminToken revokes one; only an unscoped user may.
func (a *Service) RevokeAdminToken(ctx context.Context, sc Scope, id int64) (store.AdminToken, error) {
	if sc.Scoped() {
		return store.AdminToken{}, ErrForbidden
	}
	return a.Store.RevokeAdminToken(ctx, id)
}

// SignIn finds the admin token a secret is, and the scope it gives.
func (a *Service) SignIn(ctx context.Context, secret string) (store.AdminToken, Scope, error) {
	if !strings.HasPrefix(secret, store.AdminTokenPrefix) || len(secret) > 128 {
		return store.AdminToken{}, Scope{}, store.ErrNotFound
	}
	t, err := a.Store.AdminTokenByHash(ctx, store.HashSecret(secret))
	if err != nil {
		return store.AdminToken{}, Scope{}, err
	}
	return t, Scope{WorkspaceID: t.WorkspaceID, Workspace: t.Workspace}, nil
}

// Session finds the admin token a console session was signed in with,
// still unrevoked, and its scope.
func (a *Service) Session(ctx context.Context, tokenID int64) (store.AdminToken, Scope, error) {
	t, err := a.Store.AdminTokenByID(ctx, tokenID)
	if err != nil {
		return store.AdminToken{}, Scope{}, err
	}
	return t, Scope{WorkspaceID: t.WorkspaceID, Workspace: t.Workspace}, nil
}
