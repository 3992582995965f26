// Package request is what keyhold knows about the request being served: who is acting and from
// where, its session and its CSRF token. web's middleware sets them and the handlers read them; both
// render through Render. It holds no rule: who may act is decided in db.
package request

import (
	"bytes"
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
)

const (
	actorKey   = "keyhold.actor"
	csrfKey    = "keyhold.csrf"
	sessionKey = "keyhold.session"
	orgsKey    = "keyhold.orgs"
)

// SetActor records who is acting for the rest of the request: the session's user in its
// organization, or an API key's.
func SetActor(c echo.Context, a db.Actor) { c.Set(actorKey, a) }

// Actor is the request's actor; the zero Actor when nobody is signed in.
func Actor(c echo.Context) db.Actor {
	a, _ := c.Get(actorKey).(db.Actor)
	return a
}

// SignedIn reports whether the request has a signed-in actor.
func SignedIn(c echo.Context) bool { return Actor(c).UserID != "" }

// ClientIP is the address the request came from: the connection's peer, or with trusted proxies the
// address they report (web sets echo's IPExtractor; see web.Config.TrustedProxies).
func ClientIP(c echo.Context) string { return c.RealIP() }

// SetCSRF records the CSRF token the request's pages hand out; CSRF returns it.
func SetCSRF(c echo.Context, token string) { c.Set(csrfKey, token) }

// CSRF is the request's CSRF token, for the forms and the hx-headers of the pages it renders.
func CSRF(c echo.Context) string {
	t, _ := c.Get(csrfKey).(string)
	return t
}

// SetSession records the token of the request's live session ("" when there is none).
func SetSession(c echo.Context, token string) { c.Set(sessionKey, token) }

// Session is the token of the request's live session, "" when there is none.
func Session(c echo.Context) string {
	t, _ := c.Get(sessionKey).(string)
	return t
}

// SetOrgs records the organizations the session's user belongs to, as db read them with the session.
func SetOrgs(c echo.Context, orgs []db.OrgChoice) { c.Set(orgsKey, orgs) }

// Orgs are the organizations the signed-in user belongs to, by name, for the portal's switcher.
func Orgs(c echo.Context) []db.OrgChoice {
	o, _ := c.Get(orgsKey).([]db.OrgChoice)
	return o
}

// IsFragment reports whether the request wants a bare htmx fragment rather than a whole page.
func IsFragment(c echo.Context) bool {
	h := c.Request().Header
	return h.Get("HX-Request") == "true" && h.Get("HX-Boosted") != "true"
}

// Render renders comp into a buffer and only then writes it, so a failing component never leaves half
// a page.
func Render(c echo.Context, status int, comp templ.Component) error {
	var buf bytes.Buffer
	if err := comp.Render(c.Request().Context(), &buf); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// statusOf maps a db error code to its HTTP status.
var statusOf = map[db.Code]int{
	db.CodeInvalid:      http.StatusBadRequest,
	db.CodeUnauthorized: http.StatusUnauthorized,
	db.CodeForbidden:    http.StatusForbidden,
	db.CodeNotFound:     http.StatusNotFound,
	db.CodeConflict:     http.StatusConflict,
	db.CodeTooLarge:     http.StatusRequestEntityTooLarge,
	db.CodeRateLimited:  http.StatusTooManyRequests,
	db.CodeUnavailable:  http.StatusServiceUnavailable,
	db.CodeStorageFull:  http.StatusInsufficientStorage,
}

// Status is the HTTP status of a db error code; 500 for any other (an internal error).
func Status(code db.Code) int {
	if st, ok := statusOf[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}
