package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	// SQLite in pure Go, registered as "sqlite3": SQLite's own code
	// compiled to WebAssembly and translated to Go, without cgo. Chosen
	// over modernc.org/sqlite for the ledger's inserts: 16% less per
	// record, since a bind does not take a connection mutex
	// (bench/RESULTS-tenancy.md).
	"github.com/ncruces/go-sqlite3"
	_ "github.com/ncruces/go-sqlite3/driver"
)

// Open opens the database of a URL: sqlite:///path/to/opentoken.db.
func Open(ctx context.Context, rawURL string) (Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	switch u.Scheme {
	case "sqlite":
		return openSQLite(ctx, u.Path)
	case "postgres", "postgresql":
		return openPostgres(ctx, rawURL, u)
	}
	return nil, fmt.Errorf("database URL scheme %q: want sqlite:///path/to/opentoken.db or postgres://user@host/db", u.Scheme)
}

// sqlStore is a Store on database/sql, for both databases: they differ in
// their schema, how a migration is serialised, placeholders and one date
// function, which the dialect holds.
type sqlStore struct {
	db *sql.DB
	d  *dialect

	mu    sync.Mutex
	stmts map[int]*sql.Stmt // the ledger's inserts by their count of rows, prepared once each
}

// dialect is what differs between the databases.
type dialect struct {
	name       string
	migrations []string
	// lock serialises migrations within their transaction.
	lock string
	// dollar: placeholders are $1, $2 rather than ?.
	dollar bool
	// day formats a millisecond timestamp column as YYYY-MM-DD (UTC).
	day func(col string) string
	// unique reports a unique-constraint violation, by the driver's code.
	unique func(error) bool
	// hasTable is a query of one placeholder, a table's name, answering
	// whether the table exists.
	hasTable string
	// forUpdate ends a SELECT that locks the rows it reads until the
	// transaction ends (SQLite's write transaction locks everything).
	forUpdate string
	// debitsInInsert: the statement inserting usage rows inserts their
	// debits too (PostgreSQL's data-modifying WITH). Otherwise (SQLite,
	// whose write transaction excludes every other writer) a batch's
	// debits are made from the rows after the largest id before it.
	debitsInInsert bool
}

// q writes a query in the dialect's placeholders: each ? outside a
// quoted literal or identifier becomes $1, $2, … in order.
func (s *sqlStore) q(query string) string {
	if !s.d.dollar {
		return query
	}
	var b strings.Builder
	n := 0
	var quote byte // the quote of the literal or identifier we are in, 0 outside
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote { // a doubled quote closes and reopens: the same
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

var sqliteDialect = &dialect{
	name:       "sqlite",
	migrations: sqliteMigrations,
	day:        func(col string) string { return "strftime('%Y-%m-%d', " + col + " / 1000, 'unixepoch')" },
	unique:     func(err error) bool { return errors.Is(err, sqlite3.CONSTRAINT_UNIQUE) },
	hasTable:   `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)`,
}

func openSQLite(ctx context.Context, path string) (*sqlStore, error) {
	if path == "" {
		return nil, errors.New("the sqlite URL has no path: want sqlite:///path/to/opentoken.db")
	}
	// Writers take the lock when a transaction begins (immediate), and wait
	// for one another rather than fail: two processes may share the file.
	dsn := "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return &sqlStore{db: db, d: sqliteDialect}, nil
}

// sqliteMigrations are the schema's versions, applied in order, each
// once. Append; never edit one that has shipped. postgresMigrations build
// the same tables and columns (TestSchemasAgree checks). Every index
// costs each billed answer's write, so the ledger's tables have none but
// their row ids: a batch's id admits its records once, reports scan
// usage by time, and the console pages through it by row id.
var sqliteMigrations = []string{
	// 1: workspaces, keys, the credit ledger and usage.
	`CREATE TABLE workspaces (
		id INTEGER PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE keys (
		id INTEGER PRIMARY KEY,
		workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
		name TEXT NOT NULL,
		prefix TEXT NOT NULL,
		hash TEXT NOT NULL UNIQUE,
		created_at INTEGER NOT NULL,
		expires_at INTEGER,
		revoked_at INTEGER,
		spend_limit INTEGER,
		limit_reset TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX keys_prefix ON keys(prefix);
	CREATE TABLE credit_ledger (
		id INTEGER PRIMARY KEY,
		workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
		amount INTEGER NOT NULL,
		request_id TEXT,
		note TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL
	);
	CREATE TABLE usage (
		id INTEGER PRIMARY KEY,
		request_id TEXT NOT NULL UNIQUE,
		key_id INTEGER NOT NULL,
		workspace_id INTEGER NOT NULL,
		model TEXT NOT NULL,
		prompt_tokens INTEGER NOT NULL,
		completion_tokens INTEGER NOT NULL,
		cached_tokens INTEGER NOT NULL,
		cache_write_tokens INTEGER NOT NULL,
		reasoning_tokens INTEGER NOT NULL,
		cost INTEGER NOT NULL,
		status INTEGER NOT NULL,
		partial INTEGER NOT NULL,
		started_at INTEGER NOT NULL,
		finished_at INTEGER NOT NULL
	);
	CREATE TABLE balances (
		workspace_id INTEGER PRIMARY KEY,
		balance INTEGER NOT NULL
	);
	CREATE TABLE key_spend (
		key_id INTEGER NOT NULL,
		window_start INTEGER NOT NULL,
		spent INTEGER NOT NULL,
		PRIMARY KEY (key_id, window_start)
	);`,
	// 2: the ledger is written exactly once per batch rather than per
	// request id: a request id may be the client's own X-Request-Id, so
	// two answers can share one, and both are billed. SQLite drops a
	// column's UNIQUE only by rebuilding the table. Replicas reserve
	// shares of a limited key's budget, and reload the keys only when
	// their version moved. A debit names its usage row (whose request id
	// and model it copied before).
	`CREATE TABLE ledger_batches (
		id TEXT PRIMARY KEY,
		written_at INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE usage_v2 (
		id INTEGER PRIMARY KEY,
		request_id TEXT NOT NULL,
		key_id INTEGER NOT NULL,
		workspace_id INTEGER NOT NULL,
		model TEXT NOT NULL,
		prompt_tokens INTEGER NOT NULL,
		completion_tokens INTEGER NOT NULL,
		cached_tokens INTEGER NOT NULL,
		cache_write_tokens INTEGER NOT NULL,
		reasoning_tokens INTEGER NOT NULL,
		cost INTEGER NOT NULL,
		status INTEGER NOT NULL,
		partial INTEGER NOT NULL,
		started_at INTEGER NOT NULL,
		finished_at INTEGER NOT NULL
	);
	INSERT INTO usage_v2 SELECT * FROM usage;
	DROP TABLE usage;
	ALTER TABLE usage_v2 RENAME TO usage;
	CREATE TABLE key_reservations (
		key_id INTEGER NOT NULL,
		window_start INTEGER NOT NULL,
		replica TEXT NOT NULL,
		amount INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		PRIMARY KEY (key_id, window_start, replica)
	);
	CREATE TABLE keys_version (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		version INTEGER NOT NULL
	);
	INSERT INTO keys_version (id, version) VALUES (1, 0);
	ALTER TABLE credit_ledger ADD COLUMN usage_id INTEGER;`,
	// 3: the Responses door's stored responses (store: true), found by id
	// within their scope and purged by age, and the gateway's own secrets
	// (its sealing key, drawn once and shared by its replicas).
	`CREATE TABLE responses (
		id TEXT PRIMARY KEY,
		scope TEXT NOT NULL,
		model TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		body TEXT NOT NULL,
		history TEXT NOT NULL
	);
	CREATE INDEX responses_expires ON responses (expires_at);
	CREATE TABLE gateway_secrets (
		name TEXT PRIMARY KEY,
		value TEXT NOT NULL
	);`,
	// 4: per-key request-rate limits and the replicas' shares of them;
	// the console's admin tokens; usage summed per day, key and model as
	// the ledger is written (a usage page reads this, never the ledger).
	// The ledger itself gains no index: the console pages through it by
	// row id (Requests), so a billed answer's write costs what it did.
	`ALTER TABLE keys ADD COLUMN rpm INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE keys ADD COLUMN tpm INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE keys ADD COLUMN max_concurrent INTEGER NOT NULL DEFAULT 0;
	CREATE TABLE rate_reservations (
		key_id INTEGER NOT NULL,
		kind TEXT NOT NULL,
		window_start INTEGER NOT NULL,
		replica TEXT NOT NULL,
		amount INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		PRIMARY KEY (key_id, kind, window_start, replica)
	);
	CREATE TABLE admin_tokens (
		id INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		prefix TEXT NOT NULL,
		hash TEXT NOT NULL UNIQUE,
		workspace_id INTEGER REFERENCES workspaces(id),
		created_at INTEGER NOT NULL,
		revoked_at INTEGER
	);
	CREATE TABLE usage_daily (
		day INTEGER NOT NULL,
		key_id INTEGER NOT NULL,
		model TEXT NOT NULL,
		workspace_id INTEGER NOT NULL,
		requests INTEGER NOT NULL,
		prompt_tokens INTEGER NOT NULL,
		completion_tokens INTEGER NOT NULL,
		cached_tokens INTEGER NOT NULL,
		cost INTEGER NOT NULL,
		PRIMARY KEY (day, key_id, model)
	);
	INSERT INTO usage_daily (day, key_id, model, workspace_id, requests, prompt_tokens, completion_tokens, cached_tokens, cost)
		SELECT finished_at / 86400000 * 86400000, key_id, model, MIN(workspace_id), COUNT(*), SUM(prompt_tokens),
			SUM(completion_tokens), SUM(cached_tokens), SUM(cost)
		FROM usage GROUP BY 1, 2, 3;
	CREATE INDEX usage_daily_workspace ON usage_daily (workspace_id, day);
	CREATE INDEX usage_daily_key ON usage_daily (key_id, day);
`,
}

// Migrate implements Store. The version table is read and written in one
// immediate transaction: a second process starting at the same time
// waits, then finds the work done.
func (s *sqlStore) Migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrating the schema: %w", err)
	}
	defer tx.Rollback()
	if s.d.lock != "" {
		if _, err := tx.ExecContext(ctx, s.d.lock); err != nil {
			return fmt.Errorf("migrating the schema: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrating the schema: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrating the schema: %w", err)
	}
	migrations := s.d.migrations
	if err := (Schema{Version: current, Latest: len(migrations)}).Check(); err != nil {
		return err
	}
	for v := current + 1; v <= len(migrations); v++ {
		if _, err := tx.ExecContext(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("schema migration %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), v, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("schema migration %d: %w", v, err)
		}
	}
	return tx.Commit()
}

func (s *sqlStore) Schema(ctx context.Context) (Schema, error) {
	st := Schema{Latest: len(s.d.migrations)}
	var exists bool
	if err := s.db.QueryRowContext(ctx, s.q(s.d.hasTable), "schema_migrations").Scan(&exists); err != nil || !exists {
		return st, err
	}
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&st.Version)
	return st, err
}

func (s *sqlStore) Close() error {
	s.mu.Lock()
	for _, stmt := range s.stmts {
		stmt.Close()
	}
	s.mu.Unlock()
	return s.db.Close()
}

func (s *sqlStore) CreateWorkspace(ctx context.Context, name string) (Workspace, error) {
	if strings.TrimSpace(name) == "" {
		return Workspace{}, errors.New("a workspace needs a name")
	}
	now := time.Now()
	var id int64
	err := s.db.QueryRowContext(ctx, s.q(`INSERT INTO workspaces (name, created_at) VALUES (?, ?) RETURNING id`), name, now.UnixMilli()).Scan(&id)
	if err != nil {
		if s.d.unique(err) {
			return Workspace{}, &failure{fmt.Sprintf("a workspace named %q already exists", name), ErrDuplicate}
		}
		return Workspace{}, err
	}
	return Workspace{ID: id, Name: name, CreatedAt: time.UnixMilli(now.UnixMilli())}, nil
}

func (s *sqlStore) workspaceID(ctx context.Context, q querier, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, s.q(`SELECT id FROM workspaces WHERE name = ?`), name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, &failure{fmt.Sprintf("no workspace named %q", name), ErrNotFound}
	}
	return id, err
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *sqlStore) CreateKey(ctx context.Context, k NewKey) (Key, string, error) {
	if strings.TrimSpace(k.Name) == "" {
		return Key{}, "", errors.New("a key needs a name")
	}
	if (k.SpendLimit == nil) != (k.LimitReset == ResetNone) {
		return Key{}, "", errors.New("a spend limit and its reset window go together")
	}
	if err := k.Rates.check(); err != nil {
		return Key{}, "", err
	}
	wsID, err := s.workspaceID(ctx, s.db, k.Workspace)
	if err != nil {
		return Key{}, "", err
	}
	secret := k.Secret
	if secret == "" {
		if secret, err = NewSecret(); err != nil {
			return Key{}, "", err
		}
	} else if !IsIssued(secret) {
		return Key{}, "", errors.New("a given secret must start with " + KeyPrefix)
	}
	now := time.Now()
	key := Key{WorkspaceID: wsID, Workspace: k.Workspace, Name: k.Name, Prefix: secret[:min(prefixLen, len(secret))], Hash: HashSecret(secret),
		CreatedAt: time.UnixMilli(now.UnixMilli()), ExpiresAt: k.ExpiresAt, SpendLimit: k.SpendLimit, LimitReset: k.LimitReset, Rates: k.Rates}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Key{}, "", err
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, s.q(`INSERT INTO keys (workspace_id, name, prefix, hash, created_at, expires_at, spend_limit, limit_reset, rpm, tpm, max_concurrent)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`), wsID, k.Name, key.Prefix, key.Hash, now.UnixMilli(), millis(k.ExpiresAt), limit(k.SpendLimit),
		string(k.LimitReset), k.Rates.RPM, k.Rates.TPM, k.Rates.MaxConcurrent).Scan(&key.ID)
	if err != nil {
		return Key{}, "", err
	}
	if _, err := tx.ExecContext(ctx, bumpKeysVersion); err != nil {
		return Key{}, "", err
	}
	return key, secret, tx.Commit()
}

// bumpKeysVersion marks the keys changed, in the transaction that changes
// them: gateways reload the keys when the version moved.
const bumpKeysVersion = `UPDATE keys_version SET version = version + 1`

func (s *sqlStore) KeysVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT version FROM keys_version`).Scan(&v)
	return v, err
}

const keyColumns = `k.id, k.workspace_id, w.name, k.name, k.prefix, k.hash, k.created_at, k.expires_at, k.revoked_at, k.spend_limit, k.limit_reset,
	k.rpm, k.tpm, k.max_concurrent`

func scanKey(row interface{ Scan(...any) error }) (Key, error) {
	var k Key
	var created int64
	var expires, revoked, spend sql.NullInt64
	var reset string
	if err := row.Scan(&k.ID, &k.WorkspaceID, &k.Workspace, &k.Name, &k.Prefix, &k.Hash, &created, &expires, &revoked, &spend, &reset,
		&k.RPM, &k.TPM, &k.MaxConcurrent); err != nil {
		return Key{}, err
	}
	k.CreatedAt, k.LimitReset = time.UnixMilli(created), Reset(reset)
	if expires.Valid {
		t := time.UnixMilli(expires.Int64)
		k.ExpiresAt = &t
	}
	if revoked.Valid {
		t := time.UnixMilli(revoked.Int64)
		k.RevokedAt = &t
	}
	if spend.Valid {
		v := USD(spend.Int64)
		k.SpendLimit = &v
	}
	return k, nil
}

func (s *sqlStore) ListKeys(ctx context.Context, workspace string) ([]Key, error) {
	q := `SELECT ` + keyColumns + ` FROM keys k JOIN workspaces w ON w.id = k.workspace_id`
	var args []any
	if workspace != "" {
		q += ` WHERE w.name = ?`
		args = append(args, workspace)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+` ORDER BY k.id`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (s *sqlStore) RevokeKey(ctx context.Context, idOrPrefix string) (Key, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Key{}, err
	}
	defer tx.Rollback()
	k, err := s.findKey(ctx, tx, idOrPrefix, "")
	if err != nil {
		return Key{}, err
	}
	if k.RevokedAt == nil {
		now := time.UnixMilli(time.Now().UnixMilli())
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE keys SET revoked_at = ? WHERE id = ?`), now.UnixMilli(), k.ID); err != nil {
			return Key{}, err
		}
		if _, err := tx.ExecContext(ctx, bumpKeysVersion); err != nil {
			return Key{}, err
		}
		k.RevokedAt = &now
	}
	return k, tx.Commit()
}

// FindKey implements Console.
func (s *sqlStore) FindKey(ctx context.Context, idOrPrefix, workspace string) (Key, error) {
	return s.findKey(ctx, s.db, idOrPrefix, workspace)
}

// findKey finds the one key with this id or secret prefix, of workspace
// when one is named (any other is not found), through q: the database,
// or a transaction.
func (s *sqlStore) findKey(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, idOrPrefix, workspace string) (Key, error) {
	where, arg := `(k.prefix = ? OR ? LIKE k.prefix || '%')`, any(idOrPrefix)
	if id, err := strconv.ParseInt(idOrPrefix, 10, 64); err == nil {
		where, arg = `k.id = ?`, id
	}
	args := []any{arg}
	if _, isID := arg.(int64); !isID {
		args = append(args, idOrPrefix)
	}
	if workspace != "" {
		where += ` AND w.name = ?`
		args = append(args, workspace)
	}
	rows, err := q.QueryContext(ctx, s.q(`SELECT `+keyColumns+` FROM keys k JOIN workspaces w ON w.id = k.workspace_id WHERE `+where), args...)
	if err != nil {
		return Key{}, err
	}
	defer rows.Close()
	var found []Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return Key{}, err
		}
		found = append(found, k)
	}
	if err := rows.Err(); err != nil {
		return Key{}, err
	}
	switch len(found) {
	case 0:
		return Key{}, &failure{fmt.Sprintf("no key has the id or prefix %q", idOrPrefix), ErrNotFound}
	case 1:
		return found[0], nil
	}
	return Key{}, &failure{fmt.Sprintf("more than one key starts with %q; give its id (opentoken keys list)", idOrPrefix), ErrAmbiguous}
}

// UpdateKey implements Store.
func (s *sqlStore) UpdateKey(ctx context.Context, idOrPrefix string, u KeyUpdate) (Key, error) {
	if u.SpendLimit != nil && (*u.SpendLimit <= 0 || u.LimitReset == ResetNone) || u.SpendLimit == nil && u.LimitReset != ResetNone {
		return Key{}, errors.New("a spend limit is a positive amount and its reset window, both")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Key{}, err
	}
	defer tx.Rollback()
	k, err := s.findKey(ctx, tx, idOrPrefix, "")
	if err != nil {
		return Key{}, err
	}
	switch {
	case u.NoExpiry:
		k.ExpiresAt = nil
	case u.ExpiresAt != nil:
		t := time.UnixMilli(u.ExpiresAt.UnixMilli())
		k.ExpiresAt = &t
	}
	switch {
	case u.NoSpendLimit:
		k.SpendLimit, k.LimitReset = nil, ResetNone
	case u.SpendLimit != nil:
		l := *u.SpendLimit
		k.SpendLimit, k.LimitReset = &l, u.LimitReset
	}
	for _, f := range []struct{ dst, src *int64 }{{&k.RPM, u.RPM}, {&k.TPM, u.TPM}, {&k.MaxConcurrent, u.MaxConcurrent}} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if err := k.Rates.check(); err != nil {
		return Key{}, err
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE keys SET expires_at = ?, spend_limit = ?, limit_reset = ?, rpm = ?, tpm = ?, max_concurrent = ? WHERE id = ?`),
		millis(k.ExpiresAt), limit(k.SpendLimit), string(k.LimitReset), k.RPM, k.TPM, k.MaxConcurrent, k.ID); err != nil {
		return Key{}, err
	}
	if _, err := tx.ExecContext(ctx, bumpKeysVersion); err != nil {
		return Key{}, err
	}
	return k, tx.Commit()
}

func (s *sqlStore) KeyByHash(ctx context.Context, hash string) (Key, error) {
	k, err := scanKey(s.db.QueryRowContext(ctx, s.q(`SELECT `+keyColumns+` FROM keys k JOIN workspaces w ON w.id = k.workspace_id WHERE k.hash = ?`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, ErrNotFound
	}
	return k, err
}

// The balances and key_spend tables are the ledger's and the usage's sums,
// kept in the transactions that write those, so that the gateways' views
// read a row per workspace and per limited key instead of summing the
// ledger twice a second.
const (
	addBalance = `INSERT INTO balances (workspace_id, balance) VALUES (?, ?)
		ON CONFLICT (workspace_id) DO UPDATE SET balance = balances.balance + excluded.balance`
	addSpend = `INSERT INTO key_spend (key_id, window_start, spent) VALUES (?, ?, ?)
		ON CONFLICT (key_id, window_start) DO UPDATE SET spent = key_spend.spent + excluded.spent`
)

func (s *sqlStore) AddCredit(ctx context.Context, workspace string, amount USD, note string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	wsID, err := s.workspaceID(ctx, tx, workspace)
	if err != nil {
		return err
	}
	if _, err = tx.ExecContext(ctx, s.q(`INSERT INTO credit_ledger (workspace_id, amount, note, created_at) VALUES (?, ?, ?, ?)`),
		wsID, int64(amount), note, time.Now().UnixMilli()); err != nil {
		return err
	}
	if _, err = tx.ExecContext(ctx, s.q(addBalance), wsID, int64(amount)); err != nil {
		return err
	}
	return tx.Commit()
}

func (s *sqlStore) Balance(ctx context.Context, workspace string) (USD, error) {
	wsID, err := s.workspaceID(ctx, s.db, workspace)
	if err != nil {
		return 0, err
	}
	var sum int64
	err = s.db.QueryRowContext(ctx, s.q(`SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM credit_ledger WHERE workspace_id = ?`), wsID).Scan(&sum)
	return USD(sum), err
}

// Record implements Store: each record and its debit in one transaction,
// a request id already recorded skipped (a replay writes nothing twice).
func (s *sqlStore) Record(ctx context.Context, batches ...Batch) error {
	// The inserts are prepared before the transaction begins: preparing
	// takes a connection of its own, which a full pool would hand out only
	// once this transaction had ended.
	for _, b := range batches {
		for rest := len(b.Records); rest > 0; {
			n := rowsPerStatement(rest)
			if _, err := s.usageInsert(ctx, n); err != nil {
				return err
			}
			rest -= n
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, b := range batches {
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO ledger_batches (id, written_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`),
			b.ID, time.Now().UnixMilli())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			continue // written before: a replay
		}
		if err := s.recordBatch(ctx, tx, b.Replica, b.Records); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// recordBatch writes a batch's usage rows and their debits, then one sum
// per workspace and per key window. Rows go in by prepared statements of a
// power-of-two count of rows each, so that neither database parses a
// statement per batch nor per row, and a debit is made by the database
// from its usage row rather than bound a second time.
func (s *sqlStore) recordBatch(ctx context.Context, tx *sql.Tx, replica string, recs []UsageRecord) error {
	var floor int64
	if !s.d.debitsInInsert {
		// SQLite: this transaction is the only writer, so the batch's rows
		// are those after the largest id now.
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM usage`).Scan(&floor); err != nil {
			return err
		}
	}
	args := make([]any, 0, min(len(recs), maxRows)*usageValues)
	for rest := recs; len(rest) > 0; {
		n := rowsPerStatement(len(rest))
		args = args[:0]
		for i := range rest[:n] {
			r := &rest[i]
			args = append(args, r.RequestID, r.KeyID, r.WorkspaceID, r.Model, r.Prompt, r.Completion, r.Cached, r.CacheWrite,
				r.Reasoning, int64(r.Cost), r.Status, r.Partial, r.StartedAt.UnixMilli(), r.FinishedAt.UnixMilli())
		}
		stmt, err := s.usageInsert(ctx, n)
		if err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, args...); err != nil {
			return err
		}
		rest = rest[n:]
	}
	if !s.d.debitsInInsert {
		if _, err := tx.ExecContext(ctx, `INSERT INTO credit_ledger (`+debitColumns+`)
			SELECT `+debitOfUsage+` FROM usage WHERE id > ? AND cost <> 0 ORDER BY id`, floor); err != nil {
			return err
		}
	}

	type window struct {
		key   int64
		start int64
	}
	balances := map[int64]int64{}
	spends := map[window]int64{}
	settled := map[window]int64{} // what answers billed against reservations cost
	for i := range recs {
		r := &recs[i]
		balances[r.WorkspaceID] -= int64(r.Cost)
		if !r.WindowStart.IsZero() {
			w := window{r.KeyID, r.WindowStart.UnixMilli()}
			spends[w] += int64(r.Cost)
			if r.Reserved {
				settled[w] += int64(r.Cost)
			}
		}
	}
	for ws, amount := range balances {
		if amount == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.q(addBalance), ws, amount); err != nil {
			return err
		}
	}
	for w, amount := range spends {
		if amount == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.q(addSpend), w.key, w.start, amount); err != nil {
			return err
		}
	}
	if err := s.addDaily(ctx, tx, recs); err != nil {
		return err
	}
	for w, amount := range settled {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE key_reservations SET amount = amount - ?
			WHERE key_id = ? AND window_start = ? AND replica = ?`), amount, w.key, w.start, replica); err != nil {
			return err
		}
	}
	return nil
}

// addDaily adds a batch's records to the daily sums the usage pages read:
// one statement per key, model and day in the batch.
func (s *sqlStore) addDaily(ctx context.Context, tx *sql.Tx, recs []UsageRecord) error {
	type group struct {
		day, key int64
		model    string
	}
	type sum struct{ workspace, requests, prompt, completion, cached, cost int64 }
	daily := map[group]*sum{}
	for i := range recs {
		r := &recs[i]
		g := group{dayOf(r.FinishedAt), r.KeyID, r.Model}
		d := daily[g]
		if d == nil {
			d = &sum{workspace: r.WorkspaceID}
			daily[g] = d
		}
		d.requests++
		d.prompt += r.Prompt
		d.completion += r.Completion
		d.cached += r.Cached
		d.cost += int64(r.Cost)
	}
	for g, d := range daily {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO usage_daily (day, key_id, model, workspace_id, requests, prompt_tokens, completion_tokens, cached_tokens, cost)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day, key_id, model) DO UPDATE SET requests = usage_daily.requests + excluded.requests,
			prompt_tokens = usage_daily.prompt_tokens + excluded.prompt_tokens, completion_tokens = usage_daily.completion_tokens + excluded.completion_tokens,
			cached_tokens = usage_daily.cached_tokens + excluded.cached_tokens, cost = usage_daily.cost + excluded.cost`),
			g.day, g.key, g.model, d.workspace, d.requests, d.prompt, d.completion, d.cached, d.cost); err != nil {
			return err
		}
	}
	return nil
}

// dayOf is the start of t's UTC day, in Unix milliseconds.
func dayOf(t time.Time) int64 { return t.UnixMilli() / msPerDay * msPerDay }

const msPerDay = 24 * 60 * 60 * 1000

// The ledger's columns: a usage row, and the debit made of it (answers
// that cost nothing have none), which names the row.
const (
	usageColumns = `request_id, key_id, workspace_id, model, prompt_tokens, completion_tokens,
		cached_tokens, cache_write_tokens, reasoning_tokens, cost, status, partial, started_at, finished_at`
	usageValues  = 14
	debitColumns = `workspace_id, amount, usage_id, created_at`
	debitOfUsage = `workspace_id, -cost, id, finished_at`
)

// maxRows is the most rows one statement takes: 256 × 14 values stay
// within both databases' limits of bound values.
const maxRows = 256

// rowsPerStatement is the largest power of two of rows, up to maxRows,
// that n rows fill: a batch of n is written by at most log2(maxRows)+1
// statements, each prepared once.
func rowsPerStatement(n int) int {
	r := maxRows
	for r > n {
		r >>= 1
	}
	return r
}

// usageInsert is the prepared insert of n usage rows; on PostgreSQL it
// inserts their debits too.
func (s *sqlStore) usageInsert(ctx context.Context, n int) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if stmt := s.stmts[n]; stmt != nil {
		return stmt, nil
	}
	var q strings.Builder
	if s.d.debitsInInsert {
		q.WriteString("WITH u AS (")
	}
	q.WriteString("INSERT INTO usage (" + usageColumns + ") VALUES ")
	row := "(" + strings.Repeat("?, ", usageValues-1) + "?)"
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(row)
	}
	if s.d.debitsInInsert {
		q.WriteString(" RETURNING id, workspace_id, cost, finished_at) INSERT INTO credit_ledger (" + debitColumns +
			") SELECT " + debitOfUsage + " FROM u WHERE cost <> 0")
	}
	stmt, err := s.db.PrepareContext(ctx, s.q(q.String()))
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[int]*sql.Stmt{}
	}
	s.stmts[n] = stmt
	return stmt, nil
}

func (s *sqlStore) Usage(ctx context.Context, f UsageFilter) ([]UsageRow, error) {
	q := `SELECT ` + s.d.day("u.finished_at") + `, w.name, k.prefix, u.model,
		COUNT(*), CAST(SUM(u.prompt_tokens) AS BIGINT), CAST(SUM(u.completion_tokens) AS BIGINT), CAST(SUM(u.cost) AS BIGINT)
		FROM usage u JOIN keys k ON k.id = u.key_id JOIN workspaces w ON w.id = u.workspace_id
		WHERE u.finished_at >= ?`
	args := []any{f.Since.UnixMilli()}
	if f.Workspace != "" {
		q += ` AND w.name = ?`
		args = append(args, f.Workspace)
	}
	if f.KeyPrefix != "" {
		q += ` AND (k.prefix = ? OR ? LIKE k.prefix || '%' OR CAST(k.id AS TEXT) = ?)`
		args = append(args, f.KeyPrefix, f.KeyPrefix, f.KeyPrefix)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+` GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UsageRow
	for rows.Next() {
		var r UsageRow
		var cost int64
		if err := rows.Scan(&r.Day, &r.Workspace, &r.KeyPrefix, &r.Model, &r.Requests, &r.Prompt, &r.Completion, &cost); err != nil {
			return nil, err
		}
		r.Cost = USD(cost)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *sqlStore) Balances(ctx context.Context) (map[int64]USD, error) {
	return sums(ctx, s.db, `SELECT workspace_id, balance FROM balances`)
}

func (s *sqlStore) WindowSpends(ctx context.Context, start time.Time) (map[int64]USD, error) {
	return sums(ctx, s.db, s.q(`SELECT key_id, spent FROM key_spend WHERE window_start = ?`), start.UnixMilli())
}

func (s *sqlStore) Reserve(ctx context.Context, r Reservation, want USD, expires time.Time) (USD, error) {
	if want <= 0 {
		return 0, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	// The key's row is locked first, by a statement of its own, so that
	// replicas reserving at once take turns and each reads what the one
	// before it reserved.
	var limit sql.NullInt64
	if err := tx.QueryRowContext(ctx, s.q(`SELECT spend_limit FROM keys WHERE id = ?`+s.d.forUpdate), r.KeyID).Scan(&limit); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, ErrNotFound
		}
		return 0, err
	}
	if !limit.Valid {
		return 0, fmt.Errorf("key %d has no spend limit to reserve from", r.KeyID)
	}
	window, now := r.Window.UnixMilli(), time.Now().UnixMilli()
	// Spent and held are read in one statement, so in one snapshot: a
	// batch recorded meanwhile moves money from one to the other, and two
	// reads could see it in neither. A reservation below zero is a
	// replica's spend past what it was given, already in spent: it pays
	// that out of its next share.
	var spent, held int64
	if err := tx.QueryRowContext(ctx, s.q(`SELECT
		(SELECT CAST(COALESCE(SUM(spent), 0) AS BIGINT) FROM key_spend WHERE key_id = ? AND window_start = ?),
		(SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM key_reservations WHERE key_id = ? AND window_start = ? AND expires_at > ?)`),
		r.KeyID, window, r.KeyID, window, now).Scan(&spent, &held); err != nil {
		return 0, err
	}
	got := min(want, USD(limit.Int64-spent-held))
	if got <= 0 {
		return 0, tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO key_reservations (key_id, window_start, replica, amount, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (key_id, window_start, replica) DO UPDATE SET amount = key_reservations.amount + excluded.amount, expires_at = excluded.expires_at`),
		r.KeyID, window, r.Replica, int64(got), expires.UnixMilli()); err != nil {
		return 0, err
	}
	return got, tx.Commit()
}

func (s *sqlStore) Renew(ctx context.Context, replica string, expires time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE key_reservations SET expires_at = ? WHERE replica = ?`), expires.UnixMilli(), replica); err != nil {
		return err
	}
	if err := s.renewSlots(ctx, replica, expires); err != nil {
		return err
	}
	// Reservations of replicas gone for a day are history.
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM key_reservations WHERE expires_at < ?`), time.Now().Add(-24*time.Hour).UnixMilli())
	return err
}

func (s *sqlStore) Release(ctx context.Context, r Reservation, amount USD) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE key_reservations SET amount = amount - ? WHERE key_id = ? AND window_start = ? AND replica = ?`),
		int64(amount), r.KeyID, r.Window.UnixMilli(), r.Replica)
	return err
}

// sums reads (id, sum) rows into a map.
func sums(ctx context.Context, db *sql.DB, query string, args ...any) (map[int64]USD, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]USD{}
	for rows.Next() {
		var id, sum int64
		if err := rows.Scan(&id, &sum); err != nil {
			return nil, err
		}
		out[id] = USD(sum)
	}
	return out, rows.Err()
}

func millis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func limit(u *USD) any {
	if u == nil {
		return nil
	}
	return int64(*u)
}

// PutResponse implements Store.
func (s *sqlStore) PutResponse(ctx context.Context, r StoredResponse) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO responses (id, scope, model, created_at, expires_at, body, history) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		r.ID, r.Scope, r.Model, r.Created.UnixMilli(), r.Expires.UnixMilli(), string(r.Body), string(r.History))
	if err != nil {
		return fmt.Errorf("storing response %s: %w", r.ID, err)
	}
	return nil
}

// GetResponse implements Store.
func (s *sqlStore) GetResponse(ctx context.Context, id, scope string, now time.Time) (StoredResponse, error) {
	r := StoredResponse{ID: id, Scope: scope}
	var created, expires int64
	var body, history string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT model, created_at, expires_at, body, history FROM responses WHERE id = ? AND scope = ? AND expires_at > ?`),
		id, scope, now.UnixMilli()).Scan(&r.Model, &created, &expires, &body, &history)
	if errors.Is(err, sql.ErrNoRows) {
		return r, &failure{fmt.Sprintf("no response %q", id), ErrNotFound}
	}
	if err != nil {
		return r, fmt.Errorf("reading response %s: %w", id, err)
	}
	r.Created, r.Expires, r.Body, r.History = time.UnixMilli(created), time.UnixMilli(expires), []byte(body), []byte(history)
	return r, nil
}

// DeleteResponse implements Store.
func (s *sqlStore) DeleteResponse(ctx context.Context, id, scope string) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM responses WHERE id = ? AND scope = ?`), id, scope)
	if err != nil {
		return fmt.Errorf("deleting response %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return &failure{fmt.Sprintf("no response %q", id), ErrNotFound}
	}
	return nil
}

// PurgeResponses implements Store.
func (s *sqlStore) PurgeResponses(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM responses WHERE expires_at <= ?`), now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("purging responses: %w", err)
	}
	return res.RowsAffected()
}

// Secret implements Store.
func (s *sqlStore) Secret(ctx context.Context, name string, draw func() string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT value FROM gateway_secrets WHERE name = ?`), name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("reading the %s: %w", name, err)
	}
	if _, err := s.db.ExecContext(ctx, s.q(`INSERT INTO gateway_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`), name, draw()); err != nil {
		return "", fmt.Errorf("storing the %s: %w", name, err)
	}
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT value FROM gateway_secrets WHERE name = ?`), name).Scan(&v); err != nil {
		return "", fmt.Errorf("reading the %s: %w", name, err)
	}
	return v, nil
}
