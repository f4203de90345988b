package loadtest

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// ProfileConfig is one profiling run of the gateway with every feature on.
type ProfileConfig struct {
	Root        string        // the module root
	Work        string        // scratch directory for the binary
	Out         string        // where the profiles are written
	Duration    time.Duration // the CPU profile's length
	Concurrency int
	Log         func(format string, args ...any)
}

// Profile starts the mock, the bare proxy and the gateway with every
// feature on (fullTarget) serving its profiler, and writes the gateway's
// CPU profile taken under load at cfg.Concurrency (cpu.pprof), its heap
// profiles after it (heap.pprof, and heap.txt with the runtime's memory
// statistics), and the CPU per request of both processes in the same run,
// so that what the profile shows can be read against the bare hop.
func Profile(cfg ProfileConfig) error {
	gw, proxyBin, err := build(cfg.Root, cfg.Work)
	if err != nil {
		return err
	}
	mockAddr, stopMock, err := startMock(0, 32)
	if err != nil {
		return err
	}
	defer stopMock()
	ready, closeProbe := readiness()
	defer closeProbe()
	bare, _, err := startBare(proxyBin, mockAddr, ready)
	if err != nil {
		return err
	}
	defer bare.Process.Stop()

	pprofAddr, err := FreeAddr()
	if err != nil {
		return err
	}
	env := []string{"OPENTOKEN_API_KEYS=" + benchKey, "ANTHROPIC_API_KEY=" + upstreamKey, "ANTHROPIC_BASE_URL=http://" + mockAddr,
		"OPENTOKEN_METRICS=on", "OPENTOKEN_ACCESS_LOG=on", "OPENTOKEN_PPROF_ADDR=" + pprofAddr}
	full, err := startTenant(gw, fullTarget, env, GatewayRequest("anthropic/claude-sonnet-4-5"), ready)
	if err != nil {
		return err
	}
	defer full.Process.Stop()

	logf := cfg.Log
	for _, t := range []*Target{bare, full} {
		Closed(t, cfg.Concurrency, time.Second)
	}
	cpuDone := make(chan error, 1)
	go func() {
		cpuDone <- fetch(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, int(cfg.Duration.Seconds())), filepath.Join(cfg.Out, "cpu.pprof"))
	}()
	r := Closed(full, cfg.Concurrency, cfg.Duration+500*time.Millisecond)
	if err := <-cpuDone; err != nil {
		return err
	}
	b := Closed(bare, cfg.Concurrency, cfg.Duration)
	for _, f := range []struct{ url, file string }{
		{"/debug/pprof/heap?gc=1", "heap.pprof"},
		{"/debug/pprof/heap?debug=1", "heap.txt"},
	} {
		if err := fetch("http://"+pprofAddr+f.url, filepath.Join(cfg.Out, f.file)); err != nil {
			return err
		}
	}
	per := func(r *Result) float64 { return float64(r.CPU.Microseconds()) / float64(r.Requests) }
	logf("every feature on: %.0f req/s, %.1f µs CPU a request, %d errors; bare proxy: %.0f req/s, %.1f µs CPU a request; ratio %.2f×",
		r.Throughput(), per(r), r.Errors, b.Throughput(), per(b), per(r)/per(b))
	sweep := Closed(full, 128, cfg.Duration)
	logf("at concurrency 128: %.0f req/s; peak RSS %.1f MB (bare proxy %.1f MB); resident now %s (bare proxy %s)", sweep.Throughput(),
		float64(full.Process.PeakRSS())/(1<<20), float64(bare.Process.PeakRSS())/(1<<20), residentSplit(full.Process), residentSplit(bare.Process))
	return fetch("http://"+pprofAddr+"/debug/pprof/heap?debug=1", filepath.Join(cfg.Out, "heap-128.txt"))
}

// fetch saves what url answers to file.
func fetch(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// residentSplit formats what p's resident set is made of now.
func residentSplit(p *Process) string {
	anon, file := p.Resident()
	return fmt.Sprintf("%.1f MB heap and stacks + %.1f MB executable's pages", float64(anon)/(1<<20), float64(file)/(1<<20))
}
