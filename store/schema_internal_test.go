package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opentoken/opentoken/internal/pgtest"
)

// TestSchemasAgree: the SQLite and PostgreSQL migrations build the same
// tables with the same columns, which before only a comment asked of
// whoever appended a migration.
func TestSchemasAgree(t *testing.T) {
	ctx := context.Background()
	columns := func(url, query string) map[string][]string {
		st, err := Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		rows, err := st.(*sqlStore).db.QueryContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		tables := map[string][]string{}
		for rows.Next() {
			var table, column string
			if err := rows.Scan(&table, &column); err != nil {
				t.Fatal(err)
			}
			tables[table] = append(tables[table], column)
		}
		for _, cols := range tables {
			slices.Sort(cols)
		}
		return tables
	}
	lite := columns("sqlite://"+filepath.Join(t.TempDir(), "s.db"),
		`SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
	pg := columns(pgtest.Start(t),
		`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()`)
	if len(lite) == 0 {
		t.Fatal("no tables read")
	}
	for table, cols := range lite {
		if !slices.Equal(cols, pg[table]) {
			t.Errorf("table %s: SQLite has %v, PostgreSQL %v", table, cols, pg[table])
		}
	}
	for table := range pg {
		if lite[table] == nil {
			t.Errorf("table %s is only in PostgreSQL", table)
		}
	}
}

// TestSchemaState: Schema reads a database's version without changing
// it, and a schema newer than the binary's is refused by Migrate with
// Schema.Check's message.
func TestSchemaState(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	latest := len(sqliteMigrations)
	if s, err := st.Schema(ctx); err != nil || s != (Schema{0, latest}) {
		t.Errorf("a new database: %+v %v", s, err)
	}
	if s, _ := st.Schema(ctx); s.Version != 0 { // reading created nothing
		t.Errorf("after a read: %+v", s)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if s, err := st.Schema(ctx); err != nil || s != (Schema{latest, latest}) {
		t.Errorf("migrated: %+v %v", s, err)
	}
	if _, err := st.(*sqlStore).db.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, latest+1); err != nil {
		t.Fatal(err)
	}
	s, _ := st.Schema(ctx)
	want := s.Check()
	if err := st.Migrate(ctx); err == nil || want == nil || err.Error() != want.Error() {
		t.Errorf("a newer schema: Migrate says %v, Check %v", err, want)
	}
}

// TestPlaceholders: ? becomes $n outside quotes only.
func TestPlaceholders(t *testing.T) {
	s := &sqlStore{d: postgresDialect}
	got := s.q(`SELECT '?', "a?b", 'it''s ?' FROM t WHERE a = ? AND b LIKE '%?' AND c = ?`)
	want := `SELECT '?', "a?b", 'it''s ?' FROM t WHERE a = $1 AND b LIKE '%?' AND c = $2`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestUniqueByCode: a duplicate is told by the driver's constraint code on
// both databases, whatever the message's words.
func TestUniqueByCode(t *testing.T) {
	for name, url := range map[string]func() string{
		"sqlite":   func() string { return "sqlite://" + filepath.Join(t.TempDir(), "u.db") },
		"postgres": func() string { return pgtest.Start(t) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st, err := Open(ctx, url())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateWorkspace(ctx, "a"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateWorkspace(ctx, "a"); !errors.Is(err, ErrDuplicate) || err.Error() != `a workspace named "a" already exists` {
				t.Errorf("a duplicate: %v", err)
			}
			_, err = st.(*sqlStore).db.ExecContext(ctx, st.(*sqlStore).q(`INSERT INTO workspaces (name, created_at) VALUES (?, ?)`), "a", 0)
			if !st.(*sqlStore).d.unique(err) {
				t.Errorf("the raw violation %v is not told as one", err)
			}
		})
	}
}
