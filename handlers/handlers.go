// Package handlers turns HTTP requests into db.Store calls: Pages serves the portal (pages, htmx
// fragments and dialogs) and API the JSON API. Each handler parses, makes one store call and presents;
// the rules live in db, and what the request is (who acts, from where, the organizations of its
// session) in web/request. A change that db refuses changed nothing: when the form it came from is
// drawn again with the refusal, what that form shows is read in a second call.
package handlers

import (
	"slices"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/request"
)

// actor is the request's actor. The login and API-key middleware guarantee one on every route that
// needs it.
func actor(c echo.Context) db.Actor { return request.Actor(c) }

// fieldOf is the input err is about (db.ErrorField), when it is one of the form's fields; else "",
// and the form shows err over itself.
func fieldOf(err error, fields ...string) string {
	if f := db.ErrorField(err); f != "" && slices.Contains(fields, f) {
		return f
	}
	return ""
}

// render writes comp with status (see request.Render).
func render(c echo.Context, status int, comp templ.Component) error {
	return request.Render(c, status, comp)
}
