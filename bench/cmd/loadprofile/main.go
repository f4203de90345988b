// Command loadprofile profiles the gateway with every feature on (access
// log, metrics, an issued key with a spend limit, the SQLite ledger) under
// the load harness's load, beside the bare proxy in the same run:
//
//	go run ./bench/cmd/loadprofile -out /tmp/prof
//	go tool pprof -top /tmp/prof/cpu.pprof
//
// With -variants it instead compares that gateway under several
// environments, each a comma-separated list, the variants separated by
// semicolons, measured in turn with the bare proxy in one run; a variant
// that starts with bin=PATH runs the gateway built at PATH (another
// commit's) instead:
//
//	go run ./bench/cmd/loadprofile -variants 'GOGC=300;GOGC=100'
//	go run ./bench/cmd/loadprofile -variants 'bin=/tmp/opentoken-before;'
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/opentoken/opentoken/bench/loadtest"
)

func main() {
	out := flag.String("out", ".", "directory for cpu.pprof, heap.pprof, heap.txt, heap-128.txt and smaps.txt")
	duration := flag.Duration("duration", 10*time.Second, "length of the CPU profile")
	concurrency := flag.Int("concurrency", 32, "requests in flight while profiling")
	variants := flag.String("variants", "", "environments to compare, e.g. 'GOGC=300;GOGC=100'")
	trials := flag.Int("trials", 5, "measurements of each variant (with -variants)")
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
		logf := func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }
		if *variants != "" {
			var envs [][]string
			for _, v := range strings.Split(*variants, ";") {
				envs = append(envs, strings.FieldsFunc(v, func(r rune) bool { return r == ',' }))
			}
			err = loadtest.Variants(loadtest.VariantsConfig{Root: root, Work: work, Variants: envs, Trials: *trials, Duration: *duration, Log: logf})
		} else {
			err = loadtest.Profile(loadtest.ProfileConfig{Root: root, Work: work, Out: *out, Duration: *duration, Concurrency: *concurrency, Log: logf})
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadprofile:", err)
		os.Exit(1)
	}
}
