package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
	"github.com/keyhold/keyhold/web/request"
)

// SessionManager starts, switches and ends portal sessions; web implements it over gorilla/sessions.
type SessionManager interface {
	// Start signs the user in with a new session ID.
	Start(c echo.Context, userID, orgID string) error
	// SwitchOrg changes the session's current organization.
	SwitchOrg(c echo.Context, orgID string) error
	// End signs out, ending the session server-side.
	End(c echo.Context) error
	// EndOthers ends every other session of the user.
	EndOthers(c echo.Context, userID string) error
}

// Pages serves the portal: full pages, htmx fragments and dialogs.
type Pages struct {
	Store    *db.Store
	Sessions SessionManager
	// PublicURL is where people reach keyhold, for the links the portal hands out; empty: the
	// address of the request.
	PublicURL string
}

// layout builds the frame of a signed-in page: who, which organization, and the switcher, from what
// db read with the session.
func layout(c echo.Context, title, active string) views.LayoutProps {
	a := actor(c)
	lp := views.LayoutProps{Title: title, CSRF: request.CSRF(c), UserName: a.Name, UserEmail: a.Email, Active: active, IsAdmin: a.IsAdmin()}
	for _, o := range request.Orgs(c) {
		if o.ID == a.OrgID {
			lp.OrgName = o.Name
		}
		lp.Orgs = append(lp.Orgs, views.OrgOption{ID: o.ID, Name: o.Name, Current: o.ID == a.OrgID})
	}
	return lp
}

// notify answers a successful dialog action: the empty body closes the dialog, the HX-Trigger events
// (such as "secrets-changed") refresh the lists that listen for them, and the toast confirms.
func notify(c echo.Context, events, msg string) error {
	c.Response().Header().Set("HX-Trigger", events)
	return render(c, http.StatusOK, views.Toast(msg))
}
