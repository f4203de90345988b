// Package seal seals small payloads a client must carry and give back
// unchanged (a reasoning item's encrypted_content): AES-256-GCM with a
// random nonce, so a client can neither read nor forge nor alter one.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
)

// KeySize is a sealing key's length in bytes.
const KeySize = 32

// prefix names the format, so a later one can be told apart.
const prefix = "otk1."

// Sealer seals and opens with one key. It is safe for concurrent use.
type Sealer struct{ aead cipher.AEAD }

// New makes a Sealer of a 32-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, errors.New("a sealing key is 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// NewKey draws a random key.
func NewKey() []byte {
	k := make([]byte, KeySize)
	_, _ = rand.Read(k)
	return k
}

// ParseKey reads a key written as base64 (standard or URL alphabet, padded
// or not) of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, errors.New("a sealing key is 32 random bytes in base64, such as `openssl rand -base64 32` writes")
}

// Seal returns plaintext sealed, as text.
func (s *Sealer) Seal(plaintext []byte) string {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	_, _ = rand.Read(nonce)
	return prefix + base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plaintext, nil))
}

// ErrForged is what Open says of text it did not seal, or that was altered.
var ErrForged = errors.New("not sealed by this gateway's key, or altered")

// Open returns the plaintext of sealed text, or ErrForged.
func (s *Sealer) Open(text string) ([]byte, error) {
	raw, ok := strings.CutPrefix(text, prefix)
	if !ok {
		return nil, ErrForged
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) < s.aead.NonceSize()+s.aead.Overhead() {
		return nil, ErrForged
	}
	out, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], nil)
	if err != nil {
		return nil, ErrForged
	}
	return out, nil
}
