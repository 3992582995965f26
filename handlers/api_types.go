package handlers

import (
	"time"

	"github.com/keyhold/keyhold/db"
)

// The JSON wire types of the Management API. Field names follow the contract of the clients keyhold is
// wire-compatible with (SingleStore's Management API SDK and generated client); db types carry no
// json tags. handlers/openapi.json documents every one of them.

// secretJSON is a Secret. Value is set only by the calls that reveal it; DeletedBy and DeletedAt only
// on a deleted secret.
type secretJSON struct {
	SecretID      string  `json:"secretID"`
	Name          string  `json:"name"`
	Value         *string `json:"value,omitempty"`
	CreatedBy     string  `json:"createdBy"`
	CreatedAt     string  `json:"createdAt"`
	LastUpdatedBy string  `json:"lastUpdatedBy"`
	LastUpdatedAt string  `json:"lastUpdatedAt"`
	DeletedBy     string  `json:"deletedBy,omitempty"`
	DeletedAt     string  `json:"deletedAt,omitempty"`
}

// secretsJSON is the list shape the Python SDK reads.
type secretsJSON struct {
	Secrets []secretJSON `json:"secrets"`
}

type secretIDJSON struct {
	SecretID string `json:"secretID"`
}

// userInfoJSON is UserInfo, a user inside another object.
type userInfoJSON struct {
	UserID    string `json:"userID"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

// userJSON is User, a member of the organization.
type userJSON struct {
	UserID    string `json:"userID"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	UserKind  string `json:"userKind"`
}

type userIDJSON struct {
	UserID string `json:"userID"`
}

// teamInfoJSON is TeamInfo, a team inside another object.
type teamInfoJSON struct {
	TeamID      string `json:"teamID"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

type teamJSON struct {
	TeamID      string         `json:"teamID"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	MemberUsers []userInfoJSON `json:"memberUsers"`
	MemberTeams []teamInfoJSON `json:"memberTeams"`
	CreatedAt   string         `json:"createdAt"`
}

type teamIDJSON struct {
	TeamID string `json:"teamID"`
}

type createTeamRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// updateTeamRequest is the PATCH /v1/teams/{teamID} body; absent fields change nothing.
type updateTeamRequest struct {
	Name                   *string  `json:"name"`
	Description            *string  `json:"description"`
	AddMemberUserIDs       []string `json:"addMemberUserIDs"`
	AddMemberUserEmails    []string `json:"addMemberUserEmails"`
	RemoveMemberUserIDs    []string `json:"removeMemberUserIDs"`
	RemoveMemberUserEmails []string `json:"removeMemberUserEmails"`
}

type orgJSON struct {
	OrgID          string   `json:"orgID"`
	Name           string   `json:"name"`
	FirewallRanges []string `json:"firewallRanges"`
}

// resourceRoleJSON is one role of a secret's access list with its grants.
type resourceRoleJSON struct {
	Role        string      `json:"role"`
	Description string      `json:"description"`
	Grants      []grantJSON `json:"grants"`
}

// grantJSON is one grant; Identity is a userInfoJSON or a teamInfoJSON.
type grantJSON struct {
	Identity  any          `json:"identity"`
	CreatedAt string       `json:"createdAt"`
	CreatedBy userInfoJSON `json:"createdBy"`
}

// controlAccessRequest is ControlAccessAction, the PATCH …/accessControls body.
type controlAccessRequest struct {
	Grants  []roleChangeJSON `json:"grants"`
	Revokes []roleChangeJSON `json:"revokes"`
}

type roleChangeJSON struct {
	Role  string   `json:"role"`
	Users []string `json:"users"`
	Teams []string `json:"teams"`
}

// roleDescriptions describe the roles in access lists.
var roleDescriptions = map[db.Role]string{
	db.RoleOwner:  "Can edit, share and delete",
	db.RoleReader: "Can read the value",
}

// apiTime formats a time as the API spells it: RFC 3339 in UTC, whole seconds.
func apiTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// newSecretJSON presents sec; withValue includes its value.
func newSecretJSON(sec *db.Secret, withValue bool) secretJSON {
	out := secretJSON{
		SecretID:      sec.ID,
		Name:          sec.Name,
		CreatedBy:     sec.CreatedBy.ID,
		CreatedAt:     apiTime(sec.CreatedAt),
		LastUpdatedBy: sec.UpdatedBy.ID,
		LastUpdatedAt: apiTime(sec.UpdatedAt),
		DeletedBy:     sec.DeletedBy,
		DeletedAt:     apiTime(sec.DeletedAt),
	}
	if withValue {
		v := sec.Value
		out.Value = &v
	}
	return out
}

func newUserInfoJSON(u db.UserRef) userInfoJSON {
	return userInfoJSON{UserID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName}
}

func newUserJSON(u db.User) userJSON {
	return userJSON{UserID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, UserKind: "Standard"}
}

func newTeamJSON(t *db.Team) teamJSON {
	out := teamJSON{TeamID: t.ID, Name: t.Name, Description: t.Description, CreatedAt: apiTime(t.CreatedAt),
		MemberUsers: []userInfoJSON{}, MemberTeams: []teamInfoJSON{}}
	for _, m := range t.Members {
		out.MemberUsers = append(out.MemberUsers, newUserInfoJSON(m))
	}
	return out
}

// newResourceRolesJSON groups an access list by role, Owners first, one entry per role with grants.
func newResourceRolesJSON(grants []db.Grant) []resourceRoleJSON {
	out := []resourceRoleJSON{}
	for _, role := range []db.Role{db.RoleOwner, db.RoleReader} {
		rr := resourceRoleJSON{Role: role.Title(), Description: roleDescriptions[role]}
		for _, g := range grants {
			if g.Role != role {
				continue
			}
			var identity any = userInfoJSON{UserID: g.ID, Email: g.Email, FirstName: g.FirstName, LastName: g.LastName}
			if g.Kind == db.PrincipalTeam {
				identity = teamInfoJSON{TeamID: g.ID, Name: g.Name, Description: g.Description}
			}
			rr.Grants = append(rr.Grants, grantJSON{Identity: identity, CreatedAt: apiTime(g.CreatedAt), CreatedBy: newUserInfoJSON(g.CreatedBy)})
		}
		if len(rr.Grants) > 0 {
			out = append(out, rr)
		}
	}
	return out
}
