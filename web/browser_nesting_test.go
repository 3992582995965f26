package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/webtest"
)

// TestBrowser_NestedTeams: the Teams page shows where a team sits ("in Platform › Databases") and its
// member teams, and gives a team's Owner (not an admin) Members and Edit on that team alone, never
// Delete; the Share dialog lists the teams that reach the secret through a granted team, with the
// path. At a desktop's width and a phone's.
func TestBrowser_NestedTeams(t *testing.T) {
	ctx := context.Background()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	tom := ts.SeedMember(t, ada, "tom@example.com", "Tom", "Example")
	dina := ts.SeedMember(t, ada, "dina@example.com", "Dina", "Example")
	team := func(name string, members ...db.Actor) *db.Team {
		tm, err := ts.Store.CreateTeam(ctx, ada, name, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if _, err := ts.Store.UpdateTeam(ctx, ada, tm.ID, db.TeamChange{AddUserIDs: []string{m.UserID}}); err != nil {
				t.Fatal(err)
			}
		}
		return tm
	}
	platform, databases, postgres := team("Platform"), team("Databases"), team("Postgres", dina)
	for _, edge := range [][2]*db.Team{{platform, databases}, {databases, postgres}} {
		if _, err := ts.Store.UpdateTeam(ctx, ada, edge[0].ID, db.TeamChange{AddTeamIDs: []string{edge[1].ID}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ts.Store.ChangeTeamAccess(ctx, ada, databases.ID, []db.RoleGrant{{Role: db.RoleNameOwner, UserIDs: []string{tom.UserID}}}, nil); err != nil {
		t.Fatal(err)
	}
	sec := ts.SeedSecret(t, ada, "DB_URL", "postgres://canary")
	if err := ts.Store.ChangeAccess(ctx, ada, sec.ID, []db.AccessChange{{Kind: db.PrincipalTeam, ID: platform.ID, Role: db.RoleReader}}); err != nil {
		t.Fatal(err)
	}

	b := newBrowserTab(t, ts)
	b.openAs("tom@example.com")
	b.navigate("/teams")
	b.waitFor("the teams", `document.querySelectorAll("#teams-list tbody tr").length === 3`)
	rowText := func(name string) string {
		return evalJS[string](b, `(Array.from(document.querySelectorAll("#teams-list tbody tr")).find(r => r.querySelector(".team-name").textContent === `+jsString(name)+`) || {innerText: ""}).innerText`)
	}
	if got := rowText("Postgres"); !strings.Contains(got, "in Platform › Databases") || strings.Contains(got, "in Databases") {
		t.Errorf("Postgres row %q does not say where it sits, once", got)
	}
	if got := rowText("Platform"); !strings.Contains(got, "Teams: Databases") {
		t.Errorf("Platform row %q does not name its member team", got)
	}
	buttons := evalJS[[]string](b, `Array.from(document.querySelectorAll("#teams-list .row-actions button"), e => e.getAttribute("aria-label"))`)
	if strings.Join(buttons, "|") != "Members of Databases|Edit Databases" {
		t.Errorf("a team Owner gets %q, want Members and Edit of Databases alone", buttons)
	}
	b.shot("teams-nesting-owner-1280")
	b.run("a phone's viewport", chromedp.EmulateViewport(390, 844))
	b.waitFor("the narrow layout", `innerWidth === 390`)
	b.shot("teams-nesting-owner-390")

	// As tom, the Owner of Databases, the Members dialog works for it.
	b.click(`button[hx-get="/teams/` + databases.ID + `/members"]`)
	b.waitFor("the Members dialog", dialogOpen)

	b = newBrowserTab(t, ts)
	b.openAs("dina@example.com")
	b.navigate("/secrets")
	b.click(`button[hx-get="/secrets/` + sec.ID + `/share"]`)
	b.waitFor("the Share dialog", dialogOpen)
	b.waitVisible("#share-nested-" + postgres.ID)
	if got := b.text("#share-nested-" + postgres.ID); !strings.Contains(got, "via Platform › Databases") || !strings.Contains(got, "Reader") {
		t.Errorf("nested row %q", got)
	}
	if got := b.text("#share-nested-" + databases.ID); !strings.Contains(got, "via Platform") || strings.Contains(got, "›") {
		t.Errorf("nested row %q", got)
	}
	b.shot("share-nesting-1280")
	b.run("a phone's viewport", chromedp.EmulateViewport(390, 844))
	b.waitFor("the narrow layout", `innerWidth === 390`)
	b.shot("share-nesting-390")
}
