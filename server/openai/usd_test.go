package openai_test

import (
	"testing"

	"github.com/opentoken/opentoken/server/openai"
)

func TestAppendUSD(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0", 1: "1", 0.0147: "0.0147", 0.00000025: "0.00000025", 1234.5: "1234.5",
		0.0000000001: "0.0000000001", 0.00000000004: "0", 12.3456789012: "12.3456789012",
	} {
		if got := string(openai.AppendUSD(nil, v)); got != want {
			t.Errorf("%v: %s, want %s", v, got, want)
		}
	}
}
