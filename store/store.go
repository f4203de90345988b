// Package store keeps the gateway's tenancy: workspaces, the keys issued
// to them, their credit and the ledger of what each answer cost. One
// interface, Store, has an implementation per database; the gateway
// itself stays stateless.
//
// Money is kept in integer units of 1e-10 USD (the precision of
// usage.cost), so that balances are exact sums.
package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
)

// Errors a Store returns. Its errors wrap them, saying what was sought
// in an operator's words (`no workspace named "x"`).
var (
	ErrNotFound  = errors.New("not found")
	ErrDuplicate = errors.New("already exists")
	ErrAmbiguous = errors.New("more than one key matches")
)

// failure is one of the errors above, told in a sentence of its own.
type failure struct {
	msg  string
	kind error
}

func (f *failure) Error() string { return f.msg }
func (f *failure) Unwrap() error { return f.kind }

// Schema is where a database's schema stands: the version it is at (0
// before the first migration) and the latest this binary knows.
type Schema struct{ Version, Latest int }

// Check refuses a schema newer than this binary's: an older binary would
// write what the newer schema no longer means.
func (s Schema) Check() error {
	if s.Version > s.Latest {
		return fmt.Errorf("the database is at schema version %d, newer than this binary's %d: upgrade the binary", s.Version, s.Latest)
	}
	return nil
}

// USD is an amount of money in units of 1e-10 USD.
type USD int64

// USDUnit is one dollar.
const USDUnit USD = 1e10

// FromDollars converts dollars, rounding to the unit.
func FromDollars(d float64) USD { return USD(math.Round(d * float64(USDUnit))) }

// Dollars converts back.
func (u USD) Dollars() float64 { return float64(u) / float64(USDUnit) }

// Workspace owns keys and a credit balance.
type Workspace struct {
	ID        int64
	Name      string
	CreatedAt time.Time
}

// Reset is the window a key's spend limit counts in: UTC days, weeks
// starting on Monday, or calendar months.
type Reset string

const (
	ResetNone    Reset = ""
	ResetDaily   Reset = "daily"
	ResetWeekly  Reset = "weekly"
	ResetMonthly Reset = "monthly"
)

// ParseReset reads a limit_reset value.
func ParseReset(s string) (Reset, bool) {
	switch r := Reset(s); r {
	case ResetDaily, ResetWeekly, ResetMonthly:
		return r, true
	}
	return ResetNone, false
}

// WindowStart is the start of the window that t falls in.
func (r Reset) WindowStart(t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	switch r {
	case ResetDaily:
		return day
	case ResetWeekly:
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	case ResetMonthly:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// Key is an issued key, as stored: never its secret, only its hash and
// the prefix it is shown by.
type Key struct {
	ID          int64
	WorkspaceID int64
	Workspace   string
	Name        string
	Prefix      string // the secret's first characters, for people to tell keys apart
	Hash        string // hex SHA-256 of the secret
	CreatedAt   time.Time
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
	SpendLimit  *USD
	LimitReset  Reset
	Rates
}

// Rates are a key's request-rate limits; zero is no limit.
type Rates struct {
	// RPM is requests per minute and TPM tokens per minute (input and
	// output, cached input not counted), in UTC minutes.
	RPM, TPM int64
	// MaxConcurrent bounds the key's requests in flight.
	MaxConcurrent int64
}

// Limited reports whether any rate is limited.
func (r Rates) Limited() bool { return r.RPM > 0 || r.TPM > 0 || r.MaxConcurrent > 0 }

// NewKey is what creating a key takes.
type NewKey struct {
	Workspace string
	Name      string
	// Secret, when set, is the key's secret instead of a new random one
	// (the demo mode's published key); it must start with KeyPrefix.
	Secret     string
	ExpiresAt  *time.Time
	SpendLimit *USD
	LimitReset Reset
	Rates      Rates
}

// KeyUpdate changes a key: each field set replaces the key's.
type KeyUpdate struct {
	// ExpiresAt sets the expiry; NoExpiry removes it.
	ExpiresAt *time.Time
	NoExpiry  bool
	// SpendLimit and LimitReset set the spend limit, both or neither;
	// NoSpendLimit removes it.
	SpendLimit   *USD
	LimitReset   Reset
	NoSpendLimit bool
	// RPM, TPM and MaxConcurrent set a rate; 0 removes it.
	RPM, TPM, MaxConcurrent *int64
}

// KeyPrefix starts every issued key.
const KeyPrefix = "sk-optk-"

// prefixLen is how much of a secret is kept to show the key by.
const prefixLen = len(KeyPrefix) + 6

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewSecret makes a key's secret: the prefix and 32 random bytes in
// base62 (43 characters).
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	n := new(big.Int).SetBytes(b[:])
	digits := make([]byte, 0, 43)
	base, mod := big.NewInt(62), new(big.Int)
	for n.Sign() > 0 {
		n.DivMod(n, base, mod)
		digits = append(digits, base62[mod.Int64()])
	}
	for len(digits) < 43 {
		digits = append(digits, '0')
	}
	return KeyPrefix + string(digits), nil
}

// HashSecret is how a key's secret is stored and looked up.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// IsIssued reports whether s may be an issued key.
func IsIssued(s string) bool { return strings.HasPrefix(s, KeyPrefix) && len(s) > len(KeyPrefix) }

// UsageRecord is one billed answer.
type UsageRecord struct {
	// RequestID ties the record to the answer's logs. It is the client's
	// X-Request-Id when it sent one, so it need not be unique: two answers
	// under one id are two records.
	RequestID   string
	KeyID       int64
	WorkspaceID int64
	Model       string
	Prompt      int64
	Completion  int64
	Cached      int64
	CacheWrite  int64
	Reasoning   int64
	Cost        USD
	Status      int
	Partial     bool // a stream cut before its end
	StartedAt   time.Time
	FinishedAt  time.Time
	// WindowStart is the start of the key's spend-limit window the cost
	// counts in; zero for a key without a limit.
	WindowStart time.Time
	// Reserved is set when the answer was billed against its replica's
	// reservation of the key's limit (Store.Reserve): then its cost is
	// taken off the reservation when it is recorded.
	Reserved bool
}

// A Batch is usage records written together and exactly once: a write
// repeated under the same ID — the replay of a batch whose first write
// failed, or only seemed to — writes nothing.
type Batch struct {
	ID      string
	Replica string // the gateway that billed it, whose reservations it settles
	Records []UsageRecord
}

// A Reservation is one replica's share of a limited key's budget in one
// window: what it may still bill without asking the database.
type Reservation struct {
	KeyID   int64
	Window  time.Time // the window's start
	Replica string
}

// RateKind is what a rate reservation holds.
type RateKind string

const (
	RateRequests RateKind = "requests" // requests in one minute
	RateTokens   RateKind = "tokens"   // tokens in one minute
	RateSlots    RateKind = "slots"    // requests in flight at once
)

// A RateReservation is one replica's share of a key's rate limit: of a
// minute's requests or tokens (Window its start), or of its slots for
// requests in flight (Window zero).
type RateReservation struct {
	KeyID   int64
	Kind    RateKind
	Window  time.Time
	Replica string
}

// NewBatchID makes a batch id unique across replicas: 16 random bytes.
func NewBatchID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand's documented contract)
	return hex.EncodeToString(b[:])
}

// UsageFilter selects usage for a report.
type UsageFilter struct {
	Workspace string
	KeyPrefix string
	Since     time.Time
}

// UsageRow is one line of a usage report: a key, a model and a UTC day.
type UsageRow struct {
	Day        string
	Workspace  string
	KeyPrefix  string
	Model      string
	Requests   int64
	Prompt     int64
	Completion int64
	Cost       USD
}

// Store is the tenancy database.
type Store interface {
	// Migrate applies the schema's pending versions, safely when several
	// replicas start at once. It refuses a schema newer than this
	// binary's (Schema.Check).
	Migrate(ctx context.Context) error
	// Schema tells where the database's schema stands, without changing
	// it.
	Schema(ctx context.Context) (Schema, error)
	CreateWorkspace(ctx context.Context, name string) (Workspace, error)
	// CreateKey issues a key and returns it with its secret, which is
	// stored only as a hash.
	CreateKey(ctx context.Context, k NewKey) (Key, string, error)
	ListKeys(ctx context.Context, workspace string) ([]Key, error)
	// KeysVersion moves whenever a key is created or revoked.
	KeysVersion(ctx context.Context) (int64, error)
	// RevokeKey revokes the key with this id or secret prefix.
	RevokeKey(ctx context.Context, idOrPrefix string) (Key, error)
	// UpdateKey changes the key with this id or secret prefix.
	UpdateKey(ctx context.Context, idOrPrefix string, u KeyUpdate) (Key, error)
	// KeyByHash finds a key by its secret's hash.
	KeyByHash(ctx context.Context, hash string) (Key, error)
	AddCredit(ctx context.Context, workspace string, amount USD, note string) error
	// Balance is the signed sum of a workspace's credit ledger.
	Balance(ctx context.Context, workspace string) (USD, error)
	// Record writes batches of usage records, each record with its debit,
	// in one transaction; a batch already written is skipped.
	Record(ctx context.Context, batches ...Batch) error
	Usage(ctx context.Context, f UsageFilter) ([]UsageRow, error)
	// Balances is every workspace's balance, by workspace id.
	Balances(ctx context.Context) (map[int64]USD, error)
	// WindowSpends is what each limited key spent in the window that
	// starts at start, by key id (keys that spent nothing are absent).
	WindowSpends(ctx context.Context, start time.Time) (map[int64]USD, error)
	// Reserve sets aside up to want of a limited key's budget in a window
	// for a replica, and returns what it set aside (0 when none is left).
	// A reservation's amount is what its replica was given, less what it
	// gave back and what its recorded answers cost (UsageRecord.Reserved),
	// so the budget left is the limit less what live reservations were
	// given and what other answers of the window cost: replicas never get
	// the same money twice, and a replica pays what it spent past its
	// share out of its next one. A replica's reservations live until
	// expires, unless renewed; those of a replica gone then count as what
	// its recorded answers cost.
	Reserve(ctx context.Context, r Reservation, want USD, expires time.Time) (USD, error)
	// Renew keeps a replica's reservations, of spend and of slots, alive
	// until expires.
	Renew(ctx context.Context, replica string, expires time.Time) error
	// Release gives back amount of a reservation unspent; a negative
	// amount closes a replica's debt (spent past its share, which it will
	// not pay out of another).
	Release(ctx context.Context, r Reservation, amount USD) error
	// ReserveRate sets aside up to want of a key's rate limit in a window
	// for a replica, and returns what it set aside (0 when none is left):
	// what the live reservations of the window hold together never passes
	// limit. A slot reservation (RateSlots) lives until expires unless
	// renewed (Renew); a window's requests and tokens live as long as
	// their window.
	ReserveRate(ctx context.Context, r RateReservation, want, limit int64, expires time.Time) (int64, error)
	// ReleaseRate gives back amount of a rate reservation.
	ReleaseRate(ctx context.Context, r RateReservation, amount int64) error
	Console
	// PutResponse keeps a response of the Responses door; GetResponse
	// finds one by id within its scope, unexpired at now; DeleteResponse
	// removes one. Both answer ErrNotFound for any other id. PurgeResponses
	// removes those expired before now and says how many.
	PutResponse(ctx context.Context, r StoredResponse) error
	GetResponse(ctx context.Context, id, scope string, now time.Time) (StoredResponse, error)
	DeleteResponse(ctx context.Context, id, scope string) error
	PurgeResponses(ctx context.Context, now time.Time) (int64, error)
	// Secret returns the gateway secret called name, first storing the
	// value draw makes when there is none: every replica gets the one
	// that was stored first.
	Secret(ctx context.Context, name string, draw func() string) (string, error)
	Close() error
}

// StoredResponse is a response kept for GET /v1/responses/{id} and
// previous_response_id: its object as answered, and the items a following
// request's history takes from it.
type StoredResponse struct {
	ID, Scope, Model string
	Created, Expires time.Time
	Body, History    []byte
}

// check refuses a negative rate.
func (r Rates) check() error {
	if r.RPM < 0 || r.TPM < 0 || r.MaxConcurrent < 0 {
		return errors.New("a rate limit is a positive number, or 0 for none")
	}
	return nil
}
