package db

// Who may manage the organization and its teams, and the roles an identity holds. The organization's
// Owners are its admins (memberships.role) and at least one always remains; a team's Owners
// (team_owners) may manage that team without being admins: CanManageTeam is that rule, used by every
// team change.

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Resource types and roles of the organization's access lists and identity roles.
const (
	ResourceSecret       = "Secret"
	ResourceTeam         = "Team"
	ResourceOrganization = "Organization"

	RoleNameOwner  = "Owner"
	RoleNameMember = "Member"
	RoleNameReader = "Reader"
)

// canManageTeamTx reports whether the actor may manage team id: an organization admin, or an Owner
// of the team who is still a member of the organization.
func canManageTeamTx(ctx context.Context, q queryer, a Actor, id string) (bool, error) {
	if a.IsAdmin() {
		return true, nil
	}
	if a.UserID == "" {
		return false, nil
	}
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM team_owners o JOIN teams t ON t.id = o.team_id
		JOIN memberships m ON m.org_id = t.org_id AND m.user_id = o.user_id
		WHERE o.team_id = ? AND o.user_id = ? AND t.org_id = ?)`, id, a.UserID, a.OrgID).Scan(&ok)
	return ok, err
}

// CanManageTeam reports whether the actor may manage team id (rename it, change its members, member
// teams and Owners): an organization admin or an Owner of the team. Views use it to offer the buttons.
func (s *Store) CanManageTeam(ctx context.Context, a Actor, id string) (bool, error) {
	return canManageTeamTx(ctx, s.r, a, id)
}

// teamOwnersTx makes the members add Owners of team t and takes remove's ownership away. Each must
// be a member of the organization (CodeInvalid).
func (s *Store) teamOwnersTx(ctx context.Context, tx *sql.Tx, a Actor, now time.Time, t TeamRef, add, remove []string) error {
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	adds, err := resolveMembers(ctx, tx, a.OrgID, add, nil)
	if err != nil {
		return err
	}
	removes, err := resolveMembers(ctx, tx, a.OrgID, remove, nil)
	if err != nil {
		return err
	}
	for _, m := range removes {
		res, err := tx.ExecContext(ctx, `DELETE FROM team_owners WHERE team_id = ? AND user_id = ?`, t.ID, m.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			if err := s.recordTx(ctx, tx, a, now, Event{Action: ActionTeamUpdate, TargetKind: "team", TargetID: t.ID, TargetName: t.Name,
				Detail: m.Email + " is no longer an Owner"}); err != nil {
				return err
			}
		}
	}
	for _, m := range adds {
		res, err := tx.ExecContext(ctx, `INSERT INTO team_owners (team_id, user_id, created_by, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			t.ID, m.ID, a.UserID, ms(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			if err := s.recordTx(ctx, tx, a, now, Event{Action: ActionTeamUpdate, TargetKind: "team", TargetID: t.ID, TargetName: t.Name,
				Detail: m.Email + " made an Owner"}); err != nil {
				return err
			}
		}
	}
	return nil
}

// AccessEntry is one identity's role in an organization's or a team's access list. Via is set when the
// identity holds the role through something else (a user in a nested team).
type AccessEntry struct {
	Role      string // RoleNameOwner or RoleNameMember
	Kind      string // PrincipalUser or PrincipalTeam
	User      UserRef
	Team      TeamRef
	CreatedAt time.Time
	CreatedBy UserRef
	Via       *Inheritance
}

// OrgAccess lists the organization's Owners (its admins) and Members (everyone else), by email. Every
// member may read it. orgID must be the actor's organization (CodeNotFound otherwise).
func (s *Store) OrgAccess(ctx context.Context, a Actor, orgID string) ([]AccessEntry, error) {
	if orgID != a.OrgID {
		return nil, Errorf(CodeNotFound, "No such organization.")
	}
	ms, err := listMembersTx(ctx, s.r, a.OrgID, "")
	if err != nil {
		return nil, err
	}
	var owners, members []AccessEntry
	for _, m := range ms {
		e := AccessEntry{Role: RoleNameMember, Kind: PrincipalUser, CreatedAt: m.JoinedAt,
			User: UserRef{ID: m.ID, Email: m.Email, Name: m.Name(), FirstName: m.FirstName, LastName: m.LastName}}
		if m.Role == OrgAdmin {
			e.Role = RoleNameOwner
			owners = append(owners, e)
		} else {
			members = append(members, e)
		}
	}
	return append(owners, members...), nil
}

// RoleGrant is one entry of an access change: grant or revoke Role to the users and teams.
type RoleGrant struct {
	Role    string
	UserIDs []string
	TeamIDs []string
}

// ChangeOrgAccess applies an organization access change atomically: granting Owner makes members
// admins, revoking Owner makes them plain members (and revokes the invitations they made). People join
// through invitations and leave through RemoveMember, so granting Member to someone outside and
// revoking Member are CodeInvalid, as are teams and unknown roles. Admins only; at least one Owner
// always remains (CodeConflict, nothing changes). It returns CodeForbidden, CodeNotFound (orgID is
// not the actor's organization), CodeInvalid or CodeConflict.
func (s *Store) ChangeOrgAccess(ctx context.Context, a Actor, orgID string, grants, revokes []RoleGrant) error {
	if orgID != a.OrgID {
		return Errorf(CodeNotFound, "No such organization.")
	}
	if !a.IsAdmin() {
		return Errorf(CodeForbidden, "Only organization admins can change who owns the organization.")
	}
	now := s.now()
	_, err := inTx(ctx, s, touchesAccess(a.OrgID).and(touchesAPIKeys()), func(tx *sql.Tx) (struct{}, error) {
		set := func(userID string, role OrgRole) error {
			m, err := memberTx(ctx, tx, a.OrgID, userID)
			if ErrorCode(err) == CodeNotFound {
				return Errorf(CodeInvalid, "User %s is not a member of this organization: invite them first.", userID)
			} else if err != nil || m.Role == role {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE memberships SET role = ? WHERE org_id = ? AND user_id = ?`, string(role), a.OrgID, userID); err != nil {
				return err
			}
			if err := s.recordTx(ctx, tx, a, now, Event{Action: ActionMemberRole, TargetKind: "user", TargetID: userID, TargetName: m.Email, Role: string(role)}); err != nil {
				return err
			}
			if role == OrgMember {
				_, err = s.revokePendingTx(ctx, tx, a, now, "created_by", userID, "their inviter is no longer an admin")
			}
			return err
		}
		for i, list := range [][]RoleGrant{revokes, grants} {
			revoke := i == 0
			for _, g := range list {
				if len(g.TeamIDs) > 0 {
					return struct{}{}, Errorf(CodeInvalid, "An organization's roles are held by users, not teams.")
				}
				switch {
				case g.Role == RoleNameOwner:
					role := OrgAdmin
					if revoke {
						role = OrgMember
					}
					for _, id := range g.UserIDs {
						if err := set(id, role); err != nil {
							return struct{}{}, err
						}
					}
				case g.Role == RoleNameMember && revoke:
					if len(g.UserIDs) > 0 {
						return struct{}{}, Errorf(CodeInvalid, "To take someone out of the organization, remove the user (DELETE /v1/users/{userID}).")
					}
				case g.Role == RoleNameMember:
					for _, id := range g.UserIDs {
						if _, err := memberTx(ctx, tx, a.OrgID, id); ErrorCode(err) == CodeNotFound {
							return struct{}{}, Errorf(CodeInvalid, "User %s is not a member of this organization: invite them first.", id)
						} else if err != nil {
							return struct{}{}, err
						}
					}
				default:
					return struct{}{}, Errorf(CodeInvalid, "Unknown organization role %q: use Owner or Member.", g.Role)
				}
			}
		}
		var owners int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM memberships WHERE org_id = ? AND role = 'admin'`, a.OrgID).Scan(&owners); err != nil {
			return struct{}{}, err
		}
		if owners == 0 {
			return struct{}{}, Errorf(CodeConflict, "An organization must keep at least one Owner: this change would leave it with none.")
		}
		return struct{}{}, nil
	})
	return err
}

// TeamAccess lists who may manage team id (Owner: its Owners) and who is in it (Member: its member
// users and member teams, and, inherited, the users and teams inside its member teams at any depth,
// with the team they come through). Every member may read it. It returns CodeNotFound.
func (s *Store) TeamAccess(ctx context.Context, a Actor, id string) ([]AccessEntry, error) {
	return inReadTx(ctx, s, func(tx *sql.Tx) ([]AccessEntry, error) {
		n, err := readNesting(ctx, tx, a.OrgID)
		if err != nil {
			return nil, err
		}
		if _, ok := n.names[id]; !ok {
			return nil, Errorf(CodeNotFound, "No such team.")
		}
		var out []AccessEntry
		rows, err := tx.QueryContext(ctx, `SELECT u.id, u.email, u.first_name, u.last_name, o.created_at, coalesce(cb.id, ''), coalesce(cb.email, ''),
			coalesce(cb.first_name, ''), coalesce(cb.last_name, '')
			FROM team_owners o JOIN users u ON u.id = o.user_id JOIN memberships m ON m.user_id = o.user_id AND m.org_id = ?
			LEFT JOIN users cb ON cb.id = o.created_by WHERE o.team_id = ? ORDER BY u.email_key`, a.OrgID, id)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			e := AccessEntry{Role: RoleNameOwner, Kind: PrincipalUser}
			var created int64
			if err := rows.Scan(&e.User.ID, &e.User.Email, &e.User.FirstName, &e.User.LastName, &created,
				&e.CreatedBy.ID, &e.CreatedBy.Email, &e.CreatedBy.FirstName, &e.CreatedBy.LastName); err != nil {
				rows.Close()
				return nil, err
			}
			e.CreatedAt = fromMS(created)
			out = append(out, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		members := func(teamID string, via *Inheritance) error {
			ts, err := listTeamsTx(ctx, tx, a.OrgID, teamID)
			if err != nil || len(ts) == 0 {
				return err
			}
			for _, u := range ts[0].Members {
				out = append(out, AccessEntry{Role: RoleNameMember, Kind: PrincipalUser, User: u, Via: via})
			}
			return nil
		}
		if err := members(id, nil); err != nil {
			return nil, err
		}
		for _, p := range n.descendants(id) {
			inner := p[len(p)-1]
			var via *Inheritance
			if len(p) > 2 {
				via = &Inheritance{ResourceType: ResourceTeam, ResourceID: p[len(p)-2], Role: RoleNameMember, Path: n.pathNames(p)}
			}
			out = append(out, AccessEntry{Role: RoleNameMember, Kind: PrincipalTeam, Team: TeamRef{ID: inner, Name: n.names[inner], Description: n.descs[inner]}, Via: via})
			if err := members(inner, &Inheritance{ResourceType: ResourceTeam, ResourceID: inner, Role: RoleNameMember, Path: n.pathNames(p)}); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
}

// ChangeTeamAccess applies a team access change atomically, as one UpdateTeam: Owner grants and
// revokes name the team's Owners (users only); Member grants and revokes add and remove member users
// and member teams. Admins and the team's Owners only. It returns what UpdateTeam returns.
func (s *Store) ChangeTeamAccess(ctx context.Context, a Actor, id string, grants, revokes []RoleGrant) (*TeamView, error) {
	var ch TeamChange
	for _, g := range grants {
		switch g.Role {
		case RoleNameOwner:
			if len(g.TeamIDs) > 0 {
				return nil, Errorf(CodeInvalid, "A team's Owners are users, not teams.")
			}
			ch.AddOwnerIDs = append(ch.AddOwnerIDs, g.UserIDs...)
		case RoleNameMember:
			ch.AddUserIDs, ch.AddTeamIDs = append(ch.AddUserIDs, g.UserIDs...), append(ch.AddTeamIDs, g.TeamIDs...)
		default:
			return nil, Errorf(CodeInvalid, "Unknown team role %q: use Owner or Member.", g.Role)
		}
	}
	for _, g := range revokes {
		switch g.Role {
		case RoleNameOwner:
			if len(g.TeamIDs) > 0 {
				return nil, Errorf(CodeInvalid, "A team's Owners are users, not teams.")
			}
			ch.RemoveOwnerIDs = append(ch.RemoveOwnerIDs, g.UserIDs...)
		case RoleNameMember:
			ch.RemoveUserIDs, ch.RemoveTeamIDs = append(ch.RemoveUserIDs, g.UserIDs...), append(ch.RemoveTeamIDs, g.TeamIDs...)
		default:
			return nil, Errorf(CodeInvalid, "Unknown team role %q: use Owner or Member.", g.Role)
		}
	}
	return s.UpdateTeam(ctx, a, id, ch)
}

// IdentityRole is a role an identity holds on a resource, directly or through teams.
type IdentityRole struct {
	ResourceType string
	ResourceID   string
	Role         string
}

// UserIdentityRoles lists the roles member userID holds: Owner or Member of the organization, Owner
// and Member of teams (Member also of the teams around theirs), and Owner or Reader of secrets,
// directly or through teams (the strongest). The caller sees only the roles on secrets the caller can
// read; teams and the organization every member sees. resourceType, when set, keeps one kind. It
// returns CodeNotFound (no such member) or CodeInvalid (unknown resourceType).
func (s *Store) UserIdentityRoles(ctx context.Context, a Actor, userID, resourceType string) ([]IdentityRole, error) {
	if err := checkResourceType(resourceType); err != nil {
		return nil, err
	}
	return inReadTx(ctx, s, func(tx *sql.Tx) ([]IdentityRole, error) {
		m, err := memberTx(ctx, tx, a.OrgID, userID)
		if err != nil {
			return nil, err
		}
		var out []IdentityRole
		if resourceType == "" || resourceType == ResourceOrganization {
			role := RoleNameMember
			if m.Role == OrgAdmin {
				role = RoleNameOwner
			}
			out = append(out, IdentityRole{ResourceOrganization, a.OrgID, role})
		}
		if resourceType == "" || resourceType == ResourceTeam {
			teams, err := idList(ctx, tx, `SELECT o.team_id FROM team_owners o JOIN teams t ON t.id = o.team_id WHERE o.user_id = ? AND t.org_id = ? ORDER BY t.name_key`, userID, a.OrgID)
			if err != nil {
				return nil, err
			}
			for _, t := range teams {
				out = append(out, IdentityRole{ResourceTeam, t, RoleNameOwner})
			}
			teams, err = idList(ctx, tx, `SELECT r.id FROM teams r WHERE r.org_id = ?2 AND r.id IN (`+teamsReaching("?1")+`) ORDER BY r.name_key`, userID, a.OrgID)
			if err != nil {
				return nil, err
			}
			for _, t := range teams {
				out = append(out, IdentityRole{ResourceTeam, t, RoleNameMember})
			}
		}
		if resourceType == "" || resourceType == ResourceSecret {
			roles, err := secretRolesTx(ctx, tx, a, heldBy("?1"), userID)
			if err != nil {
				return nil, err
			}
			out = append(out, roles...)
		}
		return out, nil
	})
}

// TeamIdentityRoles lists the roles team id holds: Member of the teams that contain it (at any depth),
// and Owner or Reader of secrets granted to it or to a team around it. The caller sees only the roles
// on secrets the caller can read. It returns CodeNotFound or CodeInvalid (unknown resourceType).
func (s *Store) TeamIdentityRoles(ctx context.Context, a Actor, id, resourceType string) ([]IdentityRole, error) {
	if err := checkResourceType(resourceType); err != nil {
		return nil, err
	}
	return inReadTx(ctx, s, func(tx *sql.Tx) ([]IdentityRole, error) {
		var name string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM teams WHERE id = ? AND org_id = ?`, id, a.OrgID).Scan(&name); errors.Is(err, sql.ErrNoRows) {
			return nil, Errorf(CodeNotFound, "No such team.")
		} else if err != nil {
			return nil, err
		}
		var out []IdentityRole
		if resourceType == "" || resourceType == ResourceTeam {
			outers, err := idList(ctx, tx, `SELECT t.id FROM team_closure c JOIN teams t ON t.id = c.outer_id WHERE c.inner_id = ? ORDER BY t.name_key`, id)
			if err != nil {
				return nil, err
			}
			for _, t := range outers {
				out = append(out, IdentityRole{ResourceTeam, t, RoleNameMember})
			}
		}
		if resourceType == "" || resourceType == ResourceSecret {
			roles, err := secretRolesTx(ctx, tx, a, `(g.principal_kind = 'team' AND (g.principal_id = ?1
				OR g.principal_id IN (SELECT c.outer_id FROM team_closure c WHERE c.inner_id = ?1)))`, id)
			if err != nil {
				return nil, err
			}
			out = append(out, roles...)
		}
		return out, nil
	})
}

// secretRolesTx lists the strongest role on each live secret of the actor's organization among the
// grants g that reach (SQL on ?1 = who), keeping the secrets the actor can read.
func secretRolesTx(ctx context.Context, q queryer, a Actor, reach, who string) ([]IdentityRole, error) {
	rows, err := q.QueryContext(ctx, `SELECT s.id, MAX(CASE g.role WHEN 'owner' THEN 2 ELSE 1 END) FROM grants g JOIN secrets s ON s.id = g.secret_id
		WHERE `+reach+` AND s.org_id = ?2 AND s.deleted_at IS NULL GROUP BY s.id, s.name ORDER BY s.name`, who, a.OrgID)
	if err != nil {
		return nil, err
	}
	type held struct {
		id   string
		rank int
	}
	var all []held
	for rows.Next() {
		var h held
		if err := rows.Scan(&h.id, &h.rank); err != nil {
			rows.Close()
			return nil, err
		}
		all = append(all, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	visible, err := idList(ctx, q, `SELECT DISTINCT s.id FROM grants g JOIN secrets s ON s.id = g.secret_id
		WHERE `+heldBy("?1")+` AND s.org_id = ?2 AND s.deleted_at IS NULL`, a.UserID, a.OrgID)
	if err != nil {
		return nil, err
	}
	canRead := make(map[string]bool, len(visible))
	for _, id := range visible {
		canRead[id] = true
	}
	var out []IdentityRole
	for _, h := range all {
		if canRead[h.id] {
			out = append(out, IdentityRole{ResourceSecret, h.id, roleFromRank(h.rank).Title()})
		}
	}
	return out, nil
}

func checkResourceType(t string) error {
	switch t {
	case "", ResourceSecret, ResourceTeam, ResourceOrganization:
		return nil
	}
	return Errorf(CodeInvalid, "Unknown resourceType %q: use %s.", t, strings.Join([]string{ResourceSecret, ResourceTeam, ResourceOrganization}, ", "))
}

// idList runs a query of one text column.
func idList(ctx context.Context, q queryer, query string, args ...any) ([]string, error) {
	return queryColumn[string](ctx, q, query, args...)
}

// queryColumn runs a query of one column and returns its values in order.
func queryColumn[T any](ctx context.Context, q queryer, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
