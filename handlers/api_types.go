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
	AddMemberTeamIDs       []string `json:"addMemberTeamIDs"`
	RemoveMemberTeamIDs    []string `json:"removeMemberTeamIDs"`
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

// grantJSON is one grant; Identity is a userInfoJSON or a teamInfoJSON. A secret's grants always carry
// CreatedAt and CreatedBy; InheritedFrom is set on access held through something else (a nested team).
type grantJSON struct {
	Identity      any                `json:"identity"`
	CreatedAt     string             `json:"createdAt,omitempty"`
	CreatedBy     *userInfoJSON      `json:"createdBy,omitempty"`
	InheritedFrom *inheritedFromJSON `json:"inheritedFrom,omitempty"`
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
	for _, mt := range t.MemberTeams {
		out.MemberTeams = append(out.MemberTeams, teamInfoJSON{TeamID: mt.ID, Name: mt.Name, Description: mt.Description})
	}
	return out
}

// newResourceRolesJSON groups an access list by role, Owners first, one entry per role with grants;
// the teams that hold a role through a granted team follow, with inheritedFrom.
func newResourceRolesJSON(grants []db.Grant, nested []db.NestedGrant) []resourceRoleJSON {
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
			by := newUserInfoJSON(g.CreatedBy)
			rr.Grants = append(rr.Grants, grantJSON{Identity: identity, CreatedAt: apiTime(g.CreatedAt), CreatedBy: &by})
		}
		for _, n := range nested {
			if n.Role == role {
				rr.Grants = append(rr.Grants, grantJSON{Identity: teamInfoJSON{TeamID: n.Team.ID, Name: n.Team.Name, Description: n.Team.Description},
					InheritedFrom: &inheritedFromJSON{ResourceType: n.Via.ResourceType, ResourceID: n.Via.ResourceID, Role: n.Via.Role}})
			}
		}
		if len(rr.Grants) > 0 {
			out = append(out, rr)
		}
	}
	return out
}

// invitationJSON is UserInvitation. Link, the invitation's link, is in the answer that creates it
// only: keyhold stores its hash, never the link.
type invitationJSON struct {
	InvitationID string   `json:"invitationID"`
	Email        string   `json:"email"`
	State        string   `json:"state"`
	TeamIDs      []string `json:"teamIDs"`
	Message      string   `json:"message"`
	CreatedAt    string   `json:"createdAt"`
	ActedAt      string   `json:"actedAt,omitempty"`
	ExpiresAt    string   `json:"expiresAt"`
	Link         string   `json:"link,omitempty"`
}

type invitationIDJSON struct {
	InvitationID string `json:"invitationID"`
}

// createInvitationRequest is the body of POST /v1/invitations and POST /v1/users.
type createInvitationRequest struct {
	Email   *string  `json:"email"`
	TeamIDs []string `json:"teamIDs"`
	Message string   `json:"message"`
}

// identityRoleJSON is IdentityRole.
type identityRoleJSON struct {
	ResourceType string `json:"resourceType"`
	ResourceID   string `json:"resourceID"`
	Role         string `json:"role"`
}

// inheritedFromJSON says through what a grant's identity holds its role.
type inheritedFromJSON struct {
	ResourceType string `json:"resourceType"`
	ResourceID   string `json:"resourceID"`
	Role         string `json:"role"`
}
