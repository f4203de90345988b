package main

import (
	"context"
	"database/sql"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/ncruces/go-sqlite3/driver"

	"github.com/opentoken/opentoken/store"
)

// TestCheckConfigRefusesWhatStartRefuses: for each setting the gateway
// refuses to start with, check-config refuses it too, with the same
// message; and a configuration it passes, the gateway serves.
func TestCheckConfigRefusesWhatStartRefuses(t *testing.T) {
	dir := t.TempDir()
	sqlite := "OPENTOKEN_DATABASE_URL=sqlite://" + filepath.Join(dir, "ok.db")
	const operator = "OPENTOKEN_API_KEYS=sk-operator-0123456789"

	// A database at a schema newer than this binary's.
	newer := filepath.Join(dir, "newer.db")
	db, err := store.Open(context.Background(), "sqlite://"+newer)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	schema, _ := db.Schema(context.Background())
	db.Close()
	bumpSchema(t, newer, schema.Latest+1)

	// An address in use.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	for _, c := range []struct {
		name string
		env  []string
		want string
	}{
		{"an upstream open to anyone", []string{sqlite, "GEMINI_API_KEY=gemini-key-0123456789"}, "OPENTOKEN_API_KEYS is empty"},
		{"a short upstream key", []string{sqlite, operator, "GEMINI_API_KEY=x"}, "GEMINI_API_KEY: a key of 1 characters is too short"},
		{"a short client key", []string{sqlite, "OPENTOKEN_API_KEYS=abc"}, "OPENTOKEN_API_KEYS (key 1): a key of 3 characters is too short"},
		{"a public profiler", []string{sqlite, "OPENTOKEN_PPROF_ADDR=0.0.0.0:6060"}, "OPENTOKEN_PPROF_ADDR"},
		{"a listen address without a port", []string{sqlite, "OPENTOKEN_ADDR=localhost"}, `OPENTOKEN_ADDR="localhost": want host:port`},
		{"a listen address in use", []string{sqlite, "OPENTOKEN_ADDR=" + busy.Addr().String()}, "address already in use"},
		{"an upstream origin with a path", []string{sqlite, "GEMINI_BASE_URL=https://example.com/v1beta"}, "has a path"},
		{"a database of another kind", []string{"OPENTOKEN_DATABASE_URL=mysql://db/opentoken"}, `database URL scheme "mysql"`},
		{"a database away", []string{"OPENTOKEN_DATABASE_URL=postgres://opentoken:secret-password@127.0.0.1:1/opentoken?connect_timeout=2"}, "connecting to PostgreSQL at postgres://opentoken:xxxxx@127.0.0.1:1"},
		{"a schema newer than the binary", []string{"OPENTOKEN_DATABASE_URL=sqlite://" + newer}, "newer than this binary's"},
		{"a duration that is none", []string{sqlite, "OPENTOKEN_WRITE_TIMEOUT=sometimes"}, "OPENTOKEN_WRITE_TIMEOUT"},
		{"a CORS origin with a path", []string{sqlite, "OPENTOKEN_CORS_ORIGINS=https://app.example.com/"}, "OPENTOKEN_CORS_ORIGINS"},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkCode, _, checkErr := run(t, c.env, "check-config")
			serveEnv := append([]string{"OPENTOKEN_ADDR=127.0.0.1:0"}, c.env...)
			serveCode, _, serveErr := run(t, serveEnv)
			checked, served := lastLine(checkErr), lastLine(serveErr)
			if checkCode != 1 || !strings.Contains(checked, c.want) {
				t.Errorf("check-config: exit %d, %q; want 1 and %q", checkCode, checked, c.want)
			}
			if serveCode != 1 || served != checked {
				t.Errorf("serving: exit %d, %q; want 1 and check-config's %q", serveCode, served, checked)
			}
			if strings.Contains(checkErr+serveErr, "secret-password") {
				t.Error("a password reached the output")
			}
		})
	}

	// An SQLite file in a directory that does not exist: both create it.
	deep := filepath.Join(dir, "not", "yet", "opentoken.db")
	code, stdout, stderr := run(t, []string{"OPENTOKEN_DATABASE_URL=sqlite://" + deep, "OPENTOKEN_ADDR=127.0.0.1:0"}, "check-config")
	if code != 0 || !strings.Contains(stdout, "database    sqlite://"+deep+" (schema 0 of ") {
		t.Errorf("check-config on a new directory: %d %s %s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Dir(deep)); err != nil {
		t.Errorf("the directory was not created: %v", err)
	}
	g := startBinary(t, []string{"OPENTOKEN_DATABASE_URL=sqlite://" + filepath.Join(dir, "other", "opentoken.db")})
	g.Stop(t)
}

// lastLine is the error the command ended with: from the last line that
// starts with "opentoken: " to the end (a driver's error may span lines).
func lastLine(s string) string {
	s = strings.TrimSpace("\n" + s)
	if i := strings.LastIndex("\n"+s, "\nopentoken: "); i >= 0 {
		return s[i:]
	}
	return s
}

// bumpSchema records a schema version in an SQLite database, as a newer
// binary would have.
func bumpSchema(t *testing.T, path string, version int) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, version); err != nil {
		t.Fatal(err)
	}
}
