package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PasswordChange is a user's change of their own password.
type PasswordChange struct {
	Current string
	New     string
	// KeepSession is the token of the session making the change: every other session of the user
	// ends with the change. Empty ends them all.
	KeepSession string
	// RevokeAPIKeys also revokes every API key of the user and every pending invitation they made, in
	// every organization: what a stolen password may have let someone create stops working too.
	RevokeAPIKeys bool
}

// PasswordChanged says what a password change ended besides the old password.
type PasswordChanged struct {
	SessionsEnded      int
	KeysRevoked        int
	InvitationsRevoked int
}

// ChangePassword replaces the actor's password; they must know the current one. In the same
// transaction every other session of theirs ends and, with RevokeAPIKeys, every API key of theirs and
// every pending invitation they made is revoked. Wrong current passwords count against the sign-in throttle of the account and the client
// address, so a stolen session is no way to guess the password. The change is recorded in the audit
// log of every organization the user belongs to. It returns CodeUnauthorized (wrong current password,
// or it changed meanwhile), CodeInvalid (the new password breaks the policy or is the current one),
// CodeRateLimited or CodeUnavailable (busy).
func (s *Store) ChangePassword(ctx context.Context, a Actor, ch PasswordChange) (PasswordChanged, error) {
	var done PasswordChanged
	if a.UserID == "" {
		return done, Errorf(CodeForbidden, "Only a user can change their password.")
	}
	if err := ValidatePassword(ch.New); err != nil {
		return done, err
	}
	var hash string
	ok, err := s.checkAttempt(ctx, a.Email, a.ClientIP, func() (bool, error) {
		var err error
		if _, hash, err = userWhere(ctx, s.r, "id = ?", a.UserID, "No such user."); err != nil {
			return false, err
		}
		return verifyPassword(hash, ch.Current), nil
	})
	if err != nil {
		return done, err
	}
	if !ok {
		return done, Errorf(CodeUnauthorized, "Your current password is incorrect.")
	}
	if ch.New == ch.Current {
		return done, fieldErrorf(FieldPassword, CodeInvalid, "The new password must differ from your current one.")
	}
	newHash, err := s.hashPassword(ctx, ch.New)
	if err != nil {
		return done, err
	}
	now := s.now()
	touched := touchesNothing
	if ch.RevokeAPIKeys {
		touched = touchesAPIKeys()
	}
	done, err = inTx(ctx, s, touched, func(tx *sql.Tx) (PasswordChanged, error) {
		var done PasswordChanged
		// Only over the hash that was checked: a password changed since then must be checked again.
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ? AND password_hash = ?`,
			newHash, ms(now), a.UserID, hash)
		if err != nil {
			return done, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return done, err
		} else if n != 1 {
			return done, Errorf(CodeUnauthorized, "Your current password is incorrect.")
		}
		if done.SessionsEnded, err = endSessionsTx(ctx, tx, a.UserID, ch.KeepSession); err != nil {
			return done, err
		}
		actorIn := func(orgID string) Actor {
			b := a
			b.OrgID, b.APIKeyID, b.APIKeyLabel = orgID, "", ""
			return b
		}
		detail := "other sessions signed out"
		if ch.RevokeAPIKeys {
			if done.KeysRevoked, err = revokeUserKeysTx(ctx, tx, a.UserID, now); err != nil {
				return done, err
			}
			if done.InvitationsRevoked, err = s.revokeUserInvitationsTx(ctx, tx, a.UserID, actorIn, now, "their inviter revoked their credentials"); err != nil {
				return done, err
			}
			detail += fmt.Sprintf("; %s revoked", plural(done.KeysRevoked, "API key"))
			if done.InvitationsRevoked > 0 {
				detail += fmt.Sprintf(" and %s", plural(done.InvitationsRevoked, "pending invitation"))
			}
		}
		return done, s.recordUserEvent(ctx, tx, a.UserID, actorIn, now, Event{Action: ActionPasswordChange, TargetKind: "user", TargetID: a.UserID, TargetName: a.Email, Detail: detail})
	})
	return done, err
}

// endSessionsTx ends every session of userID but the one with token keep (empty ends all).
func endSessionsTx(ctx context.Context, tx *sql.Tx, userID, keep string) (int, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?`, userID, tokenHash(keep))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// revokeUserKeysTx revokes every live API key of userID, in every organization.
func revokeUserKeysTx(ctx context.Context, tx *sql.Tx, userID string, now time.Time) (int, error) {
	res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, ms(now), userID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// recordUserEvent records ev, about the account userID, in the audit log of every organization the
// user belongs to, as actorIn(orgID) in each.
func (s *Store) recordUserEvent(ctx context.Context, tx *sql.Tx, userID string, actorIn func(orgID string) Actor, now time.Time, ev Event) error {
	orgs, err := userOrgIDs(ctx, tx, userID)
	if err != nil {
		return err
	}
	for _, orgID := range orgs {
		if err := s.recordTx(ctx, tx, actorIn(orgID), now, ev); err != nil {
			return err
		}
	}
	return nil
}

// userOrgIDs lists the organizations userID belongs to.
func userOrgIDs(ctx context.Context, q queryer, userID string) ([]string, error) {
	return idList(ctx, q, `SELECT org_id FROM memberships WHERE user_id = ? ORDER BY org_id`, userID)
}

// PasswordReset is a pending password-reset link, as its page shows it.
type PasswordReset struct {
	Email     string
	ExpiresAt time.Time
}

// ResetPassword is the operator's answer to a forgotten password (the command line only: no portal
// or API path reaches it). In one transaction the user's password stops working, every session of
// theirs ends, every API key of theirs and every pending invitation they made is revoked, earlier
// reset links die, and a new single-use link
// token valid for the reset TTL is made; the reset is recorded in each of their organizations. The
// user opens the link and chooses a new password (CompletePasswordReset). It returns the token (to
// build the link, shown once) and the user, or CodeNotFound.
func (s *Store) ResetPassword(ctx context.Context, email string) (string, *User, error) {
	token := newToken("")
	now := s.now()
	u, err := inTx(ctx, s, touchesAPIKeys(), func(tx *sql.Tx) (*User, error) {
		u, err := userByEmailKey(ctx, tx, emailKeyOf(email))
		if err != nil {
			return nil, err
		}
		for _, q := range []string{
			`UPDATE users SET password_hash = '', password_changed_at = ?2 WHERE id = ?1`,
			`UPDATE password_resets SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL`,
		} {
			if _, err := tx.ExecContext(ctx, q, u.ID, ms(now)); err != nil {
				return nil, err
			}
		}
		if _, err := endSessionsTx(ctx, tx, u.ID, ""); err != nil {
			return nil, err
		}
		if _, err := revokeUserKeysTx(ctx, tx, u.ID, now); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			tokenHash(token), u.ID, ms(now), ms(now.Add(s.resetTTL))); err != nil {
			return nil, err
		}
		if _, err := s.revokeUserInvitationsTx(ctx, tx, u.ID, SystemActor, now, "their inviter's password was reset"); err != nil {
			return nil, err
		}
		ev := Event{Action: ActionPasswordReset, TargetKind: "user", TargetID: u.ID, TargetName: u.Email,
			Detail: "sessions ended, API keys and pending invitations revoked; a one-time link was issued"}
		return u, s.recordUserEvent(ctx, tx, u.ID, SystemActor, now, ev)
	})
	if err != nil {
		return "", nil, err
	}
	return token, u, nil
}

// errResetLink is the one answer to a reset link that does not work, whatever the reason.
func errResetLink() error {
	return Errorf(CodeNotFound, "This password-reset link does not work: it may have expired or been used already. Ask whoever runs keyhold for a new one.")
}

// resetByToken returns the user ID of the live reset with token, or errResetLink.
func (s *Store) resetByToken(ctx context.Context, q queryer, token string) (string, *PasswordReset, error) {
	if token == "" || len(token) > 128 {
		return "", nil, errResetLink()
	}
	var (
		userID, email string
		expires       int64
		used          sql.NullInt64
	)
	err := q.QueryRowContext(ctx, `SELECT r.user_id, u.email, r.expires_at, r.used_at FROM password_resets r JOIN users u ON u.id = r.user_id
		WHERE r.token_hash = ?`, tokenHash(token)).Scan(&userID, &email, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (used.Valid || expires <= ms(s.now())) {
		return "", nil, errResetLink()
	} else if err != nil {
		return "", nil, err
	}
	return userID, &PasswordReset{Email: email, ExpiresAt: fromMS(expires)}, nil
}

// PasswordResetByToken returns the live reset link token, for its page. It returns CodeNotFound.
func (s *Store) PasswordResetByToken(ctx context.Context, token string) (*PasswordReset, error) {
	_, r, err := s.resetByToken(ctx, s.r, token)
	return r, err
}

// CompletePasswordReset sets the password of the user whose reset link token is live and uses the
// link up, in one transaction that also ends any session of theirs. It returns the user and the
// organization to sign in to (the first by name; "" when they belong to none), or CodeNotFound (the
// link does not work), CodeInvalid (password policy) or CodeUnavailable (busy).
func (s *Store) CompletePasswordReset(ctx context.Context, token, password, clientIP string) (*User, string, error) {
	if _, _, err := s.resetByToken(ctx, s.r, token); err != nil {
		return nil, "", err
	}
	hash, err := s.newPasswordHash(ctx, password)
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	type result struct {
		u     *User
		orgID string
	}
	res, err := inTx(ctx, s, touchesNothing, func(tx *sql.Tx) (result, error) {
		userID, _, err := s.resetByToken(ctx, tx, token) // again, inside: a link is used once
		if err != nil {
			return result{}, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?`, hash, ms(now), userID); err != nil {
			return result{}, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL`, ms(now), userID); err != nil {
			return result{}, err
		}
		if _, err := endSessionsTx(ctx, tx, userID, ""); err != nil {
			return result{}, err
		}
		u, err := userByID(ctx, tx, userID)
		if err != nil {
			return result{}, err
		}
		orgID, err := firstOrgID(ctx, tx, userID)
		if err != nil {
			return result{}, err
		}
		ev := Event{Action: ActionPasswordResetUsed, TargetKind: "user", TargetID: u.ID, TargetName: u.Email}
		err = s.recordUserEvent(ctx, tx, u.ID, func(orgID string) Actor {
			return Actor{UserID: u.ID, Email: u.Email, Name: u.Name(), OrgID: orgID, Source: "portal", ClientIP: clientIP}
		}, now, ev)
		return result{u, orgID}, err
	})
	return res.u, res.orgID, err
}

// firstOrgID is the organization a user signs in to: the first of theirs by name, or "" when they
// belong to none.
func firstOrgID(ctx context.Context, q queryer, userID string) (string, error) {
	var orgID string
	err := q.QueryRowContext(ctx, `SELECT m.org_id FROM memberships m JOIN orgs o ON o.id = m.org_id WHERE m.user_id = ?
		ORDER BY o.name_key LIMIT 1`, userID).Scan(&orgID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return orgID, err
}

// userByID returns the user id, or CodeNotFound.
func userByID(ctx context.Context, q queryer, id string) (*User, error) {
	u, _, err := userWhere(ctx, q, "id = ?", id, "No such user.")
	return u, err
}

// plural spells n unit, adding an s unless n is 1.
func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
