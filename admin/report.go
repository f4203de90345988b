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
// of one key when KeyID is set, by model or by key.
type UsageQuery struct {
	From, To time.Time
	KeyID    int64
	ByKey    bool
}

// MaxSeries is the most series a report draws: the rest are summed into
// one, "other", so that a chart stays readable.
const MaxSeries = 8

// Series is one model's (or key's) usage: a value per day of the report,
// and its totals over the range.
type Series struct {
	Name   string
	Cost   []store.USD
	Tokens []int64
	Totals Totals
}

// Totals are usage summed.
type Totals struct {
	Requests, Prompt, Output, Cached int64
	Cost                             store.USD
}

func (t *Totals) add(d store.DailyUsage) {
	t.Requests += d.Requests
	t.Prompt += d.Prompt
	t.Output += d.Completion
	t.Cached += d.Cached
	t.Cost += d.Cost
}

// UsageReport is usage per day, split into series.
type UsageReport struct {
	Days   []time.Time
	Series []Series // drawn: by spend, most first; "other" last
	All    []Series // every model or key, by spend
	// PerDay are each day's totals; Totals the range's.
	PerDay []Totals
	Totals Totals
}

// Usage reports usage in scope: one query, summed by the database from
// the daily sums the ledger keeps, however many records the range holds.
func (a *Service) Usage(ctx context.Context, sc Scope, q UsageQuery) (UsageReport, error) {
	from, to := day(q.From), day(q.To)
	switch {
	case to.Before(from):
		return UsageReport{}, input("the report ends (%s) before it starts (%s)", to.Format(time.DateOnly), from.Format(time.DateOnly))
	case to.Sub(from) >= MaxReportDays*24*time.Hour:
		return UsageReport{}, input("a report covers at most %d days", MaxReportDays)
	}
	rows, err := a.Store.DailyUsage(ctx, store.DailyFilter{WorkspaceID: sc.WorkspaceID, KeyID: q.KeyID, From: from, To: to, ByKey: q.ByKey})
	if err != nil {
		return UsageReport{}, err
	}
	r := UsageReport{}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		r.Days = append(r.Days, d)
	}
	r.PerDay = make([]Totals, len(r.Days))
	// Each name's rows, then the series by spend.
	index := map[string]int{}
	var all []Series
	for _, row := range rows {
		name := row.Model
		if q.ByKey {
			name = row.KeyName + " (" + row.KeyPrefix + ")"
		}
		i, ok := index[name]
		if !ok {
			i = len(all)
			index[name] = i
			all = append(all, Series{Name: name, Cost: make([]store.USD, len(r.Days)), Tokens: make([]int64, len(r.Days))})
		}
		d := int(row.Day.Sub(from) / (24 * time.Hour))
		all[i].Cost[d] += row.Cost
		all[i].Tokens[d] += row.Prompt + row.Completion
		all[i].Totals.add(row)
		r.PerDay[d].add(row)
		r.Totals.add(row)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Totals.Cost != all[j].Totals.Cost {
			return all[i].Totals.Cost > all[j].Totals.Cost
		}
		return all[i].Name < all[j].Name
	})
	r.All = all
	if len(all) > MaxSeries {
		other := Series{Name: "other", Cost: make([]store.USD, len(r.Days)), Tokens: make([]int64, len(r.Days))}
		for _, s := range all[MaxSeries-1:] {
			for d := range r.Days {
				other.Cost[d] += s.Cost[d]
				other.Tokens[d] += s.Tokens[d]
			}
			t := s.Totals
			other.Totals.Requests += t.Requests
			other.Totals.Prompt += t.Prompt
			other.Totals.Output += t.Output
			other.Totals.Cached += t.Cached
			other.Totals.Cost += t.Cost
		}
		all = append(all[:MaxSeries-1:MaxSeries-1], other)
	}
	r.Series = all
	return r, nil
}

// day is t's UTC day.
func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// Requests lists usage records in scope, newest first, a page at a time,
// and the Before of the next page (0 for none).
func (a *Service) Requests(ctx context.Context, sc Scope, f store.RequestFilter) ([]store.Request, int64, error) {
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
