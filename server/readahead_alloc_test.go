//go:build !race

package server

import (
	"bytes"
	"testing"
)

// The pool is what keeps this at zero, and the race detector drops a
// share of what goes back to a pool on purpose: not run under -race.
func TestReadAheadAllocations(t *testing.T) {
	c := &scriptedConn{}
	chunk := bytes.Repeat([]byte("r"), 1500)
	script := make([][]byte, 1)
	var a readAhead
	var one [1]byte
	rest := make([]byte, 16<<10)
	allocs := testing.AllocsPerRun(100, func() {
		script[0] = chunk
		c.chunks = script
		_, _ = a.read(c, one[:])
		_, _ = a.read(c, rest)
	})
	if allocs != 0 {
		t.Errorf("a request read through the read-ahead allocates %v times", allocs)
	}
}
