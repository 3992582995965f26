package db

import (
	"context"
	"database/sql"
	"errors"
)

// ChangePassword replaces the password of userID, who must know the current one. The change is
// recorded in the audit log of every organization the user belongs to, as done by the user through
// the portal. Sessions are left alone: the caller ends the user's other sessions. It returns CodeUnauthorized (wrong current password, or it
// changed meanwhile), CodeInvalid (the new password breaks the policy or is the current one) or
// CodeNotFound (no such user).
func (s *Store) ChangePassword(ctx context.Context, userID, current, newPassword string) error {
	var email, first, last, hash string
	err := s.r.QueryRowContext(ctx, `SELECT email, first_name, last_name, password_hash FROM users WHERE id = ?`, userID).
		Scan(&email, &first, &last, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Errorf(CodeNotFound, "No such user.")
	} else if err != nil {
		return err
	}
	if !checkPassword(hash, current) {
		return Errorf(CodeUnauthorized, "Your current password is incorrect.")
	}
	if err := ValidatePassword(newPassword); err != nil {
		return err
	}
	if newPassword == current {
		return Errorf(CodeInvalid, "The new password must differ from your current one.")
	}
	newHash := hashPassword(newPassword) // argon2 is slow: hash before the write transaction, not in it
	now := s.now()
	_, err = inTx(ctx, s, func(tx *sql.Tx) (struct{}, error) {
		// Only over the hash that was checked: a password changed since then must be checked again.
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ? AND password_hash = ?`,
			newHash, ms(now), userID, hash)
		if err != nil {
			return struct{}{}, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return struct{}{}, err
		} else if n != 1 {
			return struct{}{}, Errorf(CodeUnauthorized, "Your current password is incorrect.")
		}
		orgs, err := userOrgIDs(ctx, tx, userID)
		if err != nil {
			return struct{}{}, err
		}
		for _, orgID := range orgs {
			a := Actor{UserID: userID, Email: email, Name: displayName(first, last, email), OrgID: orgID, Source: "portal"}
			ev := Event{Action: ActionPasswordChange, TargetKind: "user", TargetID: userID, TargetName: email}
			if err := s.recordTx(ctx, tx, a, now, ev); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	return err
}

// SetMemberPassword gives a member of the actor's organization a new password and ends every session
// of theirs, in one transaction. Admins only, and only for a user whose every organization the actor
// administers: otherwise an admin of one organization could take over an account that reaches
// another. Admins change their own password with ChangePassword. It returns CodeForbidden,
// CodeNotFound or CodeInvalid.
func (s *Store) SetMemberPassword(ctx context.Context, a Actor, userID, newPassword string) error {
	if !a.IsAdmin() {
		return Errorf(CodeForbidden, "Only organization admins can set passwords.")
	}
	if userID == a.UserID {
		return Errorf(CodeInvalid, "Change your own password on your Account page: it asks for the current one.")
	}
	if err := ValidatePassword(newPassword); err != nil {
		return err
	}
	newHash := hashPassword(newPassword)
	now := s.now()
	_, err := inTx(ctx, s, func(tx *sql.Tx) (struct{}, error) {
		m, err := memberTx(ctx, tx, a.OrgID, userID)
		if err != nil {
			return struct{}{}, err
		}
		var elsewhere int
		err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships m WHERE m.user_id = ? AND m.org_id <> ?
			AND NOT EXISTS (SELECT 1 FROM memberships me WHERE me.org_id = m.org_id AND me.user_id = ? AND me.role = 'admin')`,
			userID, a.OrgID, a.UserID).Scan(&elsewhere)
		if err != nil {
			return struct{}{}, err
		}
		if elsewhere > 0 {
			return struct{}{}, Errorf(CodeForbidden, "%s also belongs to an organization you do not administer: only they can change their password.", m.Email)
		}
		for _, q := range []string{
			`UPDATE users SET password_hash = ?1, password_changed_at = ?2 WHERE id = ?3`,
			`DELETE FROM sessions WHERE user_id = ?3`,
		} {
			if _, err := tx.ExecContext(ctx, q, newHash, ms(now), userID); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, s.recordTx(ctx, tx, a, now, Event{Action: ActionMemberPasswordSet, TargetKind: "user", TargetID: userID, TargetName: m.Email})
	})
	return err
}

// userOrgIDs lists the organizations userID belongs to.
func userOrgIDs(ctx context.Context, q queryer, userID string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT org_id FROM memberships WHERE user_id = ? ORDER BY org_id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
