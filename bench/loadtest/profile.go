package loadtest

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
// statistics), its memory map with what of each part is resident after
// the saturation sweep (smaps.txt), and the CPU per request of both
// processes in the same run, so that what the profile shows can be read
// against the bare hop.
func Profile(cfg ProfileConfig) error {
	base, err := startRig(cfg.Root, cfg.Work)
	if err != nil {
		return err
	}
	defer base.stop()
	pprofAddr, err := FreeAddr()
	if err != nil {
		return err
	}
	full, err := base.startFull(base.gw, fullTarget, "OPENTOKEN_PPROF_ADDR="+pprofAddr)
	if err != nil {
		return err
	}
	bare := base.bare

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
	smaps, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", full.Process.Pid()))
	if err == nil {
		err = os.WriteFile(filepath.Join(cfg.Out, "smaps.txt"), smaps, 0o644)
	}
	if err != nil {
		return err
	}
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

// rig is what Profile and Variants measure the gateway in: the mock
// upstream, the readiness probe, the bare proxy in front of the mock, and
// the gateways started with startFull; stop stops them all.
type rig struct {
	gw, mockAddr string // the gateway's binary; the mock's address
	ready        func(*Target) func() error
	bare         *Target
	stops        []func()
}

func startRig(root, work string) (*rig, error) {
	gw, proxyBin, err := build(root, work)
	if err != nil {
		return nil, err
	}
	g := &rig{gw: gw}
	var stopMock, closeProbe func()
	if g.mockAddr, stopMock, err = startMock(0, 32); err != nil {
		return nil, err
	}
	g.ready, closeProbe = readiness()
	g.stops = append(g.stops, stopMock, closeProbe)
	if g.bare, _, err = startBare(proxyBin, g.mockAddr, g.ready); err != nil {
		g.stop()
		return nil, err
	}
	g.stops = append(g.stops, g.bare.Process.Stop)
	return g, nil
}

// startFull starts the gateway binary gw with every feature on
// (fullTarget's), with env added to its environment, as the target called
// name.
func (g *rig) startFull(gw, name string, env ...string) (*Target, error) {
	env = append([]string{"OPENTOKEN_API_KEYS=" + benchKey, "ANTHROPIC_API_KEY=" + upstreamKey, "ANTHROPIC_BASE_URL=http://" + g.mockAddr,
		"OPENTOKEN_METRICS=on", "OPENTOKEN_ACCESS_LOG=on"}, env...)
	t, err := startTenant(gw, name, env, GatewayRequest("anthropic/claude-sonnet-4-5"), g.ready)
	if err != nil {
		return nil, err
	}
	g.stops = append(g.stops, t.Process.Stop)
	return t, nil
}

// stop stops what the rig started, the last started first.
func (g *rig) stop() {
	for i := len(g.stops) - 1; i >= 0; i-- {
		g.stops[i]()
	}
}

// residentSplit formats what p's resident set is made of now.
func residentSplit(p *Process) string {
	anon, file := p.Resident()
	return fmt.Sprintf("%.1f MB heap and stacks + %.1f MB executable's pages", float64(anon)/(1<<20), float64(file)/(1<<20))
}

// VariantsConfig compares the gateway with every feature on under several
// environments (GOGC=100, OPENTOKEN_ACCESS_LOG=off, …) in one run.
type VariantsConfig struct {
	Root, Work string
	// Variants are each the environment added to the gateway's; one whose
	// first entry is bin=PATH runs the gateway binary at PATH (another
	// commit's) instead of the one built from Root.
	Variants [][]string
	Trials   int
	Duration time.Duration // of each measurement
	Log      func(format string, args ...any)
}

// Variants starts the bare proxy and one gateway with every feature on per
// variant, then measures them in turn, Trials times, at concurrency 32 and
// 128, and logs each one's median CPU per request (and its ratio to the
// bare proxy's), throughput and peak RSS.
func Variants(cfg VariantsConfig) error {
	base, err := startRig(cfg.Root, cfg.Work)
	if err != nil {
		return err
	}
	defer base.stop()
	targets := []*Target{base.bare}
	for _, env := range cfg.Variants {
		gw := base.gw
		if len(env) > 0 && strings.HasPrefix(env[0], "bin=") {
			gw, env = strings.TrimPrefix(env[0], "bin="), env[1:]
		}
		t, err := base.startFull(gw, fmt.Sprintf("%s %v", filepath.Base(gw), env), env...)
		if err != nil {
			return err
		}
		targets = append(targets, t)
	}
	r32, r128 := make([][]*Result, len(targets)), make([][]*Result, len(targets))
	for range cfg.Trials {
		for i, t := range targets {
			r32[i] = append(r32[i], Closed(t, 32, cfg.Duration))
			r128[i] = append(r128[i], Closed(t, 128, cfg.Duration))
		}
	}
	cpu := func(r *Result) float64 { return float64(r.CPU.Microseconds()) / float64(r.Requests) }
	rate := (*Result).Throughput
	bareCPU, _, _ := median(r32[0], cpu)
	for i, t := range targets {
		c, _, _ := median(r32[i], cpu)
		at32, _, _ := median(r32[i], rate)
		at128, _, _ := median(r128[i], rate)
		cfg.Log("%s: CPU %.1f µs a request (%.2f× the bare proxy's), %.0f req/s at concurrency 32, %.0f at 128, peak RSS %.1f MB, resident now %s",
			t.Name, c, c/bareCPU, at32, at128, float64(t.Process.PeakRSS())/(1<<20), residentSplit(t.Process))
	}
	return nil
}
