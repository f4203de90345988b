package loadtest

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Goals are the targets issue #5 sets, checked in the report.
const (
	goalAddedP50   = 30 * time.Microsecond
	goalAddedP99   = 150 * time.Microsecond
	goalCPURatio   = 1.5
	goalThroughput = 0.60 // of the bare proxy's saturated throughput
	goalLogged     = 0.95 // throughput with the access log and metrics on, of off
	goalVsPortkey  = 10.0
	goalRSS        = 40 << 20
	goalColdStart  = 30 * time.Millisecond
	// issue #12: tenancy on (an issued key) against off (an operator key)
	goalTenancyThroughput = 0.90
	goalTenancyAddedP50   = 10 * time.Microsecond
	// issue #23: every feature on but traces, against the bare proxy; and
	// every request traced against tracing off
	goalFullCPURatio   = 1.25
	goalFullThroughput = 0.80
	goalFullAddedP50   = 20 * time.Microsecond
	goalTracedCPURatio = 1.10
)

func median(rs []*Result, f func(*Result) float64) (med, lo, hi float64) {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v) == 0 {
		return 0, 0, 0
	}
	return v[len(v)/2], v[0], v[len(v)-1]
}

func pct(q float64) func(*Result) float64 {
	return func(r *Result) float64 { return float64(Percentile(r.Latencies, q)) }
}

func cpuPer1k(r *Result) float64 {
	if r.Requests == 0 {
		return 0
	}
	return r.CPU.Seconds() / float64(r.Requests) * 1000
}

// totalCPUPer1k pools every trial: CPU is read in 10 ms ticks, so the sum
// over all trials is steadier than any one trial's ratio.
func totalCPUPer1k(rs []*Result) float64 {
	var cpu time.Duration
	n := 0
	for _, r := range rs {
		cpu += r.CPU
		n += r.Requests
	}
	if n == 0 {
		return 0
	}
	return cpu.Seconds() / float64(n) * 1000
}

func us(ns float64) string { return fmt.Sprintf("%.0f µs", ns/1e3) }

func rng(med, lo, hi float64, format func(float64) string) string {
	return format(med) + " (" + format(lo) + "–" + format(hi) + ")"
}

func (r *Run) find(name string) *Measured {
	for _, m := range r.Measured {
		if m.Target.Name == name {
			return m
		}
	}
	return nil
}

func saturation(m *Measured) float64 {
	best := 0.0
	for _, v := range m.Sweep {
		best = max(best, v)
	}
	return best
}

// Markdown renders the report.
func (r *Run) Markdown(command string) string {
	var b strings.Builder
	cfg := r.Config
	fmt.Fprintf(&b, "# Load harness results\n\n")
	fmt.Fprintf(&b, "Run on %s, %s, %d cores (%s/%s), Go %s, with the mock upstream at %v latency. "+
		"Every figure comes from this one run; targets ran interleaved, %d trials each, median (min–max) shown.\n\n",
		r.Started.UTC().Format("2006-01-02 15:04 MST"), cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH,
		runtime.Version(), cfg.Latency, cfg.Trials)
	fmt.Fprintf(&b, "```sh\n%s\n```\n\n", command)
	fmt.Fprintf(&b, "Each measurement lasts %v after a %v warm-up; retries are off everywhere. The load generator and "+
		"the mock share the harness process; every target is a separate process whose CPU and memory are read from /proc.\n\n",
		cfg.Duration, cfg.Warmup)
	fmt.Fprintf(&b, "![latency](plots/latency.svg) ![throughput](plots/throughput.svg)\n\n")

	fmt.Fprintf(&b, "## Latency at a fixed open-loop rate of %d req/s\n\n", cfg.Rate)
	b.WriteString("The pacer sends on schedule whatever the answers' pace, one goroutine per request, so a slow target cannot lower the offered load; " +
		"latency runs from the actual send. ")
	var lags []time.Duration
	for _, m := range r.Measured {
		for _, o := range m.OpenLoop {
			lags = append(lags, o.SendLag...)
		}
	}
	slices.Sort(lags)
	fmt.Fprintf(&b, "The pacer itself sent %s late at p50 and %s at p99 (Go timer slack on an idle machine), which is excluded.\n\n",
		us(float64(Percentile(lags, 0.5))), us(float64(Percentile(lags, 0.99))))
	b.WriteString("| target | p50 | p90 | p99 | p99.9 | added p50 vs direct | added p99 vs direct |\n|---|---|---|---|---|---|---|\n")
	direct := r.find("direct (mock)")
	for _, m := range r.Measured {
		p50, lo50, hi50 := median(m.OpenLoop, pct(0.5))
		p90, _, _ := median(m.OpenLoop, pct(0.9))
		p99, lo99, hi99 := median(m.OpenLoop, pct(0.99))
		p999, _, _ := median(m.OpenLoop, pct(0.999))
		d50, _, _ := median(direct.OpenLoop, pct(0.5))
		d99, _, _ := median(direct.OpenLoop, pct(0.99))
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", m.Target.Name, rng(p50, lo50, hi50, us), us(p90),
			rng(p99, lo99, hi99, us), us(p999), us(p50-d50), us(p99-d99))
	}

	fmt.Fprintf(&b, "\n## Throughput, CPU and memory\n\n")
	fmt.Fprintf(&b, "| target | req/s at concurrency %d | saturated req/s (sweep %v) | p50 / p99 at concurrency 1 | CPU s per 1k requests | peak RSS | after the sweep: heap and stacks + executable's pages | cold start |\n|---|---|---|---|---|---|---|---|\n", cfg.Concurrency, cfg.Sweep)
	for _, m := range r.Measured {
		tput, lo, hi := median(m.ConcN, (*Result).Throughput)
		c50, _, _ := median(m.Conc1, pct(0.5))
		c99, _, _ := median(m.Conc1, pct(0.99))
		cpu, clo, chi := median(m.ConcN, cpuPer1k)
		cpuS, rss, split, cold := "— (in the harness)", "—", "—", "—"
		if m.Target.Process != nil {
			cpuS = rng(cpu, clo, chi, func(v float64) string { return fmt.Sprintf("%.3f", v) })
			rss = fmt.Sprintf("%.1f MB", float64(m.PeakRSS)/(1<<20))
			split = fmt.Sprintf("%.1f + %.1f MB", float64(m.Anon)/(1<<20), float64(m.File)/(1<<20))
			cold = fmt.Sprintf("%.1f ms", float64(m.ColdStart)/1e6)
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %s / %s | %s | %s | %s | %s |\n", m.Target.Name,
			rng(tput, lo, hi, func(v float64) string { return fmt.Sprintf("%.0f", v) }), saturation(m), us(c50), us(c99), cpuS, rss, split, cold)
	}

	fmt.Fprintf(&b, "\n## Streaming (Gemini shape, %d chunks, concurrency 1)\n\n", r.Chunks)
	b.WriteString("| target | time to first byte p50 | whole stream p50 | overhead per chunk vs direct |\n|---|---|---|---|\n")
	for _, m := range r.Stream {
		per := float64(m.StreamFull-r.Stream[0].StreamFull) / float64(r.Chunks)
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", m.Target.Name, us(float64(m.StreamTTFB)), us(float64(m.StreamFull)), us(per))
	}

	b.WriteString("\n## Against the targets\n\n")
	b.WriteString(r.goals())
	if len(r.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range r.Notes {
			b.WriteString("- " + n + "\n")
		}
	}
	return b.String()
}

// goals checks the targets, OpenToken against the bare proxy.
func (r *Run) goals() string {
	bare, gw := r.find("bare fasthttp proxy"), r.find("OpenToken → Claude")
	var b strings.Builder
	row := func(name, got, goal string, ok bool) {
		mark := "met"
		if !ok {
			mark = "**missed**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", name, got, goal, mark)
	}
	b.WriteString("| target (OpenToken → Claude vs the bare proxy) | measured | goal | |\n|---|---|---|---|\n")
	if bare != nil && gw != nil {
		g50, _, _ := median(gw.Conc1, pct(0.5))
		b50, _, _ := median(bare.Conc1, pct(0.5))
		g99, _, _ := median(gw.Conc1, pct(0.99))
		b99, _, _ := median(bare.Conc1, pct(0.99))
		row("added p50, concurrency 1", us(g50-b50), "≤ 30 µs", g50-b50 <= float64(goalAddedP50))
		row("added p99, concurrency 1", us(g99-b99), "≤ 150 µs", g99-b99 <= float64(goalAddedP99))
		o50, _, _ := median(gw.OpenLoop, pct(0.5))
		ob50, _, _ := median(bare.OpenLoop, pct(0.5))
		o99, _, _ := median(gw.OpenLoop, pct(0.99))
		ob99, _, _ := median(bare.OpenLoop, pct(0.99))
		row(fmt.Sprintf("added p50, open loop %d req/s", r.Config.Rate), us(o50-ob50), "≤ 30 µs", o50-ob50 <= float64(goalAddedP50))
		row(fmt.Sprintf("added p99, open loop %d req/s", r.Config.Rate), us(o99-ob99), "≤ 150 µs", o99-ob99 <= float64(goalAddedP99))
		gc, bc := totalCPUPer1k(gw.ConcN), totalCPUPer1k(bare.ConcN)
		row("CPU per request", fmt.Sprintf("%.2f× the bare proxy's", gc/bc), "≤ 1.5×", gc/bc <= goalCPURatio)
		if quiet, traced := r.find("OpenToken → Claude, access log off"), r.find(tracedTarget); quiet != nil && traced != nil {
			tc, qc := totalCPUPer1k(traced.ConcN), totalCPUPer1k(quiet.ConcN)
			row("CPU per request, every request traced", fmt.Sprintf("%.2f× untraced", tc/qc), "≤ 1.10×", tc/qc <= goalTracedCPURatio)
		}
		row("saturated throughput", fmt.Sprintf("%.0f%% of the bare proxy's", 100*saturation(gw)/saturation(bare)), "≥ 60%", saturation(gw)/saturation(bare) >= goalThroughput)
		if pk := r.find("Portkey → Claude"); pk != nil && saturation(pk) > 0 {
			x := saturation(gw) / saturation(pk)
			row("saturated throughput vs Portkey", fmt.Sprintf("%.1f×", x), "≥ 10×", x >= goalVsPortkey)
		}
		if quiet := r.find("OpenToken → Claude, access log off"); quiet != nil {
			tl, _, _ := median(gw.ConcN, (*Result).Throughput)
			tq, _, _ := median(quiet.ConcN, (*Result).Throughput)
			row(fmt.Sprintf("throughput with the access log and metrics on, concurrency %d", r.Config.Concurrency),
				fmt.Sprintf("%.1f%% of off", 100*tl/tq), "≥ 95%", tl/tq >= goalLogged)
		}
	}
	if quiet, tenant := r.find("OpenToken → Claude, access log off"), r.find(tenantTarget); quiet != nil && tenant != nil {
		tq, _, _ := median(quiet.ConcN, (*Result).Throughput)
		tt, _, _ := median(tenant.ConcN, (*Result).Throughput)
		row(fmt.Sprintf("throughput with tenancy on (an issued key), concurrency %d", r.Config.Concurrency),
			fmt.Sprintf("%.1f%% of off", 100*tt/tq), "≥ 90%", tt/tq >= goalTenancyThroughput)
		st, sq := saturation(tenant), saturation(quiet)
		row("saturated throughput with tenancy on", fmt.Sprintf("%.1f%% of off", 100*st/sq), "≥ 90%", st/sq >= goalTenancyThroughput)
		q50, _, _ := median(quiet.Conc1, pct(0.5))
		t50, _, _ := median(tenant.Conc1, pct(0.5))
		row("added p50 with tenancy on, concurrency 1", us(t50-q50), "≤ 10 µs", t50-q50 <= float64(goalTenancyAddedP50))
	}
	if gw == nil {
		r.fullGoals(row, &b)
		return b.String() // a run of some targets only (-targets)
	}
	row("peak RSS under load", fmt.Sprintf("%.1f MB", float64(gw.PeakRSS)/(1<<20)), "≤ 40 MB", gw.PeakRSS <= goalRSS)
	row("cold start (exec → first 200)", fmt.Sprintf("%.1f ms", float64(gw.ColdStart)/1e6), "≤ 30 ms", gw.ColdStart <= goalColdStart)
	r.fullGoals(row, &b)
	return b.String()
}

// fullGoals checks issue 23's targets: every feature on but traces, against
// the bare proxy.
func (r *Run) fullGoals(row func(name, got, goal string, ok bool), b *strings.Builder) {
	bare, full := r.find("bare fasthttp proxy"), r.find(fullTarget)
	if bare == nil || full == nil {
		return
	}
	b.WriteString("\n| target (every feature on vs the bare proxy) | measured | goal | |\n|---|---|---|---|\n")
	fc, bc := totalCPUPer1k(full.ConcN), totalCPUPer1k(bare.ConcN)
	row("CPU per request", fmt.Sprintf("%.2f× the bare proxy's", fc/bc), "≤ 1.25×", fc/bc <= goalFullCPURatio)
	row("saturated throughput", fmt.Sprintf("%.0f%% of the bare proxy's", 100*saturation(full)/saturation(bare)), "≥ 80%", saturation(full)/saturation(bare) >= goalFullThroughput)
	row("peak RSS under load", fmt.Sprintf("%.1f MB", float64(full.PeakRSS)/(1<<20)), "≤ 40 MB", full.PeakRSS <= goalRSS)
	f50, _, _ := median(full.Conc1, pct(0.5))
	b50, _, _ := median(bare.Conc1, pct(0.5))
	row("added p50, concurrency 1", us(f50-b50), "≤ 20 µs", f50-b50 <= float64(goalFullAddedP50))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}

// Plots renders the two SVG charts: latency percentiles by target (grouped
// bars, log scale) and saturated throughput by target.
func (r *Run) Plots() (latency, throughput string) {
	var names []string
	var series [][]float64
	for _, m := range r.Measured {
		names = append(names, m.Target.Name)
		var v []float64
		for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
			x, _, _ := median(m.OpenLoop, pct(q))
			v = append(v, x/1e3)
		}
		series = append(series, v)
	}
	latency = bars(fmt.Sprintf("Latency at %d req/s (µs, log scale)", r.Config.Rate), names, []string{"p50", "p90", "p99", "p99.9"}, series, true)
	series = nil
	for _, m := range r.Measured {
		series = append(series, []float64{saturation(m)})
	}
	throughput = bars("Saturated throughput (req/s)", names, []string{"req/s"}, series, false)
	return latency, throughput
}

var palette = []string{"#4c78a8", "#f58518", "#54a24b", "#e45756"}

// bars draws horizontal grouped bars: one group per name, one bar per label.
func bars(title string, names, labels []string, series [][]float64, logScale bool) string {
	const width, left, right, barH, gap = 900, 230, 80, 14, 12
	height := 60 + len(names)*(len(labels)*barH+gap) + 30
	top := 0.0
	for _, s := range series {
		for _, v := range s {
			top = max(top, v)
		}
	}
	scale := func(v float64) float64 {
		if v <= 0 || top <= 0 {
			return 0
		}
		if logScale {
			return math.Max(0, math.Log10(v+1)/math.Log10(top+1))
		}
		return v / top
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%d" y="24" font-size="15" font-weight="bold">%s</text>`, left, escape(title))
	for i, l := range labels {
		fmt.Fprintf(&b, `<rect x="%d" y="34" width="10" height="10" fill="%s"/><text x="%d" y="43">%s</text>`, left+i*80, palette[i%len(palette)], left+14+i*80, escape(l))
	}
	y := 60
	for i, name := range names {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, left-8, y+len(labels)*barH/2+4, escape(name))
		for j, v := range series[i] {
			w := scale(v) * float64(width-left-right)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`, left, y, w, barH-2, palette[j%len(palette)])
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10">%.0f</text>`, float64(left)+w+4, y+barH-4, v)
			y += barH
		}
		y += gap
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
