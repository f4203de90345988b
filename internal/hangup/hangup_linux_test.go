package hangup

import (
	"errors"
	"net"
	"testing"
	"time"
)

type canceler chan error

func (c canceler) Cancel(err error) { c <- err }

// pair returns both ends of a loopback TCP connection.
func pair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

func TestHangUp(t *testing.T) {
	cause := errors.New("gone")
	n, err := New(cause)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()

	// Bytes from the peer (a pipelined request) are no hang-up.
	server, client := pair(t)
	w := n.Register(server)
	if w == nil {
		t.Fatal("a TCP connection could not be watched")
	}
	defer n.Unregister(w)
	c := make(canceler, 1)
	w.Arm(c)
	if _, err := client.Write([]byte("GET / HTTP/1.1\r\n")); err != nil {
		t.Fatal(err)
	}
	syncLoop(t, n)
	select {
	case <-c:
		t.Fatal("bytes from the peer were taken for a hang-up")
	default:
	}
	// A peer that closes has hung up.
	client.Close()
	select {
	case got := <-c:
		if got != cause {
			t.Errorf("cancelled with %v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no cancel after the peer closed")
	}
	// Arming after the hang-up cancels at once.
	c2 := make(canceler, 1)
	w.Arm(c2)
	if got := <-c2; got != cause {
		t.Errorf("armed after the hang-up: %v", got)
	}

	// A disarmed watch never fires.
	server, client = pair(t)
	w = n.Register(server)
	defer n.Unregister(w)
	c = make(canceler, 1)
	w.Arm(c)
	w.Disarm()
	client.Close()
	syncLoop(t, n)
	select {
	case <-c:
		t.Error("a disarmed watch fired")
	default:
	}
	if n.Register(fakeConn{}) != nil {
		t.Error("a connection without a descriptor must not be watched")
	}
	var none *Watch
	none.Arm(c) // a nil watch arms nothing
	none.Disarm()
}

type fakeConn struct{ net.Conn }

// syncLoop returns once the notifier's loop has handled everything that
// happened before the call: it watches a connection of its own hang up,
// an event that comes after every earlier one.
func syncLoop(t *testing.T, n *Notifier) {
	t.Helper()
	server, client := pair(t)
	w := n.Register(server)
	c := make(canceler, 1)
	w.Arm(c)
	client.Close()
	<-c
	n.Unregister(w)
}
