package web

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/request"
)

type middlewares struct {
	store    *db.Store
	cfg      Config
	sessions *sessionStore
	csrfKey  []byte      // the key of the CSRF tokens' HMAC (see csrf)
	bodies   *bodyBudget // the memory large request bodies may hold at once
	attempts *attemptPacer
}

// contentSecurityPolicy allows only keyhold's own scripts, styles and images: no inline script, no
// inline style, no framing.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries. Anything but the static assets may carry a
// value or a CSRF token, so it is never stored by a cache (staticAsset allows caching its answers).
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store") // the static assets' handler sets its own
		return next(c)
	}
}

// loadUser reads the session and, when it is live, sets the request's actor: its user in its
// organization (db.SessionActor decides, moving a session whose organization the user left).
func (m *middlewares) loadUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ps, ok, err := m.sessions.current(c)
		if err != nil {
			return err
		}
		if ok {
			a := ps.actor
			a.ClientIP = request.ClientIP(c)
			request.SetSession(c, ps.Token)
			request.SetOrgs(c, ps.orgs)
			request.SetActor(c, a)
		}
		return next(c)
	}
}

// requireLogin sends anonymous requests to the sign-in page (htmx requests by HX-Redirect), to come
// back afterwards to the page they were on. An htmx request asked for a fragment (a dialog, a table),
// so it comes back to the page it was made from (HX-Current-URL), not to the fragment's URL.
func requireLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if request.SignedIn(c) {
			return next(c)
		}
		r := c.Request()
		htmx := r.Header.Get("HX-Request") == "true"
		back := ""
		if htmx {
			if u, err := url.Parse(r.Header.Get("HX-Current-URL")); err == nil && u.Path != "" {
				back = u.RequestURI()
			}
		} else if r.Method == http.MethodGet {
			back = r.URL.RequestURI()
		}
		target := "/login"
		if back != "" && back != "/" {
			target += "?next=" + url.QueryEscape(back)
		}
		if htmx {
			c.Response().Header().Set("HX-Redirect", target)
			return c.NoContent(http.StatusUnauthorized)
		}
		return c.Redirect(http.StatusSeeOther, target)
	}
}
