package loadtest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/valyala/fasthttp"
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
	gw := filepath.Join(cfg.Work, "opentoken")
	proxyBin := filepath.Join(cfg.Work, "bareproxy")
	for bin, pkg := range map[string]string{gw: "./cmd/opentoken", proxyBin: "./bench/cmd/bareproxy"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Dir = cfg.Root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	mock := NewMock(0, 600, 32)
	mockLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mockSrv := &fasthttp.Server{Handler: mock.Handle, NoDefaultServerHeader: true, Concurrency: 1 << 16}
	go func() { _ = mockSrv.Serve(mockLn) }()
	defer mockSrv.Shutdown()
	mockAddr := mockLn.Addr().String()
	mockURL := "http://" + mockAddr
	probe := newClient(4)
	defer probe.CloseIdleConnections()
	ready := func(t *Target) func() error {
		return func() error { _, err := once(probe, t); return err }
	}

	proxyAddr, err := FreeAddr()
	if err != nil {
		return err
	}
	bare := &Target{Name: "bare fasthttp proxy", URL: "http://" + proxyAddr + "/v1/messages", Body: nativeBody}
	if bare.Process, err = Start(proxyBin, []string{"-listen", proxyAddr, "-upstream", mockAddr}, nil, ready(bare), 10*time.Second); err != nil {
		return err
	}
	defer bare.Process.Stop()

	pprofAddr, err := FreeAddr()
	if err != nil {
		return err
	}
	env := []string{"OPENTOKEN_API_KEYS=" + benchKey, "ANTHROPIC_API_KEY=" + upstreamKey, "ANTHROPIC_BASE_URL=" + mockURL,
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
