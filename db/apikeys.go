package db

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// APIKeyPrefix starts every API key, so that secret scanners recognize a leaked one.
const APIKeyPrefix = "kh_"

// APIKey is an organization API key as stored: never the key itself.
type APIKey struct {
	ID         string
	OrgID      string
	User       UserRef
	Label      string
	Prefix     string
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time // zero: never used
}

// CreateAPIKey makes a key for the actor in its organization. It returns the key (shown once) and
// its record. expires may be zero (never). It returns CodeInvalid.
func (s *Store) CreateAPIKey(ctx context.Context, a Actor, label string, expires time.Time) (string, *APIKey, error) {
	label, err := cleanText(FieldLabel, "Label", label, true, maxTextLen)
	if err != nil {
		return "", nil, err
	}
	if a.UserID == "" {
		return "", nil, Errorf(CodeForbidden, "API keys belong to users.")
	}
	now := s.now()
	if !expires.IsZero() && !expires.After(now) {
		return "", nil, fieldErrorf(FieldExpires, CodeInvalid, "The expiry must be in the future.")
	}
	token := newToken(APIKeyPrefix)
	k := &APIKey{ID: newID(), OrgID: a.OrgID, User: UserRef{ID: a.UserID, Email: a.Email, Name: a.Name}, Label: label,
		Prefix: token[:len(APIKeyPrefix)+6], CreatedAt: now.UTC().Truncate(time.Millisecond)}
	var exp any
	if !expires.IsZero() {
		k.ExpiresAt = expires.UTC().Truncate(time.Millisecond)
		exp = ms(expires)
	}
	// A new key makes no cached lookup stale: only keys that authenticated are cached.
	_, err = inTx(ctx, s, touchesNothing, func(tx *sql.Tx) (struct{}, error) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, org_id, user_id, label, prefix, hash, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, k.ID, k.OrgID, a.UserID, label, k.Prefix, tokenHash(token), ms(now), exp); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, s.recordTx(ctx, tx, a, now, Event{Action: ActionAPIKeyCreate, TargetKind: "api_key", TargetID: k.ID, TargetName: label})
	})
	if err != nil {
		return "", nil, err
	}
	return token, k, nil
}

// ListAPIKeys lists the live keys the actor may see: its own, or every key of the organization for an
// admin. Revoked keys are not listed.
func (s *Store) ListAPIKeys(ctx context.Context, a Actor) ([]APIKey, error) {
	if err := s.m.syncAudit(ctx); err != nil { // last-used times ride with journaled reads
		return nil, err
	}
	all := 0
	if a.IsAdmin() {
		all = 1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT k.id, k.org_id, u.id, u.email, u.first_name, u.last_name, k.label, k.prefix,
		k.created_at, k.expires_at, k.last_used_at
		FROM api_keys k JOIN users u ON u.id = k.user_id
		WHERE k.org_id = ? AND k.revoked_at IS NULL AND (? = 1 OR k.user_id = ?) ORDER BY k.created_at DESC`, a.OrgID, all, a.UserID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []APIKey
	for rows.Next() {
		var k APIKey
		var first, last string
		var created int64
		var expires, used sql.NullInt64
		if err := rows.Scan(&k.ID, &k.OrgID, &k.User.ID, &k.User.Email, &first, &last, &k.Label, &k.Prefix, &created, &expires, &used); err != nil {
			return nil, err
		}
		k.User.Name = displayName(first, last, k.User.Email)
		k.CreatedAt, k.ExpiresAt, k.LastUsedAt = fromMS(created), fromNullMS(expires), fromNullMS(used)
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey revokes a key: it stops working at once. Its owner or an admin only. It returns
// CodeNotFound.
func (s *Store) RevokeAPIKey(ctx context.Context, a Actor, id string) error {
	now := s.now()
	_, err := inTx(ctx, s, touchesAPIKeys(), func(tx *sql.Tx) (struct{}, error) {
		var owner, label string
		err := tx.QueryRowContext(ctx, `SELECT user_id, label FROM api_keys WHERE id = ? AND org_id = ? AND revoked_at IS NULL`, id, a.OrgID).Scan(&owner, &label)
		if errors.Is(err, sql.ErrNoRows) || err == nil && owner != a.UserID && !a.IsAdmin() {
			return struct{}{}, Errorf(CodeNotFound, "No such API key.")
		} else if err != nil {
			return struct{}{}, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ?`, ms(now), id); err != nil {
			return struct{}{}, err
		}
		return struct{}{}, s.recordTx(ctx, tx, a, now, Event{Action: ActionAPIKeyRevoke, TargetKind: "api_key", TargetID: id, TargetName: label})
	})
	return err
}

// apiKeySQL finds the live key with hash ?1 and the actor it acts as: its user, in its organization,
// with the user's current role. No row: unknown or revoked key, or the user has left.
const apiKeySQL = `SELECT k.id, k.label, k.hash, k.expires_at, k.org_id, u.id, u.email, u.first_name, u.last_name, m.role
	FROM api_keys k JOIN users u ON u.id = k.user_id JOIN memberships m ON m.org_id = k.org_id AND m.user_id = k.user_id
	WHERE k.hash = ? AND k.revoked_at IS NULL`

// AuthenticateAPIKey returns the actor a key acts as: its user, in its organization, with that user's
// current role. A malformed, unknown, revoked or expired key, or one whose user has left the
// organization, is CodeUnauthorized.
func (s *Store) AuthenticateAPIKey(ctx context.Context, token, clientIP string) (Actor, error) {
	fail := Errorf(CodeUnauthorized, "Invalid or missing API key.")
	if !strings.HasPrefix(token, APIKeyPrefix) || len(token) > 128 {
		return Actor{}, fail
	}
	want := sha256.Sum256([]byte(token))
	now := s.now()
	// The stamp is taken before the query: an answer read before a revoke commits is filed under a
	// stamp the revoke makes stale (machine.go).
	c, ok, stamp := s.m.keys.get(want)
	if ok && now.Sub(c.at) < s.m.tune.KeyCacheTTL && !now.Before(c.at) {
		if c.expires != 0 && c.expires <= ms(now) {
			return Actor{}, fail
		}
		a := c.actor
		a.ClientIP = clientIP
		return a, nil
	}
	var (
		a       = Actor{Source: "api"}
		hash    []byte
		expires sql.NullInt64
		first   string
		last    string
	)
	err := s.stmts.apiKey.QueryRowContext(ctx, want[:]).
		Scan(&a.APIKeyID, &a.APIKeyLabel, &hash, &expires, &a.OrgID, &a.UserID, &a.Email, &first, &last, &a.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return Actor{}, fail
	} else if err != nil {
		return Actor{}, err
	}
	if subtle.ConstantTimeCompare(hash, want[:]) != 1 || expires.Valid && expires.Int64 <= ms(now) {
		return Actor{}, fail
	}
	a.Name = displayName(first, last, a.Email)
	if s.m.tune.KeyCacheTTL > 0 {
		s.m.keys.put(want, stamp, cachedKey{actor: a, expires: expires.Int64, at: now})
	}
	a.ClientIP = clientIP
	return a, nil
}

// APIRequestActor is who an API request acts as: the actor of its key (AuthenticateAPIKey) in the
// organization the request names, when it names one (the organizationID some clients send; it must
// be the key's, else CodeForbidden). The key's use is noted (NoteAPIKeyUse).
func (s *Store) APIRequestActor(ctx context.Context, token, clientIP, orgID string) (Actor, error) {
	a, err := s.AuthenticateAPIKey(ctx, token, clientIP)
	if err != nil {
		return Actor{}, err
	}
	if orgID = strings.TrimSpace(orgID); orgID != "" && !strings.EqualFold(orgID, a.OrgID) {
		return Actor{}, Errorf(CodeForbidden, "This API key belongs to another organization than the organizationID in the request.")
	}
	s.NoteAPIKeyUse(a)
	return a, nil
}

// NoteAPIKeyUse records, in the background, that the actor's API key was just used: its last-used
// time. It does not wait for the write; a key noted in the last few seconds is not noted again.
func (s *Store) NoteAPIKeyUse(a Actor) {
	s.m.noteKeyUse(a)
}
