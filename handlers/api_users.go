package handlers

import (
	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
)

// OrgCurrent handles GET /v1/organizations/current: the key's organization. keyhold has no firewall,
// so firewallRanges is always empty.
func (a *API) OrgCurrent(c echo.Context) error {
	org, err := a.Store.Org(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	return sendJSON(c, orgJSON{OrgID: org.ID, Name: org.Name, FirewallRanges: []string{}})
}

// UserList handles GET /v1/users: the organization's members; ?email= (a value or a regular
// expression) filters, ?fields= trims.
func (a *API) UserList(c echo.Context) error {
	email, err := db.ParseTextMatch("email", c.QueryParam("email"))
	if err != nil {
		return err
	}
	ms, err := a.Store.FindMembers(c.Request().Context(), actor(c), email)
	if err != nil {
		return err
	}
	out := []userJSON{}
	for _, m := range ms {
		out = append(out, newUserJSON(m.User))
	}
	return sendFields(c, out)
}

// UserCurrent handles GET /v1/users/current: the user the key acts as.
func (a *API) UserCurrent(c echo.Context) error {
	me := actor(c)
	m, err := a.Store.MemberByID(c.Request().Context(), me, me.UserID)
	if db.ErrorCode(err) == db.CodeNotFound {
		return db.Errorf(db.CodeUnauthorized, "Invalid or missing API key.") // the user left since the key was checked
	} else if err != nil {
		return err
	}
	return sendFields(c, newUserJSON(m.User))
}

// UserRemove handles DELETE /v1/users/{userID}: the user leaves the organization, admins only. Secrets
// left with no Owner are deleted, as the last-Owner rule says.
func (a *API) UserRemove(c echo.Context) error {
	id := pathID(c, "userID")
	if _, err := a.Store.RemoveMember(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	return sendJSON(c, userIDJSON{UserID: id})
}
