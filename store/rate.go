package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// ReserveRate implements Store. The key's row is locked first, as Reserve
// does, so that replicas reserving at once take turns and each reads
// what the one before it reserved.
func (s *sqlStore) ReserveRate(ctx context.Context, r RateReservation, want, limit int64, expires time.Time) (int64, error) {
	if want <= 0 || limit <= 0 {
		return 0, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var id int64
	if err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM keys WHERE id = ?`+s.d.forUpdate), r.KeyID).Scan(&id); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, ErrNotFound
		}
		return 0, err
	}
	now, window := time.Now().UnixMilli(), r.Window.UnixMilli()
	// What outlived its window, or its replica, is history.
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM rate_reservations WHERE key_id = ? AND kind = ? AND expires_at < ?`), r.KeyID, string(r.Kind), now); err != nil {
		return 0, err
	}
	var held int64
	if err := tx.QueryRowContext(ctx, s.q(`SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM rate_reservations
		WHERE key_id = ? AND kind = ? AND window_start = ?`), r.KeyID, string(r.Kind), window).Scan(&held); err != nil {
		return 0, err
	}
	got := min(want, limit-held)
	if got <= 0 {
		return 0, tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO rate_reservations (key_id, kind, window_start, replica, amount, expires_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (key_id, kind, window_start, replica) DO UPDATE SET amount = rate_reservations.amount + excluded.amount,
		expires_at = CASE WHEN excluded.expires_at > rate_reservations.expires_at THEN excluded.expires_at ELSE rate_reservations.expires_at END`),
		r.KeyID, string(r.Kind), window, r.Replica, got, expires.UnixMilli()); err != nil {
		return 0, err
	}
	return got, tx.Commit()
}

// ReleaseRate implements Store.
func (s *sqlStore) ReleaseRate(ctx context.Context, r RateReservation, amount int64) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE rate_reservations SET amount = amount - ? WHERE key_id = ? AND kind = ? AND window_start = ? AND replica = ?`),
		amount, r.KeyID, string(r.Kind), r.Window.UnixMilli(), r.Replica)
	return err
}

// renewSlots keeps a replica's slot reservations alive until expires: a
// window's requests and tokens need no renewing, they end with it.
func (s *sqlStore) renewSlots(ctx context.Context, replica string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE rate_reservations SET expires_at = ? WHERE replica = ? AND kind = ?`),
		expires.UnixMilli(), replica, string(RateSlots))
	return err
}
