package db

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// Principal is a member or a team of an organization, as sharing names them.
type Principal struct {
	Kind string // PrincipalUser or PrincipalTeam
	ID   string
	// Name is a member's full name (their email when they have none) or a team's name; Detail a
	// member's email or a team's description.
	Name   string
	Detail string
}

// Ref is how forms name the principal: "user:ID" or "team:ID".
func (p Principal) Ref() string { return p.Kind + ":" + p.ID }

// principalsSQL lists the members (first, by email) and teams (by name) of organization ?1 in one
// snapshot whose name (or, for a member, email) matches the LIKE pattern ?2 (likePattern: lower case,
// as the names are compared). browsePrincipalsSQL lists them all, teams first: there are few of them.
const (
	principalsFrom = `SELECT kind, id, first, last, detail FROM (
	SELECT 'user' AS kind, 0 AS o, u.email_key AS k, u.id, u.first_name AS first, u.last_name AS last, u.email AS detail
	FROM memberships m JOIN users u ON u.id = m.user_id
	WHERE m.org_id = ?1 AND (lower(trim(u.first_name || ' ' || u.last_name)) LIKE ?2 ESCAPE '\' OR lower(u.email) LIKE ?2 ESCAPE '\')
	UNION ALL
	SELECT 'team', 1, t.name_key, t.id, t.name, '', t.description
	FROM teams t WHERE t.org_id = ?1 AND lower(t.name) LIKE ?2 ESCAPE '\'
) AS found`
	principalsSQL       = principalsFrom + ` ORDER BY o, k`
	browsePrincipalsSQL = principalsFrom + ` ORDER BY o DESC, k`
)

// SearchPrincipals returns, for the Share dialog of secret secretID, the secret (with the actor's
// access) and at most limit members and teams of the actor's organization whose name, or (for a
// member) email, contains query, without those in exclude (refs such as "user:ID"): what the dialog's
// type-ahead offers. Members come first, by email, then teams by name. Matching is case-insensitive
// for ASCII letters. An empty query lists every member and team (up to limit), teams first: what the
// dialog offers before anything is typed. It returns CodeNotFound when the actor cannot read the secret.
func (s *Store) SearchPrincipals(ctx context.Context, a Actor, secretID, query string, exclude []string, limit int) (*Secret, []Principal, error) {
	query = strings.TrimSpace(query)
	skip := map[string]bool{}
	for _, r := range exclude {
		skip[r] = true
	}
	var out []Principal
	sec, err := inReadTx(ctx, s, func(tx *sql.Tx) (*Secret, error) {
		sec, err := scanLookup(tx.StmtContext(ctx, s.stmts.secretByID).QueryRowContext(ctx, a.UserID, secretID, a.OrgID))
		if err != nil || limit <= 0 {
			return sec, err
		}
		sqlText := principalsSQL
		if query == "" {
			sqlText = browsePrincipalsSQL
		}
		rows, err := tx.QueryContext(ctx, sqlText, a.OrgID, likePattern(query))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() && len(out) < limit {
			var p Principal
			var first, last string
			if err := rows.Scan(&p.Kind, &p.ID, &first, &last, &p.Detail); err != nil {
				return nil, err
			}
			p.Name = first
			if p.Kind == PrincipalUser {
				p.Name = displayName(first, last, p.Detail)
			}
			if !skip[p.Ref()] {
				out = append(out, p)
			}
		}
		return sec, rows.Err()
	})
	if err != nil {
		return nil, nil, err
	}
	return sec, out, nil
}

// PrincipalsByRef names, for the Share dialog of secret secretID, the principals refs ("user:ID",
// "team:ID") that are members or teams of the actor's organization, and returns the secret (with the
// actor's access). Refs that are not are left out. It returns CodeNotFound when the actor cannot read
// the secret.
func (s *Store) PrincipalsByRef(ctx context.Context, a Actor, secretID string, refs []string) (*Secret, map[string]Principal, error) {
	out := map[string]Principal{}
	sec, err := inReadTx(ctx, s, func(tx *sql.Tx) (*Secret, error) {
		sec, err := scanLookup(tx.StmtContext(ctx, s.stmts.secretByID).QueryRowContext(ctx, a.UserID, secretID, a.OrgID))
		if err != nil {
			return nil, err
		}
		for _, ref := range refs {
			kind, id, _ := strings.Cut(ref, ":")
			p := Principal{Kind: kind, ID: id}
			switch kind {
			case PrincipalUser:
				m, err := memberTx(ctx, tx, a.OrgID, id)
				if ErrorCode(err) == CodeNotFound {
					continue
				} else if err != nil {
					return nil, err
				}
				p.Name, p.Detail = m.Name(), m.Email
			case PrincipalTeam:
				err := tx.QueryRowContext(ctx, `SELECT name, description FROM teams WHERE id = ? AND org_id = ?`, id, a.OrgID).Scan(&p.Name, &p.Detail)
				if errors.Is(err, sql.ErrNoRows) {
					continue
				} else if err != nil {
					return nil, err
				}
			default:
				continue
			}
			out[ref] = p
		}
		return sec, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return sec, out, nil
}
