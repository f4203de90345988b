package server

import "unsafe"

// unsafeString views b as a string without copying, for a value written out
// before b changes.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
