package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// memberTx returns a member of org by user ID, or CodeNotFound.
func memberTx(ctx context.Context, q queryer, orgID, userID string) (*Member, error) {
	m := Member{OrgID: orgID}
	var created, joined int64
	err := q.QueryRowContext(ctx, `SELECT u.id, u.email, u.first_name, u.last_name, u.created_at, m.role, m.created_at
		FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? AND m.user_id = ?`, orgID, userID).
		Scan(&m.ID, &m.Email, &m.FirstName, &m.LastName, &created, &m.Role, &joined)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, Errorf(CodeNotFound, "No such member.")
	} else if err != nil {
		return nil, err
	}
	m.CreatedAt, m.JoinedAt = fromMS(created), fromMS(joined)
	return &m, nil
}

// keepAnAdmin returns CodeConflict with msg when org has only one admin: the one about to go.
func keepAnAdmin(ctx context.Context, q queryer, orgID, msg string) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships WHERE org_id = ? AND role = 'admin'`, orgID).Scan(&n); err != nil {
		return err
	}
	if n <= 1 {
		return &Error{Code: CodeConflict, Message: msg}
	}
	return nil
}

// SetMemberRole makes a member an admin or a plain member; an admin made a member loses the pending
// invitations they made. Admins only; the organization keeps at least one admin. It returns CodeForbidden, CodeInvalid, CodeNotFound or CodeConflict (last admin).
func (s *Store) SetMemberRole(ctx context.Context, a Actor, userID string, role OrgRole) error {
	if !a.IsAdmin() {
		return Errorf(CodeForbidden, "Only organization admins can change roles.")
	}
	if role != OrgAdmin && role != OrgMember {
		return Errorf(CodeInvalid, "Unknown organization role %q: use admin or member.", role)
	}
	now := s.now()
	// The role travels in cached key lookups.
	_, err := inTx(ctx, s, touchesAccess(a.OrgID).and(touchesAPIKeys()), func(tx *sql.Tx) (struct{}, error) {
		m, err := memberTx(ctx, tx, a.OrgID, userID)
		if err != nil || m.Role == role {
			return struct{}{}, err
		}
		if m.Role == OrgAdmin {
			if err := keepAnAdmin(ctx, tx, a.OrgID, "An organization must keep at least one admin."); err != nil {
				return struct{}{}, err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE memberships SET role = ? WHERE org_id = ? AND user_id = ?`, string(role), a.OrgID, userID); err != nil {
			return struct{}{}, err
		}
		if err := s.recordTx(ctx, tx, a, now, Event{Action: ActionMemberRole, TargetKind: "user", TargetID: userID, TargetName: m.Email, Role: string(role)}); err != nil {
			return struct{}{}, err
		}
		if role == OrgMember {
			_, err = s.revokePendingTx(ctx, tx, a, now, "created_by", userID, "their inviter is no longer an admin")
		}
		return struct{}{}, err
	})
	return err
}

// RemoveMember takes a user out of the actor's organization: their memberships of its teams, grants,
// sessions and API keys go with them, and so do the pending invitations they made, and every secret left with no Owner user is deleted. Admins
// only; the last admin cannot be removed. It returns the deleted secrets, or CodeForbidden,
// CodeNotFound or CodeConflict; on CodeConflict the removal still names the member, for the dialog
// that explains the refusal.
func (s *Store) RemoveMember(ctx context.Context, a Actor, userID string) (*MemberRemoval, error) {
	return s.removeMember(ctx, a, userID, false)
}

// PreviewRemoveMember is RemoveMember's confirmation: what it would do, or its refusal, with nothing
// changed.
func (s *Store) PreviewRemoveMember(ctx context.Context, a Actor, userID string) (*MemberRemoval, error) {
	return s.removeMember(ctx, a, userID, true)
}

// MemberRemoval is what removing a member did, or previewed would do.
type MemberRemoval struct {
	Member  Member   // who leaves
	Deleted []Secret // the secrets the last-Owner rule deleted
}

func (s *Store) removeMember(ctx context.Context, a Actor, userID string, preview bool) (*MemberRemoval, error) {
	if !a.IsAdmin() {
		return nil, Errorf(CodeForbidden, "Only organization admins can remove members.")
	}
	now := s.now()
	var r MemberRemoval
	// The member's keys stop working at once.
	deleted, err := change(ctx, s, preview, touchesAccess(a.OrgID).and(touchesAPIKeys()), func(tx *sql.Tx) ([]Secret, error) {
		m, err := memberTx(ctx, tx, a.OrgID, userID)
		if err != nil {
			return nil, err
		}
		r.Member = *m
		if m.Role == OrgAdmin {
			if err := keepAnAdmin(ctx, tx, a.OrgID, m.Email+" is the organization's last admin: make someone else an admin first."); err != nil {
				return nil, err
			}
		}
		candidates, err := ownedSecretIDs(ctx, tx, a.OrgID, PrincipalUser, userID)
		if err != nil {
			return nil, err
		}
		revokeKeys := `UPDATE api_keys SET revoked_at = ?3 WHERE org_id = ?1 AND user_id = ?2 AND revoked_at IS NULL`
		for _, q := range []string{
			`DELETE FROM memberships WHERE org_id = ?1 AND user_id = ?2`,
			`DELETE FROM team_members WHERE user_id = ?2 AND team_id IN (SELECT id FROM teams WHERE org_id = ?1)`,
			`DELETE FROM team_owners WHERE user_id = ?2 AND team_id IN (SELECT id FROM teams WHERE org_id = ?1)`,
			`DELETE FROM grants WHERE principal_kind = 'user' AND principal_id = ?2 AND secret_id IN (SELECT id FROM secrets WHERE org_id = ?1)`,
			revokeKeys,
			`DELETE FROM sessions WHERE org_id = ?1 AND user_id = ?2`,
		} {
			args := []any{a.OrgID, userID}
			if q == revokeKeys {
				args = append(args, ms(now))
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return nil, err
			}
		}
		if err := s.recordTx(ctx, tx, a, now, Event{Action: ActionMemberRemove, TargetKind: "user", TargetID: userID, TargetName: m.Email}); err != nil {
			return nil, err
		}
		if _, err := s.revokePendingTx(ctx, tx, a, now, "created_by", userID, "their inviter left the organization"); err != nil {
			return nil, err
		}
		return s.deleteOrphansTx(ctx, tx, a, now, candidates, fmt.Sprintf("last Owner %s left the organization", m.Email))
	})
	if r.Member.ID == "" {
		return nil, err
	}
	r.Deleted = deleted
	return &r, err
}
