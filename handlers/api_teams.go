package handlers

import (
	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
)

// TeamList handles GET /v1/teams: the organization's teams with their members and member teams;
// ?name= and ?description= (a value or a regular expression) filter.
func (a *API) TeamList(c echo.Context) error {
	var f db.TeamFilter
	var err error
	if f.Name, err = db.ParseTextMatch("name", c.QueryParam("name")); err != nil {
		return err
	}
	if f.Description, err = db.ParseTextMatch("description", c.QueryParam("description")); err != nil {
		return err
	}
	teams, err := a.Store.FindTeams(c.Request().Context(), actor(c), f)
	if err != nil {
		return err
	}
	out := []teamJSON{}
	for i := range teams {
		out = append(out, newTeamJSON(&teams[i]))
	}
	return sendJSON(c, out)
}

// TeamCreate handles POST /v1/teams, admins only.
func (a *API) TeamCreate(c echo.Context) error {
	var in createTeamRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t, err := a.Store.CreateTeam(c.Request().Context(), actor(c), in.Name, in.Description)
	if err != nil {
		return err
	}
	return sendJSON(c, newTeamJSON(t))
}

// TeamGet handles GET /v1/teams/{teamID}.
func (a *API) TeamGet(c echo.Context) error {
	t, err := a.Store.TeamByID(c.Request().Context(), actor(c), pathID(c, "teamID"))
	if err != nil {
		return err
	}
	return sendJSON(c, newTeamJSON(t))
}

// TeamUpdate handles PATCH /v1/teams/{teamID}: rename, describe, add and remove members and member
// teams (a cycle is 400), admins and the team's Owners only.
// Secrets left with no Owner by a removal are deleted, as the last-Owner rule says.
func (a *API) TeamUpdate(c echo.Context) error {
	var in updateTeamRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	id := pathID(c, "teamID")
	ch := db.TeamChange{Name: in.Name, Description: in.Description, AddUserIDs: lowerAll(in.AddMemberUserIDs),
		AddEmails: in.AddMemberUserEmails, RemoveUserIDs: lowerAll(in.RemoveMemberUserIDs), RemoveEmails: in.RemoveMemberUserEmails,
		AddTeamIDs: lowerAll(in.AddMemberTeamIDs), RemoveTeamIDs: lowerAll(in.RemoveMemberTeamIDs)}
	if _, err := a.Store.UpdateTeam(c.Request().Context(), actor(c), id, ch); err != nil {
		return err
	}
	return sendJSON(c, teamIDJSON{TeamID: id})
}

// TeamDelete handles DELETE /v1/teams/{teamID}, admins only.
func (a *API) TeamDelete(c echo.Context) error {
	id := pathID(c, "teamID")
	if _, err := a.Store.DeleteTeam(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	return sendJSON(c, teamIDJSON{TeamID: id})
}
