package handlers

import (
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
	"github.com/keyhold/keyhold/web/request"
)

// TeamsPage handles GET /teams: the organization's teams with their nesting, or with HX-Request the
// list fragment. Admins get the controls, a team's Owners those of their team; db refuses changes
// from anyone else.
func (p *Pages) TeamsPage(c echo.Context) error {
	a := actor(c)
	o, err := p.Store.TeamsOverview(c.Request().Context(), a)
	if err != nil {
		return err
	}
	props := views.TeamsProps{CanManage: a.IsAdmin(), Actions: a.IsAdmin()}
	for _, t := range o.Teams {
		row := views.TeamItem{ID: t.ID, Name: t.Name, Description: t.Description, Members: people(t.Members), Manage: o.Managed[t.ID]}
		for _, mt := range t.MemberTeams {
			row.MemberTeams = append(row.MemberTeams, mt.Name)
		}
		for _, path := range o.Paths[t.ID] {
			row.Inside = append(row.Inside, path[:len(path)-1])
		}
		props.Actions = props.Actions || row.Manage
		props.Rows = append(props.Rows, row)
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
		form.Err, form.ErrField = db.ErrorMessage(err), fieldOf(err, db.FieldName, db.FieldDesc)
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
		form.Err, form.ErrField = db.ErrorMessage(err), fieldOf(err, db.FieldName, db.FieldDesc)
		return render(c, http.StatusUnprocessableEntity, views.TeamDialog(form))
	} else if err != nil {
		return err
	}
	return notify(c, "teams-changed", "Saved team "+form.Name+".")
}

// TeamMembers handles GET /teams/:id/members: the team's members, with Remove and a field to add one.
func (p *Pages) TeamMembers(c echo.Context) error {
	v, err := p.Store.TeamView(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.TeamMembersDialog(teamMembersProps(v)))
}

// TeamMemberAdd handles POST /teams/:id/members: adds the organization member with that email and
// draws the members panel again. A refusal (no email, someone outside the organization) draws only
// the add form again, with the email and the message, in place of itself: the members and the
// suggestions on the page are still right, and nothing is read to redraw them.
func (p *Pages) TeamMemberAdd(c echo.Context) error {
	teamID := c.Param("id")
	email := strings.TrimSpace(c.FormValue("email"))
	if email == "" {
		return teamAddRefused(c, teamID, email, db.FieldEmail, "Enter the email of the member to add.")
	}
	v, err := p.Store.UpdateTeam(c.Request().Context(), actor(c), teamID, db.TeamChange{AddEmails: []string{email}, NonMembers: true})
	if db.ErrorCode(err) == db.CodeInvalid {
		return teamAddRefused(c, teamID, email, fieldOf(err, db.FieldEmail), db.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	props := teamMembersProps(v)
	c.Response().Header().Set("HX-Trigger", "teams-changed")
	return render(c, http.StatusOK, templ.Join(views.TeamMembersPanel(props), views.Toast("Added "+email+" to "+props.TeamName+".")))
}

// teamAddRefused answers 422 with the members dialog's add form alone, holding email and msg (under
// the field when field is db.FieldEmail), swapped in place of the form on the page (HX-Retarget)
// instead of the whole panel.
func teamAddRefused(c echo.Context, teamID, email, field, msg string) error {
	c.Response().Header().Set("HX-Retarget", "#team-add-form")
	c.Response().Header().Set("HX-Reswap", "outerHTML")
	return render(c, http.StatusUnprocessableEntity, views.TeamAddForm(views.TeamMembersProps{TeamID: teamID, Email: email, Err: msg, ErrField: field}))
}

// TeamMemberRemoveConfirm handles GET /teams/:id/members/:user/remove: the confirmation, listing the
// secrets that would be deleted because no Owner user would be left (a preview that changes nothing).
func (p *Pages) TeamMemberRemoveConfirm(c echo.Context) error {
	v, err := p.Store.PreviewUpdateTeam(c.Request().Context(), actor(c), c.Param("id"), db.TeamChange{RemoveUserIDs: []string{c.Param("user")}})
	if err != nil {
		return err
	}
	props, err := teamRemoveProps(v, p.trashDays())
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.TeamConfirmDialog(props))
}

// TeamMemberRemove handles DELETE /teams/:id/members/:user and goes back to the members dialog.
func (p *Pages) TeamMemberRemove(c echo.Context) error {
	v, err := p.Store.UpdateTeam(c.Request().Context(), actor(c), c.Param("id"), db.TeamChange{RemoveUserIDs: []string{c.Param("user")}, NonMembers: true})
	if err != nil {
		return err
	}
	confirm, err := teamRemoveProps(v, p.trashDays()) // not in the team: the change removed nobody, so changed nothing
	if err != nil {
		return err
	}
	msg := "Removed " + confirm.Member.Name + " from " + confirm.TeamName + "." + deletedNote(v.Deleted)
	c.Response().Header().Set("HX-Trigger", "teams-changed, secrets-changed")
	return render(c, http.StatusOK, templ.Join(views.TeamMembersDialog(teamMembersProps(v)), views.Toast(msg)))
}

// TeamDeleteConfirm handles GET /teams/:id/delete: the confirmation, listing the secrets that would
// be deleted with the team (a preview that changes nothing).
func (p *Pages) TeamDeleteConfirm(c echo.Context) error {
	v, err := p.Store.PreviewDeleteTeam(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.TeamConfirmDialog(views.TeamConfirm{TeamID: v.Team.ID, TeamName: v.Team.Name, Secrets: secretNames(v.Deleted), TrashDays: p.trashDays()}))
}

// TeamDelete handles DELETE /teams/:id: the team, its grants and the secrets left with no Owner go in
// one transaction.
func (p *Pages) TeamDelete(c echo.Context) error {
	v, err := p.Store.DeleteTeam(c.Request().Context(), actor(c), c.Param("id"))
	if err != nil {
		return err
	}
	return notify(c, "teams-changed, secrets-changed", "Deleted team "+v.Team.Name+"."+deletedNote(v.Deleted))
}

// teamMembersProps fills the members dialog from v: the team's members, and the organization's other
// members as suggestions.
func teamMembersProps(v *db.TeamView) views.TeamMembersProps {
	return views.TeamMembersProps{TeamID: v.Team.ID, TeamName: v.Team.Name, Members: people(v.Team.Members), Candidates: people(v.NonMembers)}
}

// teamRemoveProps fills the confirmation of taking a member out of a team from the change's view (or
// its preview's): the member it removed and the secrets it deleted. A change that removed nobody
// named someone not in the team: CodeNotFound.
func teamRemoveProps(v *db.TeamView, trashDays int) (views.TeamConfirm, error) {
	if len(v.Removed) == 0 {
		return views.TeamConfirm{}, db.Errorf(db.CodeNotFound, "%s has no such member.", v.Team.Name)
	}
	m := v.Removed[0]
	return views.TeamConfirm{TeamID: v.Team.ID, TeamName: v.Team.Name, Member: views.Person{ID: m.ID, Name: m.Name, Email: m.Email}, Secrets: secretNames(v.Deleted), TrashDays: trashDays}, nil
}

func people(us []db.UserRef) []views.Person {
	out := make([]views.Person, 0, len(us))
	for _, u := range us {
		out = append(out, views.Person{ID: u.ID, Name: u.Name, Email: u.Email})
	}
	return out
}
