package server

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/opentoken/opentoken/llm"

	"github.com/valyala/fasthttp"

	"github.com/opentoken/opentoken/server/adapter"
)

// promptCache is the gateway-managed explicit cache of Gemini prompts: the
// prefix a request marks with cache_control becomes a cachedContents entry,
// created once per prefix (concurrent requests for the same prefix wait for
// the one creating it) and used by later requests, which send only what
// follows it. It is per replica: each gateway process creates and uses its
// own entries. Every failure falls back to the uncached request.
type promptCache struct {
	s   *Server
	max int // entries kept; the least recently used beyond it are deleted

	mu      sync.Mutex
	entries map[[32]byte]*cacheEntry
	lru     list.List // of *cacheEntry, most recently used first
	closed  bool
}

// cacheEntry is one prefix: being created, live, or refused a while.
type cacheEntry struct {
	key   [32]byte
	ready chan struct{} // closed once created or failed
	adapter.CacheEntry
	failed  bool      // creation failed: requests go uncached
	retryAt time.Time // ... until then
	elem    *list.Element
	rt      *route
	sup     *supplier // the entry lives at this supplier only
}

// cacheMargin is how long before its expiry an entry stops being used: a
// request sent on it must reach the upstream before it lapses.
const cacheMargin = 30 * time.Second

// cacheRetry is how long a prefix whose creation failed goes uncached.
const cacheRetry = time.Minute

// cacher is what the adapter of a caching upstream offers.
type cacher interface {
	BuildCacheCreate(req *fasthttp.Request, buf []byte, c *adapter.Call, p adapter.CachePrefix, up *adapter.Upstream) ([]byte, int, *llm.Error)
	ParseCacheCreate(body []byte) (adapter.CacheEntry, error)
	BuildCacheDelete(req *fasthttp.Request, name string, up *adapter.Upstream)
}

// prepare sets call up to use the cache entry of its marked prefix at
// sup, creating it when it is new. It leaves call uncached when the
// prefix is too small to cache, on any failure, and when waiting for
// another request's creation would take longer than the upstream timeout.
// Entries are made at the Gemini API only: an entry belongs to the
// supplier that made it, and an attempt at another goes uncached.
func (pc *promptCache) prepare(rt *route, sup *supplier, call *adapter.Call) {
	c, ok := rt.adapter.(cacher)
	p, marked := call.GeminiCachePrefix()
	if !ok || !marked || sup == nil || sup.upstream.Vertex != nil {
		return
	}
	ex := newExchange(rt, sup)
	defer func() {
		if ex != nil {
			pc.s.release(ex)
		}
	}()
	body, keyLen, e := c.BuildCacheCreate(ex.req, (*ex.buf)[:0], call, p, &sup.upstream)
	*ex.buf = body
	if e != nil {
		return // the request itself will say what is wrong
	}
	// A prefix under the model's minimum is not cached (4 bytes a token).
	if int(keyLen/4) < call.Model.Cache.MinTokens {
		return
	}
	key := sha256.Sum256(body[:keyLen])
	now := time.Now()

	pc.mu.Lock()
	if pc.closed {
		pc.mu.Unlock()
		return
	}
	entry := pc.entries[key]
	switch {
	case entry == nil:
	case entry.failed && now.Before(entry.retryAt):
		pc.mu.Unlock()
		return
	case entry.failed, isReady(entry) && now.Add(cacheMargin).After(entry.Expire):
		pc.removeLocked(entry) // expired or refused long enough: create anew
		entry = nil
	}
	if entry != nil {
		pc.lru.MoveToFront(entry.elem)
		pc.mu.Unlock()
		select {
		case <-entry.ready:
		case <-time.After(pc.s.lim.UpstreamTimeout):
			return
		}
		if !entry.failed {
			call.Cached = &adapter.CacheUse{Name: entry.Name, From: p.To}
		}
		return
	}
	entry = &cacheEntry{key: key, ready: make(chan struct{}), rt: rt, sup: sup}
	entry.elem = pc.lru.PushFront(entry)
	if pc.entries == nil {
		pc.entries = map[[32]byte]*cacheEntry{}
	}
	pc.entries[key] = entry
	evicted := pc.evictLocked()
	pc.mu.Unlock()
	for _, old := range evicted {
		go pc.delete(old)
	}

	// Create it: not armed to the client, whose leaving must not cancel an
	// entry other requests wait for.
	_, _, fail := pc.s.do(ex, pc.s.lim.UpstreamTimeout, false)
	created := adapter.CacheEntry{}
	var err error
	if fail == nil {
		created, err = c.ParseCacheCreate(ex.resp.Body())
		pc.s.finish(ex)
	}
	ex = nil
	pc.mu.Lock()
	if fail != nil || err != nil {
		entry.failed, entry.retryAt = true, time.Now().Add(cacheRetry)
		pc.mu.Unlock()
		close(entry.ready)
		msg := "unreadable answer"
		if fail != nil {
			msg = fail.Message
		}
		pc.s.log.Warn("prompt cache entry not created; sending uncached", "model", call.Model.ID, "err", msg)
		return
	}
	entry.CacheEntry = created
	pc.mu.Unlock()
	close(entry.ready)
	call.Cached = &adapter.CacheUse{Name: created.Name, From: p.To}
	call.CacheWritten = created.Tokens
}

// invalidate forgets the entry a request failed on (expired or deleted
// upstream), so that the next request creates it anew.
func (pc *promptCache) invalidate(name string) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	for _, e := range pc.entries {
		if isReady(e) && e.Name == name {
			pc.removeLocked(e)
			return
		}
	}
}

func isReady(e *cacheEntry) bool {
	select {
	case <-e.ready:
		return true
	default:
		return false
	}
}

func (pc *promptCache) removeLocked(e *cacheEntry) {
	delete(pc.entries, e.key)
	pc.lru.Remove(e.elem)
}

// evictLocked removes the least recently used entries beyond the bound and
// returns the live ones, to delete upstream.
func (pc *promptCache) evictLocked() []*cacheEntry {
	var out []*cacheEntry
	for pc.lru.Len() > pc.max {
		e := pc.lru.Back().Value.(*cacheEntry)
		pc.removeLocked(e)
		if isReady(e) && !e.failed {
			out = append(out, e)
		}
	}
	return out
}

// delete removes an entry upstream, best-effort: it expires anyway.
func (pc *promptCache) delete(e *cacheEntry) {
	c, ok := e.rt.adapter.(cacher)
	if !ok {
		return
	}
	ex := newExchange(e.rt, e.sup)
	c.BuildCacheDelete(ex.req, e.Name, &e.sup.upstream)
	if _, _, fail := pc.s.do(ex, 5*time.Second, false); fail == nil {
		pc.s.finish(ex)
	}
}

// close deletes every live entry upstream, within a few seconds, and
// stops caching. Entries left behind expire on their own.
func (pc *promptCache) close() {
	pc.mu.Lock()
	pc.closed = true
	var live []*cacheEntry
	for _, e := range pc.entries {
		if isReady(e) && !e.failed && time.Now().Before(e.Expire) {
			live = append(live, e)
		}
	}
	pc.entries = nil
	pc.lru.Init()
	pc.mu.Unlock()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, e := range live {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			pc.delete(e)
		}()
	}
	wg.Wait()
}
