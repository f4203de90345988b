// Package fetch fetches what a client gives by URL (an image, a PDF) for
// an upstream that does not fetch URLs itself, without letting a client
// reach what the gateway can and it cannot: only public addresses are
// dialled — checked after DNS resolution, on every redirect, and with no
// proxy in between — within a size cap and a timeout, and at most a few
// fetches at once, so that memory stays bounded. Fetched bytes are kept a
// short while by URL, within a byte budget, for the repeats of a tool
// loop.
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Options configures a Fetcher; zero fields take the defaults.
type Options struct {
	MaxBytes      int64         // the largest body fetched
	Timeout       time.Duration // for a whole fetch, redirects included
	MaxConcurrent int           // fetches at once; others wait
	CacheBytes    int64         // what the cache may hold
	CacheTTL      time.Duration // how long an entry is kept
	// Allow admits an address the public-only rule refuses: a test's
	// loopback server. nil in production.
	Allow func(netip.Addr) bool
}

// The defaults.
const (
	DefaultMaxBytes      = 20 << 20
	DefaultTimeout       = 10 * time.Second
	DefaultMaxConcurrent = 8
	DefaultCacheBytes    = 64 << 20
	DefaultCacheTTL      = 5 * time.Minute
	maxRedirects         = 5
)

// Fetcher fetches URLs. It is safe for concurrent use.
type Fetcher struct {
	opt    Options
	client *http.Client
	sem    chan struct{}

	mu      sync.Mutex
	entries map[string]*entry
	order   []string // insertion order, for eviction
	held    int64
}

type entry struct {
	mediaType string
	data      []byte
	expires   time.Time
}

// Error is a fetch that failed: its URL's host and why, in words a client
// can act on.
type Error struct{ Host, Reason string }

func (e *Error) Error() string { return "could not fetch " + e.Host + ": " + e.Reason }

// errBlocked is what the dialler says of an address it refuses.
var errBlocked = errors.New("not a public address")

// New makes a Fetcher.
func New(opt Options) *Fetcher {
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.MaxConcurrent <= 0 {
		opt.MaxConcurrent = DefaultMaxConcurrent
	}
	if opt.CacheBytes <= 0 {
		opt.CacheBytes = DefaultCacheBytes
	}
	if opt.CacheTTL <= 0 {
		opt.CacheTTL = DefaultCacheTTL
	}
	f := &Fetcher{opt: opt, sem: make(chan struct{}, opt.MaxConcurrent), entries: map[string]*entry{}}
	dialer := &net.Dialer{Timeout: opt.Timeout}
	transport := &http.Transport{
		Proxy: nil, // a proxy would dial what the checks refused
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			if err != nil {
				return nil, err
			}
			// Every address the name has must be allowed: a name that
			// resolves to a public and a private one would otherwise be
			// a coin toss away from the private one.
			for _, ip := range ips {
				if !f.allowed(ip) {
					return nil, errBlocked
				}
			}
			if len(ips) == 0 {
				return nil, errors.New("no address")
			}
			return dialer.DialContext(ctx, network, net.JoinHostPort(ips[0].Unmap().String(), port))
		},
		// Fetches are few and to many hosts: no connection is kept, so
		// none outlives the fetch (nor the gateway).
		DisableKeepAlives:     true,
		ResponseHeaderTimeout: opt.Timeout,
		TLSHandshakeTimeout:   opt.Timeout,
	}
	f.client = &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return errors.New("a redirect to a " + req.URL.Scheme + " URL")
			}
			return nil // the redirect's address is checked when it is dialled
		},
	}
	return f
}

// allowed reports whether ip may be dialled: a public unicast address.
func (f *Fetcher) allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	if f.opt.Allow != nil && f.opt.Allow(ip) {
		return true
	}
	switch {
	case !ip.IsValid(), ip.IsUnspecified(), ip.IsLoopback(), ip.IsPrivate(), ip.IsLinkLocalUnicast(),
		ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast(), ip.IsMulticast():
		return false
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// reserved are ranges the netip predicates do not cover: this network,
// shared address space (carrier NAT), IETF protocol assignments,
// benchmarking, and the reserved class E.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64: may reach any IPv4 address
}

// Fetch returns the body of an http(s) URL and its media type (the
// Content-Type without parameters).
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (string, []byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", nil, &Error{Host: "the URL", Reason: "not an http(s) URL"}
	}
	host := u.Hostname()
	if mediaType, data, ok := f.cached(rawURL); ok {
		return mediaType, data, nil
	}
	ctx, cancel := context.WithTimeout(ctx, f.opt.Timeout)
	defer cancel()
	select {
	case f.sem <- struct{}{}:
		defer func() { <-f.sem }()
	case <-ctx.Done():
		return "", nil, &Error{Host: host, Reason: "too many fetches at once; timed out waiting"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return "", nil, &Error{Host: host, Reason: "not a valid URL"}
	}
	req.Header.Set("User-Agent", "OpenToken")
	resp, err := f.client.Do(req)
	if err != nil {
		return "", nil, &Error{Host: host, Reason: reason(err, f.opt.Timeout)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", nil, &Error{Host: host, Reason: "it answered HTTP " + strconv.Itoa(resp.StatusCode)}
	}
	if resp.ContentLength > f.opt.MaxBytes {
		return "", nil, &Error{Host: host, Reason: fmt.Sprintf("the body is %d bytes, over the limit of %d", resp.ContentLength, f.opt.MaxBytes)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, f.opt.MaxBytes+1))
	if err != nil {
		return "", nil, &Error{Host: host, Reason: reason(err, f.opt.Timeout)}
	}
	if len(data) == 0 {
		return "", nil, &Error{Host: host, Reason: "the body is empty"}
	}
	if int64(len(data)) > f.opt.MaxBytes {
		return "", nil, &Error{Host: host, Reason: fmt.Sprintf("the body is over the limit of %d bytes", f.opt.MaxBytes)}
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	f.keep(rawURL, mediaType, data)
	return mediaType, data, nil
}

// reason says why a fetch failed, without the addresses it tried.
func reason(err error, timeout time.Duration) string {
	var netErr net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, errBlocked):
		return "its address is not public (loopback, private, link-local or reserved); the gateway fetches only public URLs"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "no answer within " + timeout.String()
	case errors.As(err, &dnsErr):
		return "its name does not resolve"
	case errors.Is(err, http.ErrUseLastResponse):
		return "it redirects"
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) && urlErr.Err != nil {
		msg := urlErr.Err.Error()
		if msg == "too many redirects" || len(msg) > 11 && msg[:11] == "a redirect " {
			return msg
		}
	}
	return "the connection failed"
}

func (f *Fetcher) cached(rawURL string) (string, []byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.entries[rawURL]
	if !ok || time.Now().After(e.expires) {
		return "", nil, false
	}
	return e.mediaType, e.data, true
}

// keep caches a body, evicting the oldest entries (and expired ones) to
// stay within the byte budget; a body larger than the budget is not kept.
func (f *Fetcher) keep(rawURL, mediaType string, data []byte) {
	size := int64(len(data))
	if size > f.opt.CacheBytes {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if old, ok := f.entries[rawURL]; ok {
		f.held -= int64(len(old.data))
		delete(f.entries, rawURL)
	}
	for f.held+size > f.opt.CacheBytes && len(f.order) > 0 {
		victim := f.order[0]
		f.order = f.order[1:]
		if e, ok := f.entries[victim]; ok {
			f.held -= int64(len(e.data))
			delete(f.entries, victim)
		}
	}
	f.entries[rawURL] = &entry{mediaType: mediaType, data: data, expires: time.Now().Add(f.opt.CacheTTL)}
	f.order = append(f.order, rawURL)
	f.held += size
}

// Held is what the cache holds, in bytes.
func (f *Fetcher) Held() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held
}
