package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
	"github.com/keyhold/keyhold/web/request"
)

// Home handles GET /: first-run setup until an organization exists, then the Secrets tab or sign-in.
func (p *Pages) Home(c echo.Context) error {
	has, err := p.Store.HasOrgs(c.Request().Context())
	if err != nil {
		return err
	}
	switch {
	case !has:
		return c.Redirect(http.StatusSeeOther, "/setup")
	case request.SignedIn(c):
		return c.Redirect(http.StatusSeeOther, "/secrets")
	}
	return c.Redirect(http.StatusSeeOther, "/login")
}

// SetupPage handles GET /setup: the first-run form, gone once an organization exists.
func (p *Pages) SetupPage(c echo.Context) error {
	has, err := p.Store.HasOrgs(c.Request().Context())
	if err != nil {
		return err
	}
	if has {
		return c.Redirect(http.StatusSeeOther, "/")
	}
	return render(c, http.StatusOK, views.SetupPage(views.SetupProps{MinPassword: db.MinPasswordLen, CSRF: request.CSRF(c)}))
}

// Setup handles POST /setup: creates the first organization and its admin, and signs the admin in.
func (p *Pages) Setup(c echo.Context) error {
	form := views.SetupProps{
		OrgName:     strings.TrimSpace(c.FormValue("org_name")),
		FirstName:   strings.TrimSpace(c.FormValue("first_name")),
		LastName:    strings.TrimSpace(c.FormValue("last_name")),
		Email:       strings.TrimSpace(c.FormValue("email")),
		MinPassword: db.MinPasswordLen,
		CSRF:        request.CSRF(c),
	}
	pw := c.FormValue("password")
	if pw != c.FormValue("password_confirm") {
		form.Err, form.ErrField = passwordsDiffer.Message, passwordConfirm
		return render(c, http.StatusUnprocessableEntity, views.SetupPage(form))
	}
	org, u, err := p.Store.SetupFirstOrg(c.Request().Context(), form.OrgName,
		db.NewUser{Email: form.Email, FirstName: form.FirstName, LastName: form.LastName, Password: pw})
	if code := db.ErrorCode(err); code == db.CodeInvalid || code == db.CodeConflict {
		form.Err, form.ErrField = db.ErrorMessage(err), fieldOf(err, db.FieldOrgName, db.FieldFirstName, db.FieldLastName, db.FieldEmail, db.FieldPassword)
		return render(c, http.StatusUnprocessableEntity, views.SetupPage(form))
	} else if err != nil {
		return err
	}
	return p.signedInTo(c, u.ID, org.ID)
}

// LoginPage handles GET /login.
func (p *Pages) LoginPage(c echo.Context) error {
	if request.SignedIn(c) {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	return render(c, http.StatusOK, views.LoginPage(views.LoginProps{Next: safeNext(c.QueryParam("next")),
		SignedOut: c.QueryParam("signed_out") != "", CSRF: request.CSRF(c)}))
}

// Login handles POST /login. Attempts are throttled per account and per client address, and every
// failure reads the same whether or not the email exists (db.Store.SignIn decides).
func (p *Pages) Login(c echo.Context) error {
	form := views.LoginProps{Email: strings.TrimSpace(c.FormValue("email")), Next: safeNext(c.FormValue("next")), CSRF: request.CSRF(c)}
	u, orgID, err := p.Store.SignIn(c.Request().Context(), form.Email, c.FormValue("password"), request.ClientIP(c))
	switch db.ErrorCode(err) {
	case db.CodeUnauthorized, db.CodeForbidden, db.CodeRateLimited, db.CodeUnavailable:
		form.Err = db.ErrorMessage(err)
		retryAfter(c, err)
		return render(c, formStatus(err), views.LoginPage(form))
	}
	if err != nil {
		return err
	}
	if err := p.Sessions.Start(c, u.ID, orgID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, form.Next)
}

// retryAfter sets Retry-After when err says when to try again.
func retryAfter(c echo.Context, err error) {
	var de *db.Error
	if errors.As(err, &de) && de.RetryAfterSeconds > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(de.RetryAfterSeconds))
	}
}

// safeNext keeps a post-sign-in redirect on this site: a local absolute path, or /secrets. It refuses
// control characters: browsers drop tabs and newlines from a URL, so "/\t/evil.example" is //evil.example.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "/secrets"
	}
	return next
}

// Logout handles POST /logout: the session ends server-side.
func (p *Pages) Logout(c echo.Context) error {
	if err := p.Sessions.End(c); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, signedOutURL)
}

// signedOutURL is the sign-in page saying "You have been signed out.".
const signedOutURL = "/login?signed_out=1"

// OrgSwitch handles POST /org/switch: the current organization becomes org_id, if the user belongs to it.
func (p *Pages) OrgSwitch(c echo.Context) error {
	if err := p.Sessions.SwitchOrg(c, c.FormValue("org_id")); err != nil {
		return err
	}
	return redirect(c, "/secrets")
}

// redirect sends the browser to target: by HX-Redirect for htmx requests, by 303 otherwise.
func redirect(c echo.Context, target string) error {
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", target)
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, target)
}
