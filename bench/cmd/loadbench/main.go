// Command loadbench runs OpenToken's load harness: the mock upstream
// directly, a bare fasthttp proxy, OpenToken (Claude and Gemini routes) and,
// when npm can install it, Portkey's gateway, all side by side in one run,
// and writes bench/RESULTS.md with its plots.
//
//	go run ./bench/cmd/loadbench            (make loadtest)
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opentoken/opentoken/bench/loadtest"
)

// portkeyVersion pins the peer gateway the harness measures.
const portkeyVersion = "1.15.2"

func main() {
	out := flag.String("out", "bench", "directory for RESULTS.md and plots/")
	trials := flag.Int("trials", 3, "interleaved rounds over every target")
	duration := flag.Duration("duration", 3*time.Second, "length of one measurement")
	warmup := flag.Duration("warmup", time.Second, "warm-up before each target's measurements in a round")
	concurrency := flag.Int("concurrency", 32, "concurrency of the throughput run")
	rate := flag.Int("rate", 300, "open-loop rate, requests/s (below Portkey's saturation, so every target is compared at one load)")
	sweep := flag.String("sweep", "1,8,32,128", "concurrencies of the saturation sweep")
	latency := flag.Duration("latency", 0, "the mock upstream's fixed latency")
	noPortkey := flag.Bool("no-portkey", false, "skip Portkey")
	only := flag.String("targets", "", "measure only the targets whose names match this regular expression (a quick A/B; the goals need the full run)")
	flag.Parse()
	var filter *regexp.Regexp
	if *only != "" {
		var err error
		if filter, err = regexp.Compile(*only); err != nil {
			fmt.Fprintln(os.Stderr, "loadbench: -targets:", err)
			os.Exit(2)
		}
	}
	if err := run(*out, *trials, *duration, *warmup, *concurrency, *rate, *sweep, *latency, !*noPortkey, filter); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

func run(out string, trials int, duration, warmup time.Duration, concurrency, rate int, sweep string, latency time.Duration, portkey bool, only *regexp.Regexp) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "loadbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	cfg := loadtest.Config{
		Root: root, Work: work, Trials: trials, Duration: duration, Warmup: warmup,
		Concurrency: concurrency, Rate: rate, Latency: latency, Only: only,
		Log: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) },
	}
	for _, s := range strings.Split(sweep, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c <= 0 {
			return fmt.Errorf("-sweep: %q is not a concurrency", s)
		}
		cfg.Sweep = append(cfg.Sweep, c)
	}
	var notes []string
	if portkey {
		dir, err := installPortkey()
		if err != nil {
			notes = append(notes, "Portkey skipped: npm could not install @portkey-ai/gateway@"+portkeyVersion+": "+err.Error())
		} else {
			cfg.Portkey = dir
		}
	}
	r, err := loadtest.Execute(cfg)
	if err != nil {
		return err
	}
	r.Notes = append(notes, r.Notes...)
	command := "go run ./bench/cmd/loadbench " + strings.Join(os.Args[1:], " ")
	if err := os.MkdirAll(filepath.Join(out, "plots"), 0o755); err != nil {
		return err
	}
	lat, tput := r.Plots()
	for name, body := range map[string]string{"RESULTS.md": r.Markdown(strings.TrimSpace(command)), "plots/latency.svg": lat, "plots/throughput.svg": tput} {
		if err := os.WriteFile(filepath.Join(out, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintln(os.Stderr, "wrote", filepath.Join(out, "RESULTS.md"))
	return nil
}

// installPortkey installs the pinned Portkey gateway into the user cache
// once, with npm, and returns its directory.
func installPortkey() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "opentoken-loadbench", "portkey-"+portkeyVersion)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "@portkey-ai/gateway@"+portkeyVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v: %s", err, lastLine(out))
	}
	return dir, nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
