//go:build !linux

package hangup

import (
	"errors"
	"net"
)

// Notifier is Linux-only; elsewhere a client that leaves is noticed when
// its answer is written, not before.
type Notifier struct{}

// New fails outside Linux; a nil *Notifier watches nothing.
func New(error) (*Notifier, error) { return nil, errors.New("hangup: needs Linux's epoll") }

// FD returns -1: nothing can be watched.
func FD(net.Conn) int { return -1 }

// Watch watches nothing.
func (n *Notifier) Watch(int, Canceler) uint64 { return 0 }

// Stop does nothing.
func (n *Notifier) Stop(int, uint64) {}

// Close does nothing.
func (n *Notifier) Close() error { return nil }
