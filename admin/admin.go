// Package admin is what an operator does to the gateway's tenancy:
// workspaces, credit, keys and their limits, admin tokens, and the usage
// reports. The command line and the web console both call it, so that
// every console action is a command too, with the same checks and the
// same words in its errors.
//
// A Scope confines a console user to one workspace: what it reads and
// changes of any other is ErrForbidden, as if it did not exist.
package admin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/opentoken/opentoken/store"
)

// ErrForbidden refuses what lies outside a scoped user's workspace.
var ErrForbidden = errors.New("outside this token's workspace")

// InputError is input refused before the database is asked: a value that
// is malformed or out of range, told in the words a form or flag shows.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func input(format string, args ...any) error { return &InputError{Msg: fmt.Sprintf(format, args...)} }

// Scope is who acts: every workspace (WorkspaceID 0: an operator, an
// unscoped admin token) or one.
type Scope struct {
	WorkspaceID int64
	Workspace   string
}

// All is the operator's scope.
var All = Scope{}

// Scoped reports whether the scope is one workspace.
func (s Scope) Scoped() bool { return s.WorkspaceID != 0 }

// allows reports whether the scope may act on workspace name.
func (s Scope) allows(name string) bool { return !s.Scoped() || s.Workspace == name }

// Service is the admin operations on one database.
type Service struct {
	Store store.Store
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

func (a *Service) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Workspaces lists the workspaces in scope, with their balances.
func (a *Service) Workspaces(ctx context.Context, sc Scope) ([]store.WorkspaceSummary, error) {
	return a.Store.Workspaces(ctx, sc.WorkspaceID)
}

// CreateWorkspace creates one; a scoped user may not.
func (a *Service) CreateWorkspace(ctx context.Context, sc Scope, name string) (store.Workspace, error) {
	if sc.Scoped() {
		return store.Workspace{}, ErrForbidden
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return store.Workspace{}, input("a workspace needs a name")
	}
	return a.Store.CreateWorkspace(ctx, name)
}

// AddCredit adds credit in dollars and returns the new balance.
func (a *Service) AddCredit(ctx context.Context, sc Scope, workspace string, usd float64) (store.USD, error) {
	switch {
	case workspace == "":
		return 0, input("adding credit needs a workspace")
	case !sc.allows(workspace):
		return 0, ErrForbidden
	case math.IsNaN(usd) || math.IsInf(usd, 0) || usd <= 0:
		return 0, input("credit is a positive amount of USD; %v is not", usd)
	case usd > 1e6:
		return 0, input("$%v at once is more than $1,000,000; add it in parts", usd)
	}
	if err := a.Store.AddCredit(ctx, workspace, store.FromDollars(usd), "credits add"); err != nil {
		return 0, err
	}
	return a.Store.Balance(ctx, workspace)
}

// Balance is a workspace's credit.
func (a *Service) Balance(ctx context.Context, sc Scope, workspace string) (store.USD, error) {
	if !sc.allows(workspace) {
		return 0, ErrForbidden
	}
	return a.Store.Balance(ctx, workspace)
}

// KeyRequest is a key to create, as typed: flags or a form's fields.
type KeyRequest struct {
	Workspace, Name string
	// Expires is an RFC 3339 time, a count of days ("30d"), or "".
	Expires string
	// LimitUSD and LimitReset set a spend limit, both or neither.
	LimitUSD   string
	LimitReset string
	// RPM, TPM and MaxConcurrent are counts, "" or "0" for none.
	RPM, TPM, MaxConcurrent string
}

// CreateKey issues a key; its secret is returned once, here.
func (a *Service) CreateKey(ctx context.Context, sc Scope, r KeyRequest) (store.Key, string, error) {
	nk := store.NewKey{Workspace: strings.TrimSpace(r.Workspace), Name: strings.TrimSpace(r.Name)}
	switch {
	case nk.Workspace == "" || nk.Name == "":
		return store.Key{}, "", input("a key needs a workspace and a name")
	case !sc.allows(nk.Workspace):
		return store.Key{}, "", ErrForbidden
	}
	now := a.now()
	if r.Expires != "" {
		t, err := ParseExpiry(r.Expires, now)
		if err != nil {
			return store.Key{}, "", err
		}
		nk.ExpiresAt = &t
	}
	var err error
	if nk.SpendLimit, nk.LimitReset, err = parseSpendLimit(r.LimitUSD, r.LimitReset); err != nil {
		return store.Key{}, "", err
	}
	rpm, tpm, maxConcurrent, err := parseRates(r.RPM, r.TPM, r.MaxConcurrent)
	if err != nil {
		return store.Key{}, "", err
	}
	nk.Rates = store.Rates{RPM: orZero(rpm), TPM: orZero(tpm), MaxConcurrent: orZero(maxConcurrent)}
	return a.Store.CreateKey(ctx, nk)
}

// KeyChange is a change to a key, as typed; an empty field is left as
// it is. Expires "never" removes the expiry, LimitUSD "none" the spend
// limit, a rate "0" that rate.
type KeyChange struct {
	Expires                 string
	LimitUSD, LimitReset    string
	RPM, TPM, MaxConcurrent string
}

// UpdateKey changes the key with this id or prefix.
func (a *Service) UpdateKey(ctx context.Context, sc Scope, idOrPrefix string, c KeyChange) (store.Key, error) {
	k, err := a.findKey(ctx, sc, idOrPrefix)
	if err != nil {
		return store.Key{}, err
	}
	var u store.KeyUpdate
	switch c.Expires {
	case "":
	case "never":
		u.NoExpiry = true
	default:
		t, err := ParseExpiry(c.Expires, a.now())
		if err != nil {
			return store.Key{}, err
		}
		u.ExpiresAt = &t
	}
	switch {
	case c.LimitUSD == "none":
		u.NoSpendLimit = true
	case c.LimitUSD != "" || c.LimitReset != "":
		if u.SpendLimit, u.LimitReset, err = parseSpendLimit(c.LimitUSD, c.LimitReset); err != nil {
			return store.Key{}, err
		}
	}
	if u.RPM, u.TPM, u.MaxConcurrent, err = parseRates(c.RPM, c.TPM, c.MaxConcurrent); err != nil {
		return store.Key{}, err
	}
	return a.Store.UpdateKey(ctx, strconv.FormatInt(k.ID, 10), u)
}

// RevokeKey revokes the key with this id or prefix.
func (a *Service) RevokeKey(ctx context.Context, sc Scope, idOrPrefix string) (store.Key, error) {
	k, err := a.findKey(ctx, sc, idOrPrefix)
	if err != nil {
		return store.Key{}, err
	}
	return a.Store.RevokeKey(ctx, strconv.FormatInt(k.ID, 10))
}

// Keys lists the keys in scope, of one workspace when named.
func (a *Service) Keys(ctx context.Context, sc Scope, workspace string) ([]store.Key, error) {
	if sc.Scoped() {
		if workspace != "" && workspace != sc.Workspace {
			return nil, ErrForbidden
		}
		workspace = sc.Workspace
	}
	return a.Store.ListKeys(ctx, workspace)
}

// findKey finds a key in scope by id or prefix: one outside it is not
// found, as one that does not exist.
func (a *Service) findKey(ctx context.Context, sc Scope, idOrPrefix string) (store.Key, error) {
	idOrPrefix = strings.TrimSpace(idOrPrefix)
	if idOrPrefix == "" {
		return store.Key{}, input("which key? give its id or prefix")
	}
	return a.Store.FindKey(ctx, idOrPrefix, sc.Workspace)
}

// ParseExpiry reads an expiry: an RFC 3339 time, or a count of days
// ("30d") from now. One in the past is refused: the key would never work.
func ParseExpiry(s string, now time.Time) (time.Time, error) {
	var t time.Time
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 36500 {
			return t, input("expiry %q: want an RFC 3339 time or a number of days such as 30d", s)
		}
		t = now.Add(time.Duration(n) * 24 * time.Hour)
	} else {
		var err error
		if t, err = time.Parse(time.RFC3339, s); err != nil {
			// A browser's datetime-local field sends minutes, no zone: UTC.
			if t, err = time.Parse("2006-01-02T15:04", s); err != nil {
				return t, input("expiry %q: want an RFC 3339 time or a number of days such as 30d", s)
			}
		}
	}
	if !t.After(now) {
		return t, input("expiry %s is in the past: the key would never work", s)
	}
	return t, nil
}

// parseSpendLimit reads a spend limit: both an amount and a window, or
// neither.
func parseSpendLimit(usd, reset string) (*store.USD, store.Reset, error) {
	if usd == "" && reset == "" {
		return nil, store.ResetNone, nil
	}
	d, err := strconv.ParseFloat(usd, 64)
	r, ok := store.ParseReset(reset)
	if err != nil || !ok || math.IsNaN(d) || math.IsInf(d, 0) || d <= 0 {
		return nil, store.ResetNone, input("a spend limit is a positive amount of USD and a window, daily, weekly or monthly, both")
	}
	l := store.FromDollars(d)
	return &l, r, nil
}

// parseRates reads the rate limits as typed; a field left empty is nil.
func parseRates(rpm, tpm, maxConcurrent string) (rpmN, tpmN, maxConcurrentN *int64, err error) {
	for _, f := range []struct {
		flag, v string
		dst     **int64
	}{{"rpm", rpm, &rpmN}, {"tpm", tpm, &tpmN}, {"max-concurrent", maxConcurrent, &maxConcurrentN}} {
		if f.v == "" {
			continue
		}
		n, err := parseCount(f.flag, f.v)
		if err != nil {
			return nil, nil, nil, err
		}
		*f.dst = &n
	}
	return rpmN, tpmN, maxConcurrentN, nil
}

func orZero(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}

// parseCount reads a rate: a whole number, 0 for none.
func parseCount(name, v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 || n > 1e12 {
		return 0, input("%s %q: want a whole number, 0 for no limit", name, v)
	}
	return n, nil
}
