// Package bytesconv views bytes as a string without copying, for the hot
// path's comparisons and writes.
package bytesconv

import "unsafe"

// String views b as a string without copying. The result is valid only while
// b is unmodified: use it for a comparison or a write that ends before b can
// change, and copy it (strings.Clone) before keeping it.
func String(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
