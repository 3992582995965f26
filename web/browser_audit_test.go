package web_test

import (
	"bytes"
	"fmt"
	"image/png"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/keyhold/keyhold/web/webtest"
)

// auditRowCount counts the rows of the audit table in the page.
const auditRowCount = `document.querySelectorAll("#audit-table tbody tr").length`

func TestBrowser_AuditLog(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedMember(t, ada, "bob@example.com", "Bob", "Example")
	busy := ts.SeedSecret(t, ada, "BUSY_TOKEN", "v")
	for range 60 {
		ts.SecretValue(t, ada, busy.ID) // a read event each
	}
	ts.SeedSecret(t, ada, "QUIET_KEY", "v")
	b := newBrowserTab(t, ts)
	b.openAs("ada@example.com")
	b.navigate("/audit")
	b.waitVisible("#audit-table tbody")
	b.shot("audit-log")

	// The filters and their buttons on one row at 1280 px.
	tops := evalJS[[]float64](b, `Array.from(document.querySelectorAll("#audit-filters .input, #audit-filters .btn"), e => e.getBoundingClientRect().top)`)
	if len(tops) != 7 {
		t.Fatalf("%d filter controls, want 7", len(tops))
	}
	for _, top := range tops {
		if top < tops[0]-2 || top > tops[0]+2 {
			t.Errorf("filter controls at heights %v, want one row", tops)
			break
		}
	}

	// Absolute times in UTC, the relative time on hover; the name beside the email.
	when := b.text("#audit-table tbody tr:first-child .audit-time")
	if !strings.HasSuffix(when, "UTC") || !strings.Contains(when, "-") {
		t.Errorf("time %q, want a date and a UTC time", when)
	}
	if title := evalJS[string](b, `document.querySelector("#audit-table tbody tr:first-child time").title`); title != "just now" {
		t.Errorf("time's title %q, want just now", title)
	}
	if who := b.text("#audit-table tbody tr:first-child .audit-who"); !strings.Contains(who, "Ada Admin") || !strings.Contains(who, "ada@example.com") {
		t.Errorf("who %q, want the name and the email", who)
	}

	// Paging: 50 events, then the older ones, by a link.
	if n := evalJS[int](b, auditRowCount); n != 50 {
		t.Fatalf("first page: %d rows, want 50", n)
	}
	first := evalJS[string](b, `document.querySelector("#audit-table tbody tr:last-child time").dateTime + document.querySelector("#audit-table tbody").textContent`)
	b.click(`#audit-table a.btn[href*="before="]`)
	b.waitFor("the older page", `location.search.includes("before=") && !document.querySelector('#audit-table a.btn[href*="before="]')`)
	b.waitFor("the oldest events", `document.querySelector("#audit-table").textContent.includes("Created organization")`)
	if got := evalJS[string](b, `document.querySelector("#audit-table tbody tr:last-child time").dateTime + document.querySelector("#audit-table tbody").textContent`); got == first {
		t.Error("the older page shows the first page's events")
	}
	b.click(`#audit-table a.btn[href="/audit"]`)
	b.waitFor("the newest page", `location.search === "" && document.querySelectorAll("#audit-table tbody tr").length === 50`)

	// A part of a secret's name, in any case, as it is typed.
	b.typeInto("#audit-secret", "quiet")
	b.waitFor("the search's one event", `new URLSearchParams(location.search).get("secret") === "quiet" && document.querySelectorAll("#audit-table tbody tr").length === 1`)
	if got := b.text("#audit-table tbody .secret-name"); got != "QUIET_KEY" {
		t.Errorf("search quiet shows %q", got)
	}
	b.fill("#audit-secret", "_tok")
	b.waitFor("the BUSY_TOKEN events", `new URLSearchParams(location.search).get("secret") === "_tok" && document.querySelectorAll("#audit-table tbody tr").length === 50`)
	b.fill("#audit-secret", "nothing_like_it")
	b.waitFor("no events", `document.querySelector("#audit-table .empty-title") !== null`)

	// The sidebar's background runs down to the bottom of a page taller than the window.
	b.fill("#audit-secret", "")
	b.waitFor("the whole log", `document.querySelectorAll("#audit-table tbody tr").length === 50`)
	ctx, cancel := b.step()
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	height := img.Bounds().Dy()
	if inner := evalJS[int](b, "innerHeight"); height < 2*inner {
		t.Fatalf("the page is %d px tall, want one longer than the window (%d px)", height, inner)
	}
	sidebar := evalJS[int](b, `Math.round(document.querySelector(".sidebar").getBoundingClientRect().width)`)
	top, bottom := img.At(sidebar/2, 120), img.At(sidebar/2, height-5)
	if fmt.Sprint(top) != fmt.Sprint(bottom) {
		t.Errorf("the sidebar column is %v at the top and %v at the bottom of the page", top, bottom)
	}
}
