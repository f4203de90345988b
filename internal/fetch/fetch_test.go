package fetch

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counting is a test server that counts the connections it accepts.
type counting struct {
	*httptest.Server
	conns atomic.Int64
}

func serve(t *testing.T, h http.HandlerFunc) *counting {
	c := &counting{}
	c.Server = httptest.NewUnstartedServer(h)
	c.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.conns.Add(1)
		}
	}
	c.Start()
	t.Cleanup(c.Close)
	return c
}

func loopbackOnly(ip netip.Addr) bool { return ip.IsLoopback() }

// TestRefusesWhatIsNotPublic: loopback, private, link-local (the cloud
// metadata address) and reserved addresses are refused, by address, by a
// name that resolves to one, and behind a redirect — and no connection
// reaches them.
func TestRefusesWhatIsNotPublic(t *testing.T) {
	private := serve(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("secret")) })
	port := private.URL[strings.LastIndex(private.URL, ":"):]
	f := New(Options{Timeout: 2 * time.Second})
	for _, u := range []string{
		private.URL + "/x.png",
		"http://localhost" + port + "/x.png", // a name resolving to loopback
		"http://[::1]" + port + "/x.png",
		"http://10.0.0.1/x.png",
		"http://192.168.1.1/x.png",
		"http://169.254.169.254/latest/meta-data/",
		"http://100.64.0.1/x.png",
		"http://0.0.0.0" + port + "/x.png",
		"http://[::ffff:127.0.0.1]" + port + "/x.png",
		"http://[fd00::1]/x.png",
	} {
		_, _, err := f.Fetch(context.Background(), u)
		var fe *Error
		if !errors.As(err, &fe) || !strings.Contains(fe.Reason, "not public") {
			t.Errorf("%s: %v, want refused as not public", u, err)
		}
	}
	// A public-looking hop that redirects to a private address: the
	// redirect is refused when dialled. The redirector is on loopback,
	// admitted for this test only by port.
	redirector := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, private.URL+"/x.png", http.StatusFound)
	})
	rport := redirector.Listener.Addr().(*net.TCPAddr).Port
	g := New(Options{Timeout: 2 * time.Second})
	g.client.Transport.(*http.Transport).DialContext = portGate(g, rport)
	if _, _, err := g.Fetch(context.Background(), redirector.URL+"/go"); err == nil || !strings.Contains(err.Error(), "not public") {
		t.Errorf("a redirect to a private address: %v", err)
	}
	if n := private.conns.Load(); n != 0 {
		t.Errorf("%d connections reached the private server", n)
	}
}

// portGate dials like f, but admits loopback on one port: the test's
// stand-in for a public server.
func portGate(f *Fetcher, port int) func(ctx context.Context, network, addr string) (net.Conn, error) {
	inner := f.client.Transport.(*http.Transport).DialContext
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if _, p, _ := net.SplitHostPort(addr); p == strconv.Itoa(port) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}
		return inner(ctx, network, addr)
	}
}

// TestFetchesWithinBounds: an allowed server's body comes back with its
// media type and is cached; a body over the cap and a server too slow fail
// within the bound; the cache holds no more than its budget.
func TestFetchesWithinBounds(t *testing.T) {
	png := bytes.Repeat([]byte{0x89}, 1000)
	hits := atomic.Int64{}
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/a.png":
			w.Header().Set("Content-Type", "image/png; charset=binary")
			_, _ = w.Write(png)
		case "/huge":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(make([]byte, 5000))
		case "/slow":
			<-r.Context().Done() // answers nothing until the client gives up
		case "/missing":
			http.NotFound(w, r)
		}
	})
	f := New(Options{MaxBytes: 4096, Timeout: 300 * time.Millisecond, CacheBytes: 1500, Allow: loopbackOnly})
	mt, data, err := f.Fetch(context.Background(), srv.URL+"/a.png")
	if err != nil || mt != "image/png" || !bytes.Equal(data, png) {
		t.Fatalf("a fetch: %q %d %v", mt, len(data), err)
	}
	if _, _, err := f.Fetch(context.Background(), srv.URL+"/a.png"); err != nil || hits.Load() != 1 {
		t.Errorf("the second fetch of a URL: %v, %d hits", err, hits.Load())
	}
	for path, want := range map[string]string{"/huge": "over the limit", "/slow": "no answer within", "/missing": "HTTP 404", "/x": "empty"} {
		start := time.Now()
		_, _, err := f.Fetch(context.Background(), srv.URL+path)
		if err == nil || !strings.Contains(err.Error(), want) || time.Since(start) > time.Second {
			t.Errorf("%s: %v after %v, want %q within the bound", path, err, time.Since(start), want)
		}
	}
	for _, u := range []string{"ftp://example.com/a", "file:///etc/passwd", "not a url"} {
		if _, _, err := f.Fetch(context.Background(), u); err == nil {
			t.Errorf("%s was fetched", u)
		}
	}
	if held := f.Held(); held > 1500 {
		t.Errorf("the cache holds %d bytes, over its budget", held)
	}
}

// TestConcurrencyBound: twenty large fetches at once never have more than
// MaxConcurrent bodies in flight, which bounds the memory they take.
func TestConcurrencyBound(t *testing.T) {
	var inFlight, peak atomic.Int64
	release, arrived := make(chan struct{}), make(chan struct{}, 20)
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		arrived <- struct{}{}
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		w.Header().Set("Content-Type", "application/pdf")
		_, _ = w.Write(make([]byte, 64<<10))
		inFlight.Add(-1)
	})
	f := New(Options{MaxConcurrent: 3, Timeout: 5 * time.Second, Allow: loopbackOnly, CacheBytes: 1})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := f.Fetch(context.Background(), srv.URL+"/doc"+strconv.Itoa(i)+".pdf"); err != nil {
				t.Error(err)
			}
		}()
	}
	for range 3 {
		<-arrived // the first three are in the server
	}
	close(release)
	wg.Wait()
	if p := peak.Load(); p > 3 {
		t.Errorf("%d fetches in flight at once, over the bound of 3", p)
	}
}
