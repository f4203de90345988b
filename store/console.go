package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Console is what the web console and the admin commands read and
// change beyond what the gateway itself needs. A filter's WorkspaceID,
// when set, confines what it reads to that workspace (a console user
// scoped to it).
type Console interface {
	// FindKey finds the one key with this id or secret prefix, of
	// workspace when one is named: a key of another is not found.
	FindKey(ctx context.Context, idOrPrefix, workspace string) (Key, error)
	// Workspaces lists the workspaces with their balance and keys.
	Workspaces(ctx context.Context, workspaceID int64) ([]WorkspaceSummary, error)
	// DailyUsage is usage summed per UTC day and model (or key, with
	// f.ByKey), oldest first, summed by the database from the daily sums
	// the ledger keeps as it is written.
	DailyUsage(ctx context.Context, f DailyFilter) ([]DailyUsage, error)
	// Requests lists usage records newest first, a page at a time, and
	// the Before of the next page (0 at the ledger's start). A page scans
	// at most RequestScan records by row id, so it costs the same however
	// long the ledger and however rare its filter: a rare filter's page
	// may hold fewer records than its Limit, or none, and still have a
	// next one.
	Requests(ctx context.Context, f RequestFilter) ([]Request, int64, error)
	// CreateAdminToken issues a console sign-in token, scoped to a
	// workspace when one is named, and returns its secret, which is
	// stored only as a hash.
	CreateAdminToken(ctx context.Context, name, workspace string) (AdminToken, string, error)
	// AdminTokenByHash finds an unrevoked admin token by its secret's
	// hash, and AdminTokenByID by its id; both answer ErrNotFound for
	// any other.
	AdminTokenByHash(ctx context.Context, hash string) (AdminToken, error)
	AdminTokenByID(ctx context.Context, id int64) (AdminToken, error)
	ListAdminTokens(ctx context.Context) ([]AdminToken, error)
	RevokeAdminToken(ctx context.Context, id int64) (AdminToken, error)
}

// WorkspaceSummary is a workspace with its credit and keys.
type WorkspaceSummary struct {
	Workspace
	Balance    USD
	Keys       int64 // active: neither revoked nor expired
	RevokedKey int64
}

// DailyFilter selects daily usage: days From to To, both UTC days and
// both included.
type DailyFilter struct {
	WorkspaceID, KeyID int64
	From, To           time.Time
	ByKey              bool
}

// DailyUsage is one model's use on one UTC day (Model set), or one
// key's (KeyID, KeyPrefix and KeyName set).
type DailyUsage struct {
	Day                       time.Time
	KeyID                     int64
	KeyPrefix, KeyName, Model string
	Requests, Prompt          int64
	Completion, Cached        int64
	Cost                      USD
}

// RequestScan is the most usage records a page of Requests reads.
const RequestScan = 200_000

// requestScan is RequestScan, which a test makes small.
var requestScan int64 = RequestScan

// RequestFilter selects usage records. Before, when set, is the ID the
// page ends before; Limit bounds the page.
type RequestFilter struct {
	WorkspaceID, KeyID int64
	Model              string
	Status             int
	Before             int64
	Limit              int
}

// Request is one usage record as the console lists it.
type Request struct {
	ID                            int64
	RequestID                     string
	KeyID                         int64
	KeyPrefix, KeyName, Workspace string
	Model                         string
	Prompt, Completion, Cached    int64
	Cost                          USD
	Status                        int
	Partial                       bool
	StartedAt, FinishedAt         time.Time
}

// AdminToken is a console user's sign-in token, as stored.
type AdminToken struct {
	ID          int64
	Name        string
	Prefix      string
	WorkspaceID int64 // 0: every workspace
	Workspace   string
	CreatedAt   time.Time
	RevokedAt   *time.Time
}

// AdminTokenPrefix starts every admin token.
const AdminTokenPrefix = "ot-admin-"

// Workspaces implements Console.
func (s *sqlStore) Workspaces(ctx context.Context, workspaceID int64) ([]WorkspaceSummary, error) {
	q := `SELECT w.id, w.name, w.created_at, COALESCE(b.balance, 0),
		(SELECT COUNT(*) FROM keys k WHERE k.workspace_id = w.id AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?)),
		(SELECT COUNT(*) FROM keys k WHERE k.workspace_id = w.id AND k.revoked_at IS NOT NULL)
		FROM workspaces w LEFT JOIN balances b ON b.workspace_id = w.id`
	args := []any{time.Now().UnixMilli()}
	if workspaceID != 0 {
		q += ` WHERE w.id = ?`
		args = append(args, workspaceID)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+` ORDER BY w.name`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []WorkspaceSummary
	for rows.Next() {
		var w WorkspaceSummary
		var created, balance int64
		if err := rows.Scan(&w.ID, &w.Name, &created, &balance, &w.Keys, &w.RevokedKey); err != nil {
			return nil, err
		}
		w.CreatedAt, w.Balance = time.UnixMilli(created), USD(balance)
		out = append(out, w)
	}
	return out, rows.Err()
}

// DailyUsage implements Console. The primary key (day, key, model) and
// the index (workspace, day) find a range's rows; the database sums them.
func (s *sqlStore) DailyUsage(ctx context.Context, f DailyFilter) ([]DailyUsage, error) {
	// Summed first, then named: the keys are joined to the groups, not
	// to every row.
	col := `model`
	if f.ByKey {
		col = `key_id`
	}
	inner := `SELECT day, ` + col + `, CAST(SUM(requests) AS BIGINT) r, CAST(SUM(prompt_tokens) AS BIGINT) p,
		CAST(SUM(completion_tokens) AS BIGINT) c, CAST(SUM(cached_tokens) AS BIGINT) ca, CAST(SUM(cost) AS BIGINT) co
		FROM usage_daily WHERE day >= ? AND day <= ?`
	args := []any{dayOf(f.From), dayOf(f.To)}
	if f.WorkspaceID != 0 {
		inner += ` AND workspace_id = ?`
		args = append(args, f.WorkspaceID)
	}
	if f.KeyID != 0 {
		inner += ` AND key_id = ?`
		args = append(args, f.KeyID)
	}
	inner += ` GROUP BY day, ` + col
	q := `SELECT g.day, 0, '', '', g.model, g.r, g.p, g.c, g.ca, g.co FROM (` + inner + `) g ORDER BY g.day, g.model`
	if f.ByKey {
		q = `SELECT g.day, g.key_id, k.prefix, k.name, '', g.r, g.p, g.c, g.ca, g.co FROM (` + inner + `) g
			JOIN keys k ON k.id = g.key_id ORDER BY g.day, g.key_id`
	}
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DailyUsage
	for rows.Next() {
		var d DailyUsage
		var day, cost int64
		if err := rows.Scan(&day, &d.KeyID, &d.KeyPrefix, &d.KeyName, &d.Model, &d.Requests, &d.Prompt, &d.Completion, &d.Cached, &cost); err != nil {
			return nil, err
		}
		d.Day, d.Cost = time.UnixMilli(day).UTC(), USD(cost)
		out = append(out, d)
	}
	return out, rows.Err()
}

// Requests implements Console. The ledger has no index but its row id
// (every index would cost each billed answer's write): a page reads the
// rows below Before by id, newest first, until it has Limit records or
// has read RequestScan rows.
func (s *sqlStore) Requests(ctx context.Context, f RequestFilter) ([]Request, int64, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	before := f.Before
	if before <= 0 {
		if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM usage`).Scan(&before); err != nil {
			return nil, 0, err
		}
	}
	floor := max(before-requestScan, 0)
	where := []string{`u.id < ?`, `u.id >= ?`}
	args := []any{before, floor}
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.WorkspaceID != 0 {
		add(`u.workspace_id = ?`, f.WorkspaceID)
	}
	if f.KeyID != 0 {
		add(`u.key_id = ?`, f.KeyID)
	}
	if f.Model != "" {
		add(`u.model = ?`, f.Model)
	}
	if f.Status != 0 {
		add(`u.status = ?`, f.Status)
	}
	q := `SELECT u.id, u.request_id, u.key_id, k.prefix, k.name, w.name, u.model, u.prompt_tokens, u.completion_tokens, u.cached_tokens,
		u.cost, u.status, u.partial, u.started_at, u.finished_at
		FROM usage u JOIN keys k ON k.id = u.key_id JOIN workspaces w ON w.id = u.workspace_id
		WHERE ` + strings.Join(where, ` AND `) + ` ORDER BY u.id DESC LIMIT ?`
	rows, err := s.db.QueryContext(ctx, s.q(q), append(args, limit)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		var r Request
		var cost, started, finished int64
		if err := rows.Scan(&r.ID, &r.RequestID, &r.KeyID, &r.KeyPrefix, &r.KeyName, &r.Workspace, &r.Model, &r.Prompt, &r.Completion, &r.Cached,
			&cost, &r.Status, &r.Partial, &started, &finished); err != nil {
			return nil, 0, err
		}
		r.Cost, r.StartedAt, r.FinishedAt = USD(cost), time.UnixMilli(started), time.UnixMilli(finished)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	next := floor
	if len(out) == limit {
		next = out[len(out)-1].ID
	}
	if next <= 1 {
		next = 0 // row ids start at 1: nothing is older
	}
	return out, next, nil
}

// CreateAdminToken implements Console.
func (s *sqlStore) CreateAdminToken(ctx context.Context, name, workspace string) (AdminToken, string, error) {
	if strings.TrimSpace(name) == "" {
		return AdminToken{}, "", errors.New("an admin token needs a name")
	}
	t := AdminToken{Name: name, Workspace: workspace}
	var ws any
	if workspace != "" {
		id, err := s.workspaceID(ctx, s.db, workspace)
		if err != nil {
			return AdminToken{}, "", err
		}
		t.WorkspaceID, ws = id, id
	}
	secret, err := NewSecret()
	if err != nil {
		return AdminToken{}, "", err
	}
	secret = AdminTokenPrefix + strings.TrimPrefix(secret, KeyPrefix)
	t.Prefix, t.CreatedAt = secret[:len(AdminTokenPrefix)+6], time.UnixMilli(time.Now().UnixMilli())
	err = s.db.QueryRowContext(ctx, s.q(`INSERT INTO admin_tokens (name, prefix, hash, workspace_id, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
		name, t.Prefix, HashSecret(secret), ws, t.CreatedAt.UnixMilli()).Scan(&t.ID)
	if err != nil {
		return AdminToken{}, "", err
	}
	return t, secret, nil
}

const adminTokenColumns = `t.id, t.name, t.prefix, COALESCE(t.workspace_id, 0), COALESCE(w.name, ''), t.created_at, t.revoked_at
	FROM admin_tokens t LEFT JOIN workspaces w ON w.id = t.workspace_id`

func scanAdminToken(row interface{ Scan(...any) error }) (AdminToken, error) {
	var t AdminToken
	var created int64
	var revoked sql.NullInt64
	if err := row.Scan(&t.ID, &t.Name, &t.Prefix, &t.WorkspaceID, &t.Workspace, &created, &revoked); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return t, &failure{"no such admin token", ErrNotFound}
		}
		return t, err
	}
	t.CreatedAt = time.UnixMilli(created)
	if revoked.Valid {
		r := time.UnixMilli(revoked.Int64)
		t.RevokedAt = &r
	}
	return t, nil
}

// AdminTokenByHash implements Console.
func (s *sqlStore) AdminTokenByHash(ctx context.Context, hash string) (AdminToken, error) {
	return scanAdminToken(s.db.QueryRowContext(ctx, s.q(`SELECT `+adminTokenColumns+` WHERE t.hash = ? AND t.revoked_at IS NULL`), hash))
}

// AdminTokenByID implements Console.
func (s *sqlStore) AdminTokenByID(ctx context.Context, id int64) (AdminToken, error) {
	return scanAdminToken(s.db.QueryRowContext(ctx, s.q(`SELECT `+adminTokenColumns+` WHERE t.id = ? AND t.revoked_at IS NULL`), id))
}

// ListAdminTokens implements Console.
func (s *sqlStore) ListAdminTokens(ctx context.Context) ([]AdminToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+adminTokenColumns+` ORDER BY t.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AdminToken
	for rows.Next() {
		t, err := scanAdminToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAdminToken implements Console.
func (s *sqlStore) RevokeAdminToken(ctx context.Context, id int64) (AdminToken, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`), time.Now().UnixMilli(), id)
	if err != nil {
		return AdminToken{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return AdminToken{}, &failure{fmt.Sprintf("no admin token %d, or it is revoked already", id), ErrNotFound}
	}
	return scanAdminToken(s.db.QueryRowContext(ctx, s.q(`SELECT `+adminTokenColumns+` WHERE t.id = ?`), id))
}
