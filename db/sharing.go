package db

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Principal kinds that can hold a grant.
const (
	PrincipalUser = "user"
	PrincipalTeam = "team"
)

// Grant is one principal's role on a secret.
type Grant struct {
	Kind        string // PrincipalUser or PrincipalTeam
	ID          string
	Name        string // the user's full name or the team's name
	Email       string // users only
	FirstName   string
	LastName    string
	Description string // teams only
	Role        Role
	CreatedAt   time.Time
	CreatedBy   UserRef
}

// AccessChange is one change to a secret's access list: grant Role to the principal, or, with Revoke,
// take the principal's grant away (Role, when set, must match the grant for it to be removed).
type AccessChange struct {
	Kind   string
	ID     string
	Role   Role
	Revoke bool
}

// AccessList returns who has access to a secret, Owners first. Owners and Readers may read it. It
// returns CodeNotFound.
func (s *Store) AccessList(ctx context.Context, a Actor, secretID string) ([]Grant, error) {
	_, grants, err := s.SecretAccess(ctx, a, secretID)
	return grants, err
}

// SecretAccess returns a secret (without its value) with who has access to it, in one snapshot: what
// the Share dialog shows. Owners and Readers may read it. It returns CodeNotFound.
func (s *Store) SecretAccess(ctx context.Context, a Actor, secretID string) (*Secret, []Grant, error) {
	type result struct {
		sec    *Secret
		grants []Grant
	}
	res, err := inReadTx(ctx, s, func(tx *sql.Tx) (result, error) {
		sec, err := scanLookup(tx.StmtContext(ctx, s.stmts.secretByID).QueryRowContext(ctx, a.UserID, secretID, a.OrgID))
		if err != nil {
			return result{}, err
		}
		grants, err := accessListTx(ctx, tx, secretID)
		return result{sec, grants}, err
	})
	return res.sec, res.grants, err
}

func accessListTx(ctx context.Context, q queryer, secretID string) ([]Grant, error) {
	rows, err := q.QueryContext(ctx, `SELECT g.principal_kind, g.principal_id, g.role, g.created_at,
		COALESCE(u.email, ''), COALESCE(u.first_name, ''), COALESCE(u.last_name, ''), COALESCE(t.name, ''), COALESCE(t.description, ''),
		cb.id, cb.email, cb.first_name, cb.last_name
		FROM grants g
		LEFT JOIN users u ON g.principal_kind = 'user' AND u.id = g.principal_id
		LEFT JOIN teams t ON g.principal_kind = 'team' AND t.id = g.principal_id
		JOIN users cb ON cb.id = g.created_by
		WHERE g.secret_id = ?
		ORDER BY g.role, g.principal_kind DESC, lower(COALESCE(t.name, u.email))`, secretID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		var g Grant
		var created int64
		var teamName, cbFirst, cbLast string
		if err := rows.Scan(&g.Kind, &g.ID, &g.Role, &created, &g.Email, &g.FirstName, &g.LastName, &teamName, &g.Description,
			&g.CreatedBy.ID, &g.CreatedBy.Email, &cbFirst, &cbLast); err != nil {
			return nil, err
		}
		g.CreatedAt = fromMS(created)
		g.CreatedBy.Name = displayName(cbFirst, cbLast, g.CreatedBy.Email)
		g.CreatedBy.FirstName, g.CreatedBy.LastName = cbFirst, cbLast
		if g.Kind == PrincipalTeam {
			g.Name = teamName
		} else {
			g.Name = displayName(g.FirstName, g.LastName, g.Email)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// ChangeAccess applies changes to a secret's access list atomically: revokes first, then grants (a
// principal holds one role, so a grant replaces its earlier one). Owners only. A principal outside the
// organization is CodeInvalid; a result with no Owner user left is CodeConflict and nothing changes.
// It returns CodeNotFound or CodeForbidden (Reader) too.
func (s *Store) ChangeAccess(ctx context.Context, a Actor, secretID string, changes []AccessChange) error {
	now := s.now()
	_, err := inTx(ctx, s, touchesAccess(a.OrgID), func(tx *sql.Tx) (struct{}, error) {
		sec, err := s.secretForActor(ctx, tx, a, secretID)
		if err != nil {
			return struct{}{}, err
		}
		if !sec.Access.CanEdit() {
			return struct{}{}, Errorf(CodeForbidden, "Only Owners can change who has access to %s.", sec.Name)
		}
		ordered := make([]AccessChange, 0, len(changes))
		for _, c := range changes {
			if c.Revoke {
				ordered = append(ordered, c)
			}
		}
		for _, c := range changes {
			if !c.Revoke {
				ordered = append(ordered, c)
			}
		}
		for _, c := range ordered {
			name, err := principalInOrg(ctx, tx, a.OrgID, c.Kind, c.ID)
			if err != nil {
				return struct{}{}, err
			}
			if c.Revoke {
				res, err := tx.ExecContext(ctx, `DELETE FROM grants WHERE secret_id = ? AND principal_kind = ? AND principal_id = ? AND (CAST(? AS TEXT) = '' OR role = ?)`,
					secretID, c.Kind, c.ID, string(c.Role), string(c.Role))
				if err != nil {
					return struct{}{}, err
				}
				if n, _ := res.RowsAffected(); n > 0 {
					if err := s.recordTx(ctx, tx, a, now, Event{Action: ActionAccessRevoke, SecretID: sec.ID, SecretName: sec.Name,
						TargetKind: c.Kind, TargetID: c.ID, TargetName: name, Role: string(c.Role)}); err != nil {
						return struct{}{}, err
					}
				}
				continue
			}
			if !c.Role.CanRead() {
				return struct{}{}, Errorf(CodeInvalid, "Unknown role %q: use Owner or Reader.", c.Role)
			}
			var old string
			_ = tx.QueryRowContext(ctx, `SELECT role FROM grants WHERE secret_id = ? AND principal_kind = ? AND principal_id = ?`,
				secretID, c.Kind, c.ID).Scan(&old)
			if old == string(c.Role) {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO grants (secret_id, principal_kind, principal_id, role, created_by, created_at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (secret_id, principal_kind, principal_id)
				DO UPDATE SET role = excluded.role, created_by = excluded.created_by, created_at = excluded.created_at`,
				secretID, c.Kind, c.ID, string(c.Role), a.UserID, ms(now)); err != nil {
				return struct{}{}, err
			}
			detail := ""
			if old != "" {
				detail = "was " + Role(old).Title()
			}
			if err := s.recordTx(ctx, tx, a, now, Event{Action: ActionAccessGrant, SecretID: sec.ID, SecretName: sec.Name,
				TargetKind: c.Kind, TargetID: c.ID, TargetName: name, Role: string(c.Role), Detail: detail}); err != nil {
				return struct{}{}, err
			}
		}
		n, err := ownerUserCount(ctx, tx, secretID)
		if err != nil {
			return struct{}{}, err
		}
		if n == 0 {
			return struct{}{}, Errorf(CodeConflict, "A secret must keep at least one Owner: this change would leave %s with none.", sec.Name)
		}
		return struct{}{}, nil
	})
	return err
}

// principalInOrg returns the display name of a user (member of orgID) or team (of orgID), or
// CodeInvalid.
func principalInOrg(ctx context.Context, q queryer, orgID, kind, id string) (string, error) {
	var first, last, email, name string
	var err error
	switch kind {
	case PrincipalUser:
		err = q.QueryRowContext(ctx, `SELECT u.email, u.first_name, u.last_name FROM memberships m JOIN users u ON u.id = m.user_id
			WHERE m.org_id = ? AND m.user_id = ?`, orgID, id).Scan(&email, &first, &last)
		name = displayName(first, last, email)
	case PrincipalTeam:
		err = q.QueryRowContext(ctx, `SELECT name FROM teams WHERE org_id = ? AND id = ?`, orgID, id).Scan(&name)
	default:
		return "", Errorf(CodeInvalid, "Unknown principal kind %q.", kind)
	}
	if err == sql.ErrNoRows {
		return "", Errorf(CodeInvalid, "The %s %s is not part of this organization.", kind, id)
	}
	return name, err
}

// ownerUsersSQL selects the users holding Owner on secret (an SQL expression: ?1, s.id), directly or
// through a team, including the teams nested in a granted team (team_closure): the Owners the
// last-Owner rule counts, written once.
func ownerUsersSQL(secret string) string {
	return `SELECT g.principal_id AS uid FROM grants g WHERE g.secret_id = ` + secret + ` AND g.role = 'owner' AND g.principal_kind = 'user'
		UNION
		SELECT tm.user_id FROM grants g JOIN team_members tm ON tm.team_id = g.principal_id
		WHERE g.secret_id = ` + secret + ` AND g.role = 'owner' AND g.principal_kind = 'team'
		UNION
		SELECT tm.user_id FROM grants g JOIN team_closure c ON c.outer_id = g.principal_id JOIN team_members tm ON tm.team_id = c.inner_id
		WHERE g.secret_id = ` + secret + ` AND g.role = 'owner' AND g.principal_kind = 'team'`
}

// ownerUserCountSQL counts the Owner users of secret ?1 (ownerUsersSQL).
var ownerUserCountSQL = `SELECT COUNT(*) FROM (` + ownerUsersSQL("?1") + `) AS owners`

// ownerUserCount counts the distinct users holding Owner on a secret (ownerUsersSQL).
func ownerUserCount(ctx context.Context, q queryer, secretID string) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, ownerUserCountSQL, secretID).Scan(&n)
	return n, err
}

// ownedSecretIDs lists the live secrets of org on which the user or team holds Owner (a team also
// through the teams that contain it), the candidates for deletion when that principal goes away.
func ownedSecretIDs(ctx context.Context, q queryer, orgID, kind, id string) ([]string, error) {
	query := `SELECT DISTINCT s.id FROM secrets s JOIN grants g ON g.secret_id = s.id
		WHERE s.org_id = ?1 AND s.deleted_at IS NULL AND g.role = 'owner' AND g.principal_kind = 'team'
		AND (g.principal_id = ?2 OR g.principal_id IN (SELECT c.outer_id FROM team_closure c WHERE c.inner_id = ?2))`
	if kind == PrincipalUser {
		query = `SELECT DISTINCT s.id FROM secrets s JOIN grants g ON g.secret_id = s.id
			WHERE s.org_id = ?1 AND s.deleted_at IS NULL AND g.role = 'owner' AND ` + heldBy("?2")
	}
	return idList(ctx, q, query, orgID, id)
}

// deleteOrphansTx soft-deletes those of candidates that have no Owner user left, recording cause, and
// returns them by name. This is the last-Owner rule for changes that cannot be refused.
func (s *Store) deleteOrphansTx(ctx context.Context, tx *sql.Tx, a Actor, now time.Time, candidates []string, cause string) ([]Secret, error) {
	var deleted []Secret
	for _, id := range candidates {
		n, err := ownerUserCount(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			continue
		}
		var sec Secret
		if err := tx.QueryRowContext(ctx, `SELECT id, org_id, name FROM secrets WHERE id = ? AND deleted_at IS NULL`, id).
			Scan(&sec.ID, &sec.OrgID, &sec.Name); err != nil {
			return nil, fmt.Errorf("db: orphan %s: %w", id, err)
		}
		if err := s.deleteSecretTx(ctx, tx, a, &sec, now, cause); err != nil {
			return nil, err
		}
		deleted = append(deleted, sec)
	}
	slices.SortFunc(deleted, func(x, y Secret) int { return strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)) })
	return deleted, nil
}
