package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Team is a named group of members of an organization; a grant to a team reaches all its members,
// and the members of the teams it contains (db/nesting.go).
type Team struct {
	ID          string
	OrgID       string
	Name        string
	Description string
	CreatedAt   time.Time
	Members     []UserRef
	MemberTeams []TeamRef // the teams it contains directly, by name
	InTeams     []TeamRef // the teams that contain it directly, by name
}

// TeamChange describes an update to a team. Nil fields are left alone.
type TeamChange struct {
	Name          *string
	Description   *string
	AddUserIDs    []string
	AddEmails     []string
	RemoveUserIDs []string
	RemoveEmails  []string
	// AddTeamIDs and RemoveTeamIDs nest teams in the team and take them out (a cycle is CodeInvalid).
	AddTeamIDs    []string
	RemoveTeamIDs []string
	// AddOwnerIDs and RemoveOwnerIDs make members of the organization Owners of the team, or not.
	AddOwnerIDs    []string
	RemoveOwnerIDs []string
	// NonMembers asks for the organization's members not in the team in the answer (TeamView), for
	// a dialog that offers them; without it that list is not read.
	NonMembers bool
}

// TeamView is a team as a dialog shows it, read in one transaction: the team with its members, the
// organization's members who could join it and, after a change (or its preview), what the change did.
type TeamView struct {
	Team       Team      // with its members; for a deleted team, as it was
	NonMembers []UserRef // the organization's members not in the team, by email (suggestions for adding)
	Removed    []UserRef // members the change took out of the team (only those who were in it)
	Deleted    []Secret  // secrets the last-Owner rule deleted (or, previewed, would delete)
}

// CreateTeam creates a team in the actor's organization. Admins only, and not the SystemActor (a
// team's creator is a user). It returns CodeForbidden, CodeInvalid or CodeConflict (name taken).
func (s *Store) CreateTeam(ctx context.Context, a Actor, name, description string) (*Team, error) {
	if !a.IsAdmin() {
		return nil, Errorf(CodeForbidden, "Only organization admins can manage teams.")
	}
	if a.UserID == "" {
		return nil, Errorf(CodeForbidden, "Teams are created by users.") // teams.created_by names a user
	}
	name, err := cleanText(FieldName, "Team name", name, true, maxTextLen)
	if err != nil {
		return nil, err
	}
	description, err = cleanText(FieldDesc, "Description", description, false, maxDescLen)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return inTx(ctx, s, touchesAccess(a.OrgID), func(tx *sql.Tx) (*Team, error) {
		t := &Team{ID: newID(), OrgID: a.OrgID, Name: name, Description: description, CreatedAt: now.UTC().Truncate(time.Millisecond)}
		_, err := tx.ExecContext(ctx, `INSERT INTO teams (id, org_id, name, name_key, description, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			t.ID, a.OrgID, name, strings.ToLower(name), description, a.UserID, ms(now))
		if isUniqueViolation(err) {
			return nil, fieldErrorf(FieldName, CodeConflict, "A team named %q already exists in this organization.", name)
		} else if err != nil {
			return nil, err
		}
		return t, s.recordTx(ctx, tx, a, now, Event{Action: ActionTeamCreate, TargetKind: "team", TargetID: t.ID, TargetName: name})
	})
}

// ListTeams lists the organization's teams by name, with their members. Every member may read them.
func (s *Store) ListTeams(ctx context.Context, a Actor) ([]Team, error) {
	return inReadTx(ctx, s, func(tx *sql.Tx) ([]Team, error) { return listTeamsTx(ctx, tx, a.OrgID, "") })
}

// TeamByID returns one team of the actor's organization. It returns CodeNotFound.
func (s *Store) TeamByID(ctx context.Context, a Actor, id string) (*Team, error) {
	ts, err := inReadTx(ctx, s, func(tx *sql.Tx) ([]Team, error) { return listTeamsTx(ctx, tx, a.OrgID, id) })
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 || id == "" {
		return nil, Errorf(CodeNotFound, "No such team.")
	}
	return &ts[0], nil
}

// TeamView returns one team of the actor's organization with its members and the organization's
// other members, read together. Every member may read it. It returns CodeNotFound.
func (s *Store) TeamView(ctx context.Context, a Actor, id string) (*TeamView, error) {
	return inReadTx(ctx, s, func(tx *sql.Tx) (*TeamView, error) { return teamViewTx(ctx, tx, a.OrgID, id, true) })
}

// teamViewTx reads team id of org, with its members and, when nonMembers is set, the organization's
// other members. It returns CodeNotFound.
func teamViewTx(ctx context.Context, q queryer, orgID, id string, nonMembers bool) (*TeamView, error) {
	if id == "" {
		return nil, Errorf(CodeNotFound, "No such team.")
	}
	ts, err := listTeamsTx(ctx, q, orgID, id)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, Errorf(CodeNotFound, "No such team.")
	}
	v := &TeamView{Team: ts[0]}
	if !nonMembers {
		return v, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT u.id, u.email, u.first_name, u.last_name FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = ? AND u.id NOT IN (SELECT user_id FROM team_members WHERE team_id = ?) ORDER BY u.email_key`, orgID, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var u UserRef
		if err := rows.Scan(&u.ID, &u.Email, &u.FirstName, &u.LastName); err != nil {
			return nil, err
		}
		u.Name = displayName(u.FirstName, u.LastName, u.Email)
		v.NonMembers = append(v.NonMembers, u)
	}
	return v, rows.Err()
}

func listTeamsTx(ctx context.Context, q queryer, orgID, id string) ([]Team, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name, description, created_at FROM teams WHERE org_id = ? AND (CAST(? AS TEXT) = '' OR id = ?) ORDER BY name_key`, orgID, id, id)
	if err != nil {
		return nil, err
	}
	var out []Team
	idx := map[string]int{}
	for rows.Next() {
		t := Team{OrgID: orgID}
		var created int64
		if err := rows.Scan(&t.ID, &t.Name, &t.Description, &created); err != nil {
			rows.Close()
			return nil, err
		}
		t.CreatedAt = fromMS(created)
		idx[t.ID] = len(out)
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := memberTeamsTx(ctx, q, orgID, out); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT tm.team_id, u.id, u.email, u.first_name, u.last_name FROM team_members tm
		JOIN teams t ON t.id = tm.team_id JOIN users u ON u.id = tm.user_id
		WHERE t.org_id = ? AND (CAST(? AS TEXT) = '' OR t.id = ?) ORDER BY u.email_key`, orgID, id, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var teamID, first, last string
		var u UserRef
		if err := rows.Scan(&teamID, &u.ID, &u.Email, &first, &last); err != nil {
			return nil, err
		}
		u.Name = displayName(first, last, u.Email)
		u.FirstName, u.LastName = first, last
		if i, ok := idx[teamID]; ok {
			out[i].Members = append(out[i].Members, u)
		}
	}
	return out, rows.Err()
}

// UpdateTeam renames a team, changes its description, and adds and removes members (by user ID or
// email; each must be a member of the organization). Removing members may leave secrets with no Owner
// user: those are deleted. It returns the team as the change left it, with the organization's other
// members, the members it removed and the secrets it deleted. It also nests teams in it and takes them
// out (a cycle is CodeInvalid), and names its Owners. Admins and the team's Owners (CanManageTeam)
// only. It returns CodeForbidden, CodeNotFound, CodeInvalid or CodeConflict (name taken).
func (s *Store) UpdateTeam(ctx context.Context, a Actor, id string, ch TeamChange) (*TeamView, error) {
	return s.updateTeam(ctx, a, id, ch, false)
}

// PreviewUpdateTeam is UpdateTeam's confirmation: the view UpdateTeam would return (the members it
// would remove, the secrets it would delete), or its refusal, with nothing changed.
func (s *Store) PreviewUpdateTeam(ctx context.Context, a Actor, id string, ch TeamChange) (*TeamView, error) {
	return s.updateTeam(ctx, a, id, ch, true)
}

func (s *Store) updateTeam(ctx context.Context, a Actor, id string, ch TeamChange, preview bool) (*TeamView, error) {
	now := s.now()
	return change(ctx, s, preview, touchesAccess(a.OrgID), func(tx *sql.Tx) (*TeamView, error) {
		var name string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM teams WHERE id = ? AND org_id = ?`, id, a.OrgID).Scan(&name); errors.Is(err, sql.ErrNoRows) {
			if !a.IsAdmin() {
				return nil, Errorf(CodeForbidden, "Only organization admins and the team's Owners can manage a team.")
			}
			return nil, Errorf(CodeNotFound, "No such team.")
		} else if err != nil {
			return nil, err
		}
		if ok, err := canManageTeamTx(ctx, tx, a, id); err != nil {
			return nil, err
		} else if !ok {
			return nil, Errorf(CodeForbidden, "Only organization admins and the team's Owners can manage %s.", name)
		}
		if ch.Name != nil || ch.Description != nil {
			if err := s.renameTeamTx(ctx, tx, a, id, &name, ch, now); err != nil {
				return nil, err
			}
		}
		add, err := resolveMembers(ctx, tx, a.OrgID, ch.AddUserIDs, ch.AddEmails)
		if err != nil {
			return nil, err
		}
		remove, err := resolveMembers(ctx, tx, a.OrgID, ch.RemoveUserIDs, ch.RemoveEmails)
		if err != nil {
			return nil, err
		}
		for _, m := range add {
			if err := s.addTeamMemberTx(ctx, tx, a, now, TeamRef{ID: id, Name: name}, m, ""); err != nil {
				return nil, err
			}
		}
		if err := s.teamOwnersTx(ctx, tx, a, now, TeamRef{ID: id, Name: name}, ch.AddOwnerIDs, ch.RemoveOwnerIDs); err != nil {
			return nil, err
		}
		var removed []UserRef
		var deleted []Secret
		// The candidates are read before any member or member team leaves: the secrets the team's
		// grants (and those of the teams around it) reached.
		var candidates []string
		if len(remove) > 0 || len(ch.RemoveTeamIDs) > 0 {
			if candidates, err = ownedSecretIDs(ctx, tx, a.OrgID, PrincipalTeam, id); err != nil {
				return nil, err
			}
		}
		unnested, err := s.nestTeamsTx(ctx, tx, a, now, TeamRef{ID: id, Name: name}, ch.AddTeamIDs, ch.RemoveTeamIDs)
		if err != nil {
			return nil, err
		}
		if len(remove) > 0 {
			for _, m := range remove {
				res, err := tx.ExecContext(ctx, `DELETE FROM team_members WHERE team_id = ? AND user_id = ?`, id, m.ID)
				if err != nil {
					return nil, err
				}
				if n, _ := res.RowsAffected(); n > 0 {
					removed = append(removed, UserRef{ID: m.ID, Email: m.Email, Name: m.Name(), FirstName: m.FirstName, LastName: m.LastName})
					if err := s.recordTx(ctx, tx, a, now, Event{Action: ActionTeamMemberDrop, TargetKind: "team", TargetID: id, TargetName: name, Detail: m.Email}); err != nil {
						return nil, err
					}
				}
			}
		}
		if len(removed) > 0 || unnested { // when nobody left the team, every Owner is still there
			why := fmt.Sprintf("no Owner left after members left team %s", name)
			if len(removed) == 0 {
				why = fmt.Sprintf("no Owner left after a team left team %s", name)
			}
			if deleted, err = s.deleteOrphansTx(ctx, tx, a, now, candidates, why); err != nil {
				return nil, err
			}
		}
		v, err := teamViewTx(ctx, tx, a.OrgID, id, ch.NonMembers)
		if err != nil {
			return nil, err
		}
		v.Removed, v.Deleted = removed, deleted
		return v, nil
	})
}

// addTeamMemberTx puts m in team t, if not there yet, and records it: on the team, and on each live
// secret the team holds a grant on, that m gained the role through the team (so that an Owner sees in
// the secret's Activity who can newly read it, and who made it so). why says how m came in ("invited
// by …"); empty means the actor added them.
func (s *Store) addTeamMemberTx(ctx context.Context, tx *sql.Tx, a Actor, now time.Time, t TeamRef, m Member, why string) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO team_members (team_id, user_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, t.ID, m.ID, ms(now))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	if err := s.recordTx(ctx, tx, a, now, Event{Action: ActionTeamMemberAdd, TargetKind: "team", TargetID: t.ID, TargetName: t.Name, Detail: m.Email}); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT s.id, s.name, g.role FROM grants g JOIN secrets s ON s.id = g.secret_id
		WHERE g.principal_kind = 'team' AND g.principal_id = ? AND s.org_id = ? AND s.deleted_at IS NULL ORDER BY s.name`, t.ID, a.OrgID)
	if err != nil {
		return err
	}
	if why == "" {
		why = "added by " + a.Email
		if a.Email == "" {
			why = "added by " + a.Name
		}
	}
	var evs []Event
	for rows.Next() {
		ev := Event{Action: ActionAccessViaTeam, TargetKind: "user", TargetID: m.ID, TargetName: m.Email, Detail: t.Name + "; " + why}
		if err := rows.Scan(&ev.SecretID, &ev.SecretName, &ev.Role); err != nil {
			rows.Close()
			return err
		}
		evs = append(evs, ev)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, ev := range evs {
		if err := s.recordTx(ctx, tx, a, now, ev); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) renameTeamTx(ctx context.Context, tx *sql.Tx, a Actor, id string, name *string, ch TeamChange, now time.Time) error {
	var detail []string
	if ch.Name != nil {
		n, err := cleanText(FieldName, "Team name", *ch.Name, true, maxTextLen)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE teams SET name = ?, name_key = ? WHERE id = ?`, n, strings.ToLower(n), id)
		if isUniqueViolation(err) {
			return fieldErrorf(FieldName, CodeConflict, "A team named %q already exists in this organization.", n)
		} else if err != nil {
			return err
		}
		if n != *name {
			detail = append(detail, "renamed from "+*name)
		}
		*name = n
	}
	if ch.Description != nil {
		d, err := cleanText(FieldDesc, "Description", *ch.Description, false, maxDescLen)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE teams SET description = ? WHERE id = ?`, d, id); err != nil {
			return err
		}
		detail = append(detail, "description changed")
	}
	return s.recordTx(ctx, tx, a, now, Event{Action: ActionTeamUpdate, TargetKind: "team", TargetID: id, TargetName: *name, Detail: strings.Join(detail, "; ")})
}

// resolveMembers turns user IDs and emails into members of org, or CodeInvalid naming the stranger.
func resolveMembers(ctx context.Context, q queryer, orgID string, ids, emails []string) ([]Member, error) {
	var out []Member
	for _, id := range ids {
		m, err := memberTx(ctx, q, orgID, id)
		if ErrorCode(err) == CodeNotFound {
			return nil, Errorf(CodeInvalid, "User %s is not a member of this organization.", id)
		} else if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	for _, e := range emails {
		var id string
		err := q.QueryRowContext(ctx, `SELECT u.id FROM users u JOIN memberships m ON m.user_id = u.id WHERE m.org_id = ? AND u.email_key = ?`,
			orgID, strings.ToLower(strings.TrimSpace(e))).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fieldErrorf(FieldEmail, CodeInvalid, "%s is not a member of this organization.", strings.TrimSpace(e))
		} else if err != nil {
			return nil, err
		}
		m, err := memberTx(ctx, q, orgID, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, nil
}

// DeleteTeam deletes a team and its grants; secrets left with no Owner user are deleted. It returns
// the team as it was, with its members, and the secrets it deleted (no NonMembers). Admins only. It
// returns CodeForbidden or CodeNotFound.
func (s *Store) DeleteTeam(ctx context.Context, a Actor, id string) (*TeamView, error) {
	return s.deleteTeam(ctx, a, id, false)
}

// PreviewDeleteTeam is DeleteTeam's confirmation: the view DeleteTeam would return (the secrets it
// would delete), with nothing changed.
func (s *Store) PreviewDeleteTeam(ctx context.Context, a Actor, id string) (*TeamView, error) {
	return s.deleteTeam(ctx, a, id, true)
}

func (s *Store) deleteTeam(ctx context.Context, a Actor, id string, preview bool) (*TeamView, error) {
	if !a.IsAdmin() {
		return nil, Errorf(CodeForbidden, "Only organization admins can manage teams.")
	}
	now := s.now()
	return change(ctx, s, preview, touchesAccess(a.OrgID), func(tx *sql.Tx) (*TeamView, error) {
		v, err := teamViewTx(ctx, tx, a.OrgID, id, false)
		if err != nil {
			return nil, err
		}
		name := v.Team.Name
		candidates, err := ownedSecretIDs(ctx, tx, a.OrgID, PrincipalTeam, id)
		if err != nil {
			return nil, err
		}
		for _, q := range []string{
			`DELETE FROM grants WHERE principal_kind = 'team' AND principal_id = ?1`,
			`DELETE FROM team_members WHERE team_id = ?1`,
			`DELETE FROM team_owners WHERE team_id = ?1`,
			`DELETE FROM invitation_teams WHERE team_id = ?1`,
			`DELETE FROM team_nesting WHERE outer_id = ?1 OR inner_id = ?1`,
			`DELETE FROM team_closure WHERE outer_id = ?1 OR inner_id = ?1`,
			`DELETE FROM teams WHERE id = ?1`,
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return nil, err
			}
		}
		if err := rebuildClosureTx(ctx, tx, a.OrgID); err != nil { // its member teams leave the teams around it
			return nil, err
		}
		if err := s.recordTx(ctx, tx, a, now, Event{Action: ActionTeamDelete, TargetKind: "team", TargetID: id, TargetName: name}); err != nil {
			return nil, err
		}
		if v.Deleted, err = s.deleteOrphansTx(ctx, tx, a, now, candidates, fmt.Sprintf("no Owner left after team %s was deleted", name)); err != nil {
			return nil, err
		}
		return v, nil
	})
}
