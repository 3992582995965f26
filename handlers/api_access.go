package handlers

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
)

// Identities, roles and access controls of the organization and its teams, and the fields filter of
// the listings.

// UserGet handles GET /v1/users/{userID}: a member of the key's organization, else 404.
func (a *API) UserGet(c echo.Context) error {
	m, err := a.Store.MemberByID(c.Request().Context(), actor(c), pathID(c, "userID"))
	if err != nil {
		return err
	}
	return sendJSON(c, newUserJSON(m.User))
}

// UserIdentityRoles handles GET /v1/users/{userID}/identityRoles: the roles the member holds,
// directly and through teams, on what the caller can see; ?resourceType= keeps one kind.
func (a *API) UserIdentityRoles(c echo.Context) error {
	roles, err := a.Store.UserIdentityRoles(c.Request().Context(), actor(c), pathID(c, "userID"), c.QueryParam("resourceType"))
	if err != nil {
		return err
	}
	return sendJSON(c, newIdentityRolesJSON(roles))
}

// TeamIdentityRoles handles GET /v1/teams/{teamID}/identityRoles.
func (a *API) TeamIdentityRoles(c echo.Context) error {
	roles, err := a.Store.TeamIdentityRoles(c.Request().Context(), actor(c), pathID(c, "teamID"), c.QueryParam("resourceType"))
	if err != nil {
		return err
	}
	return sendJSON(c, newIdentityRolesJSON(roles))
}

func newIdentityRolesJSON(roles []db.IdentityRole) []identityRoleJSON {
	out := []identityRoleJSON{}
	for _, r := range roles {
		out = append(out, identityRoleJSON{ResourceType: r.ResourceType, ResourceID: r.ResourceID, Role: r.Role})
	}
	return out
}

// OrgAccessList handles GET /v1/organizations/{organizationID}/accessControls: Owner (the admins) and
// Member.
func (a *API) OrgAccessList(c echo.Context) error {
	entries, err := a.Store.OrgAccess(c.Request().Context(), actor(c), orgPathID(c))
	if err != nil {
		return err
	}
	return sendJSON(c, newAccessRolesJSON(entries, orgRoleDescriptions))
}

// OrgAccessChange handles PATCH /v1/organizations/{organizationID}/accessControls, admins only: all
// or nothing, and at least one Owner remains (409).
func (a *API) OrgAccessChange(c echo.Context) error {
	grants, revokes, err := decodeRoleGrants(c)
	if err != nil {
		return err
	}
	if err := a.Store.ChangeOrgAccess(c.Request().Context(), actor(c), orgPathID(c), grants, revokes); err != nil {
		return err
	}
	return sendJSON(c, struct{}{})
}

// TeamAccessList handles GET /v1/teams/{teamID}/accessControls: who manages the team (Owner) and who
// is in it (Member; inheritedFrom on those inside a member team).
func (a *API) TeamAccessList(c echo.Context) error {
	entries, err := a.Store.TeamAccess(c.Request().Context(), actor(c), pathID(c, "teamID"))
	if err != nil {
		return err
	}
	return sendJSON(c, newAccessRolesJSON(entries, teamRoleDescriptions))
}

// TeamAccessChange handles PATCH /v1/teams/{teamID}/accessControls, admins and the team's Owners.
func (a *API) TeamAccessChange(c echo.Context) error {
	grants, revokes, err := decodeRoleGrants(c)
	if err != nil {
		return err
	}
	if _, err := a.Store.ChangeTeamAccess(c.Request().Context(), actor(c), pathID(c, "teamID"), grants, revokes); err != nil {
		return err
	}
	return sendJSON(c, struct{}{})
}

// orgPathID is the path's organizationID; "current" names the key's organization, as in
// /v1/organizations/current.
func orgPathID(c echo.Context) string {
	if id := pathID(c, "organizationID"); id != "current" {
		return id
	}
	return actor(c).OrgID
}

func decodeRoleGrants(c echo.Context) (grants, revokes []db.RoleGrant, err error) {
	var in controlAccessRequest
	if err := decodeJSON(c, &in); err != nil {
		return nil, nil, err
	}
	conv := func(list []roleChangeJSON) []db.RoleGrant {
		var out []db.RoleGrant
		for _, r := range list {
			out = append(out, db.RoleGrant{Role: r.Role, UserIDs: lowerAll(r.Users), TeamIDs: lowerAll(r.Teams)})
		}
		return out
	}
	return conv(in.Grants), conv(in.Revokes), nil
}

var orgRoleDescriptions = map[string]string{
	db.RoleNameOwner:  "Organization admin: manages members, invitations and teams",
	db.RoleNameMember: "Member of the organization",
}

var teamRoleDescriptions = map[string]string{
	db.RoleNameOwner:  "Manages the team: its name, members, member teams and Owners",
	db.RoleNameMember: "In the team: holds the team's access",
}

// newAccessRolesJSON groups access entries by role, Owner first, one entry per role with grants.
func newAccessRolesJSON(entries []db.AccessEntry, descriptions map[string]string) []resourceRoleJSON {
	out := []resourceRoleJSON{}
	for _, role := range []string{db.RoleNameOwner, db.RoleNameMember} {
		rr := resourceRoleJSON{Role: role, Description: descriptions[role]}
		for _, e := range entries {
			if e.Role != role {
				continue
			}
			var g grantJSON
			if e.Kind == db.PrincipalTeam {
				g.Identity = teamInfoJSON{TeamID: e.Team.ID, Name: e.Team.Name, Description: e.Team.Description}
			} else {
				g.Identity = newUserInfoJSON(e.User)
			}
			g.CreatedAt = apiTime(e.CreatedAt)
			if e.CreatedBy.ID != "" {
				by := newUserInfoJSON(e.CreatedBy)
				g.CreatedBy = &by
			}
			if e.Via != nil {
				g.InheritedFrom = &inheritedFromJSON{ResourceType: e.Via.ResourceType, ResourceID: e.Via.ResourceID, Role: e.Via.Role}
			}
			rr.Grants = append(rr.Grants, g)
		}
		if len(rr.Grants) > 0 {
			out = append(out, rr)
		}
	}
	return out
}

// sendFields answers v (an object or a list of objects) trimmed to the fields named by ?fields=a,b
// when it is set. A name the answer does not have is 400, naming the ones it has.
func sendFields(c echo.Context, v any) error {
	param := c.QueryParam("fields")
	if strings.TrimSpace(param) == "" {
		return sendJSON(c, v)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var known []string
	switch t := v.(type) {
	case userJSON:
		known = jsonFields(t)
	case []userJSON:
		known = jsonFields(userJSON{})
	case []invitationJSON:
		known = jsonFields(invitationJSON{})
	}
	want := map[string]bool{}
	for _, f := range strings.Split(param, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !slices.Contains(known, f) {
			return db.Errorf(db.CodeInvalid, "Unknown field %q in fields: use %s.", f, strings.Join(known, ", "))
		}
		want[f] = true
	}
	trim := func(m map[string]any) map[string]any {
		for k := range m {
			if !want[k] {
				delete(m, k)
			}
		}
		return m
	}
	if raw[0] == '[' {
		var list []map[string]any
		if err := json.Unmarshal(raw, &list); err != nil {
			return err
		}
		for i := range list {
			list[i] = trim(list[i])
		}
		return sendJSON(c, list)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	return sendJSON(c, trim(m))
}

// jsonFields lists the JSON names of the fields of v, a struct, in declaration order.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}
