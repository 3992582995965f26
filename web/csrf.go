package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/web/request"
)

// anonCookie binds the CSRF token of a visitor who is not signed in (the sign-in, setup, invitation
// and password-reset forms): a random value, so that a form posted from elsewhere cannot carry a
// token that matches it.
const anonCookie = "kh_anon"

// csrf protects state-changing portal requests. Their token is an HMAC, under a key derived from the
// master key, of the signed-in session's token (or, before sign-in, of the anonymous cookie): a token
// is good for one session only, so a sibling subdomain or a man in the middle who plants a cookie
// cannot plant a token to go with it, as they could with a double-submit cookie. A browser that says
// the request came from another site (Sec-Fetch-Site) is refused whatever the token. htmx sends the
// token in X-CSRF-Token; plain forms in their _csrf field, read only when formToken is set, on routes
// whose body is small: a large body is never parsed before its token is checked.
func (m *middlewares) csrf(formToken bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			binding := m.csrfBinding(c)
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
				if binding == "" {
					binding = m.newAnon(c)
				}
				request.SetCSRF(c, m.csrfToken(binding))
				return next(c)
			}
			if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
				return errCSRF()
			}
			got := r.Header.Get("X-CSRF-Token")
			if got == "" && formToken {
				got = c.FormValue("_csrf")
			}
			want := m.csrfToken(binding)
			if binding == "" || got == "" || !hmac.Equal([]byte(got), []byte(want)) {
				return errCSRF()
			}
			request.SetCSRF(c, want)
			return next(c)
		}
	}
}

func errCSRF() error {
	return echo.NewHTTPError(http.StatusForbidden, "The form has expired or did not come from keyhold: reload the page and try again.")
}

// csrfBinding is what the request's token is bound to: its session, or its anonymous cookie; "" when
// it has neither.
func (m *middlewares) csrfBinding(c echo.Context) string {
	if tok := request.Session(c); tok != "" {
		return "session\x00" + tok
	}
	if k, err := c.Cookie(m.sessions.cookieName(c.Request(), anonCookie)); err == nil && k.Value != "" && len(k.Value) <= 64 {
		return "anon\x00" + k.Value
	}
	return ""
}

// newAnon gives the visitor an anonymous cookie and returns its binding.
func (m *middlewares) newAnon(c echo.Context) string {
	b := make([]byte, 24)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	r := c.Request()
	opt := m.sessions.options(r)
	http.SetCookie(c.Response(), &http.Cookie{Name: m.sessions.cookieName(r, anonCookie), Value: v, Path: opt.Path,
		HttpOnly: true, Secure: opt.Secure, SameSite: http.SameSiteLaxMode})
	return "anon\x00" + v
}

func (m *middlewares) csrfToken(binding string) string {
	h := hmac.New(sha256.New, m.csrfKey)
	h.Write([]byte(binding))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}
