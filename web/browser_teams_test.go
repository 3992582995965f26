package web_test

import (
	"context"
	"slices"
	"testing"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/webtest"
)

// TestBrowser_TeamMembers drives the team Members dialog in a real browser: a refused add redraws
// only the add form (the typed email and the message, the focus back in the field) and leaves the
// members and the suggestions as they were; an accepted add redraws the panel; a removal is confirmed
// and goes back to the dialog.
func TestBrowser_TeamMembers(t *testing.T) {
	ctx := context.Background()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	bob := ts.SeedMember(t, ada, "bob@example.com", "Bob", "Example")
	ts.SeedMember(t, ada, "carol@example.com", "Carol", "Example")
	ts.SeedOrg(t, "Globex", "zed@example.com") // someone, but not of Acme
	team, err := ts.Store.CreateTeam(ctx, ada, "Platform", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Store.UpdateTeam(ctx, ada, team.ID, db.TeamChange{AddUserIDs: []string{bob.UserID}}); err != nil {
		t.Fatal(err)
	}
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")
	b.navigate("/teams")
	b.click(`button[hx-get="/teams/` + team.ID + `/members"]`)
	b.waitFor("the Members dialog", dialogOpen)
	b.wantFocus("team-add-email", "the email to add")

	members := func() []string {
		return evalJS[[]string](b, `Array.from(document.querySelectorAll("#team-members .person-list .person-name"), e => e.textContent.trim())`)
	}
	suggestions := func() []string {
		return evalJS[[]string](b, `Array.from(document.querySelectorAll("#team-candidates option"), e => e.value)`)
	}
	const errorText = `((document.querySelector("#team-add-form .alert-error") || {}).textContent || "")`

	// Someone outside the organization: the form alone comes back, with the message.
	b.typeInto("#team-add-email", "zed@example.com")
	b.click(`#team-add-form button[type="submit"]`)
	b.waitFor("the refusal in the add form", errorText+`.includes("zed@example.com is not a member of this organization.")`)
	b.shot("team-add-refused")
	if got := b.value("#team-add-email"); got != "zed@example.com" {
		t.Errorf("the field holds %q after the refusal, want the typed email", got)
	}
	b.wantFocus("team-add-email", "the email, to correct it")
	if got := members(); !slices.Equal(got, []string{"Bob Example"}) {
		t.Errorf("members %v after the refusal, want Bob alone", got)
	}
	if got := suggestions(); !slices.Equal(got, []string{"ada@example.com", "carol@example.com"}) {
		t.Errorf("suggestions %v after the refusal, want Ada's and Carol's emails", got)
	}
	if n := evalJS[int](b, `document.querySelectorAll("#team-add-form, #team-members, #team-candidates, #team-add-email").length`); n != 4 {
		t.Errorf("%d of the form, the panel, the suggestions and the field, want one each", n)
	}

	// A member of the organization: the panel is drawn again, without the message.
	b.fill("#team-add-email", "carol@example.com")
	b.click(`#team-add-form button[type="submit"]`)
	b.waitToast("Added carol@example.com to Platform.")
	b.waitFor("Carol in the team", `document.querySelector("#team-members .person-list") && document.querySelector("#team-members .person-list").innerText.includes("Carol Example")`)
	if got := members(); !slices.Equal(got, []string{"Bob Example", "Carol Example"}) {
		t.Errorf("members %v, want Bob and Carol", got)
	}
	if got := suggestions(); !slices.Equal(got, []string{"ada@example.com"}) {
		t.Errorf("suggestions %v, want Ada's email", got)
	}
	if got := evalJS[string](b, errorText); got != "" {
		t.Errorf("the message %q stayed after the add", got)
	}

	// Removing Carol: confirmed, then back to the members.
	b.click(`button[aria-label="Remove Carol Example from Platform"]`)
	b.waitFor("the confirmation", `!!document.querySelector("#dialog dialog[open]") && document.querySelector("#dialog").innerText.includes("Remove Carol Example from Platform?")`)
	b.click(`#dialog .modal-footer .btn-danger`)
	b.waitToast("Removed Carol Example from Platform.")
	b.waitVisible("#team-members")
	if got := members(); !slices.Equal(got, []string{"Bob Example"}) {
		t.Errorf("members %v after removing Carol, want Bob alone", got)
	}
	v, err := ts.Store.TeamView(ctx, ada, team.ID)
	if err != nil || len(v.Team.Members) != 1 || v.Team.Members[0].ID != bob.UserID {
		t.Errorf("stored team %+v %v, want Bob alone", v, err)
	}
}
