// Benchmarks of the generated capability matrix: one filter call per model
// and a registry lookup by id, with a map lookup beside it as the baseline
// the switch must beat.
//
//	go test ./bench -run '^$' -bench 'Filter|Lookup' -benchmem -count 5
package bench

import (
	"testing"

	"github.com/opentoken/opentoken/generated"
	"github.com/opentoken/opentoken/matrix"
)

var (
	sinkMask  matrix.Mask
	sinkModel *matrix.Model
)

// everySampling is a request carrying the whole sampling superset.
var everySampling = func() matrix.Mask {
	var m matrix.Mask
	for p := matrix.Param(0); p < generated.NumParams; p++ {
		if generated.ParamSpecs[p].Policy != matrix.PolicyReject {
			m |= matrix.MaskOf(p)
		}
	}
	return m
}()

func BenchmarkFilter(b *testing.B) {
	for _, m := range generated.Models {
		b.Run(m.ID, func(b *testing.B) {
			b.ReportAllocs()
			filter, thinking := m.Filter, false
			for b.Loop() {
				sinkMask ^= filter(everySampling, thinking)
				thinking = !thinking
			}
		})
	}
}

func BenchmarkLookup(b *testing.B) {
	ids := make([][]byte, len(generated.Models))
	byID := map[string]*matrix.Model{}
	for i, m := range generated.Models {
		ids[i] = []byte(m.ID)
		byID[m.ID] = m
	}
	b.Run("switch", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			sinkModel = generated.Lookup(string(ids[i%len(ids)]))
			i++
		}
	})
	b.Run("map-baseline", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			sinkModel = byID[string(ids[i%len(ids)])]
			i++
		}
	})
	b.Run("unknown", func(b *testing.B) {
		b.ReportAllocs()
		id := []byte("openai/gpt-4o")
		for b.Loop() {
			sinkModel = generated.Lookup(string(id))
		}
	})
}
