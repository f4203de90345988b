// Package matrix holds the runtime shapes of the capability matrix: the types
// that the generated package fills in from spec/ and that the server reads on
// the hot path. It contains no per-model facts; those live in spec/*.toml and
// reach the program only through the generated package.
package matrix

import "math/bits"

// Param numbers one parameter of the accepted superset. The numbering is
// assigned by the generator in the order of spec/params.toml and is also the
// bit position of the parameter in a Mask.
type Param uint8

// Mask is a set of parameters, one bit per Param. Filters take and return
// masks so that the whole forwarding decision is a handful of bit operations.
type Mask uint64

// MaskOf returns the set holding exactly p.
func MaskOf(p Param) Mask { return 1 << p }

// Has reports whether p is in the set.
func (m Mask) Has(p Param) bool { return m&(1<<p) != 0 }

// Next returns the lowest parameter in m and m without it. It is the
// allocation-free way to walk a set: for m != 0 { p, m = m.Next(); ... }.
func (m Mask) Next() (Param, Mask) {
	p := Param(bits.TrailingZeros64(uint64(m)))
	return p, m &^ (1 << p)
}

// Filter decides which of the parameters a client sent are forwarded to a
// model's upstream. thinking reports whether extended thinking is on for the
// request, which on some models removes sampling parameters. Every generated
// filter is branch-free: it is made only of bit arithmetic on constant masks.
type Filter func(present Mask, thinking bool) Mask

// Bit is 1 when b is true and 0 otherwise. The compiler turns it into a
// zero-extending move, not a branch, which keeps the generated filters
// branch-free; -Bit(b) is the all-ones mask when b is true.
func Bit(b bool) Mask {
	var m Mask
	if b {
		m = 1
	}
	return m
}
