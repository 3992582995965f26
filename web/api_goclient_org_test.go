package web_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
)

// The generated Go client's types for the organization surface (its field names, JSON tags, pointer
// and UUID/time types), and its request bodies: a nil slice goes out as null, an unset optional field
// is left out.

type goUserInvitation struct {
	ActedAt      *time.Time   `json:"actedAt,omitempty"`
	CreatedAt    *time.Time   `json:"createdAt,omitempty"`
	Email        *string      `json:"email,omitempty"`
	InvitationID *uuid.UUID   `json:"invitationID,omitempty"`
	Message      *string      `json:"message,omitempty"`
	State        *string      `json:"state,omitempty"`
	TeamIDs      *[]uuid.UUID `json:"teamIDs,omitempty"`
}

type goUser struct {
	Email     string    `json:"email"`
	FirstName string    `json:"firstName"`
	LastName  string    `json:"lastName"`
	UserID    uuid.UUID `json:"userID"`
	UserKind  *string   `json:"userKind,omitempty"`
}

type goIdentityRole struct {
	ResourceID   uuid.UUID `json:"resourceID"`
	ResourceType string    `json:"resourceType"`
	Role         string    `json:"role"`
}

type goTeamInfo struct {
	Description string    `json:"description"`
	Name        string    `json:"name"`
	TeamID      uuid.UUID `json:"teamID"`
}

type goTeam struct {
	CreatedAt   *time.Time    `json:"createdAt,omitempty"`
	Description string        `json:"description"`
	MemberTeams *[]goTeamInfo `json:"memberTeams,omitempty"`
	MemberUsers *[]goUserInfo `json:"memberUsers,omitempty"`
	Name        string        `json:"name"`
	TeamID      uuid.UUID     `json:"teamID"`
}

type goResourceRoleNested struct {
	Description string `json:"description"`
	Grants      []struct {
		CreatedAt     *time.Time      `json:"createdAt,omitempty"`
		CreatedBy     *goUserInfo     `json:"createdBy,omitempty"`
		Identity      json.RawMessage `json:"identity"`
		InheritedFrom *goIdentityRole `json:"inheritedFrom,omitempty"`
	} `json:"grants"`
	Role string `json:"role"`
}

type goControlAccessRole struct {
	Role  string      `json:"role"`
	Teams []uuid.UUID `json:"teams"`
	Users []uuid.UUID `json:"users"`
}

type goControlAccessAction struct {
	Grants  []goControlAccessRole `json:"grants"`
	Revokes []goControlAccessRole `json:"revokes"`
}

type goPatchTeamBody struct {
	AddMemberTeamIDs       *[]uuid.UUID `json:"addMemberTeamIDs,omitempty"`
	AddMemberUserEmails    *[]string    `json:"addMemberUserEmails,omitempty"`
	AddMemberUserIDs       *[]uuid.UUID `json:"addMemberUserIDs,omitempty"`
	Description            *string      `json:"description,omitempty"`
	Name                   *string      `json:"name,omitempty"`
	RemoveMemberTeamIDs    *[]uuid.UUID `json:"removeMemberTeamIDs,omitempty"`
	RemoveMemberUserEmails *[]string    `json:"removeMemberUserEmails,omitempty"`
	RemoveMemberUserIDs    *[]uuid.UUID `json:"removeMemberUserIDs,omitempty"`
}

// goDecodeExtra decodes an invitation or a list of them as the client does (unknown fields ignored)
// and checks that the fields the client's UserInvitation does not know are exactly keyhold's
// documented extras.
func goDecodeExtra(t *testing.T, r *apiResp, v any, extras ...string) {
	t.Helper()
	goDecodeLoose(t, r, v)
	var objs []map[string]json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(r.Body), []byte("[")) {
		_ = json.Unmarshal(r.Body, &objs)
	} else {
		var m map[string]json.RawMessage
		_ = json.Unmarshal(r.Body, &m)
		objs = append(objs, m)
	}
	known := []string{"actedAt", "createdAt", "email", "invitationID", "message", "state", "teamIDs"}
	for _, o := range objs {
		for k := range o {
			if !slices.Contains(known, k) && !slices.Contains(extras, k) {
				t.Fatalf("field %q is neither the client's nor a documented extra: %s", k, clip(r.Body))
			}
		}
	}
}

func goDecodeLoose(t *testing.T, r *apiResp, v any) {
	t.Helper()
	if r.Status != http.StatusOK || !strings.Contains(r.Header.Get("Content-Type"), "json") {
		t.Fatalf("client would not decode: %d %q %s", r.Status, r.Header.Get("Content-Type"), clip(r.Body))
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode into %T: %v", v, err)
	}
}

// TestAPI_GoClientSequence_Organization replays what code built on the generated Go client does to
// onboard people and manage access: invite with teams, list and read invitations, revoke one, add a
// user, look users up, nest teams, name team and organization Owners, read identity roles and access
// controls, take a nested team out. Every answer decodes into the client's types, with the exact
// success status and JSON, and ends where the calls say.
func TestAPI_GoClientSequence_Organization(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	dina := env.member(admin, "dina@example.com")
	env.member(admin, "tom@example.com")
	key := admin.Key

	// Teams: Platform contains Databases, which dina joins by email.
	var platform, databases goTeam
	goDecodeLoose(t, env.Do(key, http.MethodPost, "/v1/teams", map[string]string{"name": "Platform", "description": "infra"}), &platform)
	goDecodeLoose(t, env.Do(key, http.MethodPost, "/v1/teams", map[string]string{"name": "Databases", "description": "dbs"}), &databases)
	emails := []string{"dina@example.com"}
	var teamID struct {
		TeamID uuid.UUID `json:"teamID"`
	}
	goDecodeLoose(t, env.Do(key, http.MethodPatch, "/v1/teams/"+databases.TeamID.String(), goPatchTeamBody{AddMemberUserEmails: &emails}), &teamID)
	inner := []uuid.UUID{databases.TeamID}
	goDecodeLoose(t, env.Do(key, http.MethodPatch, "/v1/teams/"+platform.TeamID.String(), goPatchTeamBody{AddMemberTeamIDs: &inner, AddMemberUserEmails: &[]string{}}), &teamID)
	if teamID.TeamID != platform.TeamID {
		t.Fatalf("patch answered %v", teamID)
	}
	var got goTeam
	goDecodeLoose(t, env.Do(key, http.MethodGet, "/v1/teams/"+platform.TeamID.String(), nil), &got)
	if got.MemberTeams == nil || len(*got.MemberTeams) != 1 || (*got.MemberTeams)[0].TeamID != databases.TeamID || got.CreatedAt == nil {
		t.Fatalf("platform %+v", got)
	}
	var found []goTeam
	goDecodeLoose(t, env.Do(key, http.MethodGet, "/v1/teams?name=Data.*", nil), &found)
	if len(found) != 1 || found[0].TeamID != databases.TeamID {
		t.Fatalf("teams by name %+v", found)
	}

	// Invitations.
	var inv goUserInvitation
	goDecodeExtra(t, env.Do(key, http.MethodPost, "/v1/invitations", map[string]any{"email": "newhire@example.com", "teamIDs": []uuid.UUID{databases.TeamID}}), &inv, "link", "expiresAt")
	if inv.State == nil || *inv.State != "Pending" || inv.TeamIDs == nil || !slices.Equal(*inv.TeamIDs, []uuid.UUID{databases.TeamID}) || inv.CreatedAt == nil || inv.ActedAt != nil {
		t.Fatalf("invitation %+v", inv)
	}
	var invs []goUserInvitation
	goDecodeExtra(t, env.Do(key, http.MethodGet, "/v1/invitations", nil), &invs, "expiresAt")
	if len(invs) != 1 || *invs[0].InvitationID != *inv.InvitationID {
		t.Fatalf("invitations %+v", invs)
	}
	var one goUserInvitation
	goDecodeExtra(t, env.Do(key, http.MethodGet, "/v1/invitations/"+inv.InvitationID.String(), nil), &one, "expiresAt")
	var revoked struct {
		InvitationID uuid.UUID `json:"invitationID"`
	}
	goDecodeLoose(t, env.Do(key, http.MethodDelete, "/v1/invitations/"+inv.InvitationID.String(), nil), &revoked)
	goDecodeExtra(t, env.Do(key, http.MethodGet, "/v1/invitations/"+inv.InvitationID.String(), nil), &one, "expiresAt")
	if *one.State != "Revoked" || one.ActedAt == nil {
		t.Fatalf("revoked invitation %+v", one)
	}
	var added goUserInvitation
	goDecodeExtra(t, env.Do(key, http.MethodPost, "/v1/users", map[string]string{"email": "second@example.com"}), &added, "link", "expiresAt")
	if added.InvitationID == nil || *added.State != "Pending" {
		t.Fatalf("POST /v1/users %+v", added)
	}

	// Users.
	var users []goUser
	goDecode(t, env.Do(key, http.MethodGet, "/v1/users?email=dina%40example.com", nil), &users)
	if len(users) != 1 || users[0].UserID.String() != dina.UserID {
		t.Fatalf("users %+v", users)
	}
	var user goUser
	goDecode(t, env.Do(key, http.MethodGet, "/v1/users/"+dina.UserID, nil), &user)

	// Roles: dina Owner of Databases (the team), Owner of the organization.
	dinaID := uuid.MustParse(dina.UserID)
	env.Do(key, http.MethodPatch, "/v1/teams/"+databases.TeamID.String()+"/accessControls",
		goControlAccessAction{Grants: []goControlAccessRole{{Role: "Owner", Users: []uuid.UUID{dinaID}}}}).want(t, http.StatusOK, nil)
	env.Do(key, http.MethodPatch, "/v1/organizations/"+admin.OrgID+"/accessControls",
		goControlAccessAction{Grants: []goControlAccessRole{{Role: "Owner", Users: []uuid.UUID{dinaID}}}}).want(t, http.StatusOK, nil)
	sec := env.secret(admin, "DB_URL", "postgres://canary")
	env.share(admin, sec.ID, db.PrincipalTeam, platform.TeamID.String(), db.RoleReader)

	var roles []goIdentityRole
	goDecode(t, env.Do(key, http.MethodGet, "/v1/users/"+dina.UserID+"/identityRoles", nil), &roles)
	want := []goIdentityRole{{uuid.MustParse(admin.OrgID), "Organization", "Owner"}, {databases.TeamID, "Team", "Owner"},
		{databases.TeamID, "Team", "Member"}, {platform.TeamID, "Team", "Member"}, {uuid.MustParse(sec.ID), "Secret", "Reader"}}
	if !slices.Equal(roles, want) {
		t.Fatalf("identity roles %+v, want %+v", roles, want)
	}
	goDecode(t, env.Do(key, http.MethodGet, "/v1/teams/"+databases.TeamID.String()+"/identityRoles?resourceType=Secret", nil), &roles)
	if !slices.Equal(roles, []goIdentityRole{{uuid.MustParse(sec.ID), "Secret", "Reader"}}) {
		t.Fatalf("team identity roles %+v", roles)
	}
	for _, path := range []string{"/v1/organizations/" + admin.OrgID + "/accessControls", "/v1/teams/" + databases.TeamID.String() + "/accessControls",
		"/v1/secrets/" + sec.ID + "/accessControls"} {
		var rr []goResourceRoleNested
		dec := json.NewDecoder(bytes.NewReader(env.Do(key, http.MethodGet, path, nil).Body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rr); err != nil || len(rr) == 0 {
			t.Fatalf("%s: %v %+v", path, err, rr)
		}
	}

	// The nesting goes; dina's access through it goes with it.
	goDecodeLoose(t, env.Do(key, http.MethodPatch, "/v1/teams/"+platform.TeamID.String(), goPatchTeamBody{RemoveMemberTeamIDs: &inner}), &teamID)
	goDecode(t, env.Do(key, http.MethodGet, "/v1/users/"+dina.UserID+"/identityRoles?resourceType=Secret", nil), &roles)
	if len(roles) != 0 {
		t.Fatalf("roles after unnesting %+v", roles)
	}
}
