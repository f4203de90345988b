package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL for database/sql, registered as "pgx"
)

// postgresDialect is PostgreSQL's: several gateway replicas share one.
var postgresDialect = &dialect{
	name:       "postgres",
	migrations: postgresMigrations,
	// Replicas starting at once take turns: the first migrates, the others
	// find the work done.
	lock:           `SELECT pg_advisory_xact_lock(7201702)`,
	dollar:         true,
	forUpdate:      " FOR UPDATE",
	debitsInInsert: true,
	day: func(col string) string {
		return "to_char(to_timestamp(" + col + " / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
	},
	unique: func(err error) bool {
		var pe *pgconn.PgError
		return errors.As(err, &pe) && pe.Code == "23505" // SQLSTATE unique_violation
	},
	hasTable: `SELECT to_regclass(?) IS NOT NULL`,
}

// postgresMigrations are sqliteMigrations' schema in PostgreSQL's types.
var postgresMigrations = []string{
	// 1: workspaces, keys, the credit ledger and usage.
	`CREATE TABLE workspaces (
		id BIGSERIAL PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		created_at BIGINT NOT NULL
	);
	CREATE TABLE keys (
		id BIGSERIAL PRIMARY KEY,
		workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
		name TEXT NOT NULL,
		prefix TEXT NOT NULL,
		hash TEXT NOT NULL UNIQUE,
		created_at BIGINT NOT NULL,
		expires_at BIGINT,
		revoked_at BIGINT,
		spend_limit BIGINT,
		limit_reset TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX keys_prefix ON keys(prefix);
	CREATE TABLE credit_ledger (
		id BIGSERIAL PRIMARY KEY,
		workspace_id BIGINT NOT NULL REFERENCES workspaces(id),
		amount BIGINT NOT NULL,
		request_id TEXT,
		note TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL
	);
	CREATE TABLE usage (
		id BIGSERIAL PRIMARY KEY,
		request_id TEXT NOT NULL UNIQUE,
		key_id BIGINT NOT NULL,
		workspace_id BIGINT NOT NULL,
		model TEXT NOT NULL,
		prompt_tokens BIGINT NOT NULL,
		completion_tokens BIGINT NOT NULL,
		cached_tokens BIGINT NOT NULL,
		cache_write_tokens BIGINT NOT NULL,
		reasoning_tokens BIGINT NOT NULL,
		cost BIGINT NOT NULL,
		status INTEGER NOT NULL,
		partial BOOLEAN NOT NULL,
		started_at BIGINT NOT NULL,
		finished_at BIGINT NOT NULL
	);
	CREATE TABLE balances (
		workspace_id BIGINT PRIMARY KEY,
		balance BIGINT NOT NULL
	);
	CREATE TABLE key_spend (
		key_id BIGINT NOT NULL,
		window_start BIGINT NOT NULL,
		spent BIGINT NOT NULL,
		PRIMARY KEY (key_id, window_start)
	);`,
	// 2: exactly once per batch rather than per request id; reservations;
	// the keys' version; debits name their usage rows (see SQLite's).
	`CREATE TABLE ledger_batches (
		id TEXT PRIMARY KEY,
		written_at BIGINT NOT NULL
	);
	ALTER TABLE usage DROP CONSTRAINT usage_request_id_key;
	CREATE TABLE key_reservations (
		key_id BIGINT NOT NULL,
		window_start BIGINT NOT NULL,
		replica TEXT NOT NULL,
		amount BIGINT NOT NULL,
		expires_at BIGINT NOT NULL,
		PRIMARY KEY (key_id, window_start, replica)
	);
	CREATE TABLE keys_version (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		version BIGINT NOT NULL
	);
	INSERT INTO keys_version (id, version) VALUES (1, 0);
	ALTER TABLE credit_ledger ADD COLUMN usage_id BIGINT;`,
	// 3: stored responses and the gateway's secrets.
	`CREATE TABLE responses (
		id TEXT PRIMARY KEY,
		scope TEXT NOT NULL,
		model TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		expires_at BIGINT NOT NULL,
		body TEXT NOT NULL,
		history TEXT NOT NULL
	);
	CREATE INDEX responses_expires ON responses (expires_at);
	CREATE TABLE gateway_secrets (
		name TEXT PRIMARY KEY,
		value TEXT NOT NULL
	);`,
	// 4: rate limits and their shares, admin tokens, daily usage and the
	// ledger's indexes (see SQLite's).
	`ALTER TABLE keys ADD COLUMN rpm BIGINT NOT NULL DEFAULT 0;
	ALTER TABLE keys ADD COLUMN tpm BIGINT NOT NULL DEFAULT 0;
	ALTER TABLE keys ADD COLUMN max_concurrent BIGINT NOT NULL DEFAULT 0;
	CREATE TABLE rate_reservations (
		key_id BIGINT NOT NULL,
		kind TEXT NOT NULL,
		window_start BIGINT NOT NULL,
		replica TEXT NOT NULL,
		amount BIGINT NOT NULL,
		expires_at BIGINT NOT NULL,
		PRIMARY KEY (key_id, kind, window_start, replica)
	);
	CREATE TABLE admin_tokens (
		id BIGSERIAL PRIMARY KEY,
		name TEXT NOT NULL,
		prefix TEXT NOT NULL,
		hash TEXT NOT NULL UNIQUE,
		workspace_id BIGINT REFERENCES workspaces(id),
		created_at BIGINT NOT NULL,
		revoked_at BIGINT
	);
	CREATE TABLE usage_daily (
		day BIGINT NOT NULL,
		key_id BIGINT NOT NULL,
		model TEXT NOT NULL,
		workspace_id BIGINT NOT NULL,
		requests BIGINT NOT NULL,
		prompt_tokens BIGINT NOT NULL,
		completion_tokens BIGINT NOT NULL,
		cached_tokens BIGINT NOT NULL,
		cost BIGINT NOT NULL,
		PRIMARY KEY (day, key_id, model)
	);
	INSERT INTO usage_daily (day, key_id, model, workspace_id, requests, prompt_tokens, completion_tokens, cached_tokens, cost)
		SELECT finished_at / 86400000 * 86400000, key_id, model, MIN(workspace_id), COUNT(*), CAST(SUM(prompt_tokens) AS BIGINT),
			CAST(SUM(completion_tokens) AS BIGINT), CAST(SUM(cached_tokens) AS BIGINT), CAST(SUM(cost) AS BIGINT)
		FROM usage GROUP BY 1, 2, 3;
	CREATE INDEX usage_daily_workspace ON usage_daily (workspace_id, day);
	CREATE INDEX usage_daily_key ON usage_daily (key_id, day);
`,
}

func openPostgres(ctx context.Context, rawURL string, u *url.URL) (*sqlStore, error) {
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		// Named without the password the URL may hold.
		return nil, fmt.Errorf("connecting to PostgreSQL at %s: %w", u.Redacted(), err)
	}
	return &sqlStore{db: db, d: postgresDialect}, nil
}
