package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
)

// MembersPage handles GET /members: every member of the organization, or with HX-Request the table
// fragment (refresh after a change). Admins get the controls; db refuses changes from anyone else.
func (p *Pages) MembersPage(c echo.Context) error {
	a := actor(c)
	ms, err := p.Store.ListMembers(c.Request().Context(), a, "")
	if err != nil {
		return err
	}
	props := views.MembersProps{CanManage: a.IsAdmin(), Now: time.Now()}
	for _, m := range ms {
		props.Rows = append(props.Rows, views.MemberItem{Person: person(m.User), Admin: m.Role == db.OrgAdmin,
			JoinedAt: m.JoinedAt, You: m.ID == a.UserID})
	}
	if isFragment(c) {
		return Render(c, http.StatusOK, views.MembersTable(props))
	}
	return p.page(c, "Members", "members", views.MembersPage(props))
}

// MemberNew handles GET /members/new: the Add member dialog.
func (p *Pages) MemberNew(c echo.Context) error {
	return Render(c, http.StatusOK, views.AddMemberDialog(views.MemberForm{MinPassword: db.MinPasswordLen}))
}

// MemberAdd handles POST /members from the Add member dialog: an existing user by email, or a new user
// with a name and an initial password.
func (p *Pages) MemberAdd(c echo.Context) error {
	form := views.MemberForm{
		Email:       strings.TrimSpace(c.FormValue("email")),
		FirstName:   strings.TrimSpace(c.FormValue("first_name")),
		LastName:    strings.TrimSpace(c.FormValue("last_name")),
		Admin:       c.FormValue("role") == string(db.OrgAdmin),
		MinPassword: db.MinPasswordLen,
	}
	nu := db.NewUser{Email: form.Email, FirstName: form.FirstName, LastName: form.LastName, Password: c.FormValue("password")}
	m, err := p.Store.AddMember(c.Request().Context(), actor(c), nu, db.OrgRole(c.FormValue("role")))
	if code := db.ErrorCode(err); code == db.CodeInvalid || code == db.CodeConflict {
		form.Err = db.ErrorMessage(err)
		return Render(c, http.StatusUnprocessableEntity, views.AddMemberDialog(form))
	} else if err != nil {
		return err
	}
	return notify(c, "members-changed", "Added "+m.Email+" to the organization.")
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
		return Render(c, http.StatusOK, views.Toast("Role changed to Admin."))
	}
	return Render(c, http.StatusOK, views.Toast("Role changed to Member."))
}

// MemberRemoveConfirm handles GET /members/:id/remove: the confirmation, listing the secrets the
// removal would delete (a preview that changes nothing).
func (p *Pages) MemberRemoveConfirm(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	secs, err := p.Store.RemoveMember(ctx, a, c.Param("id"), true)
	if err != nil && db.ErrorCode(err) != db.CodeConflict {
		return err
	}
	props, lerr := p.memberRemoveProps(ctx, a, c.Param("id"))
	if lerr != nil {
		return lerr
	}
	if err != nil {
		props.Err = db.ErrorMessage(err)
		return Render(c, http.StatusConflict, views.RemoveMemberDialog(props))
	}
	props.Secrets = secretNames(secs)
	return Render(c, http.StatusOK, views.RemoveMemberDialog(props))
}

// MemberRemove handles DELETE /members/:id: the member leaves the organization, and secrets left
// with no Owner are deleted in the same transaction.
func (p *Pages) MemberRemove(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	props, err := p.memberRemoveProps(ctx, a, c.Param("id"))
	if err != nil {
		return err
	}
	secs, err := p.Store.RemoveMember(ctx, a, props.ID, false)
	if db.ErrorCode(err) == db.CodeConflict {
		props.Err = db.ErrorMessage(err)
		return Render(c, http.StatusConflict, views.RemoveMemberDialog(props))
	} else if err != nil {
		return err
	}
	if props.You {
		return redirect(c, "/") // the session moves to another organization, or ends
	}
	return notify(c, "members-changed, secrets-changed", "Removed "+props.Email+" from the organization."+deletedNote(secs))
}

// memberRemoveProps names the member userID for the Remove dialog. It returns CodeNotFound.
func (p *Pages) memberRemoveProps(ctx context.Context, a db.Actor, userID string) (views.MemberRemove, error) {
	ms, err := p.Store.ListMembers(ctx, a, "")
	if err != nil {
		return views.MemberRemove{}, err
	}
	for _, m := range ms {
		if m.ID == userID {
			return views.MemberRemove{Person: person(m.User), You: m.ID == a.UserID}, nil
		}
	}
	return views.MemberRemove{}, db.Errorf(db.CodeNotFound, "No such member.")
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
