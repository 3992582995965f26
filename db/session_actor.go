package db

import "context"

// SessionActor resolves a portal session for a request: the live session of token and the actor it
// acts as (its user in its organization, source "portal"; the caller adds the client's address). A
// session whose organization its user has left moves to another organization of theirs (the first by
// name); one whose user belongs to no organization any more ends. It returns CodeNotFound when there
// is no live session.
func (s *Store) SessionActor(ctx context.Context, token string, lim SessionLimits) (*Session, Actor, error) {
	sess, err := s.SessionByToken(ctx, token, lim)
	if err != nil {
		return nil, Actor{}, err
	}
	a, err := s.ActorFor(ctx, sess.UserID, sess.OrgID, "portal", "")
	if ErrorCode(err) != CodeForbidden {
		return sess, a, err
	}
	orgID, err := firstOrgID(ctx, s.r, sess.UserID)
	if err != nil {
		return nil, Actor{}, err
	}
	if orgID == "" {
		if err := s.DeleteSession(ctx, token); err != nil {
			return nil, Actor{}, err
		}
		return nil, Actor{}, Errorf(CodeNotFound, "No session.")
	}
	if err := s.UpdateSession(ctx, token, orgID); err != nil {
		return nil, Actor{}, err
	}
	sess.OrgID = orgID
	a, err = s.ActorFor(ctx, sess.UserID, sess.OrgID, "portal", "")
	return sess, a, err
}
