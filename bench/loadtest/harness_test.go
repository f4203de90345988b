package loadtest

import (
	"strings"
	"testing"
	"time"

	"github.com/opentoken/opentoken/internal/gotool"
)

// TestHarnessSmoke runs the whole harness briefly, without Portkey, and
// checks that every target answered and the report and plots render. It is
// the check CI runs; the real run is make loadtest.
func TestHarnessSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the gateway and the bare proxy")
	}
	r, err := Execute(Config{
		Root: gotool.ModuleRoot(t), Work: t.TempDir(), Trials: 1, Duration: 150 * time.Millisecond,
		Warmup: 50 * time.Millisecond, Concurrency: 4, Rate: 200, Sweep: []int{1, 4},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Measured) != 9 || len(r.Stream) != 3 {
		t.Fatalf("measured %d targets and %d streams", len(r.Measured), len(r.Stream))
	}
	for _, m := range r.Measured {
		if m.ConcN[0].Requests == 0 || m.ConcN[0].Errors > 0 || m.OpenLoop[0].Errors > 0 || m.Sweep[4] == 0 {
			t.Errorf("%s: %d requests, %d errors (%s)", m.Target.Name, m.ConcN[0].Requests, m.ConcN[0].Errors, m.ConcN[0].FirstError)
		}
		if m.Target.Process != nil && (m.PeakRSS == 0 || m.ColdStart == 0) {
			t.Errorf("%s: no process readings", m.Target.Name)
		}
	}
	md := r.Markdown("go test")
	for _, want := range []string{"OpenToken → Claude", "bare fasthttp proxy", "added p50", "Portkey skipped", "every request traced", "every feature on vs the bare proxy"} {
		if !strings.Contains(md, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	lat, tput := r.Plots()
	if !strings.HasPrefix(lat, "<svg") || !strings.Contains(tput, "OpenToken") {
		t.Error("the plots did not render")
	}
}
