package db

import (
	"context"
	"errors"
)

// OrgChoice is one organization a signed-in user belongs to, as the portal's switcher lists it.
type OrgChoice struct {
	ID   string
	Name string
	Role OrgRole
}

// SessionActor resolves a portal session for a request: the live session of token, with the
// organizations its user belongs to (Session.Orgs, by name), and the actor it acts as (its user in its
// organization, source "portal"; the caller adds the client's address). A session whose organization
// its user has left moves to another organization of theirs (the first by name); one whose user
// belongs to no organization any more ends. It returns CodeNotFound when there is no live session.
func (s *Store) SessionActor(ctx context.Context, token string, lim SessionLimits) (*Session, Actor, error) {
	sess, err := s.SessionByToken(ctx, token, lim)
	if err != nil {
		return nil, Actor{}, err
	}
	// One query reads the user and all their organizations: the actor is one of those rows.
	rows, err := s.r.QueryContext(ctx, `SELECT o.id, o.name, m.role, u.email, u.first_name, u.last_name
		FROM memberships m JOIN orgs o ON o.id = m.org_id JOIN users u ON u.id = m.user_id
		WHERE m.user_id = ? ORDER BY o.name_key`, sess.UserID)
	if err != nil {
		return nil, Actor{}, err
	}
	defer rows.Close()
	var email, first, last string
	for rows.Next() {
		var o OrgChoice
		if err := rows.Scan(&o.ID, &o.Name, &o.Role, &email, &first, &last); err != nil {
			return nil, Actor{}, err
		}
		sess.Orgs = append(sess.Orgs, o)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, Actor{}, err
	}
	if len(sess.Orgs) == 0 {
		if err := s.DeleteSession(ctx, token); err != nil {
			return nil, Actor{}, err
		}
		return nil, Actor{}, Errorf(CodeNotFound, "No session.")
	}
	current := sess.Orgs[0]
	for _, o := range sess.Orgs {
		if o.ID == sess.OrgID {
			current = o
		}
	}
	if current.ID != sess.OrgID {
		if err := s.UpdateSession(ctx, token, current.ID); err != nil {
			return nil, Actor{}, err
		}
		sess.OrgID = current.ID
	}
	a := Actor{UserID: sess.UserID, Email: email, Name: displayName(first, last, email), OrgID: current.ID, Role: current.Role, Source: "portal"}
	return sess, a, nil
}
