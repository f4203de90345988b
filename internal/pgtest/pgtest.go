// Package pgtest starts a throwaway PostgreSQL cluster on loopback for a
// test, from the server binaries of Debian's postgresql package, and stops
// it when the test ends. Without them the test is skipped, except in CI
// (CI set), where .ci/run installs them and their absence is a failure.
package pgtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
)

// bin finds a PostgreSQL server binary: on PATH, or in Debian's
// versioned directory.
func bin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) > 0 {
		return matches[len(matches)-1]
	}
	return ""
}

// Cluster is a running throwaway cluster.
type Cluster struct {
	URL string
	t   testing.TB
	run func(args ...string) *exec.Cmd
	ctl []string // pg_ctl and its arguments but the action
}

// Stop stops the server at once, as a crash or an outage would.
func (c *Cluster) Stop() {
	c.t.Helper()
	if out, err := c.run(append(c.ctl, "-m", "immediate", "-w", "stop")...).CombinedOutput(); err != nil {
		c.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// Restart starts a stopped server again, on the same port and data.
func (c *Cluster) Restart() {
	c.t.Helper()
	if out, err := c.run(append(c.ctl, "-w", "-t", "60", "start")...).CombinedOutput(); err != nil {
		c.t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
}

// Start runs a cluster for t and returns its URL. The cluster trusts
// loopback connections of the user opentoken and listens on a free port.
func Start(t testing.TB) string { return StartCluster(t).URL }

// StartCluster is Start, with control of the server.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	initdb, pgctl := bin("initdb"), bin("pg_ctl")
	if initdb == "" || pgctl == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("PostgreSQL's initdb and pg_ctl are missing; .ci/run must install the postgresql package")
		}
		t.Skip("PostgreSQL is not installed (apt-get install postgresql)")
	}
	dir, err := os.MkdirTemp("", "opentoken-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// PostgreSQL refuses to run as root: as root, the cluster belongs to
	// the postgres user the package creates.
	run := func(args ...string) *exec.Cmd { return exec.Command(args[0], args[1:]...) }
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root and there is no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		run = func(args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--"}, args...)...)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := run(initdb, "-D", data, "-U", "opentoken", "-A", "trust", "--no-locale", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := freePort(t)
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir)
	if out, err := run(pgctl, "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() {
		var out bytes.Buffer
		cmd := run(pgctl, "-D", data, "-m", "immediate", "-w", "stop")
		cmd.Stdout, cmd.Stderr = &out, &out
		_ = cmd.Run() // stopped already when a test left it so
	})
	return &Cluster{URL: fmt.Sprintf("postgres://opentoken@127.0.0.1:%d/postgres?sslmode=disable", port), t: t, run: run,
		ctl: []string{pgctl, "-D", data, "-o", opts, "-l", filepath.Join(dir, "log")}}
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
