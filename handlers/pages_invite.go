package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
	"github.com/keyhold/keyhold/web/request"
)

// InvitePage handles GET /invite/:token: the page an invitation link opens. A link that does not
// work gets one message, whatever the reason.
func (p *Pages) InvitePage(c echo.Context) error {
	props, err := p.inviteProps(c)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if props.Invalid {
		status = http.StatusNotFound
	}
	return render(c, status, views.InvitePage(props))
}

// inviteProps describes the invitation of the request's link, or an invalid one (Invalid, Err).
func (p *Pages) inviteProps(c echo.Context) (views.InviteProps, error) {
	props := views.InviteProps{Token: c.Param("token"), MinPassword: db.MinPasswordLen, CSRF: request.CSRF(c), SignedInAs: actor(c).Email}
	inv, err := p.Store.InvitationByToken(c.Request().Context(), props.Token)
	if db.ErrorCode(err) == db.CodeNotFound {
		props.Invalid, props.Err = true, db.ErrorMessage(err)
		return props, nil
	} else if err != nil {
		return props, err
	}
	props.OrgName, props.Email, props.Admin, props.ExpiresAt = inv.OrgName, inv.Email, inv.Role == db.OrgAdmin, inv.ExpiresAt
	if inv.CreatedBy.ID != "" {
		props.InvitedBy = inv.CreatedBy.Name
	}
	for _, t := range inv.Teams {
		props.Teams = append(props.Teams, t.Name)
	}
	return props, nil
}

// InviteSignUp handles POST /invite/:token from "Create your account": the person chooses their name
// and password, the account is created and joins the organization, and they are signed in.
func (p *Pages) InviteSignUp(c echo.Context) error {
	props, err := p.inviteProps(c)
	if err != nil || props.Invalid {
		return p.inviteAnswer(c, props, err)
	}
	props.FirstName = strings.TrimSpace(c.FormValue("first_name"))
	props.LastName = strings.TrimSpace(c.FormValue("last_name"))
	pw := c.FormValue("password")
	if pw != c.FormValue("password_confirm") {
		props.Err = "The two passwords do not match."
		return render(c, http.StatusUnprocessableEntity, views.InvitePage(props))
	}
	u, orgID, err := p.Store.AcceptInvitationNewAccount(c.Request().Context(), props.Token,
		db.NewAccount{FirstName: props.FirstName, LastName: props.LastName, Password: pw, ClientIP: request.ClientIP(c)})
	return p.joined(c, props, false, u, orgID, err)
}

// joined answers an accepted invitation form: a new session in the organization; or, refused for a
// reason the person can act on, the page again with the message over the form that failed (the
// "I have an account" one when signIn); or, when the link stopped working meanwhile, its page.
func (p *Pages) joined(c echo.Context, props views.InviteProps, signIn bool, u *db.User, orgID string, err error) error {
	switch db.ErrorCode(err) {
	case db.CodeInvalid, db.CodeConflict, db.CodeUnauthorized, db.CodeRateLimited, db.CodeUnavailable:
		retryAfter(c, err)
		if signIn {
			props.ErrSignIn = db.ErrorMessage(err)
		} else {
			props.Err = db.ErrorMessage(err)
		}
		return render(c, formStatus(err), views.InvitePage(props))
	case "":
		return p.signedInTo(c, u.ID, orgID)
	}
	return p.inviteAnswer(c, props, err)
}

// InviteAccept handles POST /invite/:token/accept: a signed-in user whose email is the invitation's
// joins at once; a visitor proves the account is theirs with its password (throttled like a sign-in).
func (p *Pages) InviteAccept(c echo.Context) error {
	props, err := p.inviteProps(c)
	if err != nil || props.Invalid {
		return p.inviteAnswer(c, props, err)
	}
	ctx := c.Request().Context()
	if a := actor(c); a.UserID != "" {
		orgID, err := p.Store.AcceptInvitation(ctx, props.Token, a.UserID, request.ClientIP(c))
		if code := db.ErrorCode(err); code == db.CodeForbidden || code == db.CodeConflict {
			props.Err = db.ErrorMessage(err)
			return render(c, formStatus(err), views.InvitePage(props))
		} else if err != nil {
			return p.inviteAnswer(c, props, err)
		}
		if err := p.Sessions.SwitchOrg(c, orgID); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/secrets")
	}
	u, orgID, err := p.Store.AcceptInvitationSignIn(ctx, props.Token, c.FormValue("password"), request.ClientIP(c))
	return p.joined(c, props, true, u, orgID, err)
}

// InviteRefuse handles POST /invite/:token/refuse: the invitation is declined and its link dies.
func (p *Pages) InviteRefuse(c echo.Context) error {
	props, err := p.inviteProps(c)
	if err != nil || props.Invalid {
		return p.inviteAnswer(c, props, err)
	}
	if err := p.Store.RefuseInvitation(c.Request().Context(), props.Token, request.ClientIP(c)); err != nil {
		return p.inviteAnswer(c, props, err)
	}
	return render(c, http.StatusOK, views.InviteDeclinedPage(props.OrgName))
}

// inviteAnswer draws the invitation page for a link that stopped working (expired, used or revoked
// while the page was open), or passes any other error on.
func (p *Pages) inviteAnswer(c echo.Context, props views.InviteProps, err error) error {
	if db.ErrorCode(err) == db.CodeNotFound {
		props.Invalid, props.Err = true, db.ErrorMessage(err)
	} else if err != nil {
		return err
	}
	return render(c, http.StatusNotFound, views.InvitePage(props))
}

// signedInTo starts a new session for userID in orgID and sends the browser to the Secrets tab.
func (p *Pages) signedInTo(c echo.Context, userID, orgID string) error {
	if err := p.Sessions.Start(c, userID, orgID); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/secrets")
}

// formStatus is the status of a form drawn again with err: its error's, but 422 for bad input (the
// page's own answer, which htmx swaps in).
func formStatus(err error) int {
	if db.ErrorCode(err) == db.CodeInvalid {
		return http.StatusUnprocessableEntity
	}
	return request.Status(db.ErrorCode(err))
}

// ResetPage handles GET /reset/:token: the page a password-reset link opens.
func (p *Pages) ResetPage(c echo.Context) error {
	props, err := p.resetProps(c)
	if err != nil || props.Invalid {
		return p.resetAnswer(c, props, err)
	}
	return render(c, http.StatusOK, views.ResetPage(props))
}

// resetProps describes the reset link of the request, or an invalid one (Invalid, Err).
func (p *Pages) resetProps(c echo.Context) (views.ResetProps, error) {
	props := views.ResetProps{Token: c.Param("token"), MinPassword: db.MinPasswordLen, CSRF: request.CSRF(c)}
	r, err := p.Store.PasswordResetByToken(c.Request().Context(), props.Token)
	if db.ErrorCode(err) == db.CodeNotFound {
		props.Invalid, props.Err = true, db.ErrorMessage(err)
		return props, nil
	} else if err != nil {
		return props, err
	}
	props.Email, props.ExpiresAt = r.Email, r.ExpiresAt
	return props, nil
}

// resetAnswer draws the reset page for a link that does not work (or stopped working), or passes any
// other error on.
func (p *Pages) resetAnswer(c echo.Context, props views.ResetProps, err error) error {
	if db.ErrorCode(err) == db.CodeNotFound {
		props.Invalid, props.Err = true, db.ErrorMessage(err)
	} else if err != nil {
		return err
	}
	return render(c, http.StatusNotFound, views.ResetPage(props))
}

// Reset handles POST /reset/:token: the person's new password replaces the one the operator reset,
// the link is used up, and they are signed in.
func (p *Pages) Reset(c echo.Context) error {
	props, err := p.resetProps(c)
	if err != nil || props.Invalid {
		return p.resetAnswer(c, props, err)
	}
	pw := c.FormValue("password")
	if pw != c.FormValue("password_confirm") {
		props.Err = "The two passwords do not match."
		return render(c, http.StatusUnprocessableEntity, views.ResetPage(props))
	}
	u, orgID, err := p.Store.CompletePasswordReset(c.Request().Context(), props.Token, pw, request.ClientIP(c))
	switch db.ErrorCode(err) {
	case db.CodeInvalid, db.CodeUnavailable:
		retryAfter(c, err)
		props.Err = db.ErrorMessage(err)
		return render(c, formStatus(err), views.ResetPage(props))
	case "":
	default:
		return p.resetAnswer(c, props, err)
	}
	if orgID == "" {
		props.Done = true
		return render(c, http.StatusOK, views.ResetPage(props))
	}
	return p.signedInTo(c, u.ID, orgID)
}
