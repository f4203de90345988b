package tenancy

import (
	"errors"
	"strconv"
	"time"

	"github.com/opentoken/opentoken/store"
)

// ErrInvalidKey refuses a secret that is no key this gateway honours:
// unknown, revoked, or one its options exclude (the demo key outside demo
// mode).
var ErrInvalidKey = errors.New("invalid api key")

// ExpiredError refuses a key past its expiry.
type ExpiredError struct{ At time.Time }

func (e *ExpiredError) Error() string {
	return "this key expired at " + e.At.UTC().Format(time.RFC3339)
}

// NoCreditError refuses a key whose workspace has spent its credit.
type NoCreditError struct{ Workspace string }

func (e *NoCreditError) Error() string {
	return "workspace " + e.Workspace + " has no credit left; add credit to go on"
}

// LimitError refuses a key that spent its limit in the current window;
// ResetAt is when the next window begins.
type LimitError struct {
	Limit   store.USD
	Reset   store.Reset
	ResetAt time.Time
}

func (e *LimitError) Error() string {
	return "this key spent its limit of $" + dollars(e.Limit) + " for the " + string(e.Reset) +
		" window; it resets at " + e.ResetAt.UTC().Format(time.RFC3339)
}

// RetryAfter is how long a client waits for the window to reset, in whole
// seconds rounded up, from now.
func (e *LimitError) RetryAfter(now time.Time) int64 {
	return int64(e.ResetAt.Sub(now)/time.Second) + 1
}

func dollars(u store.USD) string { return strconv.FormatFloat(u.Dollars(), 'f', -1, 64) }
