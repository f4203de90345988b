package openai

import "unsafe"

// unsafeString views b as a string without copying. The result is valid only
// while b is unmodified; callers use it for comparisons that end before b
// can change, and copy it (strings.Clone) before keeping it.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
