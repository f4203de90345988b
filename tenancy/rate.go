package tenancy

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/opentoken/opentoken/store"
)

// Request-rate limits. A key may limit its requests per minute (RPM),
// its tokens per minute (TPM) and its requests in flight at once
// (MaxConcurrent). Minutes are UTC minutes: a window's count starts again
// at zero when the next minute begins, which is what the reset headers
// tell a client.
//
// TPM counts an answer's input and output tokens, cached input not
// counted, in the minute the answer ends. A request is admitted when the
// tokens counted in its minute plus an estimate of its input (its body's
// bytes / 4, at least 1) fit; the estimate is held for it while it runs
// and replaced by its real usage when it ends. A stream once admitted is
// never cut.
//
// Alone (SQLite, one process) a Meter counts exactly. Replicas sharing a
// database (PostgreSQL) each admit against shares of a key's limits
// reserved there (store.ReserveRate): a sixteenth of the limit at a time,
// asked for in the background when half of one is used, so a key with
// budget left costs no round trip. What the replicas' shares hold
// together never passes the limit, so RPM and MaxConcurrent are never
// exceeded across replicas; TPM is exceeded by at most what answers in
// flight use past their estimates. The price is that a share one replica
// holds and does not use is refused to another, until the replica gives
// it back at its next refresh.

// EstimateTokens is the input estimate TPM admits a request on.
func EstimateTokens(bodyBytes int) int64 { return max(int64(bodyBytes)/4, 1) }

// RateLimitError refuses a request over one of its key's rates.
type RateLimitError struct {
	// Rate is what was exceeded: "requests", "tokens" or "concurrency".
	Rate  string
	Limit int64
	// Requested is the tokens the request would add, for "tokens".
	Requested int64
	// RetryAfter is when a retry may be admitted: the next window's
	// start, or a second for concurrency.
	RetryAfter time.Duration
	// TooLarge: the request alone is over the key's TPM and never fits.
	TooLarge bool
}

func (e *RateLimitError) Error() string {
	limit := strconv.FormatInt(e.Limit, 10)
	switch {
	case e.TooLarge:
		return "this request's estimated " + strconv.FormatInt(e.Requested, 10) + " input tokens are more than this key's limit of " +
			limit + " tokens per minute; it cannot be admitted"
	case e.Rate == "concurrency":
		return "this key has " + limit + " requests in flight, its limit; retry when one ends"
	case e.Rate == "tokens":
		return "this key reached its limit of " + limit + " tokens per minute; retry after " + e.RetryAfter.Round(time.Second).String()
	}
	return "this key reached its limit of " + limit + " requests per minute; retry after " + e.RetryAfter.Round(time.Second).String()
}

// RateStatus is where a limited key stands after a request was admitted,
// for the x-ratelimit headers: zero limits are none.
type RateStatus struct {
	RPM, RemainingRequests int64
	TPM, RemainingTokens   int64
	// Reset is how long until the window's counts start again.
	Reset time.Duration
}

// rateShare is one of a meter's limits as this replica holds it, when
// replicas share them.
type rateShare struct {
	kind    store.RateKind
	granted int64         // reserved by this replica
	ask     chan struct{} // a reservation is being asked for; closed when answered
	dry     time.Time     // none left: not asked again before
	blind   time.Time     // the database did not answer: counted here alone before
}

// Meter counts one key's rates. Its zero value counts a key alone in its
// process: the operator's keys, or every key on SQLite.
type Meter struct {
	mu       sync.Mutex
	minute   int64 // the Unix minute counted
	requests int64 // admitted in the minute
	tokens   int64 // counted in the minute, with the estimates of requests in flight
	inflight int64
	// t, when set, reserves shares of the key's limits in the database
	// (replicas); otherwise the limits are the meter's whole.
	t               *Tenancy
	keyID           int64
	active          bool // admitted a request since the last tend
	req, tok, slots rateShare
}

// A Ticket is an admitted request's hold on its meter: Release it once,
// when the request ends.
type Ticket struct {
	m        *Meter
	minute   int64
	estimate int64
}

// Admitted reports whether the ticket holds anything to release.
func (tk Ticket) Admitted() bool { return tk.m != nil }

// Release ends the request: its slot is free, and its estimate gives way
// to the tokens its answer used (input less cached, and output).
func (tk Ticket) Release(tokens int64, now time.Time) {
	m := tk.m
	if m == nil {
		return
	}
	m.mu.Lock()
	m.inflight--
	m.roll(now.Unix() / 60)
	if tk.minute == m.minute {
		m.tokens -= tk.estimate
	}
	m.tokens += tokens
	m.mu.Unlock()
}

// roll starts a new minute's counts. The caller holds m.mu.
func (m *Meter) roll(minute int64) {
	if minute == m.minute {
		return
	}
	m.minute, m.requests, m.tokens = minute, 0, 0
	// A minute's shares were reserved for it alone.
	m.req = rateShare{kind: store.RateRequests}
	m.tok = rateShare{kind: store.RateTokens}
}

// Acquire admits a request of estimated input tokens under r, or refuses
// it with a *RateLimitError. A key with shares left allocates nothing and
// waits for nothing.
func (m *Meter) Acquire(r store.Rates, estimate int64, now time.Time) (Ticket, RateStatus, error) {
	if !r.Limited() {
		return Ticket{}, RateStatus{}, nil
	}
	if r.TPM > 0 && estimate > r.TPM {
		return Ticket{}, RateStatus{}, &RateLimitError{Rate: "tokens", Limit: r.TPM, Requested: estimate, TooLarge: true}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for {
		minute := now.Unix() / 60
		m.roll(minute)
		reset := time.Unix((minute+1)*60, 0).Sub(now)
		switch {
		case r.MaxConcurrent > 0 && m.inflight >= r.MaxConcurrent:
			return Ticket{}, RateStatus{}, &RateLimitError{Rate: "concurrency", Limit: r.MaxConcurrent, RetryAfter: time.Second}
		case r.RPM > 0 && m.requests >= r.RPM:
			return Ticket{}, RateStatus{}, &RateLimitError{Rate: "requests", Limit: r.RPM, RetryAfter: reset}
		case r.TPM > 0 && m.tokens+estimate > r.TPM:
			return Ticket{}, RateStatus{}, &RateLimitError{Rate: "tokens", Limit: r.TPM, Requested: estimate, RetryAfter: reset}
		}
		if m.t != nil {
			// Within the limits as this replica counts; now within its
			// shares of them.
			wait, err := m.reserve(r, estimate, now, reset)
			if err != nil {
				return Ticket{}, RateStatus{}, err
			}
			if wait != nil {
				m.mu.Unlock()
				<-wait
				m.mu.Lock()
				now = time.Now()
				continue
			}
		}
		m.requests++
		m.tokens += estimate
		m.inflight++
		m.active = true
		st := RateStatus{Reset: reset}
		if r.RPM > 0 {
			st.RPM, st.RemainingRequests = r.RPM, r.RPM-m.requests
		}
		if r.TPM > 0 {
			st.TPM, st.RemainingTokens = r.TPM, max(r.TPM-m.tokens, 0)
		}
		return Ticket{m: m, minute: minute, estimate: estimate}, st, nil
	}
}

// need is what a request takes of one share.
type need struct {
	s                *rateShare
	used, add, limit int64
	window, expires  time.Time
}

// reserve checks a request against this replica's shares: it returns nil
// when they hold it, a channel to wait on when a share is being asked
// for, or the refusal when one is spent and none is left. It asks for
// shares about to run out in the background. The caller holds m.mu.
func (m *Meter) reserve(r store.Rates, estimate int64, now time.Time, reset time.Duration) (<-chan struct{}, error) {
	windowStart := time.Unix(m.minute*60, 0)
	windowEnd := now.Add(reset)
	needs := [3]need{
		{s: &m.slots, used: m.inflight, add: 1, limit: r.MaxConcurrent, expires: now.Add(reservationTTL)},
		{s: &m.req, used: m.requests, add: 1, limit: r.RPM, window: windowStart, expires: windowEnd.Add(time.Minute)},
		{s: &m.tok, used: m.tokens, add: estimate, limit: r.TPM, window: windowStart, expires: windowEnd.Add(time.Minute)},
	}
	for i := range needs {
		n := &needs[i]
		s := n.s
		if n.limit <= 0 {
			continue
		}
		chunk := max(n.limit/leaseParts, 1)
		short := n.used + n.add - s.granted
		switch {
		case short <= 0:
			if -short < chunk/2 && s.ask == nil && !now.Before(s.dry) {
				m.ask(s, chunk, n.limit, n.window, n.expires) // top up before it runs out
			}
			continue
		case now.Before(s.blind):
			continue // the database is away: this replica's count decides
		case now.Before(s.dry):
			switch s.kind {
			case store.RateSlots:
				return nil, &RateLimitError{Rate: "concurrency", Limit: n.limit, RetryAfter: time.Second}
			case store.RateRequests:
				return nil, &RateLimitError{Rate: "requests", Limit: n.limit, RetryAfter: reset}
			}
			return nil, &RateLimitError{Rate: "tokens", Limit: n.limit, Requested: estimate, RetryAfter: reset}
		}
		if s.ask == nil {
			m.ask(s, max(chunk, short), n.limit, n.window, n.expires)
		}
		return s.ask, nil
	}
	return nil, nil
}

// ask reserves want of a share in the background; s.ask closes when the
// database answered. The caller holds m.mu.
func (m *Meter) ask(s *rateShare, want, limit int64, window, expires time.Time) {
	t := m.t
	s.ask = make(chan struct{})
	ask := s.ask
	minute := m.minute
	r := store.RateReservation{KeyID: m.keyID, Kind: s.kind, Window: window, Replica: t.replica}
	t.asks.Add(1)
	go func() {
		defer t.asks.Done()
		ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
		got, err := t.db.ReserveRate(ctx, r, want, limit, expires)
		cancel()
		m.mu.Lock()
		defer m.mu.Unlock()
		defer close(ask)
		if s.ask == ask {
			s.ask = nil
		}
		if s.kind != store.RateSlots && m.minute != minute {
			return // a minute gone: its share is history
		}
		now := time.Now()
		switch {
		case err != nil:
			t.log.Warn("tenancy: no share of a key's rate limit could be reserved; this replica's count decides meanwhile",
				"key_id", m.keyID, "rate", string(s.kind), "err", err)
			s.blind = now.Add(t.refresh)
		case got == 0:
			s.dry = now.Add(t.refresh)
			if s.kind != store.RateSlots {
				s.dry = time.Unix((minute+1)*60, 0) // nothing more comes this minute
			}
		default:
			s.granted += got
		}
	}()
}

// meter is the Meter of a key with rates, kept across reloads of the
// keys so that its counts outlive a change of its limits.
func (t *Tenancy) meter(keyID int64) *Meter {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.meters[keyID]
	if m == nil {
		m = &Meter{keyID: keyID, slots: rateShare{kind: store.RateSlots}}
		if t.shared {
			m.t = t
		}
		t.meters[keyID] = m
	}
	return m
}

// tendRates gives back what this replica holds of the shares of keys it
// admitted nothing for since the last refresh, and the slots it holds
// past its requests in flight, so that another replica may have them.
func (t *Tenancy) tendRates(ctx context.Context, closing bool) {
	type back struct {
		r      store.RateReservation
		amount int64
	}
	var release []back
	slots := false
	t.mu.Lock()
	meters := make([]*Meter, 0, len(t.meters))
	for _, m := range t.meters {
		meters = append(meters, m)
	}
	t.mu.Unlock()
	for _, m := range meters {
		if m.t == nil {
			continue
		}
		m.mu.Lock()
		window := time.Unix(m.minute*60, 0)
		give := func(s *rateShare, used int64, w time.Time) {
			if extra := s.granted - used; extra > 0 && s.ask == nil {
				release = append(release, back{store.RateReservation{KeyID: m.keyID, Kind: s.kind, Window: w, Replica: t.replica}, extra})
				s.granted = used
			}
		}
		give(&m.slots, m.inflight, time.Time{})
		if !m.active || closing {
			give(&m.req, m.requests, window)
			give(&m.tok, m.tokens, window)
		}
		m.active = false
		slots = slots || m.slots.granted > 0
		m.mu.Unlock()
	}
	for _, b := range release {
		if err := t.db.ReleaseRate(ctx, b.r, b.amount); err != nil {
			// Held by this replica until its reservation expires (slots)
			// or its window ends.
			t.log.Warn("tenancy: a share of a key's rate limit could not be given back", "key_id", b.r.KeyID, "err", err)
		}
	}
	if slots && !closing {
		if err := t.db.Renew(ctx, t.replica, time.Now().Add(reservationTTL)); err != nil {
			t.log.Warn("tenancy: the shares of rate-limited keys could not be renewed", "err", err)
		}
	}
}

// Status is where the meter stands under r now, for the headers of an
// answer refused before it was admitted.
func (m *Meter) Status(r store.Rates, now time.Time) RateStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	minute := now.Unix() / 60
	m.roll(minute)
	st := RateStatus{Reset: time.Unix((minute+1)*60, 0).Sub(now)}
	if r.RPM > 0 {
		st.RPM, st.RemainingRequests = r.RPM, max(r.RPM-m.requests, 0)
	}
	if r.TPM > 0 {
		st.TPM, st.RemainingTokens = r.TPM, max(r.TPM-m.tokens, 0)
	}
	return st
}

// Meter is the meter of p's key, nil when it has no rates.
func (p *Principal) Meter() *Meter { return p.meter }
