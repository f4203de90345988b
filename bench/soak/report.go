package soak

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Flat reports whether memory and descriptors held level: the highest
// reading of the last third of the run is within 25% (plus 4 MiB, for the
// collector's cycles) of the highest of the middle third. The first third
// is the warm-up, while pools and the heap grow to their working size.
func (r *Report) Flat() (ok bool, why string) {
	n := len(r.Samples)
	if n < 6 {
		return true, "too short to judge"
	}
	mid, last := r.Samples[n/3:2*n/3], r.Samples[2*n/3:]
	peak := func(s []Sample, f func(Sample) int64) int64 {
		var m int64
		for _, x := range s {
			m = max(m, f(x))
		}
		return m
	}
	rssOf := func(s Sample) int64 { return s.RSS }
	fdOf := func(s Sample) int64 { return int64(s.FDs) }
	if a, b := peak(mid, rssOf), peak(last, rssOf); b > a+a/4+4<<20 {
		return false, fmt.Sprintf("RSS grew from %.1f MiB to %.1f MiB", mib(a), mib(b))
	}
	if a, b := peak(mid, fdOf), peak(last, fdOf); b > a+a/4+16 {
		return false, fmt.Sprintf("open descriptors grew from %d to %d", a, b)
	}
	return true, "flat"
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// Markdown renders the report, with the command that produced it.
func (r *Report) Markdown(command string) string {
	var b strings.Builder
	c := r.Config
	total := 0
	for _, n := range r.Counts {
		total += n
	}
	fmt.Fprintf(&b, "# Soak run\n\n`%s`\n\n", command)
	fmt.Fprintf(&b, "%v of traffic at %d requests/s (%d requests), a 1.6 s pause every %v (the upstream closes idle connections after %v, so each pause leaves every pooled upstream connection stale), gateway defaults for every timeout and limit; run took %v.\n\n",
		c.Duration, c.Rate, total, c.PauseEvery, idleClose, r.Elapsed.Round(time.Second))
	b.WriteString("| kind | requests | must get |\n|---|---|---|\n")
	expect := map[string]string{
		"buffered": "200, `finish_reason: stop`", "streamed": "200, usage, `[DONE]`, no error frame",
		"invalid": "400 naming `temperature`", "upstream 429": "429", "upstream 503/529": "503 `no_supplier`",
		"slow reader": "the whole stream, read a line every 5 ms", "client leaves": "(leaves after 100 ms of a 2 s answer)",
	}
	names := make([]string, 0, len(r.Counts))
	for k := range r.Counts {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(&b, "| %s | %d | %s |\n", k, r.Counts[k], expect[k])
	}
	fmt.Fprintf(&b, "\n**Unexpected answers: %d.**\n", len(r.Unexpected))
	for i, u := range r.Unexpected {
		if i == 10 {
			fmt.Fprintf(&b, "- … and %d more\n", len(r.Unexpected)-10)
			break
		}
		fmt.Fprintf(&b, "- %s\n", u)
	}
	if len(r.Long) > 0 {
		b.WriteString("\n## Long streams (a delta every 500 ms, default timeouts)\n\n| length | took | frames | ended with usage and [DONE] |\n|---|---|---|---|\n")
		for _, l := range r.Long {
			fmt.Fprintf(&b, "| %v | %v | %d | %v %s |\n", l.Want, l.Took.Round(100*time.Millisecond), l.Frames, l.OK, l.Detail)
		}
	}
	ok, why := r.Flat()
	fmt.Fprintf(&b, "\n## The gateway process\n\nMemory and descriptors: **%s** (%v).\n\n| at | RSS | open descriptors |\n|---|---|---|\n", why, ok)
	step := max(1, len(r.Samples)/30)
	for i, s := range r.Samples {
		if i%step == 0 || i == len(r.Samples)-1 {
			fmt.Fprintf(&b, "| %v | %.1f MiB | %d |\n", s.At.Round(time.Second), mib(s.RSS), s.FDs)
		}
	}
	return b.String()
}
