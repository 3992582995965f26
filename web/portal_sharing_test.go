package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/webtest"
)

// Tests of the sharing part of the portal: Members, Teams and the Share dialog, through the real echo
// instance (admEnv, in pages_admin_test.go) over a real SQLite file.

var shCtx = context.Background()

// shWorld is an organization with Ada Admin (admin, no secrets), Bob Builder and Carol Coder (plain
// members), the team Platform (Bob), a secret Bob owns, and a second organization whose admin Olga
// Other is a stranger to the first.
type shWorld struct {
	*admEnv
	bob, carol db.Actor
	team       *db.Team
	sec        *db.Secret
	olga       db.Actor
	otherTeam  *db.Team // a team of Olga's organization
}

func newSharingWorld(t *testing.T) *shWorld {
	t.Helper()
	w := &shWorld{admEnv: newAdmEnv(t)}
	w.bob = w.member("bob@example.com", "Bob", "Builder")
	w.carol = w.member("carol@example.com", "Carol", "Coder")
	w.team = w.shTeam("Platform", w.bob)
	w.sec = w.secret(w.bob, "DEPLOY_TOKEN", "v1")
	org, u, err := w.store.CreateOrg(shCtx, "Other Org", db.NewUser{Email: "olga@example.com", FirstName: "Olga", LastName: "Other", Password: webtest.Password}, "cli")
	if err != nil {
		t.Fatal(err)
	}
	if w.olga, err = w.store.ActorFor(shCtx, u.ID, org.ID, "portal", "192.0.2.11"); err != nil {
		t.Fatal(err)
	}
	if w.otherTeam, err = w.store.CreateTeam(shCtx, w.olga, "Other team", ""); err != nil {
		t.Fatal(err)
	}
	return w
}

// shTeam creates a team with members, as the admin.
func (e *admEnv) shTeam(name string, members ...db.Actor) *db.Team {
	e.t.Helper()
	team, err := e.store.CreateTeam(shCtx, e.admin, name, "")
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, m := range members {
		ids = append(ids, m.UserID)
	}
	if len(ids) > 0 {
		if _, err := e.store.UpdateTeam(shCtx, e.admin, team.ID, db.TeamChange{AddUserIDs: ids}); err != nil {
			e.t.Fatal(err)
		}
	}
	return team
}

// shGrant changes a secret's access list as owner.
func (e *admEnv) shGrant(owner db.Actor, sec *db.Secret, changes ...db.AccessChange) {
	e.t.Helper()
	if err := e.store.ChangeAccess(shCtx, owner, sec.ID, changes); err != nil {
		e.t.Fatal(err)
	}
}

func userGrant(a db.Actor, role db.Role) db.AccessChange {
	return db.AccessChange{Kind: db.PrincipalUser, ID: a.UserID, Role: role}
}

func teamGrant(t *db.Team, role db.Role) db.AccessChange {
	return db.AccessChange{Kind: db.PrincipalTeam, ID: t.ID, Role: role}
}

// shSnapshot is everything the sharing pages can change, as text: the members and their roles, the
// teams and their members, and the access list of every secret the owners can see.
func (e *admEnv) shSnapshot(owners ...db.Actor) string {
	e.t.Helper()
	var b strings.Builder
	ms, err := e.store.ListMembers(shCtx, e.admin, "")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, m := range ms {
		fmt.Fprintf(&b, "member %s %s %s %s\n", m.Email, m.FirstName, m.LastName, m.Role)
	}
	ts, err := e.store.ListTeams(shCtx, e.admin)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, t := range ts {
		fmt.Fprintf(&b, "team %s %q:", t.Name, t.Description)
		for _, m := range t.Members {
			b.WriteString(" " + m.Email)
		}
		b.WriteString("\n")
	}
	seen := map[string]bool{}
	for _, o := range owners {
		page, err := e.store.ListSecrets(shCtx, o, "", 0, 1000)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, s := range page.Secrets {
			if seen[s.ID] {
				continue
			}
			seen[s.ID] = true
			gs, err := e.store.AccessList(shCtx, o, s.ID)
			if err != nil {
				e.t.Fatal(err)
			}
			fmt.Fprintf(&b, "secret %s v%d:", s.Name, s.Version)
			for _, g := range gs {
				fmt.Fprintf(&b, " %s:%s=%s", g.Kind, g.Name, g.Role)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// shAnonymous is a browser that is not signed in. It has the anonymous cookie a visit to the sign-in
// page leaves, as a browser whose session ended would.
func (e *admEnv) shAnonymous() *webtest.Client {
	c := e.NewClient(e.t)
	portalDo(c, http.MethodGet, "/login", nil, false)
	return c
}

func shareForm(rows ...string) url.Values {
	v := url.Values{}
	for _, r := range rows { // "user:ID=role/orig"
		principal, roles, _ := strings.Cut(r, "=")
		role, orig, _ := strings.Cut(roles, "/")
		v.Add("principal", principal)
		v.Set("role_"+principal, role)
		v.Set("orig_"+principal, orig)
	}
	return v
}

func userRow(a db.Actor, role, orig string) string {
	return "user:" + a.UserID + "=" + role + "/" + orig
}

var inviteLinkPattern = regexp.MustCompile(`id="invite-link" class="input mono" value="([^"]+)"`)

var errorBoxPattern = regexp.MustCompile(`(?s)class="alert alert-error[^"]*"[^>]*role="alert">.*?<span>(.*?)</span>`)

// dialogError is the message in a dialog's error box, unescaped; "" when there is none.
func dialogError(body string) string {
	m := errorBoxPattern.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

var doomedPattern = regexp.MustCompile(`<li class="mono">([^<]*)</li>`)

// doomedSecrets lists the secret names a confirmation dialog says will be deleted, sorted.
func doomedSecrets(body string) []string {
	out := []string{}
	for _, m := range doomedPattern.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	slices.Sort(out)
	return out
}

// TestSharing_RefusalsShowInTheDialogAndChangeNothing sends every bad input of the Members, Teams and
// Share dialogs: each answer is the dialog again with db's message, and nothing stored changes.
func TestSharing_RefusalsShowInTheDialogAndChangeNothing(t *testing.T) {
	t.Parallel()
	w := newSharingWorld(t)
	payments := w.shTeam("Payments")
	w.shGrant(w.bob, w.sec, userGrant(w.carol, db.RoleReader))
	admin, bob := w.signIn("ada@example.com"), w.signIn("bob@example.com")
	share := "/secrets/" + w.sec.ID + "/share"

	cases := []struct {
		name       string
		as         *webtest.Client
		method     string
		path       string
		form       url.Values
		wantStatus int
		wantErr    string
		wantField  string // the input the message is under; "" for the box over the form
	}{
		{"empty team name", admin, http.MethodPost, "/teams", url.Values{"name": {"   "}, "description": {"x"}},
			422, "Team name is required.", "team-name"},
		{"duplicate team name", admin, http.MethodPost, "/teams", url.Values{"name": {"platform"}},
			422, `A team named "platform" already exists in this organization.`, "team-name"},
		{"rename to empty", admin, http.MethodPut, "/teams/" + w.team.ID, url.Values{"name": {""}, "description": {""}},
			422, "Team name is required.", "team-name"},
		{"rename to a taken name", admin, http.MethodPut, "/teams/" + payments.ID, url.Values{"name": {"Platform"}, "description": {""}},
			422, `A team named "Platform" already exists in this organization.`, "team-name"},
		{"add a user of another org to a team", admin, http.MethodPost, "/teams/" + w.team.ID + "/members", url.Values{"email": {"olga@example.com"}},
			422, "olga@example.com is not a member of this organization.", "team-add-email"},
		{"add an unknown email to a team", admin, http.MethodPost, "/teams/" + w.team.ID + "/members", url.Values{"email": {"nobody@example.com"}},
			422, "nobody@example.com is not a member of this organization.", "team-add-email"},
		{"add a team member with no email", admin, http.MethodPost, "/teams/" + w.team.ID + "/members", url.Values{"email": {" "}},
			422, "Enter the email of the member to add.", "team-add-email"},
		{"invite with a bad email", admin, http.MethodPost, "/invitations",
			url.Values{"email": {"nia.example.com"}, "role": {"member"}},
			422, `"nia.example.com" is not a valid email address.`, "invite-email"},
		{"invite someone who is already a member", admin, http.MethodPost, "/invitations",
			url.Values{"email": {"BOB@example.com"}, "role": {"member"}},
			422, "BOB@example.com is already a member of this organization.", "invite-email"},
		{"invite with an unknown role", admin, http.MethodPost, "/invitations",
			url.Values{"email": {"olga@example.com"}, "role": {"owner"}},
			422, `Unknown organization role "owner": use admin or member.`, ""},
		{"invite into another organization's team", admin, http.MethodPost, "/invitations",
			url.Values{"email": {"nia@example.com"}, "role": {"member"}, "team": {w.otherTeam.ID}},
			422, "Team " + w.otherTeam.ID + " is not a team of this organization.", ""},
		{"share with a user of another org", bob, http.MethodPost, share, shareForm(userRow(w.olga, "reader", "")),
			422, "The user " + w.olga.UserID + " is not part of this organization.", ""},
		{"share with an outsider together with a valid change", bob, http.MethodPost, share,
			shareForm(userRow(w.carol, "owner", "reader"), userRow(w.olga, "reader", "")),
			422, "The user " + w.olga.UserID + " is not part of this organization.", ""},
		{"share with an unknown role", bob, http.MethodPost, share, shareForm(userRow(w.carol, "admin", "reader")),
			422, `Unknown role "admin": use Owner or Reader.`, ""},
		{"remove the last Owner", bob, http.MethodPost, share, shareForm(userRow(w.bob, "remove", "owner"), userRow(w.carol, "reader", "reader")),
			409, "A secret must keep at least one Owner: this change would leave DEPLOY_TOKEN with none.", ""},
		{"downgrade the last Owner", bob, http.MethodPost, share, shareForm(userRow(w.bob, "reader", "owner")),
			409, "A secret must keep at least one Owner: this change would leave DEPLOY_TOKEN with none.", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := w.shSnapshot(w.bob)
			resp, body := portalDo(tc.as, tc.method, tc.path, tc.form, true)
			if resp.Status != tc.wantStatus {
				t.Errorf("status %d, want %d\n%s", resp.Status, tc.wantStatus, body)
			}
			if !strings.HasPrefix(body, "<dialog") && !strings.HasPrefix(body, `<form id="team-add-form"`) {
				t.Errorf("the answer is not the dialog:\n%s", body)
			}
			if got := dialogError(body); got != tc.wantErr {
				t.Errorf("error %q, want %q", got, tc.wantErr)
			}
			if tc.wantField != "" {
				if got, marked := webtest.FieldError(body, tc.wantField); got != tc.wantErr || !marked {
					t.Errorf("under #%s: %q (marked invalid: %v), want %q", tc.wantField, got, marked, tc.wantErr)
				}
			} else if strings.Contains(body, "alert-field") || strings.Contains(body, `aria-invalid="true"`) {
				t.Errorf("an error about no one field is shown at a field:\n%s", body)
			}
			if after := w.shSnapshot(w.bob); after != before {
				t.Errorf("stored data changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}

	t.Run("the invite dialog keeps what was chosen", func(t *testing.T) {
		_, body := portalDo(admin, http.MethodPost, "/invitations", url.Values{"email": {"nia.example.com"}, "role": {"admin"}, "team": {w.team.ID}}, true)
		mustContain(t, body, `value="nia.example.com"`, `value="admin" checked`, `value="`+w.team.ID+`" checked`)
	})
	if invs, err := w.store.ListInvitations(shCtx, w.admin, db.InvitationFilter{}); err != nil || len(invs) != 0 {
		t.Errorf("refused invitations were stored: %d, %v", len(invs), err)
	}
	t.Run("the share dialog keeps the staged rows", func(t *testing.T) {
		_, body := portalDo(bob, http.MethodPost, share, shareForm(userRow(w.bob, "remove", "owner"), userRow(w.carol, "reader", "reader")), true)
		mustContain(t, body, `name="role_user:`+w.bob.UserID+`" value="remove"`, "Access will be removed", "Carol Coder")
	})
}

// TestSharing_NonAdminsGet403ForMemberAndTeamChanges: a plain member sees Members and Teams read-only,
// and every change (and every preview of one) is refused by db with 403.
func TestSharing_NonAdminsGet403ForMemberAndTeamChanges(t *testing.T) {
	t.Parallel()
	w := newSharingWorld(t)
	bob := w.signIn("bob@example.com")
	_, pending, err := w.store.CreateInvitation(shCtx, w.admin, db.NewInvitation{Email: "pat@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	before := w.shSnapshot(w.bob)

	requests := []struct {
		method, path string
		form         url.Values
	}{
		{http.MethodGet, "/members/invite", nil},
		{http.MethodPost, "/invitations", url.Values{"email": {"nia@example.com"}, "role": {"member"}}},
		{http.MethodGet, "/invitations/" + pending.ID + "/revoke", nil},
		{http.MethodDelete, "/invitations/" + pending.ID, nil},
		{http.MethodPost, "/members/" + w.carol.UserID + "/role", url.Values{"role": {"admin"}}},
		{http.MethodPost, "/members/" + w.bob.UserID + "/role", url.Values{"role": {"admin"}}},
		{http.MethodGet, "/members/" + w.carol.UserID + "/remove", nil},
		{http.MethodDelete, "/members/" + w.carol.UserID, nil},
		{http.MethodPost, "/teams", url.Values{"name": {"Rogue"}}},
		{http.MethodPut, "/teams/" + w.team.ID, url.Values{"name": {"Renamed"}, "description": {""}}},
		{http.MethodPost, "/teams/" + w.team.ID + "/members", url.Values{"email": {"carol@example.com"}}},
		{http.MethodGet, "/teams/" + w.team.ID + "/members/" + w.bob.UserID + "/remove", nil},
		{http.MethodDelete, "/teams/" + w.team.ID + "/members/" + w.bob.UserID, nil},
		{http.MethodGet, "/teams/" + w.team.ID + "/delete", nil},
		{http.MethodDelete, "/teams/" + w.team.ID, nil},
	}
	for _, r := range requests {
		resp, body := portalDo(bob, r.method, r.path, r.form, true)
		if resp.Status != http.StatusForbidden {
			t.Errorf("%s %s: status %d, want 403\n%s", r.method, r.path, resp.Status, body)
		}
	}
	if after := w.shSnapshot(w.bob); after != before {
		t.Errorf("stored data changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if inv, err := w.store.InvitationByID(shCtx, w.admin, pending.ID); err != nil || inv.State != db.InvitationPending {
		t.Errorf("the pending invitation %+v %v, want still pending", inv, err)
	}
	if invs, _ := w.store.ListInvitations(shCtx, w.admin, db.InvitationFilter{}); len(invs) != 1 {
		t.Errorf("%d invitations, want the one pending", len(invs))
	}

	members := portalGet(t, bob, "/members", false, http.StatusOK)
	mustContain(t, members, "ada@example.com", "carol@example.com", `class="badge badge-owner">Admin`)
	mustNotContain(t, members, "Invite member", `hx-post="/members/`, `/remove"`, "pat@example.com")
	teams := portalGet(t, bob, "/teams", false, http.StatusOK)
	mustContain(t, teams, "Platform", "Bob Builder")
	mustNotContain(t, teams, "New team", `/edit"`, `/delete"`)
}

// TestSharing_AdminManagesMembersAndTeams walks the happy paths: add an existing user and a new one,
// change a role, create, rename and staff a team.
func TestSharing_AdminManagesMembersAndTeams(t *testing.T) {
	t.Parallel()
	w := newSharingWorld(t)
	admin := w.signIn("ada@example.com")

	// Inviting shows the link once; the person opens it in their own browser and chooses their password.
	resp, body := portalDo(admin, http.MethodPost, "/invitations", url.Values{"email": {"nia@example.com"}, "role": {"admin"}, "team": {w.team.ID}}, true)
	link := inviteLinkPattern.FindStringSubmatch(body)
	if resp.Status != http.StatusOK || link == nil || resp.Header.Get("HX-Trigger") != "members-changed" {
		t.Fatalf("invite: %d %q %s", resp.Status, resp.Header.Get("HX-Trigger"), body)
	}
	mustContain(t, body, "Invitation created", "nia@example.com")
	members := portalGet(t, admin, "/members", true, http.StatusOK)
	mustContain(t, members, "Invitations", "nia@example.com", "Pending", "Joins Platform")
	nia := w.shAnonymous()
	path := strings.TrimPrefix(link[1], w.URL)
	page := portalGet(t, nia, path, false, http.StatusOK)
	mustContain(t, page, "Join <span class=\"invite-org\">Example Org</span>", "Ada Admin invited", "nia@example.com", "as an admin")
	resp, _ = portalDo(nia, http.MethodPost, path, url.Values{"first_name": {"Nia"}, "last_name": {"Newhire"},
		"password": {webtest.Password}, "password_confirm": {webtest.Password}}, false)
	if resp.Status != http.StatusSeeOther || resp.Header.Get("Location") != "/secrets" {
		t.Fatalf("accept the invitation: %d to %q", resp.Status, resp.Header.Get("Location"))
	}
	portalGet(t, nia, "/secrets", false, http.StatusOK) // signed in at once
	w.signIn("nia@example.com")
	members = portalGet(t, admin, "/members", true, http.StatusOK)
	mustContain(t, members, "Nia Newhire", `id="members-table"`, "Accepted")
	mustNotContain(t, members, "<html")

	// Someone who has an account (in another organization) joins with it.
	resp, body = portalDo(admin, http.MethodPost, "/invitations", url.Values{"email": {"olga@example.com"}, "role": {"member"}}, true)
	link = inviteLinkPattern.FindStringSubmatch(body)
	if resp.Status != http.StatusOK || link == nil {
		t.Fatalf("invite olga: %d %s", resp.Status, body)
	}
	olga := w.shAnonymous()
	resp, _ = portalDo(olga, http.MethodPost, strings.TrimPrefix(link[1], w.URL)+"/accept", url.Values{"password": {webtest.Password}}, false)
	if resp.Status != http.StatusSeeOther {
		t.Fatalf("olga accepts with her password: %d", resp.Status)
	}
	mustContain(t, portalGet(t, admin, "/members", true, http.StatusOK), "Olga Other")

	resp, body = portalDo(admin, http.MethodPost, "/members/"+w.carol.UserID+"/role", url.Values{"role": {"admin"}}, true)
	if resp.Status != http.StatusOK || resp.Header.Get("HX-Trigger") != "members-changed" {
		t.Fatalf("role change: %d %s", resp.Status, body)
	}
	if a := w.actor(w.carol.UserID); !a.IsAdmin() {
		t.Errorf("carol is %s, want admin", a.Role)
	}

	resp, body = portalDo(admin, http.MethodPost, "/teams", url.Values{"name": {"Payments"}, "description": {"Billing"}}, true)
	if resp.Status != http.StatusOK || resp.Header.Get("HX-Trigger") != "teams-changed" {
		t.Fatalf("create team: %d %s", resp.Status, body)
	}
	resp, _ = portalDo(admin, http.MethodPut, "/teams/"+w.team.ID, url.Values{"name": {"Platform Eng"}, "description": {"Builds"}}, true)
	if resp.Status != http.StatusOK {
		t.Fatalf("rename team: %d", resp.Status)
	}
	resp, body = portalDo(admin, http.MethodPost, "/teams/"+w.team.ID+"/members", url.Values{"email": {"carol@example.com"}}, true)
	if resp.Status != http.StatusOK {
		t.Fatalf("add team member: %d %s", resp.Status, body)
	}
	mustContain(t, body, `id="team-members"`, "carol@example.com", "Added carol@example.com to Platform Eng.")
	teams := portalGet(t, admin, "/teams", false, http.StatusOK)
	mustContain(t, teams, "Platform Eng", "Builds", "Payments", "Bob Builder, Carol Coder and Nia Newhire")
}

// TestSharing_LastAdminStays: the organization's only admin can neither step down nor be removed;
// the confirmation says why and offers no Remove.
func TestSharing_LastAdminStays(t *testing.T) {
	t.Parallel()
	w := newSharingWorld(t)
	admin := w.signIn("ada@example.com")
	resp, _ := portalDo(admin, http.MethodPost, "/members/"+w.admin.UserID+"/role", url.Values{"role": {"member"}}, true)
	if resp.Status != http.StatusConflict || resp.Header.Get("HX-Trigger") != "members-changed" {
		t.Errorf("demote the last admin: %d, trigger %q; want 409 and a table reload", resp.Status, resp.Header.Get("HX-Trigger"))
	}
	resp, body := portalDo(admin, http.MethodGet, "/members/"+w.admin.UserID+"/remove", nil, true)
	if resp.Status != http.StatusConflict {
		t.Errorf("remove confirmation: %d, want 409", resp.Status)
	}
	if got := dialogError(body); !strings.Contains(got, "last admin") {
		t.Errorf("error %q", got)
	}
	mustNotContain(t, body, "hx-delete")
}

// TestSharing_RemoveMemberListsExactlyTheSecretsThatGo: the confirmation lists the secrets whose last
// Owner the member is (directly or as the only member of an owning team), and confirming deletes
// exactly those.
func TestSharing_RemoveMemberListsExactlyTheSecretsThatGo(t *testing.T) {
	t.Parallel()
	w := newSharingWorld(t)
	victim := w.member("vic@example.com", "Vic", "Victim")
	solo := w.shTeam("Solo", victim)
	shared := w.shTeam("Shared", victim, w.carol)

	w.secret(victim, "ONLY_VIC", "1") // victim is the only Owner: goes
	both := w.secret(victim, "VIC_AND_CAROL", "2")
	w.shGrant(victim, both, userGrant(w.carol, db.RoleOwner)) // another Owner stays
	viaSolo := w.secret(victim, "VIA_SOLO_TEAM", "3")
	w.shGrant(victim, viaSolo, teamGrant(solo, db.RoleOwner), db.AccessChange{Kind: db.PrincipalUser, ID: victim.UserID, Revoke: true}) // goes
	viaShared := w.secret(victim, "VIA_SHARED_TEAM", "4")
	w.shGrant(victim, viaShared, teamGrant(shared, db.RoleOwner)) // Carol still owns it through Shared
	read := w.secret(w.carol, "VIC_READS", "5")
	w.shGrant(w.carol, read, userGrant(victim, db.RoleReader)) // a Reader's leaving deletes nothing
	readerTeam := w.secret(victim, "OWNERS_READ_TEAM", "6")
	w.shGrant(victim, readerTeam, teamGrant(shared, db.RoleReader)) // Carol only reads it: goes

	admin := w.signIn("ada@example.com")
	before := w.shSnapshot(victim, w.carol)
	body := portalGet(t, admin, "/members/"+victim.UserID+"/remove", true, http.StatusOK)
	want := []string{"ONLY_VIC", "OWNERS_READ_TEAM", "VIA_SOLO_TEAM"}
	if got := doomedSecrets(body); !slices.Equal(got, want) {
		t.Errorf("listed %v, want %v", got, want)
	}
	mustContain(t, body, "Remove Vic Victim?", "Remove and delete 3 secrets", `hx-delete="/members/`+victim.UserID+`"`)
	if after := w.shSnapshot(victim, w.carol); after != before {
		t.Fatalf("the preview changed data:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	resp, body := portalDo(admin, http.MethodDelete, "/members/"+victim.UserID, nil, true)
	if resp.Status != http.StatusOK {
		t.Fatalf("remove: %d %s", resp.Status, body)
	}
	mustContain(t, body, "Removed vic@example.com from the organization. Deleted 3 secrets.")
	if _, err := w.store.ActorFor(shCtx, victim.UserID, w.org.ID, "portal", ""); db.ErrorCode(err) != db.CodeForbidden {
		t.Errorf("victim is still a member: %v", err)
	}
	page, err := w.store.ListSecrets(shCtx, w.carol, "", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range page.Secrets {
		names = append(names, s.Name)
	}
	if want := []string{"VIA_SHARED_TEAM", "VIC_AND_CAROL", "VIC_READS"}; !slices.Equal(names, want) {
		t.Errorf("carol sees %v, want %v", names, want)
	}
	for _, n := range []string{"ONLY_VIC", "OWNERS_READ_TEAM", "VIA_SOLO_TEAM"} { // deleted, so the name is free
		w.secret(w.carol, n, "again")
	}
}

// TestSharing_TeamChangesConfirmTheSecretsThatGo: removing a member from a team and deleting a team
// are previewed with the secrets they delete, then done.
func TestSharing_TeamChangesConfirmTheSecretsThatGo(t *testing.T) {
	t.Parallel()
	w := newSharingWorld(t)
	viaTeam := w.secret(w.bob, "TEAM_OWNED", "1")
	w.shGrant(w.bob, viaTeam, teamGrant(w.team, db.RoleOwner), db.AccessChange{Kind: db.PrincipalUser, ID: w.bob.UserID, Revoke: true})
	w.shGrant(w.bob, w.sec, teamGrant(w.team, db.RoleOwner)) // Bob still owns DEPLOY_TOKEN directly
	admin := w.signIn("ada@example.com")

	body := portalGet(t, admin, "/teams/"+w.team.ID+"/members/"+w.bob.UserID+"/remove", true, http.StatusOK)
	if got, want := doomedSecrets(body), []string{"TEAM_OWNED"}; !slices.Equal(got, want) {
		t.Errorf("remove member lists %v, want %v", got, want)
	}
	mustContain(t, body, "Remove Bob Builder from Platform?", "Remove and delete 1 secret")
	body = portalGet(t, admin, "/teams/"+w.team.ID+"/delete", true, http.StatusOK)
	if got, want := doomedSecrets(body), []string{"TEAM_OWNED"}; !slices.Equal(got, want) {
		t.Errorf("delete team lists %v, want %v", got, want)
	}
	mustContain(t, body, "Delete team Platform?", "Delete team and 1 secret")

	carolTeam := w.shTeam("Readers", w.carol)
	body = portalGet(t, admin, "/teams/"+carolTeam.ID+"/delete", true, http.StatusOK)
	if got := doomedSecrets(body); len(got) != 0 {
		t.Errorf("deleting an owner-less team lists %v", got)
	}
	mustContain(t, body, "No secret loses its last Owner")

	resp, body := portalDo(admin, http.MethodDelete, "/teams/"+w.team.ID+"/members/"+w.bob.UserID, nil, true)
	if resp.Status != http.StatusOK {
		t.Fatalf("remove member: %d %s", resp.Status, body)
	}
	mustContain(t, body, "Members of Platform", "Removed Bob Builder from Platform. Deleted 1 secret.")
	if got := resp.Header.Get("HX-Trigger"); got != "teams-changed, secrets-changed" {
		t.Errorf("HX-Trigger %q", got)
	}
	if _, err := w.store.SecretByID(shCtx, w.bob, viaTeam.ID); db.ErrorCode(err) != db.CodeNotFound {
		t.Errorf("TEAM_OWNED survived: %v", err)
	}
	resp, _ = portalDo(admin, http.MethodDelete, "/teams/"+w.team.ID, nil, true)
	if resp.Status != http.StatusOK {
		t.Fatalf("delete team: %d", resp.Status)
	}
	if _, err := w.store.TeamByID(shCtx, w.admin, w.team.ID); db.ErrorCode(err) != db.CodeNotFound {
		t.Errorf("team survived: %v", err)
	}
	if _, err := w.store.SecretByID(shCtx, w.bob, w.sec.ID); err != nil {
		t.Errorf("DEPLOY_TOKEN went with the team: %v", err)
	}
}

// TestSharing_TeamAddRefusalRedrawsOnlyTheForm: a refused add answers 422 with the add form alone
// (the typed email and the message), retargeted onto the form, so the members and the suggestions on
// the page stay; nothing changes.
func TestSharing_TeamAddRefusalRedrawsOnlyTheForm(t *testing.T) {
	t.Parallel()
	w := newSharingWorld(t)
	admin := w.signIn("ada@example.com")
	path := "/teams/" + w.team.ID + "/members"

	// The dialog: the suggestions (the organization's members not in the team) sit beside the form,
	// not in it, so that redrawing the form keeps them.
	dialog := portalGet(t, admin, path, true, http.StatusOK)
	mustContain(t, dialog, `<form id="team-add-form"`, `list="team-candidates"`, "</form><datalist id=\"team-candidates\">",
		`<option value="ada@example.com">Ada Admin</option>`, `<option value="carol@example.com">Carol Coder</option>`)
	mustNotContain(t, dialog, `<option value="bob@example.com">`, `<option value="olga@example.com">`)

	for _, tc := range []struct{ email, typed, wantErr string }{
		{"olga@example.com", "olga@example.com", "olga@example.com is not a member of this organization."},
		{"  nobody@example.com ", "nobody@example.com", "nobody@example.com is not a member of this organization."},
		{" ", "", "Enter the email of the member to add."},
	} {
		before := w.shSnapshot(w.bob)
		resp, body := portalDo(admin, http.MethodPost, path, url.Values{"email": {tc.email}}, true)
		if resp.Status != http.StatusUnprocessableEntity {
			t.Errorf("add %q: status %d, want 422\n%s", tc.email, resp.Status, body)
		}
		if got := resp.Header.Get("HX-Retarget"); got != "#team-add-form" {
			t.Errorf("add %q: HX-Retarget %q, want #team-add-form", tc.email, got)
		}
		if got := resp.Header.Get("HX-Reswap"); got != "outerHTML" {
			t.Errorf("add %q: HX-Reswap %q, want outerHTML", tc.email, got)
		}
		if got := resp.Header.Get("HX-Trigger"); got != "" {
			t.Errorf("add %q: HX-Trigger %q on a refusal", tc.email, got)
		}
		if !strings.HasPrefix(body, `<form id="team-add-form"`) || !strings.HasSuffix(strings.TrimSpace(body), "</form>") {
			t.Errorf("add %q: the answer is not the add form alone:\n%s", tc.email, body)
		}
		if got := dialogError(body); got != tc.wantErr {
			t.Errorf("add %q: error %q, want %q", tc.email, got, tc.wantErr)
		}
		mustContain(t, body, `id="team-add-email"`, `value="`+tc.typed+`"`, `hx-post="`+path+`"`, `hx-target="#team-members"`)
		mustNotContain(t, body, `id="team-members"`, `<datalist`, "Bob Builder")
		if after := w.shSnapshot(w.bob); after != before {
			t.Errorf("add %q changed stored data:\nbefore:\n%s\nafter:\n%s", tc.email, before, after)
		}
	}
	v, err := w.store.TeamView(shCtx, w.admin, w.team.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Team.Members) != 1 || v.Team.Members[0].ID != w.bob.UserID {
		t.Errorf("members %+v, want Bob alone", v.Team.Members)
	}
}

// TestSharing_TeamRemoveNonMemberIs404: taking out of a team an organization member who is not in it
// is not found, for the confirmation and for the change, and changes nothing.
func TestSharing_TeamRemoveNonMemberIs404(t *testing.T) {
	t.Parallel()
	w := newSharingWorld(t)
	admin := w.signIn("ada@example.com")
	before := w.shSnapshot(w.bob, w.carol)
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		path := "/teams/" + w.team.ID + "/members/" + w.carol.UserID
		if method == http.MethodGet {
			path += "/remove"
		}
		resp, body := portalDo(admin, method, path, nil, true)
		if resp.Status != http.StatusNotFound {
			t.Errorf("%s %s: status %d, want 404\n%s", method, path, resp.Status, body)
		}
		mustContain(t, body, "Platform has no such member.")
		if got := resp.Header.Get("HX-Trigger"); got != "" {
			t.Errorf("%s %s: HX-Trigger %q", method, path, got)
		}
	}
	if after := w.shSnapshot(w.bob, w.carol); after != before {
		t.Errorf("stored data changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestShare_SaveAppliesEveryStagedChangeAtOnce: one Save grants, changes and revokes together, and
// rows whose role did not change send nothing.
func TestShare_SaveAppliesEveryStagedChangeAtOnce(t *testing.T) {
	t.Parallel()
	w := newSharingWorld(t)
	dan := w.member("dan@example.com", "Dan", "Deployer")
	erin := w.member("erin@example.com", "Erin", "Engineer")
	w.shGrant(w.bob, w.sec, userGrant(dan, db.RoleReader), userGrant(erin, db.RoleReader))
	bob := w.signIn("bob@example.com")

	form := shareForm(userRow(w.bob, "owner", "owner"), userRow(dan, "remove", "reader"), userRow(erin, "owner", "reader"),
		userRow(w.carol, "reader", ""), "team:"+w.team.ID+"=owner/")
	resp, body := portalDo(bob, http.MethodPost, "/secrets/"+w.sec.ID+"/share", form, true)
	if resp.Status != http.StatusOK || resp.Header.Get("HX-Trigger") != "secrets-changed" {
		t.Fatalf("save: %d %q %s", resp.Status, resp.Header.Get("HX-Trigger"), body)
	}
	mustContain(t, body, "Access updated.")
	gs, err := w.store.AccessList(shCtx, w.bob, w.sec.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range gs {
		got = append(got, g.Name+"="+string(g.Role))
	}
	slices.Sort(got)
	want := []string{"Bob Builder=owner", "Carol Coder=reader", "Erin Engineer=owner", "Platform=owner"}
	if !slices.Equal(got, want) {
		t.Errorf("access list %v, want %v", got, want)
	}
}

// TestShare_StagingRowsAndSearch: the type-ahead finds members and teams of the organization only,
// leaves out who is listed, and the row endpoint draws the staged states.
func TestShare_StagingRowsAndSearch(t *testing.T) {
	t.Parallel()
	w := newSharingWorld(t)
	bob := w.signIn("bob@example.com")
	base := "/secrets/" + w.sec.ID + "/share"

	body := portalGet(t, bob, base+"/search?q=CAR", true, http.StatusOK)
	mustContain(t, body, "Carol Coder", "carol@example.com", "principal=user%3A"+w.carol.UserID)
	body = portalGet(t, bob, base+"/search?q=plat", true, http.StatusOK)
	mustContain(t, body, "Platform", "principal=team%3A"+w.team.ID)
	body = portalGet(t, bob, base+"/search?q=example.com&principal=user:"+w.carol.UserID+"&principal=user:"+w.bob.UserID, true, http.StatusOK)
	mustContain(t, body, "Ada Admin")
	mustNotContain(t, body, "Carol Coder", "Bob Builder", "Olga")
	body = portalGet(t, bob, base+"/search?q=olga", true, http.StatusOK)
	mustContain(t, body, "No member or team matches")
	// Nothing typed (the field got the focus): the organization's teams and members, without who is
	// listed, never another organization's.
	for _, q := range []string{"", "%20%20"} {
		body = portalGet(t, bob, base+"/search?q="+q+"&principal=user:"+w.bob.UserID, true, http.StatusOK)
		mustContain(t, body, "Platform", "Ada Admin", "Carol Coder", "principal=team%3A"+w.team.ID)
		mustNotContain(t, body, "Bob Builder", "Olga", "Other team", "No member or team matches")
	}
	// Nobody who cannot read the secret browses through its dialog: Olga, of another organization.
	olga := w.signIn("olga@example.com")
	if r, body := portalDo(olga, http.MethodGet, base+"/search?q=", nil, true); r.Status != http.StatusNotFound || strings.Contains(body, "Carol") {
		t.Errorf("another organization's member browsing: %d\n%s", r.Status, body)
	}

	body = portalGet(t, bob, base+"/row?pick=1&new_role=owner&principal=user:"+w.carol.UserID, true, http.StatusOK)
	mustContain(t, body, `name="principal" value="user:`+w.carol.UserID+`"`, `<option value="owner" selected>`, "New",
		`id="share-search" class="search share-search" hx-swap-oob="true"`, `id="share-results" class="share-results" aria-live="polite" hx-swap-oob="true"`)
	body = portalGet(t, bob, base+"/row?principal=user:"+w.bob.UserID+"&orig=owner&role_user:"+w.bob.UserID+"=reader", true, http.StatusOK)
	mustContain(t, body, `<option value="reader" selected>`, "was Owner", "Remove Access", "data-pending")
	body = portalGet(t, bob, base+"/row?principal=user:"+w.bob.UserID+"&orig=owner&role=remove", true, http.StatusOK)
	mustContain(t, body, `name="role_user:`+w.bob.UserID+`" value="remove"`, "Access will be removed", "Undo")
	resp, body := portalDo(bob, http.MethodGet, base+"/row?principal=user:"+w.carol.UserID+"&role=remove", nil, true)
	if resp.Status != http.StatusOK || body != "" {
		t.Errorf("dropping a pending row: %d %q, want an empty 200", resp.Status, body)
	}
	resp, _ = portalDo(bob, http.MethodGet, base+"/row?pick=1&new_role=reader&principal=user:"+w.olga.UserID, nil, true)
	if resp.Status != http.StatusBadRequest {
		t.Errorf("picking an outsider: %d, want 400", resp.Status)
	}
}

// TestShare_ReaderSeesWhoHasAccessReadOnly: a Reader opening Access sees the list, with no Save, no
// search and no controls.
func TestShare_ReaderSeesWhoHasAccessReadOnly(t *testing.T) {
	t.Parallel()
	w := newSharingWorld(t)
	w.shGrant(w.bob, w.sec, userGrant(w.carol, db.RoleReader))
	carol := w.signIn("carol@example.com")
	// The Secrets list's action reads "Access" for a Reader, "Share" for an Owner.
	list := portalGet(t, carol, "/secrets", false, http.StatusOK)
	mustContain(t, list, `aria-label="Access to DEPLOY_TOKEN">Access (view only)</button>`)
	mustNotContain(t, list, `aria-label="Share DEPLOY_TOKEN"`, ">Share</button>")
	mustContain(t, portalGet(t, w.signIn("bob@example.com"), "/secrets", false, http.StatusOK), `aria-label="Share DEPLOY_TOKEN">Share</button>`)
	body := portalGet(t, carol, "/secrets/"+w.sec.ID+"/share", true, http.StatusOK)
	mustContain(t, body, "Access to <span class=\"mono\">DEPLOY_TOKEN</span>", "Bob Builder", "bob@example.com", "Carol Coder",
		`class="badge badge-owner">Owner`, `class="badge badge-reader">Reader`, "You are a Reader")
	mustNotContain(t, body, `type="submit"`, "Save", `id="share-q"`, "Remove Access", `name="principal"`, "<select")
}

// portalAction is one action of the authorization matrix (authz_test.go) done through the portal. check fails the test when the
// response does not show the outcome.
type portalAction struct {
	name   string
	action string // the matrix's action
	do     func(c *webtest.Client, sec *db.Secret) (*webtest.Response, string)
	check  func(t *testing.T, want authOutcome, sec *db.Secret, resp *webtest.Response, body string)
}

// TestAuthorizationMatrix runs the authorization matrix (authz_test.go) through the portal: every
// principal × every action, each on a fresh secret with the same access list.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	w := newSharingWorld(t)
	ownerDirect := w.member("olive@example.com", "Olive", "Owner")
	ownerTeamUser := w.member("otto@example.com", "Otto", "Teamowner")
	readerDirect := w.member("rita@example.com", "Rita", "Reader")
	readerTeamUser := w.member("ray@example.com", "Ray", "Teamreader")
	noGrant := w.member("nora@example.com", "Nora", "Nogrant")
	ownerNestedUser := w.member("nell@example.com", "Nell", "Nestedowner")
	readerNestedUser := w.member("nick@example.com", "Nick", "Nestedreader")
	teamManager := w.member("mona@example.com", "Mona", "Manager")
	owners := w.shTeam("Owners", ownerTeamUser)
	if _, err := w.store.ChangeTeamAccess(shCtx, w.admin, owners.ID, []db.RoleGrant{{Role: db.RoleNameOwner, UserIDs: []string{teamManager.UserID}}}, nil); err != nil {
		t.Fatal(err)
	}
	readers := w.shTeam("Readers", readerTeamUser)
	for outer, inner := range map[*db.Team]*db.Team{owners: w.shTeam("Owners inner", ownerNestedUser), readers: w.shTeam("Readers inner", readerNestedUser)} {
		if _, err := w.store.UpdateTeam(shCtx, w.admin, outer.ID, db.TeamChange{AddTeamIDs: []string{inner.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	creator := w.bob

	clients := map[string]*webtest.Client{
		pOwner: w.signIn("olive@example.com"), pTeamOwner: w.signIn("otto@example.com"), pReader: w.signIn("rita@example.com"),
		pTeamReader: w.signIn("ray@example.com"), pMember: w.signIn("nora@example.com"), pAdmin: w.signIn("ada@example.com"),
		pOtherOrg: w.signIn("olga@example.com"), pAnonymous: w.shAnonymous(),
		pNestedOwner: w.signIn("nell@example.com"), pNestedReader: w.signIn("nick@example.com"), pTeamManager: w.signIn("mona@example.com"),
	}

	status := map[authOutcome]int{allowed: http.StatusOK, forbidden: http.StatusForbidden, hidden: http.StatusNotFound}
	// wantStatus checks the status of an htmx request; anonymous ones get 401 with HX-Redirect.
	wantStatus := func(t *testing.T, want authOutcome, resp *webtest.Response, body string) {
		t.Helper()
		if want == signIn {
			if resp.Status != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("HX-Redirect"), "/login") {
				t.Errorf("status %d, HX-Redirect %q; want 401 to /login", resp.Status, resp.Header.Get("HX-Redirect"))
			}
			return
		}
		if resp.Status != status[want] {
			t.Errorf("status %d, want %d\n%s", resp.Status, status[want], body)
		}
	}
	actions := []portalAction{
		{name: "list", action: actList,
			do: func(c *webtest.Client, sec *db.Secret) (*webtest.Response, string) {
				return portalDo(c, http.MethodGet, "/secrets?q="+sec.Name, nil, false)
			},
			check: func(t *testing.T, want authOutcome, sec *db.Secret, resp *webtest.Response, body string) {
				if want == signIn {
					if resp.Status != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
						t.Errorf("status %d to %q, want 303 to /login", resp.Status, resp.Header.Get("Location"))
					}
					return
				}
				if resp.Status != http.StatusOK {
					t.Fatalf("status %d", resp.Status)
				}
				if listed := strings.Contains(body, ">"+sec.Name+"<"); listed != (want == allowed) {
					t.Errorf("listed=%v, want %v", listed, want == allowed)
				}
			}},
		{name: "reveal", action: actReveal,
			do: func(c *webtest.Client, sec *db.Secret) (*webtest.Response, string) {
				return portalDo(c, http.MethodPost, "/secrets/"+sec.ID+"/reveal", url.Values{}, true)
			},
			check: func(t *testing.T, want authOutcome, sec *db.Secret, resp *webtest.Response, body string) {
				wantStatus(t, want, resp, body)
				if revealed := strings.Contains(body, "value-of-"+sec.Name); revealed != (want == allowed) {
					t.Errorf("value revealed=%v", revealed)
				}
			}},
		{name: "edit", action: actEdit,
			do: func(c *webtest.Client, sec *db.Secret) (*webtest.Response, string) {
				return portalDo(c, http.MethodPut, "/secrets/"+sec.ID, url.Values{"value": {"edited"}, "version": {"1"}}, true)
			},
			check: func(t *testing.T, want authOutcome, sec *db.Secret, resp *webtest.Response, body string) {
				wantStatus(t, want, resp, body)
				cur, err := w.store.RevealSecret(shCtx, creator, sec.ID)
				if err != nil {
					t.Fatal(err)
				}
				wantValue := "value-of-" + sec.Name
				if want == allowed {
					wantValue = "edited"
				}
				if cur.Value != wantValue {
					t.Errorf("value %q, want %q", cur.Value, wantValue)
				}
			}},
		{name: "delete", action: actDelete,
			do: func(c *webtest.Client, sec *db.Secret) (*webtest.Response, string) {
				return portalDo(c, http.MethodDelete, "/secrets/"+sec.ID, nil, true)
			},
			check: func(t *testing.T, want authOutcome, sec *db.Secret, resp *webtest.Response, body string) {
				wantStatus(t, want, resp, body)
				_, err := w.store.SecretByID(shCtx, creator, sec.ID)
				if gone := db.ErrorCode(err) == db.CodeNotFound; gone != (want == allowed) {
					t.Errorf("deleted=%v (%v)", gone, err)
				}
			}},
		{name: "open share", action: actReadAccess,
			do: func(c *webtest.Client, sec *db.Secret) (*webtest.Response, string) {
				return portalDo(c, http.MethodGet, "/secrets/"+sec.ID+"/share", nil, true)
			},
			check: func(t *testing.T, want authOutcome, sec *db.Secret, resp *webtest.Response, body string) {
				wantStatus(t, want, resp, body)
				if want == allowed {
					mustContain(t, body, "<span class=\"mono\">"+sec.Name+"</span>") // "Share NAME" for Owners, "Access to NAME" for Readers
				}
			}},
		{name: "change access", action: actChangeAccess,
			do: func(c *webtest.Client, sec *db.Secret) (*webtest.Response, string) {
				return portalDo(c, http.MethodPost, "/secrets/"+sec.ID+"/share", shareForm(userRow(noGrant, "reader", "")), true)
			},
			check: func(t *testing.T, want authOutcome, sec *db.Secret, resp *webtest.Response, body string) {
				wantStatus(t, want, resp, body)
				_, err := w.store.SecretByID(shCtx, noGrant, sec.ID)
				if granted := err == nil; granted != (want == allowed) {
					t.Errorf("granted=%v (%v)", granted, err)
				}
			}},
		{name: "read access list", action: actReadAccess,
			do: func(c *webtest.Client, sec *db.Secret) (*webtest.Response, string) {
				return portalDo(c, http.MethodGet, "/secrets/"+sec.ID+"/share", nil, true)
			},
			check: func(t *testing.T, want authOutcome, sec *db.Secret, resp *webtest.Response, body string) {
				wantStatus(t, want, resp, body)
				shows := strings.Contains(body, "bob@example.com") && strings.Contains(body, "olive@example.com") &&
					strings.Contains(body, "share-row-team-"+owners.ID) && strings.Contains(body, "rita@example.com") &&
					strings.Contains(body, "share-row-team-"+readers.ID)
				if shows != (want == allowed) {
					t.Errorf("shows the access list=%v\n%s", shows, body)
				}
			}},
	}

	n := 0
	for _, who := range matrixPrincipals {
		for _, act := range actions {
			t.Run(who+"/"+act.name, func(t *testing.T) {
				n++
				sec := w.secret(creator, fmt.Sprintf("MATRIX_%02d", n), fmt.Sprintf("value-of-MATRIX_%02d", n))
				w.shGrant(creator, sec, userGrant(ownerDirect, db.RoleOwner), teamGrant(owners, db.RoleOwner),
					userGrant(readerDirect, db.RoleReader), teamGrant(readers, db.RoleReader))
				resp, body := act.do(clients[who], sec)
				act.check(t, matrixWant(who, act.action), sec, resp, body)
			})
		}
	}
}
