package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
	"github.com/keyhold/keyhold/web/request"
)

// MembersPage handles GET /members: every member of the organization (and, for admins, its
// invitations), or with HX-Request the table fragment (refresh after a change). Admins get the
// controls; db refuses changes from anyone else.
func (p *Pages) MembersPage(c echo.Context) error {
	a := actor(c)
	r, err := p.Store.Roster(c.Request().Context(), a)
	if err != nil {
		return err
	}
	now := time.Now()
	props := views.MembersProps{CanManage: a.IsAdmin(), Now: now}
	for _, m := range r.Members {
		props.Rows = append(props.Rows, views.MemberItem{Person: person(m.User), Admin: m.Role == db.OrgAdmin,
			JoinedAt: m.JoinedAt, You: m.ID == a.UserID})
	}
	for _, inv := range r.Invitations {
		props.Invitations = append(props.Invitations, invitationItem(inv, now))
	}
	if request.IsFragment(c) {
		return render(c, http.StatusOK, views.MembersTable(props))
	}
	return p.page(c, "Members", "members", views.MembersPage(props))
}

func invitationItem(inv db.Invitation, now time.Time) views.InvitationItem {
	it := views.InvitationItem{ID: inv.ID, Email: inv.Email, Admin: inv.Role == db.OrgAdmin, InvitedBy: "keyhold CLI",
		State: invitationState(inv, now), CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt}
	if inv.CreatedBy.ID != "" {
		it.InvitedBy = inv.CreatedBy.Name
	}
	for _, t := range inv.Teams {
		it.Teams = append(it.Teams, t.Name)
	}
	return it
}

// invitationState spells an invitation's state for people.
func invitationState(inv db.Invitation, now time.Time) string {
	switch {
	case inv.Expired(now):
		return "Expired"
	case inv.State == db.InvitationRefused:
		return "Declined"
	}
	return strings.ToUpper(string(inv.State[:1])) + string(inv.State[1:])
}

// InviteNew handles GET /members/invite: the Invite member dialog.
func (p *Pages) InviteNew(c echo.Context) error {
	form, err := p.inviteForm(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.InviteDialog(form))
}

// inviteForm is the Invite dialog with the organization's teams to choose from (admins only: db
// refuses anyone else).
func (p *Pages) inviteForm(c echo.Context) (views.InviteForm, error) {
	teams, err := p.Store.InvitationTeams(c.Request().Context(), actor(c))
	if err != nil {
		return views.InviteForm{}, err
	}
	form := views.InviteForm{Chosen: map[string]bool{}}
	for _, t := range teams {
		form.Teams = append(form.Teams, views.Option{Value: t.ID, Label: t.Name})
	}
	return form, nil
}

// InviteCreate handles POST /invitations from the Invite dialog: the invitation is made and its link
// shown once, for the admin to hand over. The answer is the same whether or not the email has a
// keyhold account.
func (p *Pages) InviteCreate(c echo.Context) error {
	params, err := c.FormParams()
	if err != nil {
		return err
	}
	email, role := strings.TrimSpace(c.FormValue("email")), db.OrgRole(c.FormValue("role"))
	token, inv, err := p.Store.CreateInvitation(c.Request().Context(), actor(c),
		db.NewInvitation{Email: email, Role: role, TeamIDs: params["team"]})
	if code := db.ErrorCode(err); code == db.CodeInvalid || code == db.CodeConflict {
		// The dialog again, with what was chosen and the refusal.
		form, ferr := p.inviteForm(c)
		if ferr != nil {
			return ferr
		}
		form.Email, form.Admin, form.Err, form.ErrField = email, role == db.OrgAdmin, db.ErrorMessage(err), fieldOf(err, db.FieldEmail)
		for _, id := range params["team"] {
			form.Chosen[id] = true
		}
		return render(c, http.StatusUnprocessableEntity, views.InviteDialog(form))
	} else if err != nil {
		return err
	}
	c.Response().Header().Set("HX-Trigger", "members-changed")
	return render(c, http.StatusOK, views.InviteCreatedDialog(views.InviteCreated{Email: inv.Email,
		Link: p.link(c, "/invite/"+token), ExpiresAt: inv.ExpiresAt, Replaced: inv.Replaced}))
}

// link is the absolute address of path on this keyhold: under PublicURL when set, otherwise under the
// address the request came to.
func (p *Pages) link(c echo.Context, path string) string {
	if p.PublicURL != "" {
		return strings.TrimSuffix(p.PublicURL, "/") + path
	}
	return c.Scheme() + "://" + c.Request().Host + path
}

// InviteRevokeConfirm handles GET /invitations/:id/revoke: the confirmation.
func (p *Pages) InviteRevokeConfirm(c echo.Context) error {
	inv, err := p.Store.InvitationByID(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.RevokeInviteDialog(views.InviteRevoke{ID: inv.ID, Email: inv.Email}))
}

// InviteRevoke handles DELETE /invitations/:id: the invitation's link stops working.
func (p *Pages) InviteRevoke(c echo.Context) error {
	inv, err := p.Store.RevokeInvitation(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return notify(c, "members-changed", "Revoked the invitation of "+inv.Email+".")
}

// MemberRole handles POST /members/:id/role from the role select. The table reloads whatever the
// outcome, so a refused change (the last admin) puts the select back.
func (p *Pages) MemberRole(c echo.Context) error {
	a := actor(c)
	role := db.OrgRole(c.FormValue("role"))
	c.Response().Header().Set("HX-Trigger", "members-changed")
	if err := p.Store.SetMemberRole(c.Request().Context(), a, c.Param("id"), role); err != nil {
		return err
	}
	if c.Param("id") == a.UserID {
		return redirect(c, "/members") // no longer an admin: draw the page without the controls
	}
	if role == db.OrgAdmin {
		return render(c, http.StatusOK, views.Toast("Role changed to Admin."))
	}
	return render(c, http.StatusOK, views.Toast("Role changed to Member."))
}

// MemberRemoveConfirm handles GET /members/:id/remove: the confirmation, listing the secrets the
// removal would delete (a preview that changes nothing).
func (p *Pages) MemberRemoveConfirm(c echo.Context) error {
	a := actor(c)
	r, err := p.Store.PreviewRemoveMember(c.Request().Context(), a, c.Param("id"))
	if db.ErrorCode(err) == db.CodeConflict {
		return render(c, http.StatusConflict, views.RemoveMemberDialog(memberRemoveProps(a, r, err, p.trashDays())))
	} else if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.RemoveMemberDialog(memberRemoveProps(a, r, nil, p.trashDays())))
}

// MemberRemove handles DELETE /members/:id: the member leaves the organization, and secrets left
// with no Owner are deleted in the same transaction.
func (p *Pages) MemberRemove(c echo.Context) error {
	a := actor(c)
	r, err := p.Store.RemoveMember(c.Request().Context(), a, c.Param("id"))
	if db.ErrorCode(err) == db.CodeConflict {
		return render(c, http.StatusConflict, views.RemoveMemberDialog(memberRemoveProps(a, r, err, p.trashDays())))
	} else if err != nil {
		return err
	}
	if r.Member.ID == a.UserID {
		return redirect(c, "/") // the session moves to another organization, or ends
	}
	return notify(c, "members-changed, secrets-changed", "Removed "+r.Member.Email+" from the organization."+deletedNote(r.Deleted))
}

// memberRemoveProps fills the Remove dialog from what the removal did or would do, with the refusal
// refused when there is one.
func memberRemoveProps(a db.Actor, r *db.MemberRemoval, refused error, trashDays int) views.MemberRemove {
	props := views.MemberRemove{Person: person(r.Member.User), You: r.Member.ID == a.UserID, Secrets: secretNames(r.Deleted), TrashDays: trashDays}
	if refused != nil {
		props.Err = db.ErrorMessage(refused)
	}
	return props
}

func person(u db.User) views.Person {
	return views.Person{ID: u.ID, Name: u.Name(), Email: u.Email}
}

func secretNames(secs []db.Secret) []string {
	var out []string
	for _, s := range secs {
		out = append(out, s.Name)
	}
	return out
}

// deletedNote is the sentence a toast adds when the last-Owner rule deleted secrets.
func deletedNote(secs []db.Secret) string {
	if len(secs) == 0 {
		return ""
	}
	return " Deleted " + views.Plural(len(secs), "secret") + "."
}
