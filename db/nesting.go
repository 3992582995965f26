package db

// Nested teams. A team may contain teams (team_nesting, one row per edge); a grant to a team reaches
// the members of the teams it contains, at any depth. The permission rule (heldBy, ownerUserCount,
// ownedSecretIDs) reads that reach from team_closure, the edges' transitive closure, which every
// transaction that changes the organization's nesting (or deletes a team) rebuilds before it commits,
// and which such a transaction declares as touchesAccess: every cached answer about who may read what
// in the organization goes stale with it, on every instance. Cycles are refused, so the closure is a
// partial order and the rule's lookups stay one index range.

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"
)

// teamsReaching selects the teams whose grants reach the user whose ID is the SQL parameter user: the
// teams the user is in, and every team that contains one of them (team_closure). heldBy is built
// from it.
func teamsReaching(user string) string {
	return `SELECT tm.team_id FROM team_members tm WHERE tm.user_id = ` + user + `
		UNION ALL SELECT c.outer_id FROM team_members tm JOIN team_closure c ON c.inner_id = tm.team_id WHERE tm.user_id = ` + user
}

// Inheritance says through what an identity holds a role it was not granted directly: the role
// Role on the resource ResourceType ResourceID ("Team" and "Member" for a nested team).
type Inheritance struct {
	ResourceType string
	ResourceID   string
	Role         string
	// Path names the teams from the granted one inwards ("Platform", "Databases"), for "via
	// Platform › Databases".
	Path []string
}

// nesting is an organization's team graph read into memory: names and edges.
type nesting struct {
	names  map[string]string   // team ID → name
	descs  map[string]string   // team ID → description
	inner  map[string][]string // outer team ID → the teams it contains directly, by name
	outers map[string][]string // inner team ID → the teams containing it directly, by name
}

// readNesting reads the teams of org and their nesting edges.
func readNesting(ctx context.Context, q queryer, orgID string) (*nesting, error) {
	n := &nesting{names: map[string]string{}, descs: map[string]string{}, inner: map[string][]string{}, outers: map[string][]string{}}
	rows, err := q.QueryContext(ctx, `SELECT id, name, description FROM teams WHERE org_id = ? ORDER BY name_key`, orgID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, name, desc string
		if err := rows.Scan(&id, &name, &desc); err != nil {
			rows.Close()
			return nil, err
		}
		n.names[id], n.descs[id] = name, desc
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT n.outer_id, n.inner_id FROM team_nesting n JOIN teams t ON t.id = n.outer_id
		JOIN teams i ON i.id = n.inner_id WHERE t.org_id = ? ORDER BY i.name_key`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var o, i string
		if err := rows.Scan(&o, &i); err != nil {
			return nil, err
		}
		n.inner[o] = append(n.inner[o], i)
		n.outers[i] = append(n.outers[i], o)
	}
	return n, rows.Err()
}

// contains reports whether team outer contains team inner at some depth (not outer == inner).
func (n *nesting) contains(outer, inner string) bool {
	seen := map[string]bool{}
	stack := slices.Clone(n.inner[outer])
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if t == inner {
			return true
		}
		if !seen[t] {
			seen[t] = true
			stack = append(stack, n.inner[t]...)
		}
	}
	return false
}

// descendants lists the teams outer contains at any depth, each with the path from outer to it (outer
// first), shortest paths first.
func (n *nesting) descendants(outer string) [][]string {
	var out [][]string
	seen := map[string]bool{outer: true}
	queue := [][]string{{outer}}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, t := range n.inner[p[len(p)-1]] {
			if seen[t] {
				continue
			}
			seen[t] = true
			q := append(slices.Clone(p), t)
			out = append(out, q)
			queue = append(queue, q)
		}
	}
	return out
}

// pathNames turns team IDs into their names.
func (n *nesting) pathNames(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = n.names[id]
	}
	return out
}

// rebuildClosureTx rebuilds team_closure for the teams of org from team_nesting.
func rebuildClosureTx(ctx context.Context, tx *sql.Tx, orgID string) error {
	n, err := readNesting(ctx, tx, orgID)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM team_closure WHERE outer_id IN (SELECT id FROM teams WHERE org_id = ?)`, orgID); err != nil {
		return err
	}
	for outer := range n.inner {
		for _, p := range n.descendants(outer) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO team_closure (inner_id, outer_id) VALUES (?, ?)`, p[len(p)-1], outer); err != nil {
				return err
			}
		}
	}
	return nil
}

// nestTeamsTx puts the teams add into team t and takes the teams remove out of it, then rebuilds the
// closure. A team that is not the organization's is CodeInvalid; an addition that would make a cycle
// (t inside itself) is CodeInvalid and, the caller's transaction failing, nothing changes. It returns
// whether any edge was removed (the caller then applies the last-Owner rule).
func (s *Store) nestTeamsTx(ctx context.Context, tx *sql.Tx, a Actor, now time.Time, t TeamRef, add, remove []string) (bool, error) {
	if len(add) == 0 && len(remove) == 0 {
		return false, nil
	}
	addRefs, err := orgTeams(ctx, tx, a.OrgID, add)
	if err != nil {
		return false, err
	}
	removeRefs, err := orgTeams(ctx, tx, a.OrgID, remove)
	if err != nil {
		return false, err
	}
	removed := false
	for _, r := range removeRefs {
		res, err := tx.ExecContext(ctx, `DELETE FROM team_nesting WHERE outer_id = ? AND inner_id = ?`, t.ID, r.ID)
		if err != nil {
			return false, err
		}
		if k, _ := res.RowsAffected(); k > 0 {
			removed = true
			if err := s.recordTx(ctx, tx, a, now, Event{Action: ActionTeamUpdate, TargetKind: "team", TargetID: t.ID, TargetName: t.Name,
				Detail: "member team " + r.Name + " removed"}); err != nil {
				return false, err
			}
		}
	}
	if len(addRefs) > 0 {
		n, err := readNesting(ctx, tx, a.OrgID)
		if err != nil {
			return false, err
		}
		for _, r := range addRefs {
			if r.ID == t.ID || n.contains(r.ID, t.ID) {
				return false, Errorf(CodeInvalid, "Team %s cannot be a member of %s: %s would then contain itself.", r.Name, t.Name, t.Name)
			}
			if slices.Contains(n.inner[t.ID], r.ID) {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO team_nesting (outer_id, inner_id, created_by, created_at) VALUES (?, ?, ?, ?)`,
				t.ID, r.ID, a.UserID, ms(now)); err != nil {
				return false, err
			}
			n.inner[t.ID] = append(n.inner[t.ID], r.ID)
			if err := s.recordTx(ctx, tx, a, now, Event{Action: ActionTeamUpdate, TargetKind: "team", TargetID: t.ID, TargetName: t.Name,
				Detail: "member team " + r.Name + " added"}); err != nil {
				return false, err
			}
		}
	}
	return removed, rebuildClosureTx(ctx, tx, a.OrgID)
}

// memberTeamsTx fills in the teams each of ts contains directly, by name.
func memberTeamsTx(ctx context.Context, q queryer, orgID string, ts []Team) error {
	if len(ts) == 0 {
		return nil
	}
	n, err := readNesting(ctx, q, orgID)
	if err != nil {
		return err
	}
	for i := range ts {
		for _, id := range n.inner[ts[i].ID] {
			ts[i].MemberTeams = append(ts[i].MemberTeams, TeamRef{ID: id, Name: n.names[id], Description: n.descs[id]})
		}
		for _, id := range n.outers[ts[i].ID] {
			ts[i].InTeams = append(ts[i].InTeams, TeamRef{ID: id, Name: n.names[id], Description: n.descs[id]})
		}
	}
	return nil
}

// NestedGrant is access a team has to a secret through a team that contains it: Team holds Role
// because it is inside the granted team (Via.ResourceID, Via.Path from it inwards).
type NestedGrant struct {
	Team TeamRef
	Role Role
	Via  Inheritance
}

// nestedGrantsTx lists, for the team grants among grants, the teams they reach through nesting, each
// once per granted team, by path length and name.
func nestedGrantsTx(ctx context.Context, q queryer, orgID string, grants []Grant) ([]NestedGrant, error) {
	var out []NestedGrant
	var n *nesting
	for _, g := range grants {
		if g.Kind != PrincipalTeam {
			continue
		}
		if n == nil {
			var err error
			if n, err = readNesting(ctx, q, orgID); err != nil {
				return nil, err
			}
		}
		for _, p := range n.descendants(g.ID) {
			inner := p[len(p)-1]
			out = append(out, NestedGrant{Team: TeamRef{ID: inner, Name: n.names[inner], Description: n.descs[inner]}, Role: g.Role,
				Via: Inheritance{ResourceType: "Team", ResourceID: p[len(p)-2], Role: "Member", Path: n.pathNames(p)}})
		}
	}
	return out, nil
}

// SecretNestedAccess is SecretAccess with the teams that reach the secret through a team granted on
// it (a team inside a granted team, at any depth), with the path: what the accessControls answer
// shows as inherited and the Share dialog as "via Platform › Databases". Owners and Readers may read
// it. It returns CodeNotFound.
func (s *Store) SecretNestedAccess(ctx context.Context, a Actor, secretID string) (*Secret, []Grant, []NestedGrant, error) {
	type result struct {
		sec    *Secret
		grants []Grant
		nested []NestedGrant
	}
	res, err := inReadTx(ctx, s, func(tx *sql.Tx) (result, error) {
		sec, err := scanLookup(tx.StmtContext(ctx, s.stmts.secretByID).QueryRowContext(ctx, a.UserID, secretID, a.OrgID))
		if err != nil {
			return result{}, err
		}
		grants, err := accessListTx(ctx, tx, secretID)
		if err != nil {
			return result{}, err
		}
		nested, err := nestedGrantsTx(ctx, tx, a.OrgID, grants)
		return result{sec, grants, nested}, err
	})
	return res.sec, res.grants, res.nested, err
}

// TeamsOverview is the Teams page's read, from one snapshot: the organization's teams with their
// members and member teams; for each team that sits in another, the paths of names from each
// outermost team inwards to it, the team last ("Platform", "Databases", "Postgres"); and the teams the
// actor manages (every team for an admin, else those it is an Owner of: CanManageTeam).
type TeamsOverview struct {
	Teams   []Team
	Paths   map[string][][]string
	Managed map[string]bool
}

// TeamsOverview reads the Teams page. Every member may read it.
func (s *Store) TeamsOverview(ctx context.Context, a Actor) (*TeamsOverview, error) {
	return inReadTx(ctx, s, func(tx *sql.Tx) (*TeamsOverview, error) {
		ts, err := listTeamsTx(ctx, tx, a.OrgID, "")
		if err != nil {
			return nil, err
		}
		n, err := readNesting(ctx, tx, a.OrgID)
		if err != nil {
			return nil, err
		}
		o := &TeamsOverview{Teams: ts, Paths: map[string][][]string{}, Managed: map[string]bool{}}
		for outer := range n.inner {
			if len(n.outers[outer]) > 0 {
				continue // only the paths from an outermost team: "Platform › Databases", not also "Databases"
			}
			for _, p := range n.descendants(outer) {
				inner := p[len(p)-1]
				o.Paths[inner] = append(o.Paths[inner], n.pathNames(p))
			}
		}
		for _, ps := range o.Paths {
			slices.SortFunc(ps, func(x, y []string) int { return strings.Compare(strings.Join(x, "\x00"), strings.Join(y, "\x00")) })
		}
		for _, t := range ts {
			if ok, err := canManageTeamTx(ctx, tx, a, t.ID); err != nil {
				return nil, err
			} else if ok {
				o.Managed[t.ID] = true
			}
		}
		return o, nil
	})
}
