package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
)

// AccountPage handles GET /account: who is signed in, Change password and Sign out everywhere.
func (p *Pages) AccountPage(c echo.Context) error {
	return p.page(c, "Account", "account", views.AccountPage(p.accountProps(c, p.passwordForm(c))))
}

func (p *Pages) accountProps(c echo.Context, f views.PasswordForm) views.AccountProps {
	a := actor(c)
	return views.AccountProps{Name: a.Name, Email: a.Email, CSRF: csrfToken(c), Password: f}
}

// accountPage draws the whole Account page around the Change password card f, with status.
func (p *Pages) accountPage(c echo.Context, status int, f views.PasswordForm) error {
	body := views.AccountPage(p.accountProps(c, f))
	lp, err := p.layout(c, "Account", "account")
	if err != nil {
		return err
	}
	return Render(c, status, views.Page(lp, body))
}

func (p *Pages) passwordForm(c echo.Context) views.PasswordForm {
	return views.PasswordForm{Email: actor(c).Email, MinPassword: db.MinPasswordLen, CSRF: csrfToken(c)}
}

// PasswordChange handles POST /account/password from the Change password card: with the current
// password, the new one (typed twice) replaces it and every other session of the user ends; this one
// stays. Wrong current passwords count against the same throttle as failed sign-ins, so a stolen
// session is no way to guess the password. htmx gets the card back, a plain form the whole page.
func (p *Pages) PasswordChange(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	f := p.passwordForm(c)
	refuse := func(field, msg string) error {
		f.ErrField, f.Err = field, msg
		return p.passwordCard(c, http.StatusUnprocessableEntity, f)
	}
	accountKey, clientKey := "email:"+strings.ToLower(a.Email), "ip:"+ClientIP(c)
	if err := p.Store.LoginAllowed(ctx, accountKey, clientKey); err != nil {
		var de *db.Error
		if !errors.As(err, &de) || de.Code != db.CodeRateLimited {
			return err
		}
		c.Response().Header().Set("Retry-After", strconv.Itoa(de.RetryAfterSeconds))
		return refuse(views.PasswordFieldCurrent, "Too many incorrect passwords. Try again later.")
	}
	newPassword := c.FormValue("new_password")
	if newPassword != c.FormValue("confirm_password") {
		return refuse(views.PasswordFieldConfirm, "The new password and its confirmation do not match.")
	}
	err := p.Store.ChangePassword(ctx, a.UserID, c.FormValue("current_password"), newPassword)
	switch db.ErrorCode(err) {
	case db.CodeUnauthorized:
		if ferr := p.Store.LoginFailed(ctx, []string{accountKey, clientKey}, []db.Throttle{p.LoginAccount, p.LoginClient}); ferr != nil {
			return ferr
		}
		return refuse(views.PasswordFieldCurrent, db.ErrorMessage(err))
	case db.CodeInvalid:
		return refuse(views.PasswordFieldNew, db.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	if err := p.Sessions.EndOthers(c, a.UserID); err != nil {
		return err
	}
	f.Done = "Password changed. Your other sessions were signed out."
	return p.passwordCard(c, http.StatusOK, f)
}

// passwordCard answers the Change password form: the card for htmx, the whole page otherwise.
func (p *Pages) passwordCard(c echo.Context, status int, f views.PasswordForm) error {
	if isFragment(c) {
		return Render(c, status, views.PasswordCard(f))
	}
	return p.accountPage(c, status, f)
}

// SignOutEverywhere handles POST /account/sign-out-everywhere: every session of the user ends, this
// one included, and the browser goes to the sign-in page.
func (p *Pages) SignOutEverywhere(c echo.Context) error {
	if err := p.Sessions.EndOthers(c, actor(c).UserID); err != nil {
		return err
	}
	if err := p.Sessions.End(c); err != nil {
		return err
	}
	return redirect(c, "/login")
}

// MemberPasswordNew handles GET /members/:id/password: the Set password dialog.
func (p *Pages) MemberPasswordNew(c echo.Context) error {
	m, err := p.memberRemoveProps(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return Render(c, http.StatusOK, views.MemberPasswordDialog(views.MemberPasswordForm{Person: m.Person, MinPassword: db.MinPasswordLen}))
}

// MemberPasswordSet handles POST /members/:id/password from the Set password dialog: the member gets
// the new password and every session of theirs ends. A refusal is drawn in the dialog.
func (p *Pages) MemberPasswordSet(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	m, err := p.memberRemoveProps(ctx, a, c.Param("id"))
	if err != nil {
		return err
	}
	err = p.Store.SetMemberPassword(ctx, a, m.ID, c.FormValue("password"))
	if code := db.ErrorCode(err); code == db.CodeInvalid || code == db.CodeForbidden {
		status := http.StatusUnprocessableEntity
		if code == db.CodeForbidden {
			status = http.StatusForbidden
		}
		f := views.MemberPasswordForm{Person: m.Person, MinPassword: db.MinPasswordLen, Err: db.ErrorMessage(err)}
		return Render(c, status, views.MemberPasswordDialog(f))
	} else if err != nil {
		return err
	}
	return notify(c, "members-changed", "Set a new password for "+m.Email+". They were signed out everywhere.")
}
