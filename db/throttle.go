package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Throttle limits failed sign-ins. It keeps its counters in the database, so every instance sees them.
type Throttle struct {
	// MaxFailures is how many failures within Window lock the key for Lockout.
	MaxFailures int
	Window      time.Duration
	Lockout     time.Duration
}

// LoginAllowed returns CodeRateLimited (with RetryAfterSeconds) when any of keys is locked.
func (s *Store) LoginAllowed(ctx context.Context, keys ...string) error {
	now := ms(s.now())
	for _, k := range keys {
		var until int64
		err := s.r.QueryRowContext(ctx, `SELECT locked_until FROM login_failures WHERE key = ?`, k).Scan(&until)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		} else if err != nil {
			return err
		}
		if until > now {
			secs := int((until-now)/1000) + 1
			return &Error{Code: CodeRateLimited, Message: "Too many failed sign-ins. Try again later.", RetryAfterSeconds: secs}
		}
	}
	return nil
}

// LoginFailed counts a failed sign-in against each key, locking a key that reaches its limit. limits
// holds one Throttle per key.
func (s *Store) LoginFailed(ctx context.Context, keys []string, limits []Throttle) error {
	if len(limits) != len(keys) {
		return fmt.Errorf("db: LoginFailed: %d keys but %d limits", len(keys), len(limits))
	}
	now := s.now()
	_, err := inTx(ctx, s, func(tx *sql.Tx) (struct{}, error) {
		for i, k := range keys {
			t := limits[i]
			var failures int
			var start, lockedUntil int64
			err := tx.QueryRowContext(ctx, `SELECT failures, window_start, locked_until FROM login_failures WHERE key = ?`, k).
				Scan(&failures, &start, &lockedUntil)
			expired := err == nil && (now.Sub(fromMS(start)) > t.Window || lockedUntil != 0 && lockedUntil <= ms(now))
			if errors.Is(err, sql.ErrNoRows) || expired {
				failures, start = 0, ms(now)
			} else if err != nil {
				return struct{}{}, err
			}
			failures++
			var until int64
			if failures >= t.MaxFailures {
				until = ms(now.Add(t.Lockout))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures (key, failures, window_start, locked_until) VALUES (?, ?, ?, ?)
				ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start,
				locked_until = excluded.locked_until`, k, failures, start, until); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	return err
}

// LoginSucceeded clears the counter of key (the account), not of the client address.
func (s *Store) LoginSucceeded(ctx context.Context, key string) error {
	_, err := s.exec(ctx, `DELETE FROM login_failures WHERE key = ?`, key)
	return err
}
