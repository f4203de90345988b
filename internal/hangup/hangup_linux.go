package hangup

import (
	"errors"
	"net"
	"sync"
	"syscall"
)

// Notifier watches connections for their peer's hang-up.
type Notifier struct {
	epfd    int
	wake    [2]int // a pipe whose read end is in the epoll set, to stop the loop
	cause   error
	mu      sync.Mutex
	next    uint64
	watched map[uint64]*Watch
	done    chan struct{}
}

// wakeToken marks the pipe's event; watches count from 1.
const wakeToken = 0

// New starts a notifier whose hang-ups cancel with cause.
func New(cause error) (*Notifier, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	n := &Notifier{epfd: epfd, cause: cause, watched: map[uint64]*Watch{}, done: make(chan struct{})}
	if err := syscall.Pipe2(n.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, n.wake[0], &ev); err != nil {
		n.closeFDs()
		return nil, err
	}
	go n.loop()
	return n, nil
}

// Register watches the TCP connection c for its life; Unregister must
// follow before c is closed. It returns nil when c cannot be watched (no
// descriptor, or no notifier).
func (n *Notifier) Register(c net.Conn) *Watch {
	if n == nil {
		return nil
	}
	fd := fdOf(c)
	if fd < 0 {
		return nil
	}
	n.mu.Lock()
	n.next++
	w := &Watch{fd: fd, token: n.next, cause: n.cause}
	n.watched[w.token] = w
	n.mu.Unlock()
	// Hang-ups only, once: a pipelined request's bytes are no event, ERR
	// and HUP are always reported, and a hang-up is for good.
	ev := syscall.EpollEvent{Events: syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(w.token), Pad: int32(w.token >> 32)}
	if syscall.EpollCtl(n.epfd, syscall.EPOLL_CTL_ADD, fd, &ev) != nil {
		n.forget(w)
		return nil
	}
	return w
}

// Unregister ends the watch of a connection, before it is closed.
func (n *Notifier) Unregister(w *Watch) {
	if n == nil || w == nil {
		return
	}
	_ = syscall.EpollCtl(n.epfd, syscall.EPOLL_CTL_DEL, w.fd, nil)
	n.forget(w)
}

func (n *Notifier) forget(w *Watch) {
	n.mu.Lock()
	delete(n.watched, w.token)
	n.mu.Unlock()
}

// fdOf returns the descriptor of a connection, -1 when it has none.
func fdOf(c net.Conn) int {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	if raw.Control(func(f uintptr) { fd = int(f) }) != nil {
		return -1
	}
	return fd
}

func (n *Notifier) loop() {
	defer close(n.done)
	events := make([]syscall.EpollEvent, 128)
	for {
		k, err := syscall.EpollWait(n.epfd, events, -1)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return
		}
		for _, ev := range events[:k] {
			token := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if token == wakeToken {
				return
			}
			n.mu.Lock()
			w := n.watched[token]
			n.mu.Unlock()
			if w != nil {
				w.fire()
			}
		}
	}
}

// Close stops the notifier's goroutine and waits for it.
func (n *Notifier) Close() error {
	if n == nil {
		return nil
	}
	_, _ = syscall.Write(n.wake[1], []byte{1})
	<-n.done
	n.closeFDs()
	return nil
}

func (n *Notifier) closeFDs() {
	syscall.Close(n.wake[0])
	syscall.Close(n.wake[1])
	syscall.Close(n.epfd)
}
