package web_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/webtest"
)

// The Import dialog in Chromium: a .env file loaded from disk, its preview (a new name, an existing
// one, a duplicate, an invalid name, a name not shared), the fix, the import; an import that db refuses
// at commit; and one whose names changed between the preview and the import.

// importRowStatus is the text of the status cell of the preview row for line n, spaces collapsed.
func importRowStatus(b *browserTab, line int) string {
	b.t.Helper()
	return evalJS[string](b, `(() => {
		for (const tr of document.querySelectorAll("#import-result .import-row")) {
			if (tr.querySelector(".import-col-line").textContent.replace("Line", "").trim() === "`+strconv.Itoa(line)+`")
				return tr.querySelector(".import-col-status").textContent.replace(/\s+/g, " ").trim();
		}
		return "(no row)";
	})()`)
}

// importFits checks that the page and the open dialog have no sideways scroll.
func importFits(t *testing.T, b *browserTab, what string) {
	t.Helper()
	if !evalJS[bool](b, `document.documentElement.scrollWidth <= innerWidth`) {
		t.Errorf("%s: the page is %d px wide on a %d px screen", what, evalJS[int](b, `document.documentElement.scrollWidth`), evalJS[int](b, `innerWidth`))
	}
	if !evalJS[bool](b, `(d => d.scrollWidth <= d.clientWidth && d.getBoundingClientRect().right <= innerWidth)(document.querySelector("#dialog dialog"))`) {
		t.Errorf("%s: the dialog is %d px wide inside, %d px shown, on a %d px screen", what,
			evalJS[int](b, `document.querySelector("#dialog dialog").scrollWidth`), evalJS[int](b, `document.querySelector("#dialog dialog").clientWidth`), evalJS[int](b, `innerWidth`))
	}
}

// TestBrowser_Import: load, preview, fix, preview again, import; the rows appear in the table. The
// preview never holds a value, and fits a 390 px phone.
func TestBrowser_Import(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	bob := ts.SeedMember(t, ada, "bob@example.com", "Bob", "Builder")
	dbPassword := ts.SeedSecret(t, ada, "DB_PASSWORD", "old-password-value")
	ts.SeedSecret(t, bob, "BOBS_TOKEN", "bobs-own-token-value")

	const file = `# staging
NEW_KEY=new-key-value-1
DB_PASSWORD=rotated-password-value
API_URL=https://first.example/value
export API_URL="https://second.example/value"
BAD-NAME=bad-name-value
BOBS_TOKEN=adas-guess-value
`
	path := filepath.Join(t.TempDir(), "staging.env")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	b := newBrowserTab(t, ts)
	values := []string{"new-key-value-1", "rotated-password-value", "first.example", "second.example", "bad-name-value", "adas-guess-value", "old-password-value", "bobs-own-token-value"}
	noValues := func(what string) {
		t.Helper()
		html := evalJS[string](b, `document.getElementById("import-result").outerHTML`)
		for _, v := range values {
			if strings.Contains(html, v) {
				t.Errorf("%s: the preview holds the value %q", what, v)
			}
		}
	}
	b.openAs("ada@example.com")
	b.waitRows("DB_PASSWORD")
	b.click(`.page-header button[hx-get="/secrets/import"]`)
	b.waitFor("the Import dialog", dialogOpen)
	b.wantFocus("import-text", "the text box")
	b.shot("import-dialog")
	if n := evalJS[int](b, `document.querySelectorAll("#import-result .import-confirm-button").length`); n != 0 {
		t.Errorf("the dialog offers Import before a preview (%d buttons)", n)
	}

	// Load from file reads the file into the text box, in the browser.
	b.run("choose the file", chromedp.SetUploadFiles("#import-file", []string{path}))
	b.waitFor("the file in the text box", `document.getElementById("import-text").value === `+jsString(file))
	b.click(`#import-dialog input[name="overwrite"]`)
	b.click(`#import-result .import-preview-button`)
	b.waitVisible("#import-result .import-table")

	for line, want := range map[int]string{
		2: "New",
		3: "Overwrites v1 set by Ada Admin, just now",
		4: "Replaced by line 5",
		5: "New",
		6: `Invalid Name may contain only letters, digits and _ (not "-").`,
		7: "Skipped A secret with this name already exists in this organization and is not shared with you.",
	} {
		if got := importRowStatus(b, line); got != want {
			t.Errorf("line %d: status %q, want %q", line, got, want)
		}
	}
	if got := b.text("#import-result .import-counts"); strings.Join(strings.Fields(got), " ") != "2 new 1 to overwrite 1 skipped 1 invalid 1 replaced" {
		t.Errorf("counts %q", got)
	}
	if !evalJS[bool](b, `document.querySelector("#import-result .import-confirm-button").disabled`) {
		t.Error("Import is enabled with an invalid line")
	}
	if got := b.text("#import-result .alert-warning"); !strings.Contains(got, "Fix the file") {
		t.Errorf("the warning says %q", got)
	}
	noValues("the preview")
	b.wantFocus("import-preview-title", "the preview's heading")
	b.shot("import-preview-invalid-1280")

	// On a phone the dialog and its preview fit the width.
	b.run("a phone's viewport", chromedp.EmulateViewport(390, 844))
	b.waitFor("the narrow layout", `innerWidth === 390`)
	importFits(t, b, "the preview on a phone")
	evalJS[bool](b, `document.querySelector("#import-result .import-row-invalid").scrollIntoView({block: "center"}); true`)
	b.shot("import-preview-invalid-390")

	// The fix: the name corrected, Bob's name left out. Preview again.
	fixed := strings.NewReplacer("BAD-NAME=", "BAD_NAME=", "BOBS_TOKEN=adas-guess-value\n", "").Replace(file)
	b.fill("#import-text", fixed)
	b.click(`#import-result .import-preview-button`)
	b.waitFor("the new preview", `!!document.querySelector("#import-result .import-confirm-button:not([disabled])")`)
	if got := b.text("#import-result .import-confirm-button"); got != "Import 4 secrets" {
		t.Errorf("the Import button says %q", got)
	}
	if got := importRowStatus(b, 6); got != "New" {
		t.Errorf("line 6 after the fix: %q", got)
	}
	noValues("the second preview")
	importFits(t, b, "the second preview on a phone")
	b.shot("import-preview-390")
	b.run("a desktop viewport", chromedp.EmulateViewport(1280, 900))
	b.waitFor("the wide layout", `innerWidth === 1280`)
	b.shot("import-preview-1280")
	if got := ts.SecretNames(t, ada); strings.Join(got, " ") != "DB_PASSWORD" {
		t.Fatalf("the previews changed the secrets: %v", got)
	}

	b.click(`#import-result .import-confirm-button`)
	b.waitFor("the dialog closed", dialogClosed)
	b.waitToast("Imported: 3 created, 1 updated.")
	b.waitRows("API_URL", "BAD_NAME", "DB_PASSWORD", "NEW_KEY")
	b.shot("import-done")
	for name, want := range map[string]string{"NEW_KEY": "new-key-value-1", "DB_PASSWORD": "rotated-password-value",
		"API_URL": "https://second.example/value", "BAD_NAME": "bad-name-value"} {
		if got := ts.SecretValue(t, ada, mustSecretID(t, ts, ada, name)); got != want {
			t.Errorf("%s=%q, want %q", name, got, want)
		}
	}
	if got := ts.SecretValue(t, ada, dbPassword.ID); got != "rotated-password-value" {
		t.Errorf("DB_PASSWORD=%q", got)
	}
}

// TestBrowser_ImportAllOrNothing: a name of the batch is created by another user between the import's
// look and its write (the store's clock, read by ImportSecrets between the two, makes the change then).
// db refuses the whole import: the dialog stays open with the refusal and the text, and no secret of
// the batch exists.
func TestBrowser_ImportAllOrNothing(t *testing.T) {
	var during atomic.Pointer[func()]
	now := func() time.Time {
		if f := during.Load(); f != nil && strings.Contains(string(debug.Stack()), "ImportSecrets") && during.CompareAndSwap(f, nil) {
			(*f)()
		}
		return time.Now()
	}
	ts := webtest.NewWith(t, web.Config{}, db.Options{Now: now})
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	bob := ts.SeedMember(t, ada, "bob@example.com", "Bob", "Builder")
	ts.SeedSecret(t, ada, "KEPT", "kept value")

	const file = "FIRST_KEY=first-value\nTAKEN_KEY=adas-value\nTHIRD_KEY=third-value\n"
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")
	b.click(`.page-header button[hx-get="/secrets/import"]`)
	b.waitFor("the Import dialog", dialogOpen)
	b.fill("#import-text", file)
	b.click(`#import-result .import-preview-button`)
	b.waitFor("the preview", `!!document.querySelector("#import-result .import-confirm-button:not([disabled])")`)
	if got := b.text("#import-result .import-confirm-button"); got != "Import 3 secrets" {
		t.Fatalf("the Import button says %q", got)
	}

	f := func() {
		if _, err := ts.Store.CreateSecret(context.Background(), bob, "TAKEN_KEY", []byte("bobs-value")); err != nil {
			t.Error(err)
		}
	}
	during.Store(&f)
	b.click(`#import-result .import-confirm-button`)
	b.waitVisible("#import-result .alert-error")
	if during.Load() != nil {
		t.Fatal("the change meant to race the import did not run")
	}
	if got := b.text("#import-result .alert-error"); !strings.Contains(got, "TAKEN_KEY") || !strings.Contains(got, "nothing was imported") {
		t.Errorf("the refusal says %q", got)
	}
	if !evalJS[bool](b, dialogOpen) {
		t.Fatal("the dialog closed")
	}
	if got := b.value("#import-text"); got != file {
		t.Errorf("the text box holds %q after the refusal, want the pasted text", got)
	}
	// The preview under the refusal is as things are now: Bob's name is taken.
	if got := importRowStatus(b, 2); !strings.HasPrefix(got, "Skipped") {
		t.Errorf("TAKEN_KEY after the refusal: %q", got)
	}
	if got := b.text("#import-result .import-confirm-button"); got != "Import 2 secrets" {
		t.Errorf("the Import button says %q after the refusal", got)
	}
	b.shot("import-refused")
	if got := ts.SecretNames(t, ada); strings.Join(got, " ") != "KEPT" {
		t.Errorf("Ada's secrets after the refused import: %v, want only KEPT", got)
	}
	if got := ts.SecretValue(t, bob, mustSecretID(t, ts, bob, "TAKEN_KEY")); got != "bobs-value" {
		t.Errorf("Bob's TAKEN_KEY=%q", got)
	}
	b.waitRows("KEPT")
}

// TestBrowser_ImportChangedAfterPreview: a name of the batch is taken by another user after the
// preview, before Import. What was previewed is imported or nothing: the dialog stays open with the
// refusal over a fresh preview, and no secret of the batch exists.
func TestBrowser_ImportChangedAfterPreview(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	bob := ts.SeedMember(t, ada, "bob@example.com", "Bob", "Builder")
	ts.SeedSecret(t, ada, "KEPT", "kept value")

	b := newBrowserTab(t, ts)
	b.run("a phone's viewport", chromedp.EmulateViewport(390, 844))
	b.openAs("ada@example.com")
	if !evalJS[bool](b, `document.documentElement.scrollWidth <= innerWidth`) {
		t.Errorf("the Secrets page is %d px wide on a phone", evalJS[int](b, `document.documentElement.scrollWidth`))
	}
	b.shot("import-secrets-page-390")
	b.run("a desktop viewport", chromedp.EmulateViewport(1280, 900))
	b.waitFor("the wide layout", `innerWidth === 1280`)

	b.click(`.page-header button[hx-get="/secrets/import"]`)
	b.waitFor("the Import dialog", dialogOpen)
	b.fill("#import-text", "FIRST_KEY=first-value\nLATE_KEY=adas-value\n")
	b.click(`#import-result .import-preview-button`)
	b.waitFor("the preview", `!!document.querySelector("#import-result .import-confirm-button:not([disabled])")`)
	ts.SeedSecret(t, bob, "LATE_KEY", "bobs-value")

	b.click(`#import-result .import-confirm-button`)
	b.waitVisible("#import-result .alert-error")
	if got := b.text("#import-result .alert-error"); !strings.Contains(got, "LATE_KEY") || !strings.Contains(got, "changed since the preview") {
		t.Errorf("the refusal says %q", got)
	}
	if got := importRowStatus(b, 2); !strings.HasPrefix(got, "Skipped") {
		t.Errorf("LATE_KEY in the fresh preview: %q", got)
	}
	b.shot("import-changed-after-preview")
	if got := ts.SecretNames(t, ada); !slices.Equal(got, []string{"KEPT"}) {
		t.Errorf("Ada's secrets %v after a refused import", got)
	}
	b.click(`#import-result button[data-close-dialog]`)
	b.waitFor("the dialog closed", dialogClosed)
}
