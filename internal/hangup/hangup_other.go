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

// Register watches nothing.
func (n *Notifier) Register(net.Conn) *Watch { return nil }

// Unregister does nothing.
func (n *Notifier) Unregister(*Watch) {}

// Close does nothing.
func (n *Notifier) Close() error { return nil }
