// Package handlers turns HTTP requests into db.Store calls: Pages serves the portal (pages, htmx
// fragments and dialogs) and API the JSON API. Each handler parses, makes one store call and presents;
// the rules live in db.
package handlers

import (
	"bytes"
	"net"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
)

const actorKey = "keyhold.actor"

// SetActor records who is acting for the rest of the request; web's middleware calls it.
func SetActor(c echo.Context, a db.Actor) { c.Set(actorKey, a) }

// actor returns the request's actor. The login and API-key middleware guarantee one on every route
// that calls it.
func actor(c echo.Context) db.Actor {
	a, _ := c.Get(actorKey).(db.Actor)
	return a
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

// isFragment reports whether the request wants a bare htmx fragment rather than a whole page.
func isFragment(c echo.Context) bool {
	h := c.Request().Header
	return h.Get("HX-Request") == "true" && h.Get("HX-Boosted") != "true"
}

// ClientIP is the address the request came from: the socket peer. keyhold does not trust
// X-Forwarded-For unless echo's IPExtractor is configured to.
func ClientIP(c echo.Context) string {
	ip := c.RealIP()
	if h, _, err := net.SplitHostPort(ip); err == nil {
		return h
	}
	return ip
}

// SignedIn reports whether the request has a signed-in actor.
func SignedIn(c echo.Context) bool { return actor(c).UserID != "" }
