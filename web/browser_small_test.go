package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyhold/keyhold/web/webtest"
)

// TestBrowser_SignedOutNotice: the sign-in page says "You have been signed out." right after a
// sign-out, and nothing of the kind when opened on its own.
func TestBrowser_SignedOutNotice(t *testing.T) {
	ts := webtest.New(t)
	ts.SeedOrg(t, "Acme", "ada@example.com")
	b := newBrowserTab(t, ts)
	b.navigate("/login")
	b.waitVisible("#login-email")
	if n := evalJS[int](b, `document.querySelectorAll(".alert-success").length`); n != 0 {
		t.Errorf("the sign-in page opened on its own shows %d notices", n)
	}
	b.openAs("ada@example.com")
	b.signOut()
	if got := b.text(".auth-card .alert-success"); got != "You have been signed out." {
		t.Errorf("after sign-out the sign-in page says %q", got)
	}
}

// TestBrowser_AvatarColours: people's avatars differ in colour, and one person's is the same colour
// wherever it shows (the header and the Members table).
func TestBrowser_AvatarColours(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	for _, e := range []string{"bob@example.com", "carol@example.com", "dan@example.com", "eve@example.com"} {
		ts.SeedMember(t, ada, e, "Some", "Person")
	}
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")
	b.navigate("/members")
	b.waitVisible("#members-table .avatar")
	colours := evalJS[[]string](b, `Array.from(document.querySelectorAll("#members-table .person .avatar"), a => getComputedStyle(a).backgroundImage)`)
	seen := map[string]bool{}
	for _, c := range colours {
		seen[c] = true
	}
	if len(colours) != 5 || len(seen) < 3 {
		t.Errorf("5 people's avatars in %d colours (%v), want them told apart", len(seen), colours)
	}
	own := evalJS[string](b, `getComputedStyle(document.querySelector(".user-menu-button .avatar")).backgroundImage`)
	row := evalJS[string](b, `(() => { for (const tr of document.querySelectorAll("#members-table tbody tr"))
		if (tr.textContent.includes("ada@example.com")) return getComputedStyle(tr.querySelector(".avatar")).backgroundImage; return ""; })()`)
	if own != row {
		t.Errorf("Ada's avatar is %s in the header and %s in the table", own, row)
	}
}

// TestBrowser_APIKeysCount: the API Keys table says how many keys it lists, as the other tables do.
func TestBrowser_APIKeysCount(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	for _, l := range []string{"ci", "deploys"} {
		if _, _, err := ts.Store.CreateAPIKey(context.Background(), ada, l, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")
	b.navigate("/apikeys")
	b.waitVisible("#apikeys-table .pager-status")
	if got := b.text("#apikeys-table .pager-status"); got != "2 API keys" {
		t.Errorf("the API Keys table says %q, want 2 API keys", got)
	}
}

// TestBrowser_DeleteTitle: "Delete NAME?" shows no gap between the name and the question mark.
func TestBrowser_DeleteTitle(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedSecret(t, ada, "API_TOKEN", "v")
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")
	b.click(`button[aria-label="Delete API_TOKEN"]`)
	b.waitFor("the confirmation", dialogOpen)
	gap := evalJS[float64](b, `(() => {
		const name = document.querySelector("#dialog-title .mono");
		const r = document.createRange();
		r.setStart(name.nextSibling, 0);
		r.setEnd(name.nextSibling, 1);
		const mark = r.getBoundingClientRect();
		const inner = document.createRange();
		inner.selectNodeContents(name);
		const text = inner.getBoundingClientRect();
		return r.toString() === "?" ? mark.left - text.right : 999;
	})()`)
	if gap > 1 {
		t.Errorf("%.1f px between the name and the question mark of the Delete title", gap)
	}
}
