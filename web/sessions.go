package web

import (
	"context"
	"net/http"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/request"
)

const sessionCookie = "kh_session"

// portalSession is a browser's session as the portal knows it: its token (the cookie's value), and
// its user signed in to an organization, as whom it acts. It is the one value the gorilla session
// holds (under sessionKey); current is the only place that reads it.
type portalSession struct {
	Token  string
	UserID string
	OrgID  string
	// actor is who the session acts as and orgs the organizations its user belongs to, resolved by
	// db when the session was loaded; zero for a session being started.
	actor db.Actor
	orgs  []db.OrgChoice
}

// sessionKey is the key of the portalSession in a gorilla session's Values.
type sessionKey struct{}

// sessionStore is a gorilla/sessions Store that keeps sessions in the database. The cookie holds only
// an opaque random token; the row is keyed by its hash. So any instance can serve any session, and
// ending a session server-side really ends it.
type sessionStore struct {
	db     *db.Store
	limits db.SessionLimits
	secure bool
}

var _ sessions.Store = (*sessionStore)(nil)

func newSessionStore(store *db.Store, cfg Config) *sessionStore {
	return &sessionStore{db: store, limits: db.SessionLimits{Idle: cfg.SessionIdle, Absolute: cfg.SessionAbsolute}, secure: cfg.SecureCookies}
}

func (s *sessionStore) options(r *http.Request) *sessions.Options {
	return &sessions.Options{
		Path:     "/",
		MaxAge:   0, // a browser-session cookie; the server enforces idle and absolute timeouts
		HttpOnly: true,
		Secure:   s.over(r),
		SameSite: http.SameSiteLaxMode,
	}
}

// over reports whether r's cookies travel over TLS only.
func (s *sessionStore) over(r *http.Request) bool { return s.secure || r.TLS != nil }

// cookieName is the name of cookie base for r: over TLS with the __Host- prefix, which a browser
// accepts only from this very host, over TLS, for the whole site: a sibling subdomain or a plain-HTTP
// man in the middle cannot plant one.
func (s *sessionStore) cookieName(r *http.Request, base string) string {
	if s.over(r) {
		return "__Host-" + base
	}
	return base
}

// Get returns the request's session, cached for the request by gorilla's registry. name is the
// cookie's base name.
func (s *sessionStore) Get(r *http.Request, name string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, s.cookieName(r, name))
}

// New loads the session named by the cookie, resolved by db (SessionActor: a session whose
// organization its user left has moved on), or returns a new empty one.
func (s *sessionStore) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	sess.Options = s.options(r)
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	rec, a, err := s.db.SessionActor(r.Context(), c.Value, s.limits)
	if db.ErrorCode(err) == db.CodeNotFound {
		return sess, nil
	} else if err != nil {
		return sess, err
	}
	sess.ID, sess.IsNew = c.Value, false
	sess.Values[sessionKey{}] = portalSession{Token: c.Value, UserID: rec.UserID, OrgID: rec.OrgID, actor: a, orgs: rec.Orgs}
	return sess, nil
}

// Save writes the session: a new one gets a fresh random token, MaxAge < 0 deletes it everywhere.
func (s *sessionStore) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	ctx := r.Context()
	if sess.Options.MaxAge < 0 {
		if sess.ID != "" {
			if err := s.db.DeleteSession(ctx, sess.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", sess.Options))
		return nil
	}
	ps, _ := sess.Values[sessionKey{}].(portalSession)
	if sess.ID == "" {
		token, err := s.db.CreateSession(ctx, ps.UserID, ps.OrgID)
		if err != nil {
			return err
		}
		sess.ID, ps.Token = token, token
		sess.Values[sessionKey{}] = ps
	} else if err := s.db.UpdateSession(ctx, sess.ID, ps.OrgID); err != nil {
		return err
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), sess.ID, sess.Options))
	return nil
}

// current is the request's live session: ok is false when it has none.
func (s *sessionStore) current(c echo.Context) (ps portalSession, ok bool, err error) {
	sess, err := s.Get(c.Request(), sessionCookie)
	if err != nil {
		return portalSession{}, false, err
	}
	ps, ok = sess.Values[sessionKey{}].(portalSession)
	return ps, ok && sess.ID != "", nil
}

// Start signs userID in to orgID with a brand-new session: the old one, if any, is ended, so a
// session ID planted before sign-in is worthless afterwards (no fixation).
func (s *sessionStore) Start(c echo.Context, userID, orgID string) error {
	r, w := c.Request(), c.Response()
	old, _ := s.Get(r, sessionCookie)
	if old != nil && old.ID != "" {
		if err := s.db.DeleteSession(r.Context(), old.ID); err != nil {
			return err
		}
	}
	sess := sessions.NewSession(s, s.cookieName(r, sessionCookie))
	sess.Options = s.options(r)
	sess.IsNew = true
	sess.Values[sessionKey{}] = portalSession{UserID: userID, OrgID: orgID}
	if err := s.Save(r, w, sess); err != nil {
		return err
	}
	request.SetSession(c, sess.ID)
	return nil
}

// SwitchOrg makes orgID the session's current organization; db refuses (CodeNotFound) an organization
// the user does not belong to.
func (s *sessionStore) SwitchOrg(c echo.Context, orgID string) error {
	sess, err := s.Get(c.Request(), sessionCookie)
	ps, ok := sess.Values[sessionKey{}].(portalSession)
	if err != nil || sess.ID == "" || !ok {
		return db.Errorf(db.CodeUnauthorized, "Sign in first.")
	}
	ps.OrgID = orgID
	sess.Values[sessionKey{}] = ps
	return s.Save(c.Request(), c.Response(), sess)
}

// End signs out: the session row is deleted and the cookie cleared.
func (s *sessionStore) End(c echo.Context) error {
	sess, err := s.Get(c.Request(), sessionCookie)
	if err != nil {
		return err
	}
	sess.Options.MaxAge = -1
	request.SetSession(c, "")
	return s.Save(c.Request(), c.Response(), sess)
}

// EndOthers ends every other session of the signed-in user (sign-out everywhere else).
func (s *sessionStore) EndOthers(c echo.Context, userID string) error {
	return s.db.DeleteUserSessions(context.WithoutCancel(c.Request().Context()), userID, request.Session(c))
}
