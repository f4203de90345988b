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
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opentoken/opentoken/server/openai"
	"github.com/opentoken/opentoken/store"
)

// Defaults of Options.
const (
	DefaultRefresh   = 500 * time.Millisecond
	DefaultQueueSize = 10000
	batchSize        = 256
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
}

// Tenancy is the gateway's view of its issued keys and their money.
type Tenancy struct {
	db      store.Store
	log     *slog.Logger
	refresh time.Duration
	view    atomic.Pointer[view]
	spill   *spill

	// Money billed here and not yet in the database: the view's figures
	// minus these are what a request is checked against.
	mu         sync.Mutex
	pendingWS  map[int64]store.USD
	pendingKey map[int64]store.USD
	// spilledHere are the records this process billed and spilled: when a
	// replay writes them, they leave the pending money.
	spilledHere map[string]store.UsageRecord

	queue   chan store.UsageRecord
	flushes chan chan struct{}
	stop    chan struct{}
	done    sync.WaitGroup
}

// view is one load of the database.
type view struct {
	keys     map[[32]byte]*Principal
	balances map[int64]store.USD
	// spent by key id, in the window of its own reset
	spent map[int64]store.USD
}

// Principal is the issued key a request is made with.
type Principal struct {
	Key *store.Key
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
	t := &Tenancy{db: opt.Store, log: opt.Log, refresh: opt.Refresh, spill: &spill{path: opt.SpillPath, n: -1},
		pendingWS: map[int64]store.USD{}, pendingKey: map[int64]store.USD{}, spilledHere: map[string]store.UsageRecord{},
		queue: make(chan store.UsageRecord, opt.QueueSize), flushes: make(chan chan struct{}), stop: make(chan struct{})}
	if err := t.load(ctx); err != nil {
		return nil, err
	}
	t.replay(ctx)
	t.done.Add(2)
	go t.refreshLoop()
	go t.writeLoop()
	return t, nil
}

// load reads the database into a new view.
func (t *Tenancy) load(ctx context.Context) error {
	keys, err := t.db.ListKeys(ctx, "")
	if err != nil {
		return err
	}
	balances, err := t.db.Balances(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	windows := map[store.Reset]map[int64]store.USD{}
	for _, r := range []store.Reset{store.ResetDaily, store.ResetWeekly, store.ResetMonthly} {
		if windows[r], err = t.db.WindowSpends(ctx, r.WindowStart(now)); err != nil {
			return err
		}
	}
	v := &view{keys: make(map[[32]byte]*Principal, len(keys)), balances: balances, spent: map[int64]store.USD{}}
	for i := range keys {
		k := &keys[i]
		var h [32]byte
		if _, err := hex.Decode(h[:], []byte(k.Hash)); err != nil {
			continue
		}
		v.keys[h] = &Principal{Key: k}
		if k.LimitReset != store.ResetNone {
			v.spent[k.ID] = windows[k.LimitReset][k.ID]
		}
	}
	t.view.Store(v)
	return nil
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
		cancel()
	}
}

// Check finds the issued key a secret belongs to and refuses it when it
// is unknown, revoked or expired, when its workspace has no credit, or when
// it spent its limit in the current window. No database is read. A key
// refused for money is still returned, with the error: it may still ask
// about itself (GET /v1/key).
func (t *Tenancy) Check(secret []byte, now time.Time) (*Principal, *openai.Error) {
	v := t.view.Load()
	p := v.keys[sha256.Sum256(secret)]
	if p == nil {
		return nil, &openai.Error{Status: 401, Type: openai.TypeAuthentication, Code: openai.CodeInvalidKey, Message: "invalid api key"}
	}
	k := p.Key
	switch {
	case k.RevokedAt != nil:
		return nil, &openai.Error{Status: 401, Type: openai.TypeAuthentication, Code: openai.CodeInvalidKey, Message: "invalid api key"}
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return nil, &openai.Error{Status: 401, Type: openai.TypeAuthentication, Code: openai.CodeExpiredKey,
			Message: "this key expired at " + k.ExpiresAt.UTC().Format(time.RFC3339)}
	}
	t.mu.Lock()
	balance := v.balances[k.WorkspaceID] - t.pendingWS[k.WorkspaceID]
	spent := v.spent[k.ID] + t.pendingKey[k.ID]
	t.mu.Unlock()
	if balance <= 0 {
		return p, &openai.Error{Status: 402, Type: openai.TypeInvalidRequest, Code: openai.CodeInsufficientCredit,
			Message: "workspace " + k.Workspace + " has no credit left; add credit to go on"}
	}
	if k.SpendLimit != nil && spent >= *k.SpendLimit {
		reset := windowEnd(k.LimitReset, now)
		return p, &openai.Error{Status: 429, Type: openai.TypeInvalidRequest, Code: openai.CodeSpendLimitExceeded,
			RetryAfter: strconv.FormatInt(int64(reset.Sub(now)/time.Second)+1, 10),
			Message: "this key spent its limit of $" + dollars(*k.SpendLimit) + " for the " + string(k.LimitReset) +
				" window; it resets at " + reset.UTC().Format(time.RFC3339)}
	}
	return p, nil
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

func dollars(u store.USD) string { return strconv.FormatFloat(u.Dollars(), 'f', -1, 64) }

// Bill records what an answer cost: at once in memory, so that the next
// request is checked against it, and in the ledger through the queue. It
// never blocks: a full queue spills to the file.
func (t *Tenancy) Bill(rec store.UsageRecord) {
	t.mu.Lock()
	t.pendingWS[rec.WorkspaceID] += rec.Cost
	t.pendingKey[rec.KeyID] += rec.Cost
	t.mu.Unlock()
	select {
	case t.queue <- rec:
	default:
		t.spillBatch([]store.UsageRecord{rec})
	}
}

// writeLoop writes the queue to the ledger in batches.
func (t *Tenancy) writeLoop() {
	defer t.done.Done()
	batch := make([]store.UsageRecord, 0, batchSize)
	timer := time.NewTimer(batchWait)
	defer timer.Stop()
	for {
		select {
		case rec, ok := <-t.queue:
			if !ok {
				t.flush(batch)
				return
			}
			batch = append(batch, rec)
			if len(batch) < batchSize {
				continue
			}
		case done := <-t.flushes:
			for drained := false; !drained; {
				select {
				case rec := <-t.queue:
					batch = append(batch, rec)
				default:
					drained = true
				}
			}
			t.flush(batch)
			batch = batch[:0]
			close(done)
			continue
		case <-timer.C:
		}
		t.flush(batch)
		batch = batch[:0]
		timer.Reset(batchWait)
	}
}

// Flush writes what is queued now (or spills it) and returns once done.
func (t *Tenancy) Flush() {
	done := make(chan struct{})
	t.flushes <- done
	<-done
}

// flush writes a batch, or spills it when the database refuses.
func (t *Tenancy) flush(batch []store.UsageRecord) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.db.Record(ctx, batch); err != nil {
		t.log.Warn("tenancy: the database could not take usage records; spilling them", "records", len(batch), "err", err)
		t.spillBatch(batch)
		return
	}
	t.settled(batch)
}

// spillBatch writes records to the spill file, to be replayed.
func (t *Tenancy) spillBatch(recs []store.UsageRecord) {
	if err := t.spill.write(recs); err != nil {
		t.log.Error("tenancy: the spill file failed; records are lost", "records", len(recs), "err", err)
		return
	}
	t.mu.Lock()
	for _, r := range recs {
		t.spilledHere[r.RequestID] = r
	}
	t.mu.Unlock()
}

// settled removes written records from the pending money: the next view
// holds them.
func (t *Tenancy) settled(recs []store.UsageRecord) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range recs {
		t.pendingWS[r.WorkspaceID] -= r.Cost
		t.pendingKey[r.KeyID] -= r.Cost
	}
}

// replay writes the spilled records to the database; the ledger takes
// each request id once, so a replay interrupted and repeated writes
// nothing twice.
func (t *Tenancy) replay(ctx context.Context) {
	recs, err := t.spill.read()
	if err != nil || len(recs) == 0 {
		if err != nil {
			t.log.Error("tenancy: the spill file cannot be read", "err", err)
		}
		return
	}
	if err := t.db.Record(ctx, recs); err != nil {
		return // still away; the next refresh tries again
	}
	if err := t.spill.clear(len(recs)); err != nil {
		t.log.Error("tenancy: the spill file cannot be cleared", "err", err)
	}
	var mine []store.UsageRecord
	t.mu.Lock()
	for _, r := range recs {
		if own, ok := t.spilledHere[r.RequestID]; ok {
			mine = append(mine, own)
			delete(t.spilledHere, r.RequestID)
		}
	}
	t.mu.Unlock()
	t.settled(mine)
	t.log.Info("tenancy: spilled usage records written to the database", "records", len(recs))
}

// Close stops refreshing, writes what is queued (spilling what the
// database will not take) and returns once it is done: every answer given
// is recorded.
func (t *Tenancy) Close() error {
	close(t.stop)
	close(t.queue)
	t.done.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t.replay(ctx)
	return nil
}

// KeyInfo is what GET /v1/key tells a key about itself.
type KeyInfo struct {
	Name, Workspace, Prefix string
	ExpiresAt               *time.Time
	Limit                   *store.USD
	LimitReset              store.Reset
	Spent                   store.USD // in the current window, when limited
	Balance                 store.USD // the workspace's credit
}

// Info describes p's key as the view and the pending money have it.
func (t *Tenancy) Info(p *Principal) KeyInfo {
	v := t.view.Load()
	k := p.Key
	t.mu.Lock()
	defer t.mu.Unlock()
	return KeyInfo{Name: k.Name, Workspace: k.Workspace, Prefix: k.Prefix, ExpiresAt: k.ExpiresAt, Limit: k.SpendLimit,
		LimitReset: k.LimitReset, Spent: v.spent[k.ID] + t.pendingKey[k.ID], Balance: v.balances[k.WorkspaceID] - t.pendingWS[k.WorkspaceID]}
}
