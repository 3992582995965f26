package db

import "context"

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
	ms, err := membershipsOf(ctx, s.r, sess.UserID)
	if err != nil {
		return nil, Actor{}, err
	}
	for _, m := range ms {
		sess.Orgs = append(sess.Orgs, OrgChoice{ID: m.OrgID, Name: m.OrgName, Role: m.Role})
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
	u := ms[0].User
	a := Actor{UserID: sess.UserID, Email: u.Email, Name: u.Name(), OrgID: current.ID, Role: current.Role, Source: "portal"}
	return sess, a, nil
}
