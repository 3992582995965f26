package web_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/webtest"
)

// Names, descriptions and labels are free text. The escaping test stores markup, script URLs and
// template syntax in every one of them and checks, in a real browser, that each page and dialog shows
// them as text and runs none of them.

// xssPayloads is stored in organization, user and team names, team descriptions and API key labels.
// Each would set window.__xss, open a dialog or add an element if it reached the page as markup.
var xssPayloads = []string{
	`<script>window.__xss=1</script>`,
	`"><img src=x onerror="window.__xss=1">`,
	`<svg onload=window.__xss=1>`,
	`javascript:alert(1)`,
	`{{.}}`,
	`'"><iframe src=javascript:alert(1)>`,
	// Right-to-left scripts, combining marks and emoji sequences, long (under the 256 limit).
	strings.TrimSpace(strings.Repeat("سرّ المفتاح שמור היטב 🔐🗝️👩🏽‍💻 ", 5)),
}

// escapeFixture is one organization full of hostile text, seen by its admin.
type escapeFixture struct {
	ts       *webtest.Server
	admin    db.Actor // the viewer; admin of every organization
	orgNames []string // every organization of the admin; orgNames[0] is the one below
	members  []db.Actor
	teams    []*db.Team
	keyIDs   []string
	secret   *db.Secret
	// invite is the token of an invitation by the admin into every team.
	invite string
}

// payload is xssPayloads[i], wrapping around.
func payload(i int) string { return xssPayloads[i%len(xssPayloads)] }

// personName is how the portal names a user with these first and last names.
func personName(first, last string) string { return first + " " + last }

func newEscapeFixture(t *testing.T) *escapeFixture {
	t.Helper()
	ctx := context.Background()
	ts := webtest.New(t)
	f := &escapeFixture{ts: ts}

	// One organization per payload, all with the same admin. The portal opens the first by name, so
	// the data goes into that one.
	f.orgNames = slices.Clone(xssPayloads)
	slices.SortFunc(f.orgNames, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	admin := db.NewUser{Email: "ada@example.com", FirstName: payload(2), LastName: payload(5), Password: webtest.Password}
	for i, name := range f.orgNames {
		org, u, err := ts.Store.CreateOrg(ctx, name, admin, "test")
		if err != nil {
			t.Fatalf("CreateOrg %q: %v", name, err)
		}
		if i == 0 {
			f.admin = ts.Actor(t, u.ID, org.ID)
		}
	}
	for i := range xssPayloads {
		m := ts.SeedMember(t, f.admin, fmt.Sprintf("member%d@example.com", i), payload(i), payload(i+1))
		f.members = append(f.members, m)
		team, err := ts.Store.CreateTeam(ctx, f.admin, payload(i), payload(i+2))
		if err != nil {
			t.Fatalf("CreateTeam %q: %v", payload(i), err)
		}
		if _, err := ts.Store.UpdateTeam(ctx, f.admin, team.ID, db.TeamChange{AddUserIDs: []string{m.UserID}}); err != nil {
			t.Fatal(err)
		}
		f.teams = append(f.teams, team)
	}

	// A secret created by one member and changed by another, shared with the admin, every team and
	// every member, and read through an API key of each label.
	m0, m1 := f.members[0], f.members[1]
	f.secret = ts.SeedSecret(t, m0, "XSS_PROBE", "v1")
	ts.SeedShare(t, m0, f.secret, m1, db.RoleOwner)
	sec, err := ts.Store.UpdateSecret(ctx, m1, f.secret.ID, []byte("v2"), f.secret.Version)
	if err != nil {
		t.Fatal(err)
	}
	f.secret = sec
	changes := []db.AccessChange{{Kind: db.PrincipalUser, ID: f.admin.UserID, Role: db.RoleOwner}}
	for i, team := range f.teams {
		changes = append(changes, db.AccessChange{Kind: db.PrincipalTeam, ID: team.ID, Role: db.RoleReader})
		if i > 1 {
			changes = append(changes, db.AccessChange{Kind: db.PrincipalUser, ID: f.members[i].UserID, Role: db.RoleReader})
		}
	}
	if err := ts.Store.ChangeAccess(ctx, m0, f.secret.ID, changes); err != nil {
		t.Fatal(err)
	}
	var teamIDs []string
	for _, team := range f.teams {
		teamIDs = append(teamIDs, team.ID)
	}
	if f.invite, _, err = ts.Store.CreateInvitation(ctx, f.admin, db.NewInvitation{Email: "invitee@example.com", TeamIDs: teamIDs}); err != nil {
		t.Fatal(err)
	}
	for i := range xssPayloads {
		token, key, err := ts.Store.CreateAPIKey(ctx, f.admin, payload(i), time.Time{})
		if err != nil {
			t.Fatalf("CreateAPIKey %q: %v", payload(i), err)
		}
		f.keyIDs = append(f.keyIDs, key.ID)
		viaKey, err := ts.Store.AuthenticateAPIKey(ctx, token, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Store.RevealSecret(ctx, viaKey, f.secret.ID); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *escapeFixture) adminName() string { return personName(payload(2), payload(5)) }

func (f *escapeFixture) memberNames() []string {
	var out []string
	for i := range f.members {
		out = append(out, personName(payload(i), payload(i+1)))
	}
	return out
}

// teamTexts are the team names and descriptions.
func (f *escapeFixture) teamTexts() []string {
	var out []string
	for i := range f.teams {
		out = append(out, payload(i), payload(i+2))
	}
	return out
}

// escapeTab is a browser tab signed in as the fixture's admin that also records JavaScript dialogs
// (alert, confirm, prompt): a payload that ran would open one.
type escapeTab struct {
	*browserTab
	mu      sync.Mutex
	dialogs []string
}

func openEscapeTab(t *testing.T, f *escapeFixture) *escapeTab {
	t.Helper()
	e := &escapeTab{browserTab: newBrowserTab(t, f.ts)}
	err := chromedp.Listen(e.tab, func(ev any) {
		if ev, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			e.mu.Lock()
			e.dialogs = append(e.dialogs, fmt.Sprintf("%s %q", ev.Type, ev.Message))
			e.mu.Unlock()
			// Dismiss it, or the page stays blocked; from another goroutine, as Listen requires.
			go chromedp.Call(e.tab, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{}) //nolint:errcheck // the test fails anyway
		}
	})
	if err != nil {
		t.Fatalf("listening for JavaScript dialogs: %v", err)
	}
	t.Cleanup(func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, d := range e.dialogs {
			t.Errorf("a JavaScript dialog opened: %s", d)
		}
	})
	e.openAs("ada@example.com")
	return e
}

// injectionJS lists what a payload that reached the page as markup would leave behind: window.__xss,
// an event-handler attribute (keyhold's pages have none: the CSP forbids inline code), a javascript:
// URL, or a script, img, svg, iframe, object or embed element built from a payload.
const injectionJS = `(() => {
	const bad = [];
	if (typeof window.__xss !== "undefined") bad.push("window.__xss is " + String(window.__xss));
	for (const el of document.querySelectorAll("*")) {
		for (const a of el.attributes) {
			const n = a.name.toLowerCase();
			if (n.startsWith("on") || n.startsWith("hx-on") || n.startsWith("data-hx-on")) {
				bad.push("<" + el.localName + "> has " + n + "=" + JSON.stringify(a.value));
			}
			if (["src", "href", "action", "formaction", "data", "xlink:href"].includes(n) && /^\s*javascript:/i.test(a.value)) {
				bad.push("<" + el.localName + "> has " + n + "=" + JSON.stringify(a.value));
			}
		}
	}
	for (const el of document.querySelectorAll("script, img, svg, iframe, frame, object, embed")) {
		if (el.outerHTML.includes("__xss") || el.outerHTML.includes("javascript:")) bad.push("injected " + el.outerHTML.slice(0, 120));
	}
	for (const el of document.querySelectorAll("iframe, frame, object, embed, img")) bad.push("unexpected <" + el.localName + ">");
	for (const s of document.querySelectorAll("script")) {
		if (!s.src || new URL(s.src).origin !== location.origin) bad.push("inline or foreign script " + s.outerHTML.slice(0, 120));
	}
	return bad;
})()`

// check fails the test when the page shows signs of an injection, or when one of texts is not on
// the page as text (document.body.innerText: what the user sees).
func (e *escapeTab) check(where string, texts ...string) {
	e.t.Helper()
	for _, bad := range evalJS[[]string](e.browserTab, injectionJS) {
		e.t.Errorf("%s: %s", where, bad)
	}
	shown := evalJS[string](e.browserTab, `document.body.innerText`)
	for _, s := range texts {
		if !strings.Contains(shown, s) {
			e.t.Errorf("%s: %q is not shown as text", where, s)
		}
	}
}

// openDialog clicks the button and waits for its dialog.
func (e *escapeTab) openDialog(button string) {
	e.t.Helper()
	e.click(button)
	e.waitFor("the dialog from "+button, dialogOpen)
}

func (e *escapeTab) closeDialog() {
	e.t.Helper()
	e.run("press Esc", chromedp.KeyEvent(kb.Escape))
	e.waitFor("the dialog closed", dialogClosed)
}

func TestBrowser_EscapesStoredText(t *testing.T) {
	f := newEscapeFixture(t)
	sec := f.secret.ID

	t.Run("secrets table, user menu and org switcher", func(t *testing.T) {
		e := openEscapeTab(t, f)
		e.waitRows("XSS_PROBE")
		e.check("Secrets", f.memberNames()[0], f.memberNames()[1], f.adminName())
		options := evalJS[[]string](e.browserTab, `Array.from(document.querySelectorAll("#org-switch option"), o => o.textContent)`)
		if !slices.Equal(options, f.orgNames) {
			t.Errorf("org switcher offers %q, want %q", options, f.orgNames)
		}
		if got := e.value("#org-switch"); got != f.admin.OrgID {
			t.Errorf("org switcher on %q, want the current organization", got)
		}
		e.click("summary.user-menu-button")
		e.waitVisible(`.menu a[href="/account"]`)
		e.check("user menu", f.adminName(), "ada@example.com")
		if got := e.text(".menu-identity strong"); got != f.adminName() {
			t.Errorf("user menu names %q, want %q", got, f.adminName())
		}
	})

	t.Run("share dialog", func(t *testing.T) {
		e := openEscapeTab(t, f)
		e.openDialog(`button[hx-get="/secrets/` + sec + `/share"]`)
		e.waitVisible("#share-rows")
		e.check("Share dialog", append(append(f.teamTexts(), f.memberNames()...), f.adminName())...)
	})

	t.Run("activity dialog", func(t *testing.T) {
		e := openEscapeTab(t, f)
		e.openDialog(`button[hx-get="/secrets/` + sec + `/activity"]`)
		e.check("Activity dialog", append(slices.Clone(xssPayloads), "member0@example.com", "member1@example.com")...)
	})

	t.Run("members page and dialogs", func(t *testing.T) {
		e := openEscapeTab(t, f)
		e.navigate("/members")
		e.waitVisible("#members-table")
		e.check("Members", append(append(f.memberNames(), f.adminName(), "invitee@example.com"), xssPayloads...)...)
		m := f.members[0].UserID
		e.openDialog(`button[hx-get="/members/invite"]`)
		e.check("Invite dialog", xssPayloads...)
		e.closeDialog()
		e.openDialog(`button[hx-get="/members/` + m + `/remove"]`)
		e.check("Remove member dialog", "Remove "+f.memberNames()[0]+"?")
		e.closeDialog()
	})

	t.Run("invitation page", func(t *testing.T) {
		e := openEscapeTab(t, f)
		e.navigate("/invite/" + f.invite)
		e.waitVisible(".auth-card")
		e.check("Invitation page", append([]string{f.orgNames[0], f.adminName(), "invitee@example.com"}, xssPayloads...)...)
	})

	t.Run("teams page and dialogs", func(t *testing.T) {
		e := openEscapeTab(t, f)
		e.navigate("/teams")
		e.waitVisible("#teams-list")
		e.check("Teams", append(f.teamTexts(), f.memberNames()...)...)
		team := f.teams[1].ID
		e.openDialog(`button[hx-get="/teams/` + team + `/members"]`)
		e.check("team Members dialog", payload(1), f.memberNames()[1])
		e.closeDialog()
		e.openDialog(`button[hx-get="/teams/` + team + `/edit"]`)
		e.check("Edit team dialog")
		values := evalJS[[]string](e.browserTab, `Array.from(document.querySelectorAll("#dialog input:not([type=hidden]), #dialog textarea"), el => el.value)`)
		if !slices.Contains(values, payload(1)) || !slices.Contains(values, payload(3)) {
			t.Errorf("Edit team fields hold %q, want the name %q and the description %q", values, payload(1), payload(3))
		}
		e.closeDialog()
	})

	t.Run("api keys page and dialog", func(t *testing.T) {
		e := openEscapeTab(t, f)
		e.navigate("/apikeys")
		e.waitVisible("#apikeys-table")
		e.check("API Keys", append(slices.Clone(xssPayloads), f.adminName())...)
		e.openDialog(`button[hx-get="/apikeys/` + f.keyIDs[0] + `/revoke"]`)
		e.check("Revoke dialog", "Revoke "+payload(0)+"?")
		e.closeDialog()
	})

	t.Run("audit log", func(t *testing.T) {
		e := openEscapeTab(t, f)
		e.navigate("/audit")
		e.waitVisible("#audit-table")
		e.check("Audit log", xssPayloads...) // team and key names, and the keys the reads came through
		people := evalJS[[]string](e.browserTab, `Array.from(document.querySelectorAll("select option"), o => o.textContent)`)
		for _, name := range f.memberNames() {
			if !slices.ContainsFunc(people, func(s string) bool { return strings.Contains(s, name) }) {
				t.Errorf("the audit log's filters do not offer %q", name)
			}
		}
		e.navigate("/audit?action=" + db.ActionOrgCreate)
		e.waitVisible("#audit-table")
		e.check("Audit log of org.create", f.orgNames[0])
	})

	t.Run("account page", func(t *testing.T) {
		e := openEscapeTab(t, f)
		e.navigate("/account")
		e.waitVisible("#password-card")
		e.check("Account", f.adminName(), "ada@example.com")
	})
}
