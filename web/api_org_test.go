package web_test

// The organization surface of the Management API (the contract's second part): invitations, users,
// identity roles, access controls of the organization and its teams, nested teams, filters and
// fields, and the protocol details. Every answer is checked against the OpenAPI document by Do.

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
)

type invitationWire struct {
	InvitationID string   `json:"invitationID"`
	Email        string   `json:"email"`
	State        string   `json:"state"`
	TeamIDs      []string `json:"teamIDs"`
	ActedAt      string   `json:"actedAt"`
	Link         string   `json:"link"`
}

type identityRoleWire struct {
	ResourceType string `json:"resourceType"`
	ResourceID   string `json:"resourceID"`
	Role         string `json:"role"`
}

type resourceRoleWire struct {
	Role   string `json:"role"`
	Grants []struct {
		Identity      map[string]string `json:"identity"`
		InheritedFrom *identityRoleWire `json:"inheritedFrom"`
	} `json:"grants"`
}

// identities lists "role identity [via resourceID]" for each grant, the identity as its email or team
// name.
func identities(rs []resourceRoleWire) []string {
	var out []string
	for _, r := range rs {
		for _, g := range r.Grants {
			who := g.Identity["email"] + g.Identity["name"]
			if g.InheritedFrom != nil {
				who += " via " + g.InheritedFrom.ResourceType + " " + g.InheritedFrom.ResourceID
			}
			out = append(out, r.Role+" "+who)
		}
	}
	return out
}

func TestAPI_Invitations(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	nina := env.member(admin, "nina@example.com")
	other := env.org("Globex", "grace@example.com")
	ops := env.team(admin, "Ops")
	otherTeam := env.team(other, "Theirs")

	var inv invitationWire
	env.Do(admin.Key, "POST", "/v1/invitations", map[string]any{"email": "new@example.com", "teamIDs": []string{ops.ID}}).want(t, 200, &inv)
	if inv.State != "Pending" || inv.Email != "new@example.com" || !slices.Equal(inv.TeamIDs, []string{ops.ID}) || !strings.Contains(inv.Link, "/invite/") {
		t.Fatalf("invitation = %+v", inv)
	}
	// The link is the portal's: accepting it with a new account joins the organization and the team.
	token := inv.Link[strings.LastIndex(inv.Link, "/")+1:]
	u, _, err := env.store.AcceptInvitationNewAccount(bg, token, db.NewAccount{FirstName: "New", LastName: "Person", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	team, err := env.store.TeamByID(bg, admin.Actor, ops.ID)
	if err != nil || len(team.Members) != 1 || team.Members[0].ID != u.ID {
		t.Fatalf("team after accepting = %+v, %v", team, err)
	}
	var got invitationWire
	env.Do(admin.Key, "GET", "/v1/invitations/"+inv.InvitationID, nil).want(t, 200, &got)
	if got.State != "Accepted" || got.ActedAt == "" || got.Link != "" {
		t.Fatalf("accepted invitation = %+v", got)
	}
	// Single use: revoking an accepted invitation is a conflict.
	env.Do(admin.Key, "DELETE", "/v1/invitations/"+inv.InvitationID, nil).wantError(t, 409)

	// A second one, revoked.
	env.Do(admin.Key, "POST", "/v1/invitations", map[string]any{"email": "later@example.org"}).want(t, 200, &inv)
	var idOnly map[string]string
	env.Do(admin.Key, "DELETE", "/v1/invitations/"+inv.InvitationID, nil).want(t, 200, &idOnly)
	if idOnly["invitationID"] != inv.InvitationID {
		t.Fatalf("revoke answered %v", idOnly)
	}
	if _, err := env.store.InvitationByToken(bg, inv.Link[strings.LastIndex(inv.Link, "/")+1:]); err == nil {
		t.Fatal("a revoked invitation's link still works")
	}

	// Listing: filters by email (value or expression) and state, trims with fields.
	var list []invitationWire
	env.Do(admin.Key, "GET", "/v1/invitations?email="+url.QueryEscape(`.*@example\.org`), nil).want(t, 200, &list)
	if len(list) != 1 || list[0].Email != "later@example.org" || list[0].State != "Revoked" {
		t.Fatalf("by expression = %+v", list)
	}
	env.Do(admin.Key, "GET", "/v1/invitations?state=Accepted&email=NEW@example.com", nil).want(t, 200, &list)
	if len(list) != 1 || list[0].Email != "new@example.com" {
		t.Fatalf("by state and value = %+v", list)
	}
	var trimmed []map[string]any
	env.Do(admin.Key, "GET", "/v1/invitations?fields=email,state", nil).want(t, 200, &trimmed)
	if len(trimmed) != 2 || len(trimmed[0]) != 2 || trimmed[0]["email"] == nil || trimmed[0]["state"] == nil {
		t.Fatalf("trimmed = %v", trimmed)
	}

	// POST /v1/users: an invitation for someone new, the User for a member; never a password.
	env.Do(admin.Key, "POST", "/v1/users", map[string]any{"email": "third@example.com", "password": "chosen by the admin"}).want(t, 200, &inv)
	if inv.State != "Pending" || inv.InvitationID == "" {
		t.Fatalf("POST /v1/users = %+v", inv)
	}
	if _, err := env.store.UserByEmail(bg, "third@example.com"); db.ErrorCode(err) != db.CodeNotFound {
		t.Fatalf("POST /v1/users made an account: %v", err)
	}
	var user userWire
	env.Do(admin.Key, "POST", "/v1/users", map[string]any{"email": "NINA@example.com"}).want(t, 200, &user)
	if user.UserID != nina.UserID {
		t.Fatalf("existing member = %+v", user)
	}

	// Errors: each class, and nothing stored changes.
	before, _ := env.store.ListInvitations(bg, admin.Actor, db.InvitationFilter{})
	for _, tc := range []struct {
		name, key, method, path string
		body                    any
		status                  int
	}{
		{"bad email", admin.Key, "POST", "/v1/invitations", map[string]any{"email": "not an email"}, 400},
		{"no email", admin.Key, "POST", "/v1/invitations", map[string]any{}, 400},
		{"team of another organization", admin.Key, "POST", "/v1/invitations", map[string]any{"email": "x@example.com", "teamIDs": []string{otherTeam.ID}}, 400},
		{"already a member", admin.Key, "POST", "/v1/invitations", map[string]any{"email": "nina@example.com"}, 409},
		{"malformed JSON", admin.Key, "POST", "/v1/invitations", `{"email":`, 400},
		{"bad expression", admin.Key, "GET", "/v1/invitations?email=(", nil, 400},
		{"bad state", admin.Key, "GET", "/v1/invitations?state=Lost", nil, 400},
		{"unknown field", admin.Key, "GET", "/v1/invitations?fields=password", nil, 400},
		{"member lists", nina.Key, "GET", "/v1/invitations", nil, 403},
		{"member invites", nina.Key, "POST", "/v1/invitations", map[string]any{"email": "x@example.com"}, 403},
		{"member adds a user", nina.Key, "POST", "/v1/users", map[string]any{"email": "x@example.com"}, 403},
		{"member reads one", nina.Key, "GET", "/v1/invitations/" + inv.InvitationID, nil, 403},
		{"member revokes", nina.Key, "DELETE", "/v1/invitations/" + inv.InvitationID, nil, 403},
		{"other organization reads", other.Key, "GET", "/v1/invitations/" + inv.InvitationID, nil, 404},
		{"other organization revokes", other.Key, "DELETE", "/v1/invitations/" + inv.InvitationID, nil, 404},
		{"unknown", admin.Key, "GET", "/v1/invitations/" + uuid.NewString(), nil, 404},
		{"no key", "", "GET", "/v1/invitations", nil, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env.with(t).Do(tc.key, tc.method, tc.path, tc.body).wantError(t, tc.status)
		})
	}
	after, _ := env.store.ListInvitations(bg, admin.Actor, db.InvitationFilter{})
	if len(after) != len(before) || after[0].State != db.InvitationPending {
		t.Fatalf("refused requests changed invitations: %d then %d", len(before), len(after))
	}
	var theirs []invitationWire
	env.Do(other.Key, "GET", "/v1/invitations", nil).want(t, 200, &theirs)
	if len(theirs) != 0 {
		t.Fatalf("another organization sees %+v", theirs)
	}
}

type userWire struct {
	UserID string `json:"userID"`
	Email  string `json:"email"`
}

func TestAPI_UsersFiltersAndFields(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	nina := env.member(admin, "nina@example.com")
	env.member(admin, "ned@example.org")
	other := env.org("Globex", "grace@example.com")
	env.team(admin, "Platform")
	env.team(admin, "Databases")

	var u userWire
	env.Do(nina.Key, "GET", "/v1/users/"+admin.UserID, nil).want(t, 200, &u)
	if u.Email != "ada@example.com" {
		t.Fatalf("user = %+v", u)
	}
	env.Do(other.Key, "GET", "/v1/users/"+admin.UserID, nil).wantError(t, 404)
	env.Do(admin.Key, "GET", "/v1/users/"+uuid.NewString(), nil).wantError(t, 404)

	var users []userWire
	env.Do(nina.Key, "GET", "/v1/users?email="+url.QueryEscape(`n.*`), nil).want(t, 200, &users)
	if len(users) != 2 {
		t.Fatalf("n.* = %+v", users)
	}
	env.Do(nina.Key, "GET", "/v1/users?email=nina@example.com", nil).want(t, 200, &users)
	if len(users) != 1 || users[0].UserID != nina.UserID {
		t.Fatalf("by value = %+v", users)
	}
	env.Do(nina.Key, "GET", "/v1/users?email=a", nil).want(t, 200, &users)
	if len(users) != 0 {
		t.Fatalf("a part of an address matches: %+v", users)
	}
	env.Do(nina.Key, "GET", "/v1/users?email=%5B", nil).wantError(t, 400)
	var trimmed []map[string]any
	env.Do(nina.Key, "GET", "/v1/users?fields=email", nil).want(t, 200, &trimmed)
	if len(trimmed) != 3 || len(trimmed[0]) != 1 || trimmed[0]["email"] == nil {
		t.Fatalf("trimmed = %v", trimmed)
	}
	var me map[string]any
	env.Do(nina.Key, "GET", "/v1/users/current?fields=userID,userKind", nil).want(t, 200, &me)
	if len(me) != 2 || me["userID"] != nina.UserID {
		t.Fatalf("trimmed current = %v", me)
	}
	env.Do(nina.Key, "GET", "/v1/users/current?fields=passwordHash", nil).wantError(t, 400)

	var teams []struct {
		Name string `json:"name"`
	}
	env.Do(nina.Key, "GET", "/v1/teams?name=platform", nil).want(t, 200, &teams)
	if len(teams) != 1 || teams[0].Name != "Platform" {
		t.Fatalf("by name = %+v", teams)
	}
	env.Do(nina.Key, "GET", "/v1/teams?name="+url.QueryEscape("(Plat|Data).*")+"&description="+url.QueryEscape("the Data.*"), nil).want(t, 200, &teams)
	if len(teams) != 1 || teams[0].Name != "Databases" {
		t.Fatalf("by name and description = %+v", teams)
	}
	env.Do(nina.Key, "GET", "/v1/teams?name=*", nil).wantError(t, 400)
	env.Do(other.Key, "GET", "/v1/teams?name=.*", nil).want(t, 200, &teams)
	if len(teams) != 0 {
		t.Fatalf("another organization sees %+v", teams)
	}
}

func TestAPI_ProtocolDetails(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	rita := env.member(admin, "rita@example.com")
	sec := env.secret(admin, "DB_PASSWORD", "s3cret-canary")
	env.share(admin, sec.ID, db.PrincipalUser, rita.UserID, db.RoleReader)

	// PATCH without a value changes nothing and answers the secret, without its value.
	for _, body := range []any{map[string]any{}, map[string]any{"name": "IGNORED"}} {
		r := env.Do(admin.Key, "PATCH", "/v1/secrets/"+sec.ID, body)
		var out map[string]any
		r.want(t, 200, &out)
		if out["secretID"] != sec.ID || out["value"] != nil || r.Header.Get("ETag") != `"1"` {
			t.Fatalf("no-op PATCH = %v, ETag %s", out, r.Header.Get("ETag"))
		}
	}
	if got := env.secretValueByName(admin, "DB_PASSWORD"); got != "s3cret-canary" {
		t.Fatalf("value after no-op = %q", got)
	}
	env.Do(rita.Key, "PATCH", "/v1/secrets/"+sec.ID, map[string]any{}).wantError(t, 403)
	env.Do(admin.Key, "PATCH", "/v1/secrets/"+uuid.NewString(), map[string]any{}).wantError(t, 404)

	// The stale-version conflict speaks API.
	env.Do(admin.Key, "PATCH", "/v1/secrets/"+sec.ID, map[string]any{"value": "v2"}).want(t, 200, nil)
	msg := env.Do(admin.Key, "PATCH", "/v1/secrets/"+sec.ID, map[string]any{"value": "v3"}, header("If-Match", `"1"`)).wantError(t, 409, "v3", "v2")
	if !strings.Contains(msg, "since version 1") || !strings.Contains(msg, "fetch it again") || strings.Contains(msg, "reload") {
		t.Fatalf("409 message %q", msg)
	}
	env.Do(admin.Key, "PATCH", "/v1/secrets/"+sec.ID, map[string]any{}, header("If-Match", `"1"`)).wantError(t, 409)

	// A method a path does not route is 405 with Allow, on every kind of path.
	for _, tc := range []struct{ method, path, allow string }{
		{"PUT", "/v1/secrets/" + sec.ID, "DELETE, GET, PATCH"},
		{"POST", "/v1/users/current", "GET"},
		{"DELETE", "/v1/secrets", "GET, POST"},
		{"PUT", "/v1/teams/" + uuid.NewString() + "/accessControls", "GET, PATCH"},
		{"PATCH", "/v1/invitations", "GET, POST"},
	} {
		r := env.Do(admin.Key, tc.method, tc.path, nil)
		r.wantError(t, 405)
		if got := r.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
	}
	env.Do("", "PUT", "/v1/secrets/"+sec.ID, nil).wantError(t, 401) // the key is checked first
}

func TestAPI_AccessControlsAndIdentityRoles(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	tom := env.member(admin, "tom@example.com")
	dina := env.member(admin, "dina@example.com")
	nina := env.member(admin, "nina@example.com")
	other := env.org("Globex", "grace@example.com")
	platform := env.team(admin, "Platform")
	databases := env.team(admin, "Databases", dina)
	theirs := env.team(other, "Theirs")

	// Organization: read by members, changed by admins, never without an Owner.
	var roles []resourceRoleWire
	orgPath := "/v1/organizations/" + admin.OrgID + "/accessControls"
	env.Do(nina.Key, "GET", orgPath, nil).want(t, 200, &roles)
	var current []resourceRoleWire
	env.Do(nina.Key, "GET", "/v1/organizations/current/accessControls", nil).want(t, 200, &current)
	if !slices.Equal(identities(current), identities(roles)) {
		t.Fatalf("current = %q", identities(current))
	}
	if got := identities(roles); !slices.Equal(got, []string{"Owner ada@example.com", "Member dina@example.com", "Member nina@example.com", "Member tom@example.com"}) {
		t.Fatalf("org access = %q", got)
	}
	grantOwner := func(id string) map[string]any {
		return map[string]any{"grants": []map[string]any{{"role": "Owner", "users": []string{id}}}}
	}
	env.Do(nina.Key, "PATCH", orgPath, grantOwner(nina.UserID)).wantError(t, 403)
	env.Do(admin.Key, "PATCH", orgPath, map[string]any{"revokes": []map[string]any{{"role": "Owner", "users": []string{admin.UserID}}}}).wantError(t, 409)
	env.Do(admin.Key, "PATCH", orgPath, map[string]any{"grants": []map[string]any{{"role": "Admin", "users": []string{tom.UserID}}}}).wantError(t, 400)
	env.Do(admin.Key, "PATCH", orgPath, grantOwner(other.UserID)).wantError(t, 400)
	env.Do(admin.Key, "PATCH", orgPath, map[string]any{"grants": []map[string]any{{"role": "Owner", "teams": []string{platform.ID}}}}).wantError(t, 400)
	env.Do(other.Key, "GET", orgPath, nil).wantError(t, 404)
	env.Do(other.Key, "PATCH", orgPath, grantOwner(other.UserID)).wantError(t, 404)
	if m, _ := env.store.MemberByID(bg, admin.Actor, tom.UserID); m.Role != db.OrgMember {
		t.Fatal("a refused change changed a role")
	}
	env.Do(admin.Key, "PATCH", orgPath, grantOwner(tom.UserID)).want(t, 200, nil)
	env.Do(admin.Key, "PATCH", orgPath, map[string]any{"revokes": []map[string]any{{"role": "Owner", "users": []string{tom.UserID}}}}).want(t, 200, nil)

	// Teams: an admin makes tom an Owner of Platform; tom then manages it (members, member teams)
	// without being an admin, and no other team.
	teamPath := "/v1/teams/" + platform.ID + "/accessControls"
	env.Do(tom.Key, "PATCH", teamPath, map[string]any{"grants": []map[string]any{{"role": "Member", "users": []string{nina.UserID}}}}).wantError(t, 403)
	env.Do(admin.Key, "PATCH", teamPath, grantOwner(tom.UserID)).want(t, 200, nil)
	env.Do(tom.Key, "PATCH", teamPath, map[string]any{"grants": []map[string]any{{"role": "Member", "users": []string{nina.UserID}, "teams": []string{databases.ID}}}}).want(t, 200, nil)
	env.Do(tom.Key, "PATCH", "/v1/teams/"+databases.ID, map[string]any{"name": "Mine"}).wantError(t, 403)
	env.Do(tom.Key, "DELETE", "/v1/teams/"+platform.ID, nil).wantError(t, 403)
	roles = nil
	env.Do(nina.Key, "GET", teamPath, nil).want(t, 200, &roles)
	want := []string{"Owner tom@example.com", "Member nina@example.com", "Member Databases", "Member dina@example.com via Team " + databases.ID}
	if got := identities(roles); !slices.Equal(got, want) {
		t.Fatalf("team access = %q, want %q", got, want)
	}
	// Bad input and strangers.
	for _, tc := range []struct {
		name, key, method, path string
		body                    any
		status                  int
	}{
		{"team Owner is a team", admin.Key, "PATCH", teamPath, map[string]any{"grants": []map[string]any{{"role": "Owner", "teams": []string{databases.ID}}}}, 400},
		{"unknown role", admin.Key, "PATCH", teamPath, map[string]any{"grants": []map[string]any{{"role": "Boss", "users": []string{nina.UserID}}}}, 400},
		{"team of another organization", admin.Key, "PATCH", teamPath, map[string]any{"grants": []map[string]any{{"role": "Member", "teams": []string{theirs.ID}}}}, 400},
		{"cycle", admin.Key, "PATCH", "/v1/teams/" + databases.ID + "/accessControls", map[string]any{"grants": []map[string]any{{"role": "Member", "teams": []string{platform.ID}}}}, 400},
		{"cycle through PATCH team", admin.Key, "PATCH", "/v1/teams/" + databases.ID, map[string]any{"addMemberTeamIDs": []string{platform.ID}}, 400},
		{"other organization reads", other.Key, "GET", teamPath, nil, 404},
		{"other organization changes", other.Key, "PATCH", teamPath, grantOwner(other.UserID), 404},
		{"other organization's roles", other.Key, "GET", "/v1/teams/" + platform.ID + "/identityRoles", nil, 404},
		{"other organization's user roles", other.Key, "GET", "/v1/users/" + dina.UserID + "/identityRoles", nil, 404},
		{"bad resourceType", admin.Key, "GET", "/v1/users/" + dina.UserID + "/identityRoles?resourceType=Planet", nil, 400},
		{"malformed", admin.Key, "PATCH", teamPath, `{"grants": 3}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := env.with(t)
			before := env.snapshot(admin, admin)
			env.Do(tc.key, tc.method, tc.path, tc.body).wantError(t, tc.status)
			if after := env.snapshot(admin, admin); after != before {
				t.Fatalf("refused request changed data:\n%s\n---\n%s", before, after)
			}
		})
	}

	// Identity roles: dina is in Databases, which is in Platform; a secret granted to Platform
	// reaches her, and the secret's access list shows Databases as inherited through Platform.
	sec := env.secret(admin, "DB_URL", "postgres://canary")
	env.share(admin, sec.ID, db.PrincipalTeam, platform.ID, db.RoleReader)
	var ir []identityRoleWire
	env.Do(admin.Key, "GET", "/v1/users/"+dina.UserID+"/identityRoles", nil).want(t, 200, &ir)
	wantIR := []identityRoleWire{{"Organization", admin.OrgID, "Member"}, {"Team", databases.ID, "Member"}, {"Team", platform.ID, "Member"}, {"Secret", sec.ID, "Reader"}}
	if !slices.Equal(ir, wantIR) {
		t.Fatalf("identity roles = %+v, want %+v", ir, wantIR)
	}
	env.Do(nina.Key, "GET", "/v1/users/"+dina.UserID+"/identityRoles?resourceType=Secret", nil).want(t, 200, &ir)
	if !slices.Equal(ir, []identityRoleWire{{"Secret", sec.ID, "Reader"}}) { // nina is in Platform: she reads it too
		t.Fatalf("roles seen by nina = %+v", ir)
	}
	env.Do(tom.Key, "GET", "/v1/users/"+dina.UserID+"/identityRoles?resourceType=Secret", nil).want(t, 200, &ir)
	if len(ir) != 0 {
		t.Fatalf("tom, who cannot read DB_URL, sees %+v", ir)
	}
	env.Do(admin.Key, "GET", "/v1/teams/"+databases.ID+"/identityRoles", nil).want(t, 200, &ir)
	if !slices.Equal(ir, []identityRoleWire{{"Team", platform.ID, "Member"}, {"Secret", sec.ID, "Reader"}}) {
		t.Fatalf("team identity roles = %+v", ir)
	}
	roles = nil
	env.Do(dina.Key, "GET", "/v1/secrets/"+sec.ID+"/accessControls", nil).want(t, 200, &roles)
	if got := identities(roles); !slices.Equal(got, []string{"Owner ada@example.com", "Reader Platform", "Reader Databases via Team " + platform.ID}) {
		t.Fatalf("secret access = %q", got)
	}
}

// TestAPI_NestedTeams_FetchFollowsNesting: a grant to an outer team reaches an inner member's fetch by
// name (the SDK's hot path, cached); removing the nesting over the API removes it at once.
func TestAPI_NestedTeams_FetchFollowsNesting(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	dina := env.member(admin, "dina@example.com")
	platform := env.team(admin, "Platform")
	databases := env.team(admin, "Databases", dina)
	sec := env.secret(admin, "DB_URL", "postgres://canary")
	env.share(admin, sec.ID, db.PrincipalTeam, platform.ID, db.RoleReader)

	fetch := func() int {
		var list struct {
			Secrets []map[string]any `json:"secrets"`
		}
		env.Do(dina.Key, "GET", "/v1/secrets?name=DB_URL", nil).want(t, 200, &list)
		return len(list.Secrets)
	}
	if fetch() != 0 {
		t.Fatal("dina reads DB_URL before nesting")
	}
	env.Do(admin.Key, "PATCH", "/v1/teams/"+platform.ID, map[string]any{"addMemberTeamIDs": []string{databases.ID}}).want(t, 200, nil)
	var team struct {
		MemberTeams []struct {
			TeamID string `json:"teamID"`
		} `json:"memberTeams"`
	}
	env.Do(dina.Key, "GET", "/v1/teams/"+platform.ID, nil).want(t, 200, &team)
	if len(team.MemberTeams) != 1 || team.MemberTeams[0].TeamID != databases.ID {
		t.Fatalf("memberTeams = %+v", team.MemberTeams)
	}
	for range 2 {
		if fetch() != 1 {
			t.Fatal("dina does not read DB_URL through Platform › Databases")
		}
	}
	env.Do(admin.Key, "PATCH", "/v1/teams/"+platform.ID, map[string]any{"removeMemberTeamIDs": []string{databases.ID}}).want(t, 200, nil)
	if fetch() != 0 {
		t.Fatal("dina still reads DB_URL after the nesting went")
	}
	env.Do(dina.Key, "GET", "/v1/secrets/"+sec.ID, nil).wantError(t, 404)
}
