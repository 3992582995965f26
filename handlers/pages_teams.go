package handlers

import (
	"context"
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
	"github.com/keyhold/keyhold/web/request"
)

// TeamsPage handles GET /teams: the organization's teams, or with HX-Request the list fragment.
// Admins get the controls; db refuses changes from anyone else.
func (p *Pages) TeamsPage(c echo.Context) error {
	a := actor(c)
	ts, err := p.Store.ListTeams(c.Request().Context(), a)
	if err != nil {
		return err
	}
	props := views.TeamsProps{CanManage: a.IsAdmin()}
	for _, t := range ts {
		props.Rows = append(props.Rows, views.TeamItem{ID: t.ID, Name: t.Name, Description: t.Description, Members: people(t.Members)})
	}
	if request.IsFragment(c) {
		return render(c, http.StatusOK, views.TeamsList(props))
	}
	return p.page(c, "Teams", "teams", views.TeamsPage(props))
}

// TeamNew handles GET /teams/new: the New team dialog.
func (p *Pages) TeamNew(c echo.Context) error {
	return render(c, http.StatusOK, views.TeamDialog(views.TeamForm{}))
}

// TeamCreate handles POST /teams from the New team dialog.
func (p *Pages) TeamCreate(c echo.Context) error {
	form := views.TeamForm{Name: strings.TrimSpace(c.FormValue("name")), Description: strings.TrimSpace(c.FormValue("description"))}
	t, err := p.Store.CreateTeam(c.Request().Context(), actor(c), form.Name, form.Description)
	if code := db.ErrorCode(err); code == db.CodeInvalid || code == db.CodeConflict {
		form.Err = db.ErrorMessage(err)
		return render(c, http.StatusUnprocessableEntity, views.TeamDialog(form))
	} else if err != nil {
		return err
	}
	return notify(c, "teams-changed", "Created team "+t.Name+".")
}

// TeamEdit handles GET /teams/:id/edit: the Edit team dialog (name and description).
func (p *Pages) TeamEdit(c echo.Context) error {
	t, err := p.Store.TeamByID(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.TeamDialog(views.TeamForm{ID: t.ID, Name: t.Name, Description: t.Description}))
}

// TeamUpdate handles PUT /teams/:id from the Edit team dialog. Renaming removes nobody, so it deletes
// no secret and needs no confirmation.
func (p *Pages) TeamUpdate(c echo.Context) error {
	form := views.TeamForm{ID: c.Param("id"), Name: strings.TrimSpace(c.FormValue("name")), Description: strings.TrimSpace(c.FormValue("description"))}
	_, err := p.Store.UpdateTeam(c.Request().Context(), actor(c), form.ID, db.TeamChange{Name: &form.Name, Description: &form.Description})
	if code := db.ErrorCode(err); code == db.CodeInvalid || code == db.CodeConflict {
		form.Err = db.ErrorMessage(err)
		return render(c, http.StatusUnprocessableEntity, views.TeamDialog(form))
	} else if err != nil {
		return err
	}
	return notify(c, "teams-changed", "Saved team "+form.Name+".")
}

// TeamMembers handles GET /teams/:id/members: the team's members, with Remove and a field to add one.
func (p *Pages) TeamMembers(c echo.Context) error {
	props, err := p.teamMembersProps(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.TeamMembersDialog(props))
}

// TeamMemberAdd handles POST /teams/:id/members: adds the organization member with that email and
// draws the members panel again (with the refusal, for someone outside the organization).
func (p *Pages) TeamMemberAdd(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	email := strings.TrimSpace(c.FormValue("email"))
	var err error
	if email == "" {
		err = db.Errorf(db.CodeInvalid, "Enter the email of the member to add.")
	} else {
		_, err = p.Store.UpdateTeam(ctx, a, c.Param("id"), db.TeamChange{AddEmails: []string{email}})
	}
	if code := db.ErrorCode(err); err != nil && code != db.CodeInvalid {
		return err
	}
	props, perr := p.teamMembersProps(ctx, a, c.Param("id"))
	if perr != nil {
		return perr
	}
	if err != nil {
		props.Email, props.Err = email, db.ErrorMessage(err)
		return render(c, http.StatusUnprocessableEntity, views.TeamMembersPanel(props))
	}
	c.Response().Header().Set("HX-Trigger", "teams-changed")
	return render(c, http.StatusOK, templ.Join(views.TeamMembersPanel(props), views.Toast("Added "+email+" to "+props.TeamName+".")))
}

// TeamMemberRemoveConfirm handles GET /teams/:id/members/:user/remove: the confirmation, listing the
// secrets that would be deleted because no Owner user would be left (a preview that changes nothing).
func (p *Pages) TeamMemberRemoveConfirm(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	secs, err := p.Store.PreviewUpdateTeam(ctx, a, c.Param("id"), db.TeamChange{RemoveUserIDs: []string{c.Param("user")}})
	if err != nil {
		return err
	}
	props, err := p.teamConfirmProps(ctx, a, c.Param("id"), c.Param("user"))
	if err != nil {
		return err
	}
	props.Secrets = secretNames(secs)
	return render(c, http.StatusOK, views.TeamConfirmDialog(props))
}

// TeamMemberRemove handles DELETE /teams/:id/members/:user and goes back to the members dialog.
func (p *Pages) TeamMemberRemove(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	confirm, err := p.teamConfirmProps(ctx, a, c.Param("id"), c.Param("user"))
	if err != nil {
		return err
	}
	secs, err := p.Store.UpdateTeam(ctx, a, confirm.TeamID, db.TeamChange{RemoveUserIDs: []string{confirm.Member.ID}})
	if err != nil {
		return err
	}
	props, err := p.teamMembersProps(ctx, a, confirm.TeamID)
	if err != nil {
		return err
	}
	msg := "Removed " + confirm.Member.Name + " from " + confirm.TeamName + "." + deletedNote(secs)
	c.Response().Header().Set("HX-Trigger", "teams-changed, secrets-changed")
	return render(c, http.StatusOK, templ.Join(views.TeamMembersDialog(props), views.Toast(msg)))
}

// TeamDeleteConfirm handles GET /teams/:id/delete: the confirmation, listing the secrets that would
// be deleted with the team (a preview that changes nothing).
func (p *Pages) TeamDeleteConfirm(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	secs, err := p.Store.PreviewDeleteTeam(ctx, a, c.Param("id"))
	if err != nil {
		return err
	}
	props, err := p.teamConfirmProps(ctx, a, c.Param("id"), "")
	if err != nil {
		return err
	}
	props.Secrets = secretNames(secs)
	return render(c, http.StatusOK, views.TeamConfirmDialog(props))
}

// TeamDelete handles DELETE /teams/:id: the team, its grants and the secrets left with no Owner go in
// one transaction.
func (p *Pages) TeamDelete(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	t, err := p.Store.TeamByID(ctx, a, c.Param("id"))
	if err != nil {
		return err
	}
	secs, err := p.Store.DeleteTeam(ctx, a, t.ID)
	if err != nil {
		return err
	}
	return notify(c, "teams-changed, secrets-changed", "Deleted team "+t.Name+"."+deletedNote(secs))
}

// teamMembersProps fills the members dialog: the team's members, and the organization's other
// members as suggestions.
func (p *Pages) teamMembersProps(ctx context.Context, a db.Actor, teamID string) (views.TeamMembersProps, error) {
	t, err := p.Store.TeamByID(ctx, a, teamID)
	if err != nil {
		return views.TeamMembersProps{}, err
	}
	ms, err := p.Store.ListMembers(ctx, a, "")
	if err != nil {
		return views.TeamMembersProps{}, err
	}
	props := views.TeamMembersProps{TeamID: t.ID, TeamName: t.Name, Members: people(t.Members)}
	in := map[string]bool{}
	for _, m := range t.Members {
		in[m.ID] = true
	}
	for _, m := range ms {
		if !in[m.ID] {
			props.Candidates = append(props.Candidates, person(m.User))
		}
	}
	return props, nil
}

// teamConfirmProps names the team and, when userID is set, the member to take out of it. It returns
// CodeNotFound.
func (p *Pages) teamConfirmProps(ctx context.Context, a db.Actor, teamID, userID string) (views.TeamConfirm, error) {
	t, err := p.Store.TeamByID(ctx, a, teamID)
	if err != nil {
		return views.TeamConfirm{}, err
	}
	props := views.TeamConfirm{TeamID: t.ID, TeamName: t.Name}
	if userID == "" {
		return props, nil
	}
	for _, m := range people(t.Members) {
		if m.ID == userID {
			props.Member = m
			return props, nil
		}
	}
	return views.TeamConfirm{}, db.Errorf(db.CodeNotFound, "%s has no such member.", t.Name)
}

func people(us []db.UserRef) []views.Person {
	out := make([]views.Person, 0, len(us))
	for _, u := range us {
		out = append(out, views.Person{ID: u.ID, Name: u.Name, Email: u.Email})
	}
	return out
}
