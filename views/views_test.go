package views

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/a-h/templ"

	"github.com/keyhold/keyhold/static"
)

var testNow = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func mustRender(t *testing.T, c templ.Component) string {
	t.Helper()
	var b bytes.Buffer
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatalf("render: %v", err)
	}
	return b.String()
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output does not contain %q", w)
		}
	}
}

func mustNotContain(t *testing.T, out string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(out, u) {
			t.Errorf("output contains %q", u)
		}
	}
}

func testLayout() LayoutProps {
	return LayoutProps{
		Title: "Secrets", CSRF: "tok", UserName: "Ada Admin", UserEmail: "ada@example.com",
		OrgName: "Acme Labs", Active: "secrets",
		Orgs: []OrgOption{{ID: "o1", Name: "Acme Labs", Current: true}},
	}
}

func testRows() []SecretItem {
	return []SecretItem{
		{ID: "s1", Name: "STRIPE_API_KEY", CreatedBy: "Ada Admin", UpdatedBy: "Ada Admin", UpdatedAt: testNow.Add(-3 * time.Minute), Owner: true},
		{ID: "s2", Name: "DATABASE_URL", CreatedBy: "Bob Builder", UpdatedBy: "Bob Builder", UpdatedAt: testNow.Add(-2 * time.Hour), Owner: false},
	}
}

func TestSecretsTable_EscapesUserNames(t *testing.T) {
	rows := testRows()
	rows[0].CreatedBy = `<img src=x onerror=alert(1)>`
	rows[0].UpdatedBy = `<script>alert(2)</script>`
	out := mustRender(t, SecretsTable(SecretsProps{Rows: rows, Page: 1, PageSize: 50, Total: 2, Now: testNow}))
	mustNotContain(t, out, `<img src=x`, `<script>alert(2)`)
	mustContain(t, out, `&lt;img src=x onerror=alert(1)&gt;`, `&lt;script&gt;alert(2)&lt;/script&gt;`)
}

func TestSecretsTable_NeverShowsValues(t *testing.T) {
	// The row type has no place for a value, so the table cannot show one.
	if _, ok := reflect.TypeOf(SecretItem{}).FieldByName("Value"); ok {
		t.Fatal("SecretItem has a Value field; the table must never carry values")
	}
	out := mustRender(t, SecretsPage(SecretsProps{Rows: testRows(), Page: 1, PageSize: 50, Total: 2, Now: testNow}))
	mustNotContain(t, out, "<textarea", `name="value"`, "/value")
	mustContain(t, out, "STRIPE_API_KEY", "DATABASE_URL")
}

func TestSecretsTable_Rows(t *testing.T) {
	out := mustRender(t, SecretsTable(SecretsProps{Rows: testRows(), Page: 1, PageSize: 50, Total: 2, Now: testNow}))
	mustContain(t, out,
		`id="secrets-table"`,
		`hx-trigger="secrets-changed from:body"`,
		`hx-include="#secret-search"`,
		`hx-swap="outerHTML"`,
		// Owner row: Edit, Share, Delete.
		`hx-get="/secrets/s1/edit"`, `aria-label="Edit STRIPE_API_KEY"`,
		`hx-get="/secrets/s1/share"`, `hx-get="/secrets/s1/delete"`,
		// Reader row: View and Share, no Delete.
		`aria-label="View DATABASE_URL"`, `hx-get="/secrets/s2/share"`,
		"3 minutes ago", "by Ada Admin", "2 hours ago",
		`title="2026-11-25 09:57:00 UTC"`,
		`>Owner</span>`, `>Reader</span>`,
		"Showing 1–2 of 2",
	)
	mustNotContain(t, out, `hx-get="/secrets/s2/delete"`, `aria-label="Edit DATABASE_URL"`)
}

func TestSecretRow_EscapesIDInURLs(t *testing.T) {
	row := testRows()[0]
	row.ID = "a/b?c"
	out := mustRender(t, SecretRow(row, testNow))
	mustContain(t, out, `hx-get="/secrets/a%2Fb%3Fc/edit"`)
}

func TestSecretsTable_Pager(t *testing.T) {
	rows := make([]SecretItem, 50)
	for i := range rows {
		rows[i] = SecretItem{ID: "x", Name: "N", UpdatedAt: testNow}
	}
	out := mustRender(t, SecretsTable(SecretsProps{Rows: rows, Query: "a b", Page: 2, PageSize: 50, Total: 10000, Now: testNow}))
	mustContain(t, out,
		"Showing 51–100 of 10,000",
		`hx-get="/secrets?q=a+b"`,            // Previous goes to page 1
		`hx-get="/secrets?page=3&amp;q=a+b"`, // Next
		`hx-get="/secrets?page=2"`,           // the reload keeps the page; q comes from hx-include
	)
	disabledButton := regexp.MustCompile(`<button[^>]*\sdisabled[\s>]`)
	if disabledButton.MatchString(out) {
		t.Error("a pager button is disabled on page 2")
	}

	first := mustRender(t, SecretsTable(SecretsProps{Rows: rows, Page: 1, PageSize: 50, Total: 10000, Now: testNow}))
	mustContain(t, first, "Showing 1–50 of 10,000")
	if n := len(disabledButton.FindAllString(first, -1)); n != 1 {
		t.Errorf("disabled buttons on page 1 = %d, want 1 (Previous)", n)
	}
	// No filter: its hidden field is disabled, so that no empty only= is sent.
	mustContain(t, first, `<input type="hidden" id="secret-only" name="only" value="" disabled>`)
}

func TestSecretsTable_EmptyStates(t *testing.T) {
	empty := mustRender(t, SecretsTable(SecretsProps{Page: 1, PageSize: 50, Now: testNow}))
	mustContain(t, empty, "No secrets yet",
		"Secrets keep API keys, tokens and passwords out of your code.",
		`hx-get="/secrets/new"`)
	mustNotContain(t, empty, "<table")

	none := mustRender(t, SecretsTable(SecretsProps{Query: `<b>x</b>`, Page: 1, PageSize: 50, Now: testNow}))
	mustContain(t, none, "No secrets match “&lt;b&gt;x&lt;/b&gt;”.")
	mustNotContain(t, none, "No secrets yet", "<b>x</b>")
}

func TestSecretsPage_Search(t *testing.T) {
	out := mustRender(t, SecretsPage(SecretsProps{Rows: testRows(), Query: `"q"`, Page: 1, PageSize: 50, Total: 2, Now: testNow}))
	mustContain(t, out,
		`<label class="visually-hidden" for="secret-search">`,
		`id="secret-search"`, `name="q"`, `value="&#34;q&#34;"`,
		`hx-get="/secrets"`, `hx-trigger="input changed delay:300ms, search"`,
		`hx-target="#secrets-table"`, `hx-push-url="true"`,
	)
}

func TestNewSecretDialog_KeepsInputAndShowsError(t *testing.T) {
	out := mustRender(t, NewSecretDialog(SecretForm{Name: "MY_KEY", Value: "line1\n<b>line2</b>", Err: "A secret named MY_KEY already exists."}))
	mustContain(t, out,
		"<dialog", `hx-post="/secrets"`, `hx-target="#dialog"`,
		`value="MY_KEY"`,
		">\nline1\n&lt;b&gt;line2&lt;/b&gt;</textarea>",
		`role="alert"`, "A secret named MY_KEY already exists.",
		`id="secret-value"`, `data-load-into="#secret-value"`, "data-file-error",
		"Letters, digits and _ only", "Create Secret", "data-close-dialog",
	)
	mustNotContain(t, out, "<b>line2")

	clean := mustRender(t, NewSecretDialog(SecretForm{}))
	mustNotContain(t, clean, `role="alert"`)
}

func TestTextareaKeepsLeadingNewline(t *testing.T) {
	// The parser drops one newline after <textarea>; the one we add is the one dropped.
	out := mustRender(t, NewSecretDialog(SecretForm{Value: "\nstarts with a newline"}))
	mustContain(t, out, ">\n\nstarts with a newline</textarea>")
}

func TestEditSecretDialog(t *testing.T) {
	owner := SecretEdit{ID: "s1", Name: "STRIPE_API_KEY", Version: 7, Owner: true, Size: 42, Now: testNow, UpdatedAt: testNow.Add(-time.Hour), UpdatedBy: "Bob Builder",
		Err: "STRIPE_API_KEY was changed by Bob Builder at 2026-11-25 10:00 UTC — reload to see the latest"}
	out := mustRender(t, EditSecretDialog(owner))
	mustContain(t, out,
		"Edit <span class=\"mono\">STRIPE_API_KEY</span>",
		`hx-put="/secrets/s1"`, `name="version" value="7"`,
		`id="secret-value-field"`, `hx-post="/secrets/s1/reveal"`, `hx-target="#secret-value-field"`,
		"Type or load a new value to replace it.", "42 bytes · hidden", "••••",
		`data-load-into="#secret-value"`, ">Update</button>", `role="alert"`,
		"was changed by Bob Builder", "1 hour ago",
	)
	mustNotContain(t, out, "data-copy-target")
	readonlyAttr := regexp.MustCompile(`\sreadonly[\s>]`)
	if readonlyAttr.MatchString(out) {
		t.Error("owner's value field is read-only")
	}

	reader := owner
	reader.Owner, reader.Err = false, ""
	ro := mustRender(t, EditSecretDialog(reader))
	mustContain(t, ro, "View <span class=\"mono\">STRIPE_API_KEY</span>", "Reveal", "42 bytes · hidden")
	// A Reader has nothing to type into: no text box until the value is revealed, and no invitation
	// to type a new one.
	mustNotContain(t, ro, "hx-put", ">Update</button>", "data-load-into", "<textarea", "placeholder")
	reader.Revealed, reader.Value = true, "the value"
	ro = mustRender(t, SecretValueField(reader))
	if !readonlyAttr.MatchString(ro) {
		t.Error("reader's revealed value is not read-only")
	}
	mustContain(t, ro, `hx-get="/secrets/s1/masked"`, ">Hide</button>", "data-copy-target")
	mustNotContain(t, ro, "placeholder", "hidden</span>")
}

// TestSecretValueField_Large: a revealed value over 256 KiB shows its first 64 KiB, cut at a character
// boundary, with Download, and never the rest; the Owner's text box stays empty for a new value.
func TestSecretValueField_Large(t *testing.T) {
	value := strings.Repeat("é", 200<<10) + "THE-TAIL" // 400 KiB of two-byte characters
	out := mustRender(t, SecretValueField(SecretEdit{ID: "s1", Name: "K", Owner: true, Revealed: true, Value: value, Size: len(value)}))
	mustContain(t, out, "Showing the first 64.0 KiB of 400.0 KiB.", `form="secret-download"`, "Download the whole value",
		`placeholder="Type or load a new value to replace it."`)
	mustNotContain(t, out, "THE-TAIL", "data-copy-target")
	if len(out) > 80<<10 {
		t.Errorf("the field is %d bytes: the whole value was sent", len(out))
	}
	if !utf8.ValidString(out) {
		t.Error("the preview cuts a character in two")
	}
	dlg := mustRender(t, EditSecretDialog(SecretEdit{ID: "s1", Name: "K", Owner: true, CSRF: "tok"}))
	mustContain(t, dlg, `<form id="secret-download" method="post" action="/secrets/s1/download" hidden>`, `name="_csrf" value="tok"`)
}

func TestSecretValueField_Revealed(t *testing.T) {
	out := mustRender(t, SecretValueField(SecretEdit{ID: "s1", Name: "K", Value: `p&"w<d`, Revealed: true}))
	mustContain(t, out, `id="secret-value-field"`, `data-copy-target="#secret-value"`, ">\np&amp;&#34;w&lt;d</textarea>", "readonly")
	mustNotContain(t, out, "Reveal", "placeholder")
}

func TestDeleteSecretDialog(t *testing.T) {
	out := mustRender(t, DeleteSecretDialog(SecretDelete{ID: "s1", Name: "STRIPE_API_KEY", Err: "Forbidden.", TrashDays: 30}))
	mustContain(t, out,
		"Delete <span class=\"mono\">STRIPE_API_KEY</span>?",
		"will fail. Its Owners can restore it from Recently deleted for 30 days; then it is destroyed.",
		`hx-delete="/secrets/s1"`, `hx-target="#dialog"`, `class="btn btn-danger"`,
		`role="alert"`, "Forbidden.",
	)
}

func TestToastAndErrorFragment(t *testing.T) {
	out := mustRender(t, Toast("Secret <K> created."))
	mustContain(t, out, `id="toast"`, `hx-swap-oob="true"`, `class="toast"`, `role="status"`, "Secret &lt;K&gt; created.")
	bad := mustRender(t, ErrorFragment("Internal error."))
	mustContain(t, bad, `id="toast"`, `hx-swap-oob="true"`, `toast-error`, `role="alert"`, "Internal error.")
}

func TestLayout_AuditLogForAdminsOnly(t *testing.T) {
	p := testLayout()
	out := mustRender(t, Layout(p))
	mustContain(t, out, "Members", "Teams", "API Keys")
	mustNotContain(t, out, "Audit log")

	p.IsAdmin = true
	mustContain(t, mustRender(t, Layout(p)), "Audit log")
}

func TestLayout_Frame(t *testing.T) {
	p := testLayout()
	p.CSRF = `a"b<c>`
	out := mustRender(t, Page(p, templ.Raw("<p>body</p>")))
	mustContain(t, out,
		`<html lang="en">`, "<title>Secrets · keyhold</title>",
		`<link rel="stylesheet" href="`+static.URL("app.css")+`">`,
		`<script src="`+static.URL("htmx.min.js")+`" defer></script>`,
		`<script src="`+static.URL("app.js")+`" defer></script>`,
		`<meta name="htmx-config"`,
		`<a class="nav-link is-active" href="/secrets" aria-current="page">`,
		`<div id="dialog"></div>`, `id="toast"`, "<p>body</p>",
		`action="/logout"`, "Ada Admin", "ada@example.com", "Acme Labs",
	)
	// One organization: its name, no switcher.
	mustNotContain(t, out, "/org/switch", "<select")
	// Every asset by its content-hashed URL, none by its plain name.
	for _, re := range []string{`href="/static/favicon\.[0-9a-f]{16}\.svg"`, `href="/static/app\.[0-9a-f]{16}\.css"`,
		`src="/static/htmx\.min\.[0-9a-f]{16}\.js"`, `src="/static/app\.[0-9a-f]{16}\.js"`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("the layout has no %s", re)
		}
	}
	mustNotContain(t, out, `"/static/app.css"`, `"/static/app.js"`, `"/static/htmx.min.js"`, `"/static/favicon.svg"`)

	// hx-headers must decode to JSON carrying the exact token.
	m := regexp.MustCompile(`hx-headers="([^"]*)"`).FindStringSubmatch(out)
	if m == nil {
		t.Fatal("no hx-headers on body")
	}
	var headers map[string]string
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &headers); err != nil {
		t.Fatalf("hx-headers is not JSON: %v", err)
	}
	if got := headers["X-CSRF-Token"]; got != p.CSRF {
		t.Errorf("X-CSRF-Token = %q, want %q", got, p.CSRF)
	}

	// The htmx config must be valid JSON that lets dialog errors swap.
	m = regexp.MustCompile(`<meta name="htmx-config" content="([^"]*)"`).FindStringSubmatch(out)
	var cfg struct {
		AllowEval        bool `json:"allowEval"`
		ResponseHandling []struct {
			Code string `json:"code"`
			Swap bool   `json:"swap"`
		} `json:"responseHandling"`
	}
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &cfg); err != nil {
		t.Fatalf("htmx-config is not JSON: %v", err)
	}
	swaps := map[string]bool{}
	for _, r := range cfg.ResponseHandling {
		if _, seen := swaps[r.Code]; !seen {
			swaps[r.Code] = r.Swap
		}
	}
	if cfg.AllowEval || !swaps["422"] || !swaps["409"] || !swaps["403"] || swaps["204"] {
		t.Errorf("htmx-config = %+v", cfg)
	}
}

func TestLayout_OrgSwitcher(t *testing.T) {
	p := testLayout()
	p.Orgs = append(p.Orgs, OrgOption{ID: "o2", Name: "Example Co"})
	out := mustRender(t, Layout(p))
	mustContain(t, out,
		`action="/org/switch"`, `name="_csrf" value="tok"`, `name="org_id"`, "data-autosubmit",
		`<option value="o1" selected>Acme Labs</option>`, `<option value="o2">Example Co</option>`,
		`<label class="visually-hidden" for="org-switch">Organization</label>`,
	)
}

func TestAuthPages(t *testing.T) {
	login := mustRender(t, LoginPage(LoginProps{Email: "ada@example.com", Next: "/secrets?q=x", Err: "Wrong email or password.", CSRF: "tok"}))
	mustContain(t, login,
		`action="/login"`, `name="_csrf" value="tok"`, `name="next" value="/secrets?q=x"`,
		`name="email"`, `value="ada@example.com"`, `name="password"`, `type="password"`,
		`role="alert"`, "Wrong email or password.", "<title>Sign in · keyhold</title>",
	)
	mustNotContain(t, login, "nav-link", "hx-headers")

	setup := mustRender(t, SetupPage(SetupProps{OrgName: "Acme Labs", FirstName: "Ada", LastName: "Admin", Email: "ada@example.com", Err: "Passwords do not match.", CSRF: "tok"}))
	mustContain(t, setup,
		"Create your organization", `action="/setup"`,
		`name="org_name"`, `value="Acme Labs"`, `name="first_name"`, `value="Ada"`,
		`name="last_name"`, `value="Admin"`, `name="password"`, `name="password_confirm"`,
		"Passwords do not match.",
	)
	// Password fields are never filled in.
	if regexp.MustCompile(`type="password"[^>]*value=`).MatchString(setup) {
		t.Error("a password field carries a value")
	}

	errPage := mustRender(t, ErrorPage(ErrorProps{Status: 404, Message: "Secret not found."}))
	mustContain(t, errPage, "404", "Not Found", "Secret not found.", `href="/secrets"`)
}

// TestNoInlineCode guards the CSP (default-src 'self'): no inline scripts,
// styles, event handlers or hx-on anywhere.
func TestNoInlineCode(t *testing.T) {
	p := testLayout()
	p.IsAdmin = true
	p.Orgs = append(p.Orgs, OrgOption{ID: "o2", Name: "Example Co"})
	edit := SecretEdit{ID: "s1", Name: "K", Owner: true, Now: testNow, UpdatedAt: testNow, Err: "x"}
	comps := map[string]templ.Component{
		"page":     Page(p, SecretsPage(SecretsProps{Rows: testRows(), Page: 1, PageSize: 50, Total: 2, Now: testNow})),
		"empty":    SecretsTable(SecretsProps{Page: 1, PageSize: 50}),
		"new":      NewSecretDialog(SecretForm{Err: "x"}),
		"edit":     EditSecretDialog(edit),
		"value":    SecretValueField(SecretEdit{ID: "s1", Value: "v", Revealed: true}),
		"delete":   DeleteSecretDialog(SecretDelete{ID: "s1", Name: "K", Err: "x"}),
		"toast":    Toast("ok"),
		"errfrag":  ErrorFragment("bad"),
		"login":    LoginPage(LoginProps{Err: "x"}),
		"setup":    SetupPage(SetupProps{Err: "x"}),
		"errorpge": ErrorPage(ErrorProps{Status: 500, Message: "Internal error."}),
	}
	scriptTag := regexp.MustCompile(`<script[^>]*>`)
	handler := regexp.MustCompile(`\son[a-z]+=`)
	for name, c := range comps {
		out := mustRender(t, c)
		for _, loc := range scriptTag.FindAllStringIndex(out, -1) {
			tag := out[loc[0]:loc[1]]
			if !strings.Contains(tag, ` src="/static/`) || !strings.HasPrefix(out[loc[1]:], "</script>") {
				t.Errorf("%s: inline script %q", name, tag)
			}
		}
		if strings.Contains(out, " style=") || strings.Contains(out, "<style") {
			t.Errorf("%s: inline style", name)
		}
		if handler.MatchString(out) || strings.Contains(out, "hx-on") {
			t.Errorf("%s: inline event handler", name)
		}
	}
}

func TestRelTime(t *testing.T) {
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{-5 * time.Second, "just now"},
		{0, "just now"},
		{59 * time.Second, "just now"},
		{time.Minute, "1 minute ago"},
		{5 * time.Minute, "5 minutes ago"},
		{59 * time.Minute, "59 minutes ago"},
		{time.Hour, "1 hour ago"},
		{2*time.Hour + 10*time.Minute, "2 hours ago"},
		{25 * time.Hour, "1 day ago"},
		{3 * 24 * time.Hour, "3 days ago"},
		{29 * 24 * time.Hour, "29 days ago"},
		{30 * 24 * time.Hour, "Oct 26, 2026"},
		{400 * 24 * time.Hour, "Oct 21, 2025"},
	}
	for _, tt := range tests {
		if got := relTime(testNow, testNow.Add(-tt.ago)); got != tt.want {
			t.Errorf("relTime(now-%v) = %q, want %q", tt.ago, got, tt.want)
		}
	}
}

func TestFormatInt(t *testing.T) {
	tests := map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 10000: "10,000", 1234567: "1,234,567", -4200: "-4,200"}
	for n, want := range tests {
		if got := formatInt(n); got != want {
			t.Errorf("formatInt(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestInitials(t *testing.T) {
	tests := map[string]string{"Ada Admin": "AA", "bob": "B", "": "?", "  Ada  Bob Carol ": "AB", "élan team": "ÉT"}
	for in, want := range tests {
		if got := initials(in); got != want {
			t.Errorf("initials(%q) = %q, want %q", in, got, want)
		}
	}
}

// A team's name may hold "; invited by …": the Activity line still credits who really added the
// person, since the line's last part is written by db and no email holds a ";".
func TestViaTeamLine_TeamNameCannotForgeWhoAddedThem(t *testing.T) {
	for _, tc := range []struct{ detail, team, how string }{
		{"Platform; added by ada@example.com", "Platform", "added by ada@example.com"},
		{"Platform; invited by ada@example.com", "Platform", "invited by ada@example.com"},
		{"Ops; invited by ceo@example.com; added by ada@example.com", "Ops; invited by ceo@example.com", "added by ada@example.com"},
	} {
		out := mustRender(t, viaTeamLine(AuditItem{TargetName: "bob@example.com", Role: "Reader", Detail: tc.detail}))
		text := strings.Join(strings.Fields(html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(out, " "))), " ")
		if want := "bob@example.com gained Reader through team " + tc.team + " · " + tc.how; text != want {
			t.Errorf("%q reads %q, want %q", tc.detail, text, want)
		}
	}
}
