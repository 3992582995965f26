package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/keyhold/keyhold/web/webtest"
)

// allowClipboard lets the tab's page read and write the clipboard, so that a test can read what a
// Copy button copied.
func (b *browserTab) allowClipboard() {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	c := chromedp.FromContext(b.tab)
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		_, err := chromedp.Call(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted,
			Origin: b.ts.URL, BrowserContextID: c.BrowserContextID})
		if err != nil {
			b.t.Fatalf("allowing %s: %v", name, err)
		}
	}
}

// clipboard is the clipboard's text.
func (b *browserTab) clipboard() string {
	b.t.Helper()
	return evalJS[string](b, `navigator.clipboard.readText()`)
}

// The dialog that shows a new key shows code that uses it with this server's address, one tab per
// client, and each Copy button copies its code.
func TestBrowser_APIKeySnippets(t *testing.T) {
	ts := webtest.New(t)
	ts.SeedOrg(t, "Acme", "ada@example.com")
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")
	b.allowClipboard()
	b.navigate("/apikeys")
	b.click(`.page-header button[hx-get="/apikeys/new"]`)
	b.waitFor("the Create API key dialog", dialogOpen)
	b.fill("#dialog input[name=label]", "notebook")
	b.click(`#dialog button[type="submit"]`)
	b.waitVisible("#new-api-key")
	key := b.value("#new-api-key")
	if !strings.HasPrefix(key, "kh_") {
		t.Fatalf("the dialog shows %q, not a key", key)
	}
	visible := func() []string {
		return evalJS[[]string](b, `Array.from(document.querySelectorAll("#dialog [role=tabpanel]")).filter(p => p.offsetParent !== null).map(p => p.id)`)
	}
	if got := visible(); len(got) != 1 || got[0] != "snippet-panel-curl" {
		t.Errorf("panels shown %v, want curl's alone", got)
	}
	b.shot("apikey-created")

	for _, tab := range []struct{ id, want string }{
		{"curl", `-H "Authorization: Bearer ` + key + `"`},
		{"python", `base_url="` + ts.URL + `"`},
		{"env", "SINGLESTOREDB_MANAGEMENT_TOKEN=" + key},
	} {
		b.click("#snippet-tab-" + tab.id)
		if got := visible(); len(got) != 1 || got[0] != "snippet-panel-"+tab.id {
			t.Errorf("after a click on %s, panels shown %v", tab.id, got)
		}
		if sel := evalJS[string](b, `document.querySelector('#dialog [role=tab][aria-selected="true"]').id`); sel != "snippet-tab-"+tab.id {
			t.Errorf("selected tab %s, want %s", sel, tab.id)
		}
		code := b.value("#snippet-" + tab.id)
		if !strings.Contains(code, key) || !strings.Contains(code, ts.URL) || !strings.Contains(code, tab.want) {
			t.Errorf("%s snippet:\n%s\nwant the key, %s and %s", tab.id, code, ts.URL, tab.want)
		}
		b.click(`#snippet-panel-` + tab.id + ` [data-copy-target]`)
		b.waitFor("the Copied label", `document.querySelector("#snippet-panel-`+tab.id+` [data-copy-label]").textContent === "Copied"`)
		if got := b.clipboard(); got != code {
			t.Errorf("Copy on %s copied %q, want %q", tab.id, got, code)
		}
	}
	// The arrow keys move between the tabs.
	b.run("focus the env tab", chromedp.Focus(chromedp.CSS("#snippet-tab-env")))
	b.run("press Home", chromedp.KeyEvent(kb.Home))
	if got := visible(); len(got) != 1 || got[0] != "snippet-panel-curl" {
		t.Errorf("after Home, panels shown %v", got)
	}
	b.wantFocus("snippet-tab-curl", "the first tab")
	if href := evalJS[string](b, `document.querySelector('#dialog a[href="/v1/openapi.json"]').getAttribute("href")`); href != "/v1/openapi.json" {
		t.Errorf("API description link %q", href)
	}
}
