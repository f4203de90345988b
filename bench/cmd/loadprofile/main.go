// Command loadprofile profiles the gateway with every feature on (access
// log, metrics, an issued key with a spend limit, the SQLite ledger) under
// the load harness's load, beside the bare proxy in the same run:
//
//	go run ./bench/cmd/loadprofile -out /tmp/prof
//	go tool pprof -top /tmp/prof/cpu.pprof
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/opentoken/opentoken/bench/loadtest"
)

func main() {
	out := flag.String("out", ".", "directory for cpu.pprof, heap.pprof, heap.txt and heap-128.txt")
	duration := flag.Duration("duration", 10*time.Second, "length of the CPU profile")
	concurrency := flag.Int("concurrency", 32, "requests in flight while profiling")
	flag.Parse()
	root, err := os.Getwd()
	if err == nil {
		err = os.MkdirAll(*out, 0o755)
	}
	var work string
	if err == nil {
		work, err = os.MkdirTemp("", "loadprofile-")
	}
	if err == nil {
		defer os.RemoveAll(work)
		err = loadtest.Profile(loadtest.ProfileConfig{Root: root, Work: work, Out: *out, Duration: *duration, Concurrency: *concurrency,
			Log: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadprofile:", err)
		os.Exit(1)
	}
}
