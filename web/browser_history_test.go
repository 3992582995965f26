package web_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/webtest"
)

// TestBrowser_HistoryRestore: two versions; reveal and hide the first; restore it; the history then
// shows three, the newest holding the first value.
func TestBrowser_HistoryRestore(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	sec := ts.SeedSecret(t, ada, "API_TOKEN", "first-value")
	if _, err := ts.Store.UpdateSecret(context.Background(), ada, sec.ID, []byte("second-value"), 1); err != nil {
		t.Fatal(err)
	}
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")

	b.click(`button[aria-label="History of API_TOKEN"]`)
	b.waitFor("the History dialog", dialogOpen)
	if got := b.text("#dialog-title"); got != "History of API_TOKEN" {
		t.Errorf("dialog title %q", got)
	}
	if n := evalJS[int](b, `document.querySelectorAll("#dialog tbody.history-version").length`); n != 2 {
		t.Fatalf("%d versions listed, want 2", n)
	}
	if got := evalJS[string](b, `document.querySelector("#dialog").textContent`); containsAny(got, "first-value", "second-value") {
		t.Fatal("the History dialog shows a value before Reveal")
	}
	b.click(`#dialog button[aria-label="Reveal version 1"]`)
	b.waitVisible("#version-1-value textarea")
	if got := b.value("#version-1-value textarea"); got != "first-value" {
		t.Errorf("version 1 reads %q", got)
	}
	b.shot("history-revealed")
	b.click(`#version-1-value button[hx-get$="/hidden"]`)
	b.waitFor("version 1 hidden again", `!document.querySelector("#version-1-value textarea")`)

	b.click(`#dialog button[aria-label="Restore version 1"]`)
	b.waitFor("the dialog closed", dialogClosed)
	b.waitToast("Restored version 1 of API_TOKEN as version 3.")
	if v := ts.SecretValue(t, ada, sec.ID); v != "first-value" {
		t.Errorf("current value %q after restoring version 1", v)
	}
	b.click(`button[aria-label="History of API_TOKEN"]`)
	b.waitFor("the History dialog", dialogOpen)
	b.waitFor("three versions", `document.querySelectorAll("#dialog tbody.history-version").length === 3`)
	b.shot("history")
}

// TestBrowser_TrashRestoreUnderNewName: a deleted secret whose name was taken since is restored under
// a new name from Recently deleted; another is deleted for good with Delete now.
func TestBrowser_TrashRestoreUnderNewName(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	old := ts.SeedSecret(t, ada, "API_TOKEN", "old-value")
	gone := ts.SeedSecret(t, ada, "SCRATCH", "scratch")
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")

	b.click(`button[aria-label="Delete API_TOKEN"]`)
	b.waitFor("the confirmation", dialogOpen)
	if got := b.text("#dialog-desc"); !containsAny(got, "restore it from Recently deleted for 30 days") {
		t.Errorf("the confirmation says %q", got)
	}
	b.click(`#dialog .btn-danger`)
	b.waitToast("Deleted API_TOKEN.")
	if _, err := ts.Store.DeleteSecret(context.Background(), ada, gone.ID); err != nil {
		t.Fatal(err)
	}
	ts.SeedSecret(t, ada, "API_TOKEN", "the new one")

	if got := b.text(`a[href="/secrets/trash"]`); got != "Recently deleted" {
		t.Errorf("the Secrets page links to the trash as %q", got)
	}
	b.navigate("/secrets/trash")
	b.waitFor("Recently deleted", `!!document.querySelector("#trash-table table")`)
	b.shot("trash")
	b.click(`button[aria-label="Restore API_TOKEN"]`)
	b.waitFor("the rename dialog", dialogOpen)
	b.wantFocus("restore-name", "the name field")
	b.typeInto("#restore-name", "OLD_API_TOKEN")
	b.click(`#dialog button[type="submit"]`)
	b.waitToast("Restored OLD_API_TOKEN.")
	b.waitFor("the row gone", `!Array.from(document.querySelectorAll("#trash-table .secret-name"), e => e.textContent).includes("API_TOKEN")`)
	if got := ts.SecretValue(t, ada, old.ID); got != "old-value" {
		t.Errorf("restored value %q", got)
	}

	b.click(`button[aria-label="Delete SCRATCH now"]`)
	b.waitFor("the confirmation", dialogOpen)
	b.waitFor("the focus on Cancel", `document.activeElement && document.activeElement.textContent.trim() === "Cancel"`)
	b.click(`#dialog .btn-danger`)
	b.waitToast("Destroyed SCRATCH for good.")
	b.waitFor("the empty trash", `!!document.querySelector("#trash-table .empty-state")`)
	if _, err := ts.Store.RestoreSecret(context.Background(), ada, gone.ID, ""); err == nil {
		t.Error("a destroyed secret was restored")
	}
}

// containsAny reports whether s contains any of subs.
func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestBrowser_SecretsListMenuAndFilter: each row has one primary action and a "⋯" menu with the rest,
// says who it is shared with, and the list filters to what Bob owns or only reads, keeping a search.
func TestBrowser_SecretsListMenuAndFilter(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	bob := ts.SeedMember(t, ada, "bob@example.com", "Bob", "Example")
	mine := ts.SeedSecret(t, bob, "BOB_TOKEN", "1")
	ts.SeedShare(t, bob, mine, ada, db.RoleReader)
	shared := ts.SeedSecret(t, ada, "ADA_TOKEN", "2")
	ts.SeedShare(t, ada, shared, bob, db.RoleReader)
	b := newBrowserTab(t, ts)
	b.openAs("bob@example.com")
	b.waitRows("ADA_TOKEN", "BOB_TOKEN")

	if got := b.text("#secrets-table thead th.col-actions"); got != "Actions" {
		t.Errorf("the actions column is headed %q", got)
	}
	sharing := evalJS[[]string](b, `Array.from(document.querySelectorAll("#secrets-table .sharing"), e => e.textContent)`)
	if !slices.Equal(sharing, []string{"You + 1 person", "You + 1 person"}) {
		t.Errorf("shared with: %q", sharing)
	}
	// The menu: closed until asked; Escape closes it.
	if evalJS[bool](b, `!!document.querySelector("details.row-menu[open]")`) {
		t.Fatal("a row menu is open before any click")
	}
	b.click(`summary[aria-label="More actions for BOB_TOKEN"]`)
	b.waitFor("the menu open", `!!document.querySelector("details.row-menu[open] button[aria-label='Delete BOB_TOKEN']")`)
	b.shot("secrets-menu")
	b.run("press Esc", chromedp.KeyEvent(kb.Escape))
	b.waitFor("the menu closed", `!document.querySelector("details.row-menu[open]")`)
	if evalJS[int](b, `document.querySelectorAll('button[aria-label="Delete ADA_TOKEN"], button[aria-label="Share ADA_TOKEN"]').length`) != 0 {
		t.Error("a Reader's menu offers Delete or Share")
	}

	b.click(`#secrets-table .filter-button[hx-get="/secrets?only=owned"]`)
	b.waitRows("BOB_TOKEN")
	b.click(`#secrets-table .filter-button[hx-get="/secrets?only=shared"]`)
	b.waitRows("ADA_TOKEN")
	if got := b.path(); !strings.HasPrefix(got, "/secrets?only=shared") {
		t.Errorf("the URL after the filter: %s", got)
	}
	b.typeInto("#secret-search", "BOB")
	b.waitFor("no match", `!!document.querySelector("#secrets-table .empty-state")`)
	b.click(`#secrets-table .filter-button[hx-get="/secrets"]`)
	b.waitRows("BOB_TOKEN")
}

// TestBrowser_MaskedValueHideAndLarge: an unrevealed value shows as dots with its size; Reveal then
// Hide puts them back; a 1 MiB value reveals as a preview with Download, not as a megabyte of text.
func TestBrowser_MaskedValueHideAndLarge(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedSecret(t, ada, "API_TOKEN", "s3cr3t")
	ts.SeedSecret(t, ada, "BIG_BLOB", strings.Repeat("0123456789abcdef", 1<<16)+"END-OF-BLOB")
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")

	b.click(`button[aria-label="Edit API_TOKEN"]`)
	b.waitFor("the Edit dialog", dialogOpen)
	if got := b.text("#dialog .masked-size"); got != "6 bytes · hidden" {
		t.Errorf("masked value says %q", got)
	}
	b.shot("edit-masked")
	b.click(`#dialog button[hx-post$="/reveal"]`)
	b.waitVisible("#dialog [data-copy-target]")
	if got := b.value("#secret-value"); got != "s3cr3t" {
		t.Errorf("revealed %q", got)
	}
	b.click(`#dialog button[hx-get$="/masked"]`)
	b.waitVisible("#dialog .masked-value")
	if got := b.value("#secret-value"); got != "" {
		t.Errorf("after Hide the field holds %q", got)
	}
	b.run("press Esc", chromedp.KeyEvent(kb.Escape))
	b.waitFor("the dialog closed", dialogClosed)

	b.click(`button[aria-label="Edit BIG_BLOB"]`)
	b.waitFor("the Edit dialog", dialogOpen)
	b.click(`#dialog button[hx-post$="/reveal"]`)
	b.waitVisible("#secret-value-preview")
	if got := b.text("#dialog .value-preview .meta"); !strings.Contains(got, "Showing the first 64.0 KiB of 1.0 MiB") {
		t.Errorf("preview note %q", got)
	}
	if evalJS[bool](b, `document.querySelector("#dialog").textContent.includes("END-OF-BLOB")`) {
		t.Error("the whole large value was put in the page")
	}
	if got := b.value("#secret-value"); got != "" {
		t.Errorf("the Owner's text box holds %d bytes of the large value", len(got))
	}
	b.shot("edit-large")
}
