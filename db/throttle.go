package db

import (
	"context"
	"database/sql"
	"errors"
	"net/netip"
	"strings"
	"time"
)

// Throttle limits password attempts against one key (an account, or a client address). It keeps its
// counters in the database, so every instance sees them.
type Throttle struct {
	// MaxFailures is how many attempts within Window lock the key for Lockout.
	MaxFailures int
	Window      time.Duration
	Lockout     time.Duration
}

// SignInLimits are the throttles of password attempts (sign-ins, and the current password of a
// password change): per account and per client address.
type SignInLimits struct {
	Account Throttle
	Client  Throttle
}

func (l *SignInLimits) defaults() {
	if l.Account.MaxFailures <= 0 {
		l.Account = Throttle{MaxFailures: 5, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
	}
	if l.Client.MaxFailures <= 0 {
		l.Client = Throttle{MaxFailures: 20, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
	}
}

// attemptKeys are the throttle keys of a password attempt on the account email from clientIP.
func attemptKeys(email, clientIP string) []string {
	return []string{"email:" + emailKeyOf(email), "ip:" + ClientBlock(clientIP)}
}

// ClientBlock is the client address a limit counts by: an IPv4 address as it is, an IPv6 address by
// its /64, the block one subscriber gets, so that rotating through one's own addresses gains nothing.
func ClientBlock(clientIP string) string {
	addr, err := netip.ParseAddr(clientIP)
	if err != nil {
		return clientIP
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func (l SignInLimits) of(key string) Throttle {
	if strings.HasPrefix(key, "ip:") {
		return l.Client
	}
	return l.Account
}

func errTooManyAttempts(retryAfter int) error {
	return &Error{Code: CodeRateLimited, Message: "Too many failed sign-ins. Try again later.", RetryAfterSeconds: retryAfter}
}

// attemptsAllowed returns CodeRateLimited (with RetryAfterSeconds) when any of keys is locked. It is
// the cheap first look, on the read pool, that keeps a locked-out flood away from the hashing slots;
// reserveAttempt decides.
func (s *Store) attemptsAllowed(ctx context.Context, keys []string) error {
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
			return errTooManyAttempts(int((until-now)/1000) + 1)
		}
	}
	return nil
}

// reserveAttempt counts a password attempt against each key before the password is checked, in one
// transaction: an attempt is a failure until it succeeds (then refundAttempt takes it back), so
// attempts racing each other cannot get past the limit, as check-then-count would let them. The
// attempt that reaches a key's limit locks it; a locked key refuses with CodeRateLimited and counts
// nothing.
func (s *Store) reserveAttempt(ctx context.Context, keys []string) error {
	now := s.now()
	_, err := inTx(ctx, s, touchesNothing, func(tx *sql.Tx) (struct{}, error) {
		type row struct {
			failures           int
			start, lockedUntil int64
		}
		rows := make([]row, len(keys))
		for i, k := range keys {
			t := s.signIn.of(k)
			r := &rows[i]
			err := tx.QueryRowContext(ctx, `SELECT failures, window_start, locked_until FROM login_failures WHERE key = ?`, k).
				Scan(&r.failures, &r.start, &r.lockedUntil)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				*r = row{start: ms(now)}
			case err != nil:
				return struct{}{}, err
			case r.lockedUntil > ms(now):
				return struct{}{}, errTooManyAttempts(int((r.lockedUntil-ms(now))/1000) + 1)
			case now.Sub(fromMS(r.start)) > t.Window || r.lockedUntil != 0:
				*r = row{start: ms(now)} // the window or the lockout is over: start counting again
			}
		}
		for i, k := range keys {
			t, r := s.signIn.of(k), rows[i]
			r.failures++
			if r.failures >= t.MaxFailures {
				r.lockedUntil = ms(now.Add(t.Lockout))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures (key, failures, window_start, locked_until) VALUES (?, ?, ?, ?)
				ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start,
				locked_until = excluded.locked_until`, k, r.failures, r.start, r.lockedUntil); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	return err
}

// refundAttempt takes back a reserved attempt that turned out right: the account's count starts over,
// and the client address gets its attempt back (and is unlocked if this attempt had locked it).
func (s *Store) refundAttempt(ctx context.Context, keys []string) error {
	_, err := inTx(ctx, s, touchesNothing, func(tx *sql.Tx) (struct{}, error) {
		for _, k := range keys {
			var err error
			if strings.HasPrefix(k, "ip:") {
				_, err = tx.ExecContext(ctx, `UPDATE login_failures SET failures = CASE WHEN failures > 1 THEN failures - 1 ELSE 0 END,
					locked_until = CASE WHEN failures - 1 < ? THEN 0 ELSE locked_until END WHERE key = ?`, s.signIn.Client.MaxFailures, k)
			} else {
				_, err = tx.ExecContext(ctx, `DELETE FROM login_failures WHERE key = ?`, k)
			}
			if err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	return err
}

// checkAttempt runs one throttled password check of the account email from clientIP: refused at
// once when a key is locked, counted before the hash is computed, and computed in a hashing slot.
// check compares (with verifyPassword, never a second slot) and reports whether the password was
// right; a right one is refunded. It returns CodeRateLimited, CodeUnavailable (every hashing slot
// busy: nothing is counted) or check's error.
func (s *Store) checkAttempt(ctx context.Context, email, clientIP string, check func() (bool, error)) (bool, error) {
	keys := attemptKeys(email, clientIP)
	if err := s.attemptsAllowed(ctx, keys); err != nil {
		return false, err
	}
	ok, err := func() (bool, error) {
		release, err := s.hashes.acquire(ctx)
		if err != nil {
			return false, err
		}
		defer release()
		if err := s.reserveAttempt(ctx, keys); err != nil {
			return false, err
		}
		return check()
	}()
	if err != nil || !ok {
		s.m.signInFailures.Add(countIf(err == nil))
		return false, err
	}
	// A right password must not stay counted as a failure, even if the client has gone meanwhile.
	return true, s.refundAttempt(context.WithoutCancel(ctx), keys)
}
