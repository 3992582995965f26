package web_test

import (
	"math"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/webtest"
)

// shareFixture is Ada's organization with three more members, a team and a secret Ada owns, shared
// with Bob as Reader; Ada's tab has the Share dialog of it open.
func shareFixture(t *testing.T) (*webtest.Server, *browserTab, db.Actor, *db.Secret) {
	t.Helper()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	bob := ts.SeedMember(t, ada, "bob@example.com", "Bob", "Example")
	ts.SeedMember(t, ada, "carol@example.com", "Carol", "Example")
	ts.SeedMember(t, ada, "dan@example.com", "Dan", "Example")
	if _, err := ts.Store.CreateTeam(t.Context(), ada, "Platform", "Runs the servers"); err != nil {
		t.Fatal(err)
	}
	sec := ts.SeedSecret(t, ada, "SHARED_KEY", "v")
	ts.SeedShare(t, ada, sec, bob, db.RoleReader)
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")
	b.click(`button[aria-label="Share SHARED_KEY"]`)
	b.waitFor("the Share dialog", dialogOpen)
	return ts, b, ada, sec
}

// matchNames lists the names the Share dialog's result list offers.
const matchNames = `Array.from(document.querySelectorAll("#share-results .share-match .person-name"), e => e.textContent.trim())`

// The list of members and teams shows when the field gets the focus, before anything is typed.
func TestBrowser_ShareListOnFocus(t *testing.T) {
	_, b, _, _ := shareFixture(t)
	b.wantFocus("share-q", "the type-ahead")
	// The team first, then the members by email; not Ada and Bob, who are listed already.
	b.waitFor("the members and teams", matchNames+`.join() === "Platform,Carol Example,Dan Example"`)
	b.shot("share-list-on-focus")

	// Picking one stages its row and gives the focus back to the emptied field, which lists the others.
	b.click(`#share-results .share-match`)
	b.waitVisible(`#share-rows .share-row.is-new`)
	b.wantFocus("share-q", "the type-ahead, after a pick")
	b.waitFor("the remaining members", matchNames+`.join() === "Carol Example,Dan Example"`)
	if v := b.value("#share-q"); v != "" {
		t.Errorf("the field holds %q after a pick", v)
	}
	// Leaving the field and coming back lists them again.
	b.run("focus the role", chromedp.Focus(chromedp.CSS("#share-new-role")))
	b.run("focus the field", chromedp.Focus(chromedp.CSS("#share-q")))
	b.waitFor("the remaining members again", matchNames+`.join() === "Carol Example,Dan Example"`)
	// Typing narrows it.
	b.typeInto("#share-q", "dan")
	b.waitFor("Dan alone", `document.querySelector('#share-results[data-query="dan"]') && `+matchNames+`.join() === "Dan Example"`)
}

// The dialog keeps its top edge where it opened as rows are added: it grows downwards, it does not
// re-centre.
func TestBrowser_ShareDialogStaysAnchored(t *testing.T) {
	_, b, _, _ := shareFixture(t)
	top := func() float64 {
		return evalJS[float64](b, `document.querySelector("#dialog dialog").getBoundingClientRect().top`)
	}
	height := func() float64 {
		return evalJS[float64](b, `document.querySelector("#share-rows").getBoundingClientRect().height`)
	}
	b.waitFor("the list", matchNames+`.length === 3`)
	b.waitFor("the opening animation done", `document.getAnimations().length === 0`)
	first, h0 := top(), height()
	for i := range 3 {
		b.click(`#share-results .share-match`)
		b.waitFor("the new row", `document.querySelectorAll("#share-rows .share-row.is-new").length === `+strconv.Itoa(i+1))
		if i < 2 {
			// After a pick the field has the focus again and lists who is left, by itself.
			b.waitFor("the list again", matchNames+`.length === `+strconv.Itoa(2-i))
		}
		if got := top(); math.Abs(got-first) > 1 {
			t.Fatalf("after %d rows the dialog's top is at %.0f px, it opened at %.0f px", i+1, got, first)
		}
	}
	if h := height(); h <= h0 {
		t.Errorf("the access list is %.0f px tall with three more rows, %.0f px before: the test added nothing", h, h0)
	}
	b.shot("share-anchored")
}

// Closing the dialog with staged changes asks first (Cancel, ×, Escape); Keep editing keeps them,
// Discard changes closes and saves nothing. Without changes it closes at once.
func TestBrowser_ShareWarnsBeforeDiscarding(t *testing.T) {
	ts, b, ada, sec := shareFixture(t)
	const asking = `!document.querySelector("#share-discard").hidden`
	// No change: Cancel closes.
	b.click(`#share-form button[data-close-dialog]:not([data-discard-ok])`)
	b.waitFor("the dialog closed", dialogClosed)

	b.click(`button[aria-label="Share SHARED_KEY"]`)
	b.waitFor("the Share dialog", dialogOpen)
	b.waitFor("the list", matchNames+`.length === 3`)
	b.click(`#share-results .share-match`)
	b.waitVisible(`#share-rows .share-row.is-new`)

	b.click(`#share-form .modal-footer button[data-close-dialog]`) // Cancel
	b.waitFor("the question", asking)
	if !evalJS[bool](b, dialogOpen) {
		t.Fatal("Cancel closed the dialog with a staged row")
	}
	b.wantFocus("", "")
	if got := evalJS[string](b, `document.activeElement.textContent.trim()`); got != "Keep editing" {
		t.Errorf("the focus is on %q, want Keep editing", got)
	}
	b.shot("share-discard")
	b.click(`[data-discard-cancel]`)
	b.waitFor("the question gone", `document.querySelector("#share-discard").hidden`)
	if n := evalJS[int](b, `document.querySelectorAll("#share-rows .share-row.is-new").length`); n != 1 || !evalJS[bool](b, dialogOpen) {
		t.Fatalf("after Keep editing: %d new rows, open %v", n, evalJS[bool](b, dialogOpen))
	}

	b.click(`#dialog .modal-header [data-close-dialog]`) // ×
	b.waitFor("the question", asking)
	b.click(`[data-discard-cancel]`)
	b.run("press Esc", chromedp.KeyEvent(kb.Escape))
	b.waitFor("the question after Escape", asking)
	if !evalJS[bool](b, dialogOpen) {
		t.Fatal("Escape closed the dialog with a staged row")
	}
	b.click(`[data-discard-ok]`)
	b.waitFor("the dialog closed", dialogClosed)
	grants, err := ts.Store.AccessList(t.Context(), ada, sec.ID)
	if err != nil || len(grants) != 2 {
		t.Errorf("after Discard: %d grants (%v), want Ada's and Bob's alone", len(grants), err)
	}

	// A role changed and changed back is no change.
	b.click(`button[aria-label="Share SHARED_KEY"]`)
	b.waitFor("the Share dialog", dialogOpen)
	bobRow := `#share-rows .share-row:not(.is-new) select[id^="share-role-user-"]:not([id$="` + ada.UserID + `"])`
	b.fill(bobRow, "owner")
	b.waitFor("Bob staged as Owner", `!!document.querySelector("#share-rows [data-pending]")`)
	b.waitFor("htmx done with Bob's new row", `(() => {
		const el = document.querySelector(`+jsString(bobRow)+`);
		const d = el && el['htmx-internal-data'];
		return !!(d && d.initHash) && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling');
	})()`)
	b.fill(bobRow, "reader")
	b.waitFor("Bob back to Reader", `!document.querySelector("#share-rows [data-pending]")`)
	b.click(`#share-form .modal-footer button[data-close-dialog]`)
	b.waitFor("the dialog closed", dialogClosed)
}

// A Reader's action (Access, in the row's menu) opens the list read-only, titled Access to NAME.
func TestBrowser_ShareReaderSeesAccess(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	bob := ts.SeedMember(t, ada, "bob@example.com", "Bob", "Example")
	ts.SeedShare(t, ada, ts.SeedSecret(t, ada, "SHARED_KEY", "v"), bob, db.RoleReader)
	b := newBrowserTab(t, ts)
	b.openAs("bob@example.com")
	b.waitRows("SHARED_KEY")
	if n := evalJS[int](b, `document.querySelectorAll('button[aria-label="Share SHARED_KEY"]').length`); n != 0 {
		t.Errorf("a Reader has %d Share buttons", n)
	}
	b.click(`button[aria-label="Access to SHARED_KEY"]`)
	b.waitFor("the Access dialog", dialogOpen)
	if got := b.text("#dialog-title"); got != "Access to SHARED_KEY" {
		t.Errorf("dialog title %q", got)
	}
	if n := evalJS[int](b, `document.querySelectorAll("#dialog #share-q, #dialog select, #dialog button[type=submit]").length`); n != 0 {
		t.Errorf("the Reader's dialog has %d editing controls", n)
	}
}
