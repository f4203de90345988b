package server

import (
	"crypto/rand"
	"encoding/hex"
	"sync/atomic"
)

// idSource makes completion ids: a random per-process prefix and a counter,
// unique without a syscall or a lock per request.
type idSource struct {
	prefix [12]byte // hex of 6 random bytes
	n      atomic.Uint64
}

// init draws the random prefix.
func (s *idSource) init() {
	var b [6]byte
	_, _ = rand.Read(b[:])
	hex.Encode(s.prefix[:], b[:])
}

// appendID appends "<prefix><counter>" such as "chatcmpl-3f9a0c11b2e40000002a".
func (s *idSource) appendID(dst []byte, prefix string) []byte {
	dst = append(dst, prefix...)
	dst = append(dst, s.prefix[:]...)
	var b [8]byte
	n := s.n.Add(1)
	for i := 7; i >= 0; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	return hex.AppendEncode(dst, b[:])
}
