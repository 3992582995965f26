package db

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"time"
)

// Session is a signed-in browser: its user, signed in to its organization. Its token lives only in
// the cookie; the database keeps its hash.
type Session struct {
	UserID     string
	OrgID      string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// Orgs are the organizations the user belongs to, by name; SessionActor fills them.
	Orgs []OrgChoice
}

// SessionLimits are the idle and absolute lifetimes of a session.
type SessionLimits struct {
	Idle     time.Duration
	Absolute time.Duration
}

func newToken(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// CreateSession starts a session for userID in orgID and returns its token, the cookie's value.
func (s *Store) CreateSession(ctx context.Context, userID, orgID string) (string, error) {
	token := newToken("")
	now := ms(s.now())
	_, err := s.exec(ctx, `INSERT INTO sessions (id_hash, user_id, org_id, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)`,
		tokenHash(token), userID, orgID, now, now)
	if err != nil {
		return "", err
	}
	return token, nil
}

// SessionByToken returns the live session of token. An unknown, idle-expired or too old session is
// CodeNotFound (and an expired one is deleted). The last-seen time is refreshed at most once per
// tenth of the idle timeout (and at most once a minute), so most requests write nothing and a session
// in use never reaches its idle timeout, however short it is.
func (s *Store) SessionByToken(ctx context.Context, token string, lim SessionLimits) (*Session, error) {
	if token == "" || len(token) > 128 {
		return nil, Errorf(CodeNotFound, "No session.")
	}
	h := tokenHash(token)
	var (
		sess            Session
		created, seenAt int64
	)
	err := s.r.QueryRowContext(ctx, `SELECT user_id, org_id, created_at, last_seen_at FROM sessions WHERE id_hash = ?`, h).
		Scan(&sess.UserID, &sess.OrgID, &created, &seenAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(CodeNotFound, "No session.")
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	sess.CreatedAt, sess.LastSeenAt = fromMS(created), fromMS(seenAt)
	if now.Sub(sess.LastSeenAt) > lim.Idle || now.Sub(sess.CreatedAt) > lim.Absolute {
		_, _ = s.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, h)
		return nil, Errorf(CodeNotFound, "Session expired.")
	}
	if now.Sub(sess.LastSeenAt) >= min(time.Minute, lim.Idle/10) {
		// On a full disk the session goes on with its old last-seen time: it ends sooner, not later.
		if _, err := s.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`, ms(now), h); err != nil && ErrorCode(err) != CodeStorageFull {
			return nil, err
		}
	}
	return &sess, nil
}

// UpdateSession changes a session's organization to one its user belongs to. It returns CodeNotFound
// when the user is not a member of orgID (or the session has ended).
func (s *Store) UpdateSession(ctx context.Context, token, orgID string) error {
	res, err := s.exec(ctx, `UPDATE sessions SET org_id = ? WHERE id_hash = ?
		AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = sessions.user_id AND m.org_id = ?)`, orgID, tokenHash(token), orgID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return Errorf(CodeNotFound, "No such organization.")
	}
	return nil
}

// DeleteSession ends one session.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	_, err := s.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, tokenHash(token))
	return err
}

// DeleteUserSessions ends every session of userID except the one with token keep (empty ends all).
func (s *Store) DeleteUserSessions(ctx context.Context, userID, keep string) error {
	_, err := inTx(ctx, s, touchesNothing, func(tx *sql.Tx) (int, error) { return endSessionsTx(ctx, tx, userID, keep) })
	return err
}
