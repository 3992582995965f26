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
// snapshot whose name (or, for a member, email) matches the LIKE pattern ?2.
const principalsSQL = `SELECT kind, id, first, last, detail FROM (
	SELECT 'user' AS kind, 0 AS o, u.email_key AS k, u.id, u.first_name AS first, u.last_name AS last, u.email AS detail
	FROM memberships m JOIN users u ON u.id = m.user_id
	WHERE m.org_id = ?1 AND (trim(u.first_name || ' ' || u.last_name) LIKE ?2 ESCAPE '\' OR u.email LIKE ?2 ESCAPE '\')
	UNION ALL
	SELECT 'team', 1, t.name_key, t.id, t.name, '', t.description
	FROM teams t WHERE t.org_id = ?1 AND t.name LIKE ?2 ESCAPE '\'
) ORDER BY o, k`

// SearchPrincipals returns at most limit members and teams of the actor's organization whose name, or
// (for a member) email, contains query, without those in exclude (refs such as "user:ID"): what the
// Share dialog's type-ahead offers. Members come first, by email, then teams by name. Matching is
// case-insensitive for ASCII letters.
func (s *Store) SearchPrincipals(ctx context.Context, a Actor, query string, exclude []string, limit int) ([]Principal, error) {
	query = strings.TrimSpace(query)
	if query == "" || limit <= 0 {
		return nil, nil
	}
	skip := map[string]bool{}
	for _, r := range exclude {
		skip[r] = true
	}
	rows, err := s.r.QueryContext(ctx, principalsSQL, a.OrgID, likePattern(query))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Principal
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
	return out, rows.Err()
}

// PrincipalsByRef returns the members and teams of the actor's organization that refs name ("user:ID"
// or "team:ID"), by ref, in one snapshot; a ref that names none is not in the map.
func (s *Store) PrincipalsByRef(ctx context.Context, a Actor, refs []string) (map[string]Principal, error) {
	return inReadTx(ctx, s, func(tx *sql.Tx) (map[string]Principal, error) {
		out := map[string]Principal{}
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
		return out, nil
	})
}
