package tenancy

import (
	"context"
	"time"

	"github.com/opentoken/opentoken/store"
)

// Limits across replicas. Each replica bills a limited key against a
// share of its window's budget reserved in the database (a lease), so
// replicas never spend the same headroom: a request is admitted while
// this replica's share has money left, and the share is topped up in the
// background before it runs out. What a key spends past its limit is at
// most what the requests in flight on each replica cost when its share
// ran out, however many replicas there are and however stale their views.
//
// The database is asked only when a share is half spent (in the
// background), when it is spent before the top-up arrived, and for a
// key's first request on a replica — one round trip, shared by every
// request waiting on it.

const (
	// leaseParts: a share is a sixteenth of the limit, so that replicas
	// idle on a key hold little of it.
	leaseParts = 16
	// reservationTTL is how long a replica's shares outlive it: the
	// database forgets them unless the replica renews them (every refresh).
	reservationTTL = 10 * time.Second
	// askTimeout bounds a request's wait for its share.
	askTimeout = 2 * time.Second
)

// lease is this replica's share of a limited key's budget in one window.
type lease struct {
	window, end time.Time
	// left is reserved and not yet billed; below zero when answers in
	// flight as it ran out cost more than it held, which the next share
	// pays.
	left  store.USD
	used  bool          // billed since the last refresh: kept, not released
	ask   chan struct{} // a reservation is being asked for; closed when answered
	dry   time.Time     // the limit is reached: not asked again before
	blind time.Time     // the database did not answer: the view decides before
}

// admit reports whether a limited key, which its view does not show over
// its limit, may spend now: its lease has money left, or gets some. The
// caller holds t.mu, which admit may release and take again while it
// waits for the database.
func (t *Tenancy) admit(k *store.Key, now time.Time) bool {
	l := t.leases[k.ID]
	if l == nil || now.Before(l.window) || !now.Before(l.end) {
		window := k.LimitReset.WindowStart(now)
		l = &lease{window: window, end: windowEnd(k.LimitReset, now)}
		t.leases[k.ID] = l
	}
	share := max(*k.SpendLimit/leaseParts, 1)
	for {
		switch {
		case l.left > 0:
			if l.left < share/2 && l.ask == nil {
				t.askFor(k, l, share)
			}
			return true
		case now.Before(l.blind):
			// The database is away: the view and this replica's own bills
			// decide (the caller's check), as they did before leases.
			return true
		case now.Before(l.dry):
			return false
		}
		if l.ask == nil {
			t.askFor(k, l, share)
		}
		ask := l.ask
		t.mu.Unlock()
		<-ask
		t.mu.Lock()
		now = time.Now()
	}
}

// askFor asks the database for a share in the background; l.ask closes
// when it answered. The caller holds t.mu.
func (t *Tenancy) askFor(k *store.Key, l *lease, share store.USD) {
	l.ask = make(chan struct{})
	r := store.Reservation{KeyID: k.ID, Window: l.window, Replica: t.replica}
	t.asks.Add(1)
	go func() {
		defer t.asks.Done()
		ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
		got, err := t.db.Reserve(ctx, r, share, time.Now().Add(reservationTTL))
		cancel()
		t.mu.Lock()
		defer t.mu.Unlock()
		switch {
		case err != nil:
			t.log.Warn("tenancy: no share of a key's limit could be reserved; the view decides meanwhile", "key_id", k.ID, "err", err)
			l.blind = time.Now().Add(t.refresh)
		case got == 0:
			l.dry = time.Now().Add(t.refresh)
		default:
			l.left += got
		}
		close(l.ask)
		l.ask = nil
	}()
}

// spendLease bills cost to a key's lease, and reports whether there was
// one: the record then takes its cost off the reservation in the
// database. The caller holds t.mu.
func (t *Tenancy) spendLease(keyID int64, window time.Time, cost store.USD) bool {
	l := t.leases[keyID]
	if l == nil || !l.window.Equal(window) {
		return false
	}
	l.left -= cost
	l.used = true
	return true
}

// tendLeases keeps this replica's shares alive in the database and closes
// those of keys not billed since the last refresh, so that a replica idle
// on a key holds none of its budget.
func (t *Tenancy) tendLeases(ctx context.Context, now time.Time) {
	type idle struct {
		r      store.Reservation
		end    time.Time
		amount store.USD
	}
	var release []idle
	t.mu.Lock()
	for id, l := range t.leases {
		switch {
		case l.ask != nil:
		case l.used:
			l.used = false
		default:
			// What is left goes back; a debt (left below zero) is closed
			// too, or the database would forgive it to the next share.
			if l.left != 0 {
				release = append(release, idle{store.Reservation{KeyID: id, Window: l.window, Replica: t.replica}, l.end, l.left})
			}
			delete(t.leases, id)
		}
	}
	held := len(t.leases) > 0
	t.mu.Unlock()
	for _, r := range release {
		if err := t.db.Release(ctx, r.r, r.amount); err != nil {
			// Kept, to be given back at the next refresh.
			t.log.Warn("tenancy: a share of a key's limit could not be given back", "key_id", r.r.KeyID, "err", err)
			t.mu.Lock()
			l := t.leases[r.r.KeyID]
			if l == nil {
				l = &lease{window: r.r.Window, end: r.end}
				t.leases[r.r.KeyID] = l
			}
			if l.window.Equal(r.r.Window) {
				l.left += r.amount
			}
			t.mu.Unlock()
		}
	}
	if held || len(release) > 0 {
		if err := t.db.Renew(ctx, t.replica, now.Add(reservationTTL)); err != nil {
			t.log.Warn("tenancy: the shares of limited keys could not be renewed", "err", err)
		}
	}
}

// releaseLeases gives back every share this replica holds, at Close.
func (t *Tenancy) releaseLeases(ctx context.Context) {
	t.asks.Wait()
	t.mu.Lock()
	leases := t.leases
	t.leases = map[int64]*lease{}
	t.mu.Unlock()
	for id, l := range leases {
		if l.left != 0 {
			_ = t.db.Release(ctx, store.Reservation{KeyID: id, Window: l.window, Replica: t.replica}, l.left)
		}
	}
}
