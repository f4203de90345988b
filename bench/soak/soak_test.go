package soak

import (
	"strings"
	"testing"
	"time"

	"github.com/opentoken/opentoken/internal/gotool"
)

// TestSoakSmoke runs the soak for a few seconds, with a short long stream:
// every answer as expected, and the report renders. The real run is
// make soak.
func TestSoakSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the gateway")
	}
	r, err := Run(Config{Root: gotool.ModuleRoot(t), Work: t.TempDir(), Duration: 4 * time.Second, Rate: 60,
		PauseEvery: 1500 * time.Millisecond, LongStreams: []time.Duration{2 * time.Second, 2 * time.Second}, Sample: 250 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Unexpected) > 0 {
		t.Errorf("%d unexpected answers, first: %s", len(r.Unexpected), r.Unexpected[0])
	}
	for _, l := range r.Long {
		if !l.OK {
			t.Errorf("long stream of %v: %s", l.Want, l.Detail)
		}
	}
	if len(r.Counts) != 7 || len(r.Samples) < 4 || r.Samples[0].RSS == 0 || r.Samples[0].FDs == 0 {
		t.Errorf("counts %v, %d samples", r.Counts, len(r.Samples))
	}
	if md := r.Markdown("go test"); !strings.Contains(md, "Unexpected answers: 0") {
		t.Errorf("report:\n%s", md)
	}
}
