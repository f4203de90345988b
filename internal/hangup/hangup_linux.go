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
	watched map[uint64]Canceler
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
	n := &Notifier{epfd: epfd, cause: cause, watched: map[uint64]Canceler{}, done: make(chan struct{})}
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

// FD returns the descriptor of a TCP connection, for Watch; -1 when c has
// none. The descriptor stays c's until c is closed.
func FD(c net.Conn) int {
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

// Watch cancels c, once, if the peer of the connection fd hangs up before
// Stop(fd, token). It returns the token, and 0 when fd cannot be watched.
// fd must stay open until Stop.
func (n *Notifier) Watch(fd int, c Canceler) (token uint64) {
	if n == nil || fd < 0 {
		return 0
	}
	n.mu.Lock()
	n.next++
	token = n.next
	n.watched[token] = c
	n.mu.Unlock()
	// Hang-ups only, once: a pipelined request's bytes are no event, and
	// ERR and HUP are always reported.
	ev := syscall.EpollEvent{Events: syscall.EPOLLRDHUP | syscall.EPOLLONESHOT, Fd: int32(token), Pad: int32(token >> 32)}
	if syscall.EpollCtl(n.epfd, syscall.EPOLL_CTL_ADD, fd, &ev) != nil {
		n.forget(token)
		return 0
	}
	return token
}

// Stop ends a watch. Once it returns, the watch's Canceler is never
// called.
func (n *Notifier) Stop(fd int, token uint64) {
	if token == 0 {
		return
	}
	_ = syscall.EpollCtl(n.epfd, syscall.EPOLL_CTL_DEL, fd, nil)
	n.forget(token)
}

func (n *Notifier) forget(token uint64) {
	n.mu.Lock()
	delete(n.watched, token)
	n.mu.Unlock()
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
			// Cancelled under the lock, so that a Stop that returned
			// cannot see its Canceler called afterwards.
			n.mu.Lock()
			if c, ok := n.watched[token]; ok {
				delete(n.watched, token)
				c.Cancel(n.cause)
			}
			n.mu.Unlock()
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
