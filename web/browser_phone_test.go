package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/webtest"
)

// The phone tests open every page and every dialog of the portal in a 390 px wide viewport (a
// current phone's CSS width) with data as long as people have: long names, long emails, long secret
// names. On each they check what wantFits says.

const phoneWidth, phoneHeight = 390, 844

// phone gives the tab a phone's viewport.
func (b *browserTab) phone() {
	b.t.Helper()
	b.run("a phone's viewport", chromedp.EmulateViewport(phoneWidth, phoneHeight))
}

// fitsProblems lists what does not fit the screen: the page scrolling sideways; an open dialog
// reaching past either edge or scrolling sideways inside; a card, table scroller or dialog part
// scrolling sideways (rows stack instead); a name or an email taking more than one line (they end
// with an ellipsis instead).
const fitsProblems = `(() => {
	const W = window.innerWidth, out = [];
	const de = document.documentElement;
	if (de.scrollWidth > W) out.push("the page is " + de.scrollWidth + " px wide");
	const what = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
		(el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
	const shown = el => el.checkVisibility();
	const dlg = document.querySelector("#dialog dialog[open]");
	if (dlg) {
		const r = dlg.getBoundingClientRect();
		if (r.left < 0 || r.right > W) out.push("the dialog spans " + Math.round(r.left) + "–" + Math.round(r.right) + " px");
		if (dlg.scrollWidth > dlg.clientWidth + 1) out.push("the dialog scrolls sideways (" + dlg.scrollWidth + " > " + dlg.clientWidth + ")");
	}
	// Past the left edge nothing scrolls, so the page's width misses it: look at menus and popups.
	for (const el of document.querySelectorAll(".menu, .row-menu-list, .share-results, .toast")) {
		if (!shown(el)) continue;
		const r = el.getBoundingClientRect();
		if (r.left < 0 || r.right > W) out.push(what(el) + " spans " + Math.round(r.left) + "–" + Math.round(r.right) + " px");
	}
	for (const el of document.querySelectorAll(".table-card, .table-scroll, .import-table-wrap, .modal-body, .modal-footer, .modal-header, .card")) {
		if (shown(el) && el.scrollWidth > el.clientWidth + 1) out.push(what(el) + " scrolls sideways (" + el.scrollWidth + " > " + el.clientWidth + ")");
	}
	for (const el of document.querySelectorAll(".person .person-name, .person .person-detail, .share-row .person-name, .share-row .person-detail, " +
		".share-match .person-name, .share-match .person-detail, .invitations .person-text > .person-name, .audit-actor, .user-menu-name, " +
		".menu-identity > *, .account-name, .table td.nowrap, .table .updated-by")) {
		if (!shown(el) || !el.textContent.trim()) continue;
		const lh = parseFloat(getComputedStyle(el).lineHeight) || 20;
		const h = el.getBoundingClientRect().height;
		if (h > lh * 1.6) out.push(what(el) + " " + JSON.stringify(el.textContent.trim().slice(0, 40)) + " takes " + Math.round(h) + " px, more than one line");
	}
	return out;
})()`

// wantFits fails the test, naming the page or dialog, when something on screen does not fit (see
// fitsProblems). It saves a screenshot named shot.
func (b *browserTab) wantFits(shot string) {
	b.t.Helper()
	b.shot("phone-" + shot)
	for _, p := range evalJS[[]string](b, fitsProblems) {
		b.t.Errorf("%s at %d px: %s", shot, phoneWidth, p)
	}
}

// openPage opens path, waits for css and checks the page fits.
func (b *browserTab) openPage(path, css, shot string) {
	b.t.Helper()
	b.navigate(path)
	b.waitVisible(css)
	b.wantFits(shot)
}

// openDialog asks for the dialog at path as its button would (hx-get into #dialog), waits for it and
// checks it fits; the dialog stays open.
func (b *browserTab) openDialog(path, shot string) {
	b.t.Helper()
	b.waitFor("no dialog", dialogClosed)
	evalJS[bool](b, `htmx.ajax("GET", `+jsString(path)+`, {target: "#dialog", swap: "innerHTML"}).then(() => true)`)
	b.waitFor("the dialog of "+path, dialogOpen+` && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')`)
	b.wantFits(shot)
}

// closeDialog presses the dialog's close button.
func (b *browserTab) closeDialog() {
	b.t.Helper()
	b.click(`#dialog .modal-header [data-close-dialog]`)
	b.waitFor("the dialog closed", dialogClosed)
}

// Long data, as people have it.
const (
	longFirst  = "Maximiliana-Josephine"
	longLast   = "Featherstonehaugh-Worthington"
	longEmail  = "maximiliana-josephine.featherstonehaugh-worthington@engineering.example.com"
	adminEmail = "administrator.of.everything.and.more@operations.example.com"
	longSecret = "STRIPE_LIVE_SECRET_KEY_FOR_THE_PRODUCTION_EU_WEST_CHECKOUT_SERVICE_V2"
	longTeam   = "Platform-Reliability-and-Infrastructure-Engineering"
	longLabel  = "Nightly-deploys-from-the-continuous-integration-runners-in-eu-west"
)

// phoneOrg seeds an organization with long names everywhere, and returns its admin and a member.
func phoneOrg(t *testing.T, ts *webtest.Server) (admin, member db.Actor, sec *db.Secret, team *db.Team) {
	t.Helper()
	ctx := context.Background()
	org, u, err := ts.Store.CreateOrg(ctx, "Acme Interplanetary Logistics and Supply", db.NewUser{Email: adminEmail,
		FirstName: "Alexandrina-Theodora", LastName: "Vandenberghe-Oppenheimer", Password: webtest.Password}, "test")
	if err != nil {
		t.Fatal(err)
	}
	admin = ts.Actor(t, u.ID, org.ID)
	member = ts.SeedMember(t, admin, longEmail, longFirst, longLast)
	ts.SeedMember(t, admin, "bo@example.com", "Bo", "Li")
	sec = ts.SeedSecret(t, admin, longSecret, "sk_live_"+strings.Repeat("x", 300))
	ts.SeedSecret(t, admin, "API_TOKEN", "v1")
	shared := ts.SeedSecret(t, member, "SHARED_WITH_THE_ADMIN_BY_SOMEONE_ELSE_ENTIRELY", "v")
	ts.SeedShare(t, member, shared, admin, db.RoleReader)
	team, err = ts.Store.CreateTeam(ctx, admin, longTeam, "Keeps the lights on across every region, every night, including holidays and weekends.")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Store.UpdateTeam(ctx, admin, team.ID, db.TeamChange{AddUserIDs: []string{member.UserID, admin.UserID}}); err != nil {
		t.Fatal(err)
	}
	ts.SeedShare(t, admin, sec, member, db.RoleReader)
	if err := ts.Store.ChangeAccess(ctx, admin, sec.ID, []db.AccessChange{{Kind: db.PrincipalTeam, ID: team.ID, Role: db.RoleOwner}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.Store.CreateAPIKey(ctx, admin, longLabel, time.Now().AddDate(0, 3, 0)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.Store.CreateAPIKey(ctx, member, "ci", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.Store.CreateInvitation(ctx, admin, db.NewInvitation{Email: "new.hire.with.a.rather.long.address@recruiting.example.com",
		TeamIDs: []string{team.ID}}); err != nil {
		t.Fatal(err)
	}
	ts.SecretValue(t, admin, sec.ID)                                                                              // a read in the audit log
	if sec, err = ts.Store.UpdateSecret(ctx, admin, sec.ID, []byte("sk_live_rotated"), sec.Version); err != nil { // a history
		t.Fatal(err)
	}
	// Recently deleted: one to restore, one whose name was taken since.
	for _, n := range []string{"DELETED_" + longSecret, "RETAKEN_" + longSecret} {
		gone := ts.SeedSecret(t, admin, n, "v")
		if _, err := ts.Store.DeleteSecret(ctx, admin, gone.ID); err != nil {
			t.Fatal(err)
		}
	}
	ts.SeedSecret(t, admin, "RETAKEN_"+longSecret, "v")
	return admin, member, sec, team
}

// TestBrowser_PhoneSignedOutPages: the pages of a visitor who is not signed in fit a phone: setup,
// sign-in (and its error), an invitation (new account, and a refused one), its decline, a password
// reset (and a link that does not work), and the error page.
func TestBrowser_PhoneSignedOutPages(t *testing.T) {
	empty := webtest.New(t)
	b := newBrowserTab(t, empty)
	b.phone()
	b.openPage("/setup", "#setup-org", "setup")
	b.fill("#setup-org", "Acme")
	b.fill("#setup-first", "Ada")
	b.fill("#setup-last", "Admin")
	b.fill("#setup-email", adminEmail)
	b.fill("#setup-password", webtest.Password)
	b.fill("#setup-password-confirm", webtest.Password+"!")
	b.click(`form[action="/setup"] button[type="submit"]`)
	b.waitVisible(".alert-error")
	b.wantFits("setup-error")

	ts := webtest.New(t)
	admin, _, _, _ := phoneOrg(t, ts)
	ctx := context.Background()
	invite, _, err := ts.Store.CreateInvitation(ctx, admin, db.NewInvitation{Email: "another.new.hire.with.a.long.address@recruiting.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	decline, _, err := ts.Store.CreateInvitation(ctx, admin, db.NewInvitation{Email: "someone.who.says.no.thank.you@elsewhere.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	reset, _, err := ts.Store.ResetPassword(ctx, longEmail)
	if err != nil {
		t.Fatal(err)
	}

	v := newBrowserTab(t, ts)
	v.phone()
	v.openPage("/login", "#login-email", "login")
	v.fill("#login-email", longEmail)
	v.fill("#login-password", "not the password")
	v.click(`form[action="/login"] button[type="submit"]`)
	v.waitVisible(".alert-error")
	v.wantFits("login-error")

	v.openPage("/invite/"+invite, "#invite-first", "invite")
	v.fill("#invite-first", longFirst)
	v.fill("#invite-last", longLast)
	v.fill("#invite-password", webtest.Password)
	v.fill("#invite-password-confirm", webtest.Password+"!")
	v.click(`form[action^="/invite/"] button[type="submit"]`)
	v.waitVisible(".alert-error")
	v.wantFits("invite-error")
	v.openPage("/invite/not-a-token", ".alert-error", "invite-invalid")
	v.openPage("/invite/"+decline, "#invite-first", "invite-before-decline")
	v.click(`form[action$="/refuse"] button[type="submit"]`)
	v.run("wait for the declined page", chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Invitation declined"]`)))
	v.wantFits("invite-declined")

	v.openPage("/reset/"+reset, "#reset-password", "reset")
	v.openPage("/reset/not-a-token", ".alert-error", "reset-invalid")

	m := newBrowserTab(t, ts)
	m.phone()
	m.openAs(longEmail)
	m.openPage("/secrets/no-such-secret/edit", ".error-card", "error-page")
}

// TestBrowser_PhoneAdminPages opens, as an admin with long names around, every signed-in page and
// every dialog an admin reaches, in a phone's viewport.
func TestBrowser_PhoneAdminPages(t *testing.T) {
	ts := webtest.New(t)
	admin, member, sec, team := phoneOrg(t, ts)
	b := newBrowserTab(t, ts)
	b.phone()
	b.openAs(adminEmail)
	b.wantFits("secrets")
	b.click("summary.user-menu-button")
	b.waitVisible(".user-menu .menu")
	b.wantFits("user-menu")
	b.click("summary.user-menu-button")
	b.click(`summary[aria-label="More actions for ` + longSecret + `"]`)
	b.waitVisible("details.row-menu[open] .row-menu-list")
	b.wantFits("secret-row-menu")
	b.click(`summary[aria-label="More actions for ` + longSecret + `"]`)

	// The Secrets tab's dialogs.
	b.openDialog("/secrets/new", "secret-new")
	b.fill("#secret-name", "API_TOKEN")
	b.fill("#secret-value", "v")
	b.click(`#dialog button[type="submit"]`)
	b.waitVisible("#dialog .alert-error")
	b.wantFits("secret-new-error")
	b.closeDialog()
	b.openDialog("/secrets/"+sec.ID+"/edit", "secret-edit")
	b.click(`#dialog button[hx-post$="/reveal"]`)
	b.waitVisible("#dialog [data-copy-target]")
	b.wantFits("secret-edit-revealed")
	b.click(`#dialog button[hx-get$="/masked"]`)
	b.waitVisible("#dialog .masked-value")
	b.wantFits("secret-edit-hidden")
	b.closeDialog()
	shared := mustSecretID(t, ts, admin, "SHARED_WITH_THE_ADMIN_BY_SOMEONE_ELSE_ENTIRELY")
	b.openDialog("/secrets/"+shared+"/edit", "secret-view")
	b.closeDialog()
	b.openDialog("/secrets/"+shared+"/share", "share-reader")
	b.closeDialog()
	b.openDialog("/secrets/"+sec.ID+"/delete", "secret-delete")
	b.closeDialog()
	b.openDialog("/secrets/"+sec.ID+"/activity", "secret-activity")
	b.closeDialog()
	b.openDialog("/secrets/"+sec.ID+"/share", "share")
	b.typeInto("#share-q", "bo")
	b.waitFor("the matches", `!!document.querySelector('#share-results[data-query="bo"] .share-match')`)
	b.wantFits("share-matches")
	b.click("#share-results .share-match")
	b.waitVisible("#share-rows .share-row.is-new")
	b.click(`#share-rows [aria-label^="Remove access of ` + longFirst + `"]`)
	b.waitVisible("#share-rows .share-row.is-removed")
	b.wantFits("share-staged")
	b.closeDialog()
	b.openDialog("/secrets/import", "import")
	b.fill("#import-text", "API_TOKEN=v2\n"+longSecret+"_NEW=x\nbad name=y\n")
	b.click(`#dialog .import-preview-button`)
	b.waitVisible("#dialog .import-table")
	b.wantFits("import-preview")
	b.closeDialog()

	b.openDialog("/secrets/"+sec.ID+"/history", "secret-history")
	b.click(`#dialog button[aria-label="Reveal version 1"]`)
	b.waitVisible("#dialog .history-value:not([hidden]) textarea")
	b.wantFits("secret-history-revealed")
	b.click(`#dialog .history-value button[hx-get$="/hidden"]`)
	b.waitFor("the value hidden again", `!document.querySelector("#dialog .history-value:not([hidden])")`)
	b.closeDialog()

	// Recently deleted.
	b.openPage("/secrets/trash", "#trash-table", "trash")
	b.click(`#trash-table button[aria-label="Restore RETAKEN_` + longSecret + `"]`)
	b.waitFor("the restore dialog", dialogOpen)
	b.wantFits("trash-restore")
	b.closeDialog()
	destroy := evalJS[string](b, `document.querySelector('#trash-table button[hx-get$="/destroy"]').getAttribute("hx-get")`)
	b.openDialog(destroy, "trash-destroy")
	b.closeDialog()

	// Teams.
	b.openPage("/teams", "#teams-list", "teams")
	b.openDialog("/teams/new", "team-new")
	b.fill("#team-name", longTeam)
	b.click(`#dialog button[type="submit"]`)
	b.waitVisible("#dialog .alert-error")
	b.wantFits("team-new-error")
	b.closeDialog()
	b.openDialog("/teams/"+team.ID+"/edit", "team-edit")
	b.closeDialog()
	b.openDialog("/teams/"+team.ID+"/members", "team-members")
	b.fill("#team-add-email", "nobody.we.know.of.at.all@nowhere.example.com")
	b.click(`#team-add-form button[type="submit"]`)
	b.waitVisible("#team-add-form .alert-error")
	b.wantFits("team-members-error")
	b.closeDialog()
	b.openDialog("/teams/"+team.ID+"/members/"+member.UserID+"/remove", "team-member-remove")
	b.closeDialog()
	b.openDialog("/teams/"+team.ID+"/delete", "team-delete")
	b.closeDialog()

	// Members and invitations.
	b.openPage("/members", "#members-table .invitations", "members")
	b.openDialog("/members/invite", "invite-new")
	b.fill("#invite-email", longEmail)
	b.click(`#dialog button[type="submit"]`)
	b.waitVisible("#dialog .alert-error")
	b.wantFits("invite-new-error")
	b.fill("#invite-email", "yet.another.person.with.a.long.address@recruiting.example.com")
	b.click(`#dialog button[type="submit"]`)
	b.waitVisible("#invite-link")
	b.wantFits("invite-created")
	b.closeDialog()
	inv := evalJS[string](b, `document.querySelector('#members-table button[hx-get^="/invitations/"]').getAttribute("hx-get")`)
	b.openDialog(inv, "invite-revoke")
	b.closeDialog()
	b.openDialog("/members/"+member.UserID+"/remove", "member-remove")
	b.closeDialog()
	b.openDialog("/members/"+admin.UserID+"/remove", "member-remove-self")
	b.closeDialog()

	// API keys, the audit log, the account.
	b.openPage("/apikeys", "#apikeys-table", "apikeys")
	b.openDialog("/apikeys/new", "apikey-new")
	b.fill("#apikey-label", longLabel)
	b.click(`#dialog button[type="submit"]`)
	b.waitVisible("#new-api-key")
	b.wantFits("apikey-created")
	b.closeDialog()
	key := evalJS[string](b, `document.querySelector('#apikeys-table button[hx-get$="/revoke"]').getAttribute("hx-get")`)
	b.openDialog(key, "apikey-revoke")
	b.closeDialog()
	b.openPage("/audit", "#audit-table", "audit")
	b.openPage("/audit?secret="+sec.ID, "#audit-table", "audit-filtered")
	b.openPage("/account", "#password-card", "account")
	b.fill("#password-current", "not the password")
	b.fill("#password-new", "a new password for the test")
	b.fill("#password-confirm", "a new password for the test")
	b.click(`#password-card button[type="submit"]`)
	b.waitVisible("#password-card .alert-error")
	b.wantFits("account-error")
	b.openPage("/secrets?q=zzz", "#secrets-table .empty-state", "secrets-no-match")
}

// TestBrowser_PhoneMemberPages: what a member who is not an admin sees fits a phone too (no admin
// controls, other tables), and so does an organization with nothing in it yet.
func TestBrowser_PhoneMemberPages(t *testing.T) {
	ts := webtest.New(t)
	phoneOrg(t, ts)
	b := newBrowserTab(t, ts)
	b.phone()
	b.openAs(longEmail)
	b.wantFits("member-secrets")
	b.openPage("/teams", "#teams-list", "member-teams")
	b.openPage("/members", "#members-table", "member-members")
	b.openPage("/apikeys", "#apikeys-table", "member-apikeys")
	b.openPage("/account", "#password-card", "member-account")

	ts.SeedOrg(t, "Empty Org", "ed@example.com")
	e := newBrowserTab(t, ts)
	e.phone()
	e.openAs("ed@example.com")
	for _, p := range []struct{ path, css string }{
		{"/secrets", "#secrets-table .empty-state"},
		{"/teams", "#teams-list .empty-state"},
		{"/apikeys", "#apikeys-table .empty-state"},
		{"/audit", "#audit-table"},
		{"/members", "#members-table"},
	} {
		e.openPage(p.path, p.css, "empty"+strings.ReplaceAll(p.path, "/", "-"))
	}
}

// phoneRoutes are the portal's GET routes (the pages and the dialogs) the phone tests above open;
// phoneFragments are those that answer with a piece of a page or dialog the tests reach through it.
// TestPhoneRoutesCovered fails on a GET route in neither, so that a new page or dialog gets its
// phone check.
var (
	phoneRoutes = []string{"/", "/setup", "/login", "/invite/:token", "/reset/:token",
		"/secrets", "/secrets/new", "/secrets/:id/edit", "/secrets/:id/delete", "/secrets/import",
		"/secrets/:id/share", "/secrets/:id/activity", "/secrets/:id/history", "/secrets/trash", "/secrets/trash/:id/destroy",
		"/members", "/members/invite", "/invitations/:id/revoke", "/members/:id/remove",
		"/teams", "/teams/new", "/teams/:id/edit", "/teams/:id/members", "/teams/:id/members/:user/remove", "/teams/:id/delete",
		"/apikeys", "/apikeys/new", "/apikeys/:id/revoke", "/audit", "/account"}
	phoneFragments = []string{
		"/secrets/:id/share/search",       // the Share dialog's matches: "share-matches"
		"/secrets/:id/share/row",          // a staged row of the Share dialog: "share-staged"
		"/secrets/:id/versions/:n/hidden", // a version's value hidden again in the History dialog
		"/secrets/:id/masked",             // the Edit dialog's value hidden again: "secret-edit-hidden"
	}
)

func TestPhoneRoutesCovered(t *testing.T) {
	ts := webtest.New(t)
	known := map[string]bool{}
	for _, p := range append(phoneRoutes, phoneFragments...) {
		known[p] = true
	}
	for _, r := range ts.Echo.Routes() {
		if r.Method != http.MethodGet || known[r.Path] || strings.HasPrefix(r.Path, "/v1/") || strings.HasPrefix(r.Path, "/static") ||
			r.Path == "/healthz" || r.Path == "/readyz" {
			continue
		}
		t.Errorf("GET %s is not opened at %d px by the phone tests: add it to TestBrowser_Phone… and phoneRoutes", r.Path, phoneWidth)
	}
}
