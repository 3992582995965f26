package handlers

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
	"github.com/keyhold/keyhold/web/request"
)

// AccountPage handles GET /account: who is signed in, Change password and Sign out everywhere.
func (p *Pages) AccountPage(c echo.Context) error {
	return p.page(c, "Account", "account", views.AccountPage(p.accountProps(c, p.passwordForm(c))))
}

func (p *Pages) accountProps(c echo.Context, f views.PasswordForm) views.AccountProps {
	a := actor(c)
	return views.AccountProps{Name: a.Name, Email: a.Email, CSRF: request.CSRF(c), Password: f}
}

// accountPage draws the whole Account page around the Change password card f, with status.
func (p *Pages) accountPage(c echo.Context, status int, f views.PasswordForm) error {
	return render(c, status, views.Page(layout(c, "Account", "account"), views.AccountPage(p.accountProps(c, f))))
}

func (p *Pages) passwordForm(c echo.Context) views.PasswordForm {
	return views.PasswordForm{Email: actor(c).Email, MinPassword: db.MinPasswordLen, CSRF: request.CSRF(c)}
}

// PasswordChange handles POST /account/password from the Change password card: with the current
// password, the new one (typed twice) replaces it and, in the same change, every other session of the
// user ends (this one stays) and, unless unticked, every API key of theirs is revoked. Wrong current
// passwords count against the sign-in throttle. htmx gets the card back, a plain form the whole page.
func (p *Pages) PasswordChange(c echo.Context) error {
	f := p.passwordForm(c)
	revoke := c.FormValue("revoke_api_keys") != ""
	f.KeepAPIKeys = !revoke
	refuse := func(field, msg string) error {
		f.ErrField, f.Err = field, msg
		return p.passwordCard(c, http.StatusUnprocessableEntity, f)
	}
	newPassword := c.FormValue("new_password")
	if newPassword != c.FormValue("confirm_password") {
		return refuse(views.PasswordFieldConfirm, "The new password and its confirmation do not match.")
	}
	done, err := p.Store.ChangePassword(c.Request().Context(), actor(c), db.PasswordChange{Current: c.FormValue("current_password"),
		New: newPassword, KeepSession: request.Session(c), RevokeAPIKeys: revoke})
	switch db.ErrorCode(err) {
	case db.CodeUnauthorized, db.CodeRateLimited, db.CodeUnavailable:
		retryAfter(c, err)
		return refuse(views.PasswordFieldCurrent, db.ErrorMessage(err))
	case db.CodeInvalid:
		return refuse(views.PasswordFieldNew, db.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	f.Done = "Password changed. Your other sessions were signed out."
	if revoke {
		revoked := views.Plural(done.KeysRevoked, "API key")
		if done.InvitationsRevoked > 0 {
			revoked += " and " + views.Plural(done.InvitationsRevoked, "pending invitation")
		}
		f.Done = fmt.Sprintf("Password changed. Your other sessions were signed out and %s revoked.", revoked)
	}
	f.KeepAPIKeys = false
	return p.passwordCard(c, http.StatusOK, f)
}

// passwordCard answers the Change password form: the card for htmx, the whole page otherwise.
func (p *Pages) passwordCard(c echo.Context, status int, f views.PasswordForm) error {
	if request.IsFragment(c) {
		return render(c, status, views.PasswordCard(f))
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
	return redirect(c, signedOutURL)
}
