// Package tenancy enforces issued keys on the hot path without a database
// round trip: keys, balances and each key's spend in its window are held
// in memory, refreshed from the database every Refresh (so a key created,
// revoked or limited anywhere takes effect everywhere within one
// refresh), and every billed answer is written to the usage ledger
// through a bounded queue, in batches, spilling to a local file when the
// database is away and replaying it, once, when it is back.
package tenancy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opentoken/opentoken/store"
)

// Defaults of Options.
const (
	DefaultRefresh   = 500 * time.Millisecond
	DefaultQueueSize = 10000
	batchSize        = 1024
	batchWait        = 100 * time.Millisecond
)

// Options configure a Tenancy.
type Options struct {
	Store store.Store
	Log   *slog.Logger
	// Refresh is how often the in-memory view is reloaded.
	Refresh time.Duration
	// SpillPath is the append-only file records go to while the database
	// cannot take them.
	SpillPath string
	// QueueSize bounds the records waiting to be written.
	QueueSize int
	// Exclude are secrets never honoured, whatever the database holds:
	// the gateway's public demo key outside demo mode.
	Exclude []string
	// Shared: replicas share the database (PostgreSQL), and admit keys'
	// rate limits against shares reserved in it (rate.go). Otherwise this
	// process counts them alone, exactly.
	Shared bool
}

// Tenancy is the gateway's view of its issued keys and their money.
type Tenancy struct {
	db      store.Store
	log     *slog.Logger
	refresh time.Duration
	view    atomic.Pointer[view]
	spill   *spill
	exclude map[[32]byte]bool // hashes of Options.Exclude

	// Money billed here and not yet in the database: the view's figures
	// minus these are what a request is checked against.
	mu         sync.Mutex
	pendingWS  map[int64]store.USD
	pendingKey map[int64]store.USD
	// written is the pending money the ledger took since the last load
	// began: it stays pending until a view read after the write holds it,
	// or the money would vanish from every check until the next refresh.
	writtenWS, writtenKey map[int64]store.USD
	// replica names this process in the database's reservations.
	replica string
	// leases are this replica's shares of limited keys' budgets, by key id.
	leases map[int64]*lease
	// meters count the rates of keys with rate limits, by key id; shared:
	// they reserve shares of them in the database.
	meters map[int64]*Meter
	shared bool
	asks   sync.WaitGroup // reservations being asked for
	// spilledHere are the batches this process billed and spilled, by
	// batch id: when a replay writes them, they leave the pending money.
	spilledHere map[string][]store.UsageRecord
	// queued are the records billed and not yet taken by the writer, at
	// most queueSize. Bill appends under mu and wakes the writer only when
	// a batch is full, so that an answer costs no goroutine switch.
	queued    []store.UsageRecord
	queueSize int
	closed    bool // Close began: a late Bill goes straight to the file

	kick    chan struct{} // a batch is full
	flushes chan chan struct{}
	stop    chan struct{}
	done    sync.WaitGroup
	closing sync.Once
}

// view is one load of the database.
type view struct {
	version  int64 // the keys' (store.KeysVersion)
	keys     map[[32]byte]*Principal
	limited  []*store.Key // the keys with a spend limit
	balances map[int64]store.USD
	// spent by key id, in the window of its own reset
	spent map[int64]store.USD
}

// Principal is the issued key a request is made with.
type Principal struct {
	Key   *store.Key
	meter *Meter // when the key has rate limits
}

// Start loads the first view, replays what an earlier run spilled, and
// starts refreshing and writing. It fails when the database cannot be read.
func Start(ctx context.Context, opt Options) (*Tenancy, error) {
	if opt.Refresh <= 0 {
		opt.Refresh = DefaultRefresh
	}
	if opt.QueueSize <= 0 {
		opt.QueueSize = DefaultQueueSize
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	t := newTenancy(opt)
	if err := t.load(ctx); err != nil {
		return nil, err
	}
	t.replay(ctx)
	t.done.Add(2)
	go t.refreshLoop()
	go t.writeLoop()
	return t, nil
}

// newTenancy is a Tenancy neither loaded nor started.
func newTenancy(opt Options) *Tenancy {
	t := &Tenancy{db: opt.Store, log: opt.Log, refresh: opt.Refresh, spill: &spill{path: opt.SpillPath, n: -1},
		replica: store.NewBatchID(), leases: map[int64]*lease{}, meters: map[int64]*Meter{}, shared: opt.Shared, exclude: map[[32]byte]bool{},
		pendingWS: map[int64]store.USD{}, pendingKey: map[int64]store.USD{},
		writtenWS: map[int64]store.USD{}, writtenKey: map[int64]store.USD{}, spilledHere: map[string][]store.UsageRecord{},
		queueSize: opt.QueueSize, kick: make(chan struct{}, 1), flushes: make(chan chan struct{}), stop: make(chan struct{})}
	for _, secret := range opt.Exclude {
		t.exclude[sha256.Sum256([]byte(secret))] = true
	}
	return t
}

// load reads the database into a new view.
func (t *Tenancy) load(ctx context.Context) (err error) {
	// What the ledger took before this load began is in what it reads:
	// once the new view is in place, that money leaves the pending sums.
	// On failure it stays pending, for the next load.
	t.mu.Lock()
	ws, keys := t.writtenWS, t.writtenKey
	t.writtenWS, t.writtenKey = map[int64]store.USD{}, map[int64]store.USD{}
	t.mu.Unlock()
	defer func() {
		if err != nil {
			t.mu.Lock()
			addAll(t.writtenWS, ws)
			addAll(t.writtenKey, keys)
			t.mu.Unlock()
		}
	}()
	v, err := t.read(ctx)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.view.Store(v)
	subtractAll(t.pendingWS, ws)
	subtractAll(t.pendingKey, keys)
	t.mu.Unlock()
	return nil
}

func addAll(dst, src map[int64]store.USD) {
	for id, u := range src {
		dst[id] += u
	}
}

// subtractAll takes src from dst, forgetting the ids left at zero.
func subtractAll(dst, src map[int64]store.USD) {
	for id, u := range src {
		if dst[id] -= u; dst[id] == 0 {
			delete(dst, id)
		}
	}
}

// read reads the database into a new view.
func (t *Tenancy) read(ctx context.Context) (*view, error) {
	// The keys are read again only when they changed: the version is read
	// first, so a change between the two reads is read again next time.
	version, err := t.db.KeysVersion(ctx)
	if err != nil {
		return nil, err
	}
	last := t.view.Load()
	reload := last == nil || last.version != version
	var keys []store.Key
	if reload {
		if keys, err = t.db.ListKeys(ctx, ""); err != nil {
			return nil, err
		}
	}
	balances, err := t.db.Balances(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	windows := map[store.Reset]map[int64]store.USD{}
	for _, r := range []store.Reset{store.ResetDaily, store.ResetWeekly, store.ResetMonthly} {
		if windows[r], err = t.db.WindowSpends(ctx, r.WindowStart(now)); err != nil {
			return nil, err
		}
	}
	v := &view{version: version, balances: balances, spent: map[int64]store.USD{}}
	if !reload {
		v.keys, v.limited = last.keys, last.limited
	} else {
		v.keys = make(map[[32]byte]*Principal, len(keys))
		for i := range keys {
			k := &keys[i]
			var h [32]byte
			if _, err := hex.Decode(h[:], []byte(k.Hash)); err != nil || t.exclude[h] {
				continue
			}
			p := &Principal{Key: k}
			if k.Rates.Limited() {
				p.meter = t.meter(k.ID)
			}
			v.keys[h] = p
			if k.LimitReset != store.ResetNone {
				v.limited = append(v.limited, k)
			}
		}
	}
	for _, k := range v.limited {
		v.spent[k.ID] = windows[k.LimitReset][k.ID]
	}
	return v, nil
}

func (t *Tenancy) refreshLoop() {
	defer t.done.Done()
	tick := time.NewTicker(t.refresh)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := t.load(ctx); err != nil {
			// The last view stays: keys keep working while the database is
			// away, as they were at its last load.
			t.log.Warn("tenancy: the database could not be read; keeping the last view", "err", err)
		}
		if t.spill.pending() {
			t.replay(ctx)
		}
		t.tendLeases(ctx, time.Now())
		t.tendRates(ctx, false)
		cancel()
	}
}

// Check finds the issued key a secret belongs to and refuses it when it
// is unknown, revoked or excluded (ErrInvalidKey), expired
// (*ExpiredError), when its workspace has no credit (*NoCreditError), or
// when it spent its limit in the current window (*LimitError). No
// database is read. A key refused for money is still returned, with the
// error: it may still ask about itself (GET /v1/key).
func (t *Tenancy) Check(secret []byte, now time.Time) (*Principal, error) {
	p := t.view.Load().keys[sha256.Sum256(secret)]
	if p == nil {
		return nil, ErrInvalidKey
	}
	err := t.Admit(p, now)
	switch err.(type) {
	case nil, *NoCreditError, *LimitError:
		return p, err // refused for money, it may still ask about itself
	}
	return nil, err // unknown, revoked or expired: refused, and not even for itself
}

// Admit checks a key found by Check again, as a request goes on: its
// expiry, its workspace's credit and its spend limit, as they stand now
// (another answer may have spent them meanwhile). Before a failover to a
// supplier priced differently, the gateway asks again.
func (t *Tenancy) Admit(p *Principal, now time.Time) error {
	k := p.Key
	switch {
	case k.RevokedAt != nil:
		return ErrInvalidKey
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return &ExpiredError{At: *k.ExpiresAt}
	}
	// The view is read under the lock: a load replaces it and takes what
	// it holds from the pending sums in one step.
	t.mu.Lock()
	v := t.view.Load()
	balance := v.balances[k.WorkspaceID] - t.pendingWS[k.WorkspaceID]
	if balance <= 0 {
		t.mu.Unlock()
		return &NoCreditError{Workspace: k.Workspace}
	}
	// A limited key is admitted by its lease (lease.go); what the view
	// knows it spent refuses it without asking the database.
	admitted := true
	if k.SpendLimit != nil {
		spent := v.spent[k.ID] + t.pendingKey[k.ID]
		admitted = spent < *k.SpendLimit && t.admit(k, now)
	}
	t.mu.Unlock()
	if !admitted {
		return &LimitError{Limit: *k.SpendLimit, Reset: k.LimitReset, ResetAt: windowEnd(k.LimitReset, now)}
	}
	return nil
}

// windowEnd is when the window that now falls in ends.
func windowEnd(r store.Reset, now time.Time) time.Time {
	start := r.WindowStart(now)
	switch r {
	case store.ResetDaily:
		return start.AddDate(0, 0, 1)
	case store.ResetWeekly:
		return start.AddDate(0, 0, 7)
	}
	return start.AddDate(0, 1, 0)
}

// Bill records what an answer to p cost: at once in memory, so that the
// next request is checked against it, and in the ledger through the queue.
// The record's key, workspace and spend-limit window are p's. It never
// blocks on the database: a full queue is spilled to the file, and so is a
// record billed after Close.
func (t *Tenancy) Bill(p *Principal, rec store.UsageRecord) {
	k := p.Key
	rec.KeyID, rec.WorkspaceID, rec.WindowStart = k.ID, k.WorkspaceID, time.Time{}
	if k.SpendLimit != nil {
		rec.WindowStart = k.LimitReset.WindowStart(rec.FinishedAt)
	}
	t.mu.Lock()
	t.pendingWS[rec.WorkspaceID] += rec.Cost
	t.pendingKey[rec.KeyID] += rec.Cost
	if !rec.WindowStart.IsZero() {
		rec.Reserved = t.spendLease(rec.KeyID, rec.WindowStart, rec.Cost)
	}
	if t.closed {
		t.mu.Unlock()
		t.spillBatch(store.Batch{ID: store.NewBatchID(), Replica: t.replica, Records: []store.UsageRecord{rec}})
		return
	}
	if len(t.queued) >= t.queueSize {
		// The writer is stuck on a database that does not answer: the
		// whole queue goes to the file in one write, rather than each
		// answer after it in one of its own.
		full := append(t.queued, rec)
		t.queued = make([]store.UsageRecord, 0, batchSize)
		t.mu.Unlock()
		t.spillBatch(store.Batch{ID: store.NewBatchID(), Replica: t.replica, Records: full})
		return
	}
	t.queued = append(t.queued, rec)
	full := len(t.queued) == batchSize
	t.mu.Unlock()
	if full {
		select {
		case t.kick <- struct{}{}:
		default: // already woken
		}
	}
}

// writeLoop writes the queue to the ledger when a batch is full, every
// batchWait, on Flush, and once more when Close stops it.
func (t *Tenancy) writeLoop() {
	defer t.done.Done()
	tick := time.NewTicker(batchWait)
	defer tick.Stop()
	var spare []store.UsageRecord // the slice written last, reused
	for {
		var done chan struct{}
		stopping := false
		select {
		case <-t.kick:
		case <-tick.C:
		case done = <-t.flushes:
		case <-t.stop:
			stopping = true
		}
		t.mu.Lock()
		recs := t.queued
		t.queued = spare[:0]
		t.closed = stopping
		t.mu.Unlock()
		t.write(recs)
		spare = recs
		if done != nil {
			close(done)
		}
		if stopping {
			return
		}
	}
}

// Flush writes what is queued now (or spills it) and returns once done.
func (t *Tenancy) Flush() {
	done := make(chan struct{})
	t.flushes <- done
	<-done
}

// write writes records to the ledger as one batch, or spills them when
// the database refuses. recs is reused once write returns.
func (t *Tenancy) write(recs []store.UsageRecord) {
	if len(recs) == 0 {
		return
	}
	b := store.Batch{ID: store.NewBatchID(), Replica: t.replica, Records: recs}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.db.Record(ctx, b); err != nil {
		t.log.Warn("tenancy: the database could not take usage records; spilling them", "records", len(recs), "err", err)
		b.Records = slices.Clone(recs)
		t.spillBatch(b)
		return
	}
	t.settled(recs)
}

// spillBatch writes a batch to the spill file, to be replayed. Its id
// goes with it: should the database have taken it after all (an answer
// lost on the way back), the replay writes nothing twice.
func (t *Tenancy) spillBatch(b store.Batch) {
	if err := t.spill.write(b); err != nil {
		t.log.Error("tenancy: the spill file failed; records are lost", "records", len(b.Records), "err", err)
		return
	}
	t.mu.Lock()
	t.spilledHere[b.ID] = b.Records
	t.mu.Unlock()
}

// settled marks written records: the next view holds them, and its load
// takes them from the pending money.
func (t *Tenancy) settled(recs []store.UsageRecord) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range recs {
		t.writtenWS[r.WorkspaceID] += r.Cost
		t.writtenKey[r.KeyID] += r.Cost
	}
}

// replay writes the spilled batches to the database; each batch is
// written once, so a replay interrupted and repeated writes nothing twice.
func (t *Tenancy) replay(ctx context.Context) {
	batches, err := t.spill.read()
	if err != nil || len(batches) == 0 {
		if err != nil {
			t.log.Error("tenancy: the spill file cannot be read", "err", err)
		}
		return
	}
	if err := t.db.Record(ctx, batches...); err != nil {
		return // still away; the next refresh tries again
	}
	if err := t.spill.clear(len(batches)); err != nil {
		t.log.Error("tenancy: the spill file cannot be cleared", "err", err)
	}
	var mine []store.UsageRecord
	records := 0
	t.mu.Lock()
	for _, b := range batches {
		records += len(b.Records)
		if own, ok := t.spilledHere[b.ID]; ok {
			mine = append(mine, own...)
			delete(t.spilledHere, b.ID)
		}
	}
	t.mu.Unlock()
	t.settled(mine)
	t.log.Info("tenancy: spilled usage records written to the database", "records", records)
}

// Close stops refreshing, writes what is queued (spilling what the
// database will not take), gives back this replica's shares of limits and
// returns once it is done: every answer given is recorded. Calling it
// again does nothing.
func (t *Tenancy) Close() error {
	t.closing.Do(t.close)
	return nil
}

func (t *Tenancy) close() {
	close(t.stop)
	t.done.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t.replay(ctx)
	t.releaseLeases(ctx)
	t.tendRates(ctx, true)
}

// KeyInfo is what GET /v1/key tells a key about itself.
type KeyInfo struct {
	Name, Workspace, Prefix string
	ExpiresAt               *time.Time
	Limit                   *store.USD
	LimitReset              store.Reset
	Spent                   store.USD // in the current window, when limited
	Balance                 store.USD // the workspace's credit
	Rates                   store.Rates
}

// Info describes p's key as the view and the pending money have it.
func (t *Tenancy) Info(p *Principal) KeyInfo {
	k := p.Key
	t.mu.Lock()
	defer t.mu.Unlock()
	v := t.view.Load()
	return KeyInfo{Name: k.Name, Workspace: k.Workspace, Prefix: k.Prefix, ExpiresAt: k.ExpiresAt, Limit: k.SpendLimit,
		LimitReset: k.LimitReset, Spent: v.spent[k.ID] + t.pendingKey[k.ID], Balance: v.balances[k.WorkspaceID] - t.pendingWS[k.WorkspaceID],
		Rates: k.Rates}
}
