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

// inviteBase is the invitation page's frame, before anything is known of the invitation.
func (p *Pages) inviteBase(c echo.Context) views.InviteProps {
	return views.InviteProps{Token: c.Param("token"), MinPassword: db.MinPasswordLen, CSRF: request.CSRF(c), SignedInAs: actor(c).Email}
}

// inviteProps describes the invitation of the request's link, or an invalid one (Invalid, Err).
func (p *Pages) inviteProps(c echo.Context) (views.InviteProps, error) {
	props := p.inviteBase(c)
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
	first, last := strings.TrimSpace(c.FormValue("first_name")), strings.TrimSpace(c.FormValue("last_name"))
	pw := c.FormValue("password")
	var err error = passwordsDiffer
	var u *db.User
	var orgID string
	if pw == c.FormValue("password_confirm") {
		u, orgID, err = p.Store.AcceptInvitationNewAccount(c.Request().Context(), c.Param("token"),
			db.NewAccount{FirstName: first, LastName: last, Password: pw, ClientIP: request.ClientIP(c)})
	}
	return p.joined(c, false, u, orgID, err, func(props *views.InviteProps) {
		props.FirstName, props.LastName = first, last
		props.ErrField = fieldOf(err, db.FieldFirstName, db.FieldLastName, db.FieldPassword, passwordConfirm)
	})
}

// passwordConfirm is the field that repeats a new password; passwordsDiffer the refusal about it.
const passwordConfirm = "password_confirm"

var passwordsDiffer = &db.Error{Code: db.CodeInvalid, Message: "The two passwords do not match.", Field: passwordConfirm}

// InviteAccept handles POST /invite/:token/accept: a signed-in user whose email is the invitation's
// joins at once; a visitor proves the account is theirs with its password (throttled like a sign-in).
func (p *Pages) InviteAccept(c echo.Context) error {
	ctx := c.Request().Context()
	if a := actor(c); a.UserID != "" {
		orgID, err := p.Store.AcceptInvitation(ctx, c.Param("token"), a.UserID, request.ClientIP(c))
		if err != nil {
			return p.joined(c, false, nil, "", err, nil)
		}
		if err := p.Sessions.SwitchOrg(c, orgID); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/secrets")
	}
	u, orgID, err := p.Store.AcceptInvitationSignIn(ctx, c.Param("token"), c.FormValue("password"), request.ClientIP(c))
	return p.joined(c, true, u, orgID, err, nil)
}

// InviteRefuse handles POST /invite/:token/refuse: the invitation is declined and its link dies.
func (p *Pages) InviteRefuse(c echo.Context) error {
	inv, err := p.Store.RefuseInvitation(c.Request().Context(), c.Param("token"), request.ClientIP(c))
	if err != nil {
		return p.joined(c, false, nil, "", err, nil)
	}
	return render(c, http.StatusOK, views.InviteDeclinedPage(inv.OrgName))
}

// joined answers an invitation form: on success a new session in the organization; refused for a
// reason the person can act on, the page again (read afresh: the refusal changed nothing) with the
// message over the form that failed (the "I have an account" one when signIn) and what keep puts
// back; when the link stopped working meanwhile, its page.
func (p *Pages) joined(c echo.Context, signIn bool, u *db.User, orgID string, err error, keep func(*views.InviteProps)) error {
	if err == nil {
		return p.signedInTo(c, u.ID, orgID)
	}
	switch db.ErrorCode(err) {
	case db.CodeInvalid, db.CodeConflict, db.CodeForbidden, db.CodeUnauthorized, db.CodeRateLimited, db.CodeUnavailable:
	case db.CodeNotFound:
		props := p.inviteBase(c)
		props.Invalid, props.Err = true, db.ErrorMessage(err)
		return render(c, http.StatusNotFound, views.InvitePage(props))
	default:
		return err
	}
	props, perr := p.inviteProps(c)
	if perr != nil {
		return perr
	} else if props.Invalid {
		return render(c, http.StatusNotFound, views.InvitePage(props))
	}
	if keep != nil {
		keep(&props)
	}
	retryAfter(c, err)
	if signIn {
		props.ErrSignIn = db.ErrorMessage(err)
	} else {
		props.Err = db.ErrorMessage(err)
	}
	return render(c, formStatus(err), views.InvitePage(props))
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
	if err != nil {
		return err
	} else if props.Invalid {
		return render(c, http.StatusNotFound, views.ResetPage(props))
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

// Reset handles POST /reset/:token: the person's new password replaces the one the operator reset,
// the link is used up, and they are signed in. A refusal (which changed nothing) draws the page again,
// read afresh.
func (p *Pages) Reset(c echo.Context) error {
	pw := c.FormValue("password")
	var err error = passwordsDiffer
	var u *db.User
	var orgID string
	if pw == c.FormValue("password_confirm") {
		u, orgID, err = p.Store.CompletePasswordReset(c.Request().Context(), c.Param("token"), pw, request.ClientIP(c))
	}
	switch code := db.ErrorCode(err); {
	case err == nil && orgID == "":
		return render(c, http.StatusOK, views.ResetPage(views.ResetProps{Token: c.Param("token"), Done: true}))
	case err == nil:
		return p.signedInTo(c, u.ID, orgID)
	case code == db.CodeNotFound:
		return render(c, http.StatusNotFound, views.ResetPage(views.ResetProps{Token: c.Param("token"), Invalid: true, Err: db.ErrorMessage(err)}))
	case code != db.CodeInvalid && code != db.CodeUnavailable:
		return err
	}
	props, perr := p.resetProps(c)
	if perr != nil {
		return perr
	} else if props.Invalid {
		return render(c, http.StatusNotFound, views.ResetPage(props))
	}
	retryAfter(c, err)
	props.Err, props.ErrField = db.ErrorMessage(err), fieldOf(err, db.FieldPassword, passwordConfirm)
	return render(c, formStatus(err), views.ResetPage(props))
}
