package web_test

// Tests of the portal's Import dialog (GET and POST /secrets/import) over real HTTP, on each backend:
// the preview changes nothing and holds no value, the import is all or nothing, and it overwrites only
// where asked and where the user is an Owner.

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/webtest"
)

// importPage is an answer of POST /secrets/import, read.
type importPage struct {
	*webtest.Response
	previewed, plan string
	rows            map[int]importRowText // by line
}

type importRowText struct {
	status, name, text string
}

var (
	importHiddenRE = regexp.MustCompile(`<input type="hidden" name="(previewed|plan)" value="([^"]*)"`)
	importRowRE    = regexp.MustCompile(`(?s)<tr class="import-row import-row-(\w+)"><td class="import-col-line"><span class="visually-hidden">Line </span>(\d+)</td><td><span class="import-name">([^<]*)</span></td><td class="import-col-status">(.*?)</td></tr>`)
	importButtonRE = regexp.MustCompile(`<button type="submit" class="btn btn-primary import-confirm-button" name="confirm" value="1"( disabled)?>([^<]*)</button>`)
)

func readImport(r *webtest.Response) *importPage {
	p := &importPage{Response: r, rows: map[int]importRowText{}}
	for _, m := range importHiddenRE.FindAllStringSubmatch(r.Body, -1) {
		if m[1] == "previewed" {
			p.previewed = html.UnescapeString(m[2])
		} else {
			p.plan = html.UnescapeString(m[2])
		}
	}
	for _, m := range importRowRE.FindAllStringSubmatch(r.Body, -1) {
		var line int
		fmt.Sscan(m[2], &line)
		text := strings.Join(strings.Fields(html.UnescapeString(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[4], " "))), " ")
		p.rows[line] = importRowText{status: m[1], name: html.UnescapeString(m[3]), text: text}
	}
	return p
}

// button is the Import button's label, and whether it is enabled; "" when there is none.
func (p *importPage) button() (string, bool) {
	m := importButtonRE.FindStringSubmatch(p.Body)
	if m == nil {
		return "", false
	}
	return strings.TrimSpace(html.UnescapeString(m[2])), m[1] == ""
}

// statuses describes the rows: "2:new 3:overwrite …", by line.
func (p *importPage) statuses() string {
	var lines []int
	for l := range p.rows {
		lines = append(lines, l)
	}
	slices.Sort(lines)
	var parts []string
	for _, l := range lines {
		parts = append(parts, fmt.Sprintf("%d:%s", l, p.rows[l].status))
	}
	return strings.Join(parts, " ")
}

// importClient is a signed-in client of the import dialog, with the values it must never see back.
type importClient struct {
	t      *testing.T
	c      *webtest.Client
	values []string
}

func newImportClient(t *testing.T, ts *webtest.Server, email string, values ...string) *importClient {
	t.Helper()
	c := webtest.SignedInClient(t, ts, email)
	wantStatus(t, "GET /secrets", c.Get("/secrets"), http.StatusOK)
	return &importClient{t: t, c: c, values: values}
}

// post sends the dialog's form as htmx does; every answer is checked for values and for the text.
func (ic *importClient) post(form url.Values) *importPage {
	ic.t.Helper()
	r := ic.c.HX(http.MethodPost, "/secrets/import", form)
	ic.noValues(r)
	return readImport(r)
}

func (ic *importClient) noValues(r *webtest.Response) {
	ic.t.Helper()
	for _, v := range ic.values {
		if strings.Contains(r.Body, v) || strings.Contains(r.Body, html.EscapeString(v)) || strings.Contains(r.Body, url.QueryEscape(v)) {
			ic.t.Fatalf("the answer (status %d) holds the value %q:\n%s", r.Status, v, r.Body)
		}
	}
	if strings.Contains(r.Body, "<textarea") {
		ic.t.Fatalf("the answer draws the text box again (status %d)", r.Status)
	}
}

func importForm(text string, overwrite bool) url.Values {
	f := url.Values{"dotenv": {text}}
	if overwrite {
		f.Set("overwrite", "1")
	}
	return f
}

// preview previews text and wants 200.
func (ic *importClient) preview(text string, overwrite bool) *importPage {
	ic.t.Helper()
	p := ic.post(importForm(text, overwrite))
	wantStatus(ic.t, "preview", p.Response, http.StatusOK)
	if p.previewed == "" || p.plan == "" && len(p.rows) > 0 {
		ic.t.Fatalf("the preview has no previewed/plan fields: %q %q", p.previewed, p.plan)
	}
	return p
}

// confirm imports text as previewed by p.
func (ic *importClient) confirm(text string, overwrite bool, p *importPage) *importPage {
	ic.t.Helper()
	f := importForm(text, overwrite)
	f.Set("confirm", "1")
	f.Set("previewed", p.previewed)
	f.Set("plan", p.plan)
	return ic.post(f)
}

// wantImported wants the answer of an import done as previewed: the dialog closes, the list reloads,
// the toast says what happened.
func wantImported(t *testing.T, p *importPage, toast string) {
	t.Helper()
	wantStatus(t, "import", p.Response, http.StatusOK)
	if got := webtest.ToastText(p.Body); got != toast {
		t.Errorf("toast %q, want %q", got, toast)
	}
	if p.Header.Get("HX-Trigger") != "secrets-changed" || p.Header.Get("HX-Retarget") != "#dialog" || p.Header.Get("HX-Reswap") != "innerHTML" {
		t.Errorf("headers HX-Trigger %q, HX-Retarget %q, HX-Reswap %q: want the dialog closed and the list reloaded",
			p.Header.Get("HX-Trigger"), p.Header.Get("HX-Retarget"), p.Header.Get("HX-Reswap"))
	}
}

// secretState is every secret a can see with its version and value: what must not change.
func secretState(t *testing.T, ts *webtest.Server, a db.Actor) string {
	t.Helper()
	page, err := ts.Store.ListSecrets(context.Background(), a, "", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, s := range page.Secrets {
		fmt.Fprintf(&b, "%s v%d", s.Name, s.Version)
		if s.Access.CanRead() {
			fmt.Fprintf(&b, "=%s", ts.SecretValue(t, a, s.ID))
		}
		b.WriteString("; ")
	}
	return b.String()
}

func TestPortalImport_DialogAndButton(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ts.SeedOrg(t, "Acme", "ada@example.com")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	page := c.Get("/secrets")
	wantStatus(t, "GET /secrets", page, http.StatusOK)
	if !strings.Contains(page.Body, `hx-get="/secrets/import"`) {
		t.Error("the Secrets page has no Import button")
	}
	r := c.GetHX("/secrets/import")
	wantStatus(t, "GET /secrets/import", r, http.StatusOK)
	for _, want := range []string{`id="import-dialog"`, `name="dotenv"`, `data-load-into="#import-text"`, `name="overwrite"`, `id="import-result"`, "Preview"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("the dialog lacks %s", want)
		}
	}
	if strings.Contains(r.Body, `name="confirm"`) {
		t.Error("the dialog offers Import before a preview")
	}
	wantRedirect(t, "GET /secrets/import signed out", ts.NewClient(t).Get("/secrets/import"), "/login?next=%2Fsecrets%2Fimport")
}

// TestPortalImport_PreviewChangesNothing: each status in the preview, with the existing secret's
// version and author; nothing written, no value in the answer.
func TestPortalImport_PreviewChangesNothing(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedSecret(t, ada, "DB_PASSWORD", "old-password-1234")
	same := ts.SeedSecret(t, ada, "SAME_ONE", "same-value-5678")
	ts.Store.UpdateSecret(context.Background(), ada, same.ID, []byte("same-value-5678-v2"), same.Version)
	text := "# comment\nNEW_KEY=new-value-aaaa\nDB_PASSWORD=rotated-value-bbbb\nSAME_ONE=same-value-5678-v2\n" +
		"DUP=first-dup-cccc\nDUP='second-dup-dddd'\n"
	ic := newImportClient(t, ts, "ada@example.com", "new-value-aaaa", "rotated-value-bbbb", "same-value-5678", "first-dup-cccc", "second-dup-dddd", "old-password-1234")
	before := secretState(t, ts, ada)

	for _, overwrite := range []bool{false, true} {
		p := ic.preview(text, overwrite)
		want := "2:new 3:skipped 4:unchanged 5:replaced 6:new"
		if overwrite {
			want = "2:new 3:overwrite 4:unchanged 5:replaced 6:new"
		}
		if got := p.statuses(); got != want {
			t.Errorf("overwrite=%v: statuses %s, want %s", overwrite, got, want)
		}
		if got := p.rows[4].text; got != "Unchanged v2, set by Ada Admin, just now" {
			t.Errorf("unchanged row %q", got)
		}
		if got := p.rows[5].text; got != "Replaced by line 6" {
			t.Errorf("replaced row %q", got)
		}
		label, enabled := p.button()
		if overwrite && (label != "Import 3 secrets" || !enabled) || !overwrite && (label != "Import 2 secrets" || !enabled) {
			t.Errorf("overwrite=%v: button %q enabled=%v", overwrite, label, enabled)
		}
		if overwrite {
			if got := p.rows[3].text; got != "Overwrites v1 set by Ada Admin, just now" {
				t.Errorf("overwrite row %q", got)
			}
		} else if got := p.rows[3].text; !strings.Contains(got, "Skipped") || !strings.Contains(got, "overwrite") {
			t.Errorf("existing row without overwrite %q", got)
		}
	}
	if after := secretState(t, ts, ada); after != before {
		t.Fatalf("the previews changed the secrets:\n%s\nwas\n%s", after, before)
	}
}

// TestPortalImport_BadFile: a file that cannot be parsed is refused (422) naming its line, with no
// preview, no value and nothing changed; so is a file with nothing in it.
func TestPortalImport_BadFile(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedSecret(t, ada, "KEPT", "kept-value")
	ic := newImportClient(t, ts, "ada@example.com", "first-value-eeee", "never-closed-ffff", "stray-gggg")
	before := secretState(t, ts, ada)
	for _, tc := range []struct{ name, text, want string }{
		{"unterminated quote", "FIRST=first-value-eeee\n\nBROKEN=\"never-closed-ffff\nMORE=x\n", "Unterminated quote on line 3"},
		{"a line without =", "FIRST=first-value-eeee\nstray-gggg\n", "Line 2 is not NAME=value"},
		{"text after a quote", "FIRST='first-value-eeee' stray-gggg\n", "closing quote on line 1"},
		{"only comments", "# nothing\n\n", "Nothing to import"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, confirm := range []bool{false, true} {
				f := importForm(tc.text, true)
				if confirm {
					f.Set("confirm", "1")
				}
				p := ic.post(f)
				wantStatus(t, tc.name, p.Response, http.StatusUnprocessableEntity)
				if got := webtest.PageError(p.Body); !strings.Contains(got, tc.want) {
					t.Errorf("error %q, want it to say %q", got, tc.want)
				}
				if len(p.rows) != 0 || p.previewed != "" {
					t.Errorf("a refused file has a preview: %d rows", len(p.rows))
				}
			}
		})
	}
	if after := secretState(t, ts, ada); after != before {
		t.Fatalf("bad files changed the secrets:\n%s\nwas\n%s", after, before)
	}
}

// TestPortalImport_InvalidEntry: an invalid line disables Import, and an Import sent anyway is refused
// with nothing changed.
func TestPortalImport_InvalidEntry(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedSecret(t, ada, "KEPT", "kept-value")
	ic := newImportClient(t, ts, "ada@example.com", "good-value-hhhh", "bad-value-iiii")
	text := "GOOD=good-value-hhhh\nBAD-NAME=bad-value-iiii\nEMPTY=\n"
	before := secretState(t, ts, ada)

	p := ic.preview(text, false)
	if got := p.statuses(); got != "1:new 2:invalid 3:invalid" {
		t.Fatalf("statuses %s", got)
	}
	if got := p.rows[2].text; got != `Invalid Name may contain only letters, digits and _ (not "-").` {
		t.Errorf("invalid name row %q", got)
	}
	if got := p.rows[3].text; got != "Invalid Value is required." {
		t.Errorf("empty value row %q", got)
	}
	if label, enabled := p.button(); enabled || label != "Import 1 secret" {
		t.Errorf("button %q enabled=%v, want it disabled", label, enabled)
	}
	if !strings.Contains(p.Body, "2 lines cannot be imported. Fix the file") {
		t.Error("the preview does not say to fix the file")
	}

	r := ic.confirm(text, false, p)
	wantStatus(t, "Import with invalid lines", r.Response, http.StatusUnprocessableEntity)
	if got := webtest.PageError(r.Body); !strings.HasPrefix(got, "Nothing was imported: fix the lines marked Invalid") {
		t.Errorf("error %q", got)
	}
	if r.Header.Get("HX-Trigger") != "" {
		t.Errorf("a refused import triggers %q", r.Header.Get("HX-Trigger"))
	}
	if after := secretState(t, ts, ada); after != before {
		t.Fatalf("a refused import changed the secrets:\n%s\nwas\n%s", after, before)
	}
}

// TestPortalImport_Confirm: the import creates and updates in one go, the later of two lines of a name
// winning, and says so in the toast.
func TestPortalImport_Confirm(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	old := ts.SeedSecret(t, ada, "DB_PASSWORD", "old-password")
	ts.SeedSecret(t, ada, "SAME_ONE", "same-value-jjjj")
	multi := "-----BEGIN KEY-----\nline é \"quoted\" \\\n-----END KEY-----"
	text := "export NEW_KEY=new-value-kkkk\nDB_PASSWORD = \"rotated-llll\" # rotated today\nSAME_ONE=same-value-jjjj\n" +
		"PEM='" + multi + "'\nTWICE=first-mmmm\nTWICE=second-nnnn\n"
	ic := newImportClient(t, ts, "ada@example.com", "new-value-kkkk", "rotated-llll", "same-value-jjjj", "BEGIN KEY", "first-mmmm", "second-nnnn")

	p := ic.preview(text, true)
	if got := p.statuses(); got != "1:new 2:overwrite 3:unchanged 4:new 7:replaced 8:new" {
		t.Fatalf("statuses %s", got)
	}
	if label, enabled := p.button(); label != "Import 4 secrets" || !enabled {
		t.Fatalf("button %q enabled=%v", label, enabled)
	}
	wantImported(t, ic.confirm(text, true, p), "Imported: 3 created, 1 updated, 1 unchanged.")
	for name, want := range map[string]string{"NEW_KEY": "new-value-kkkk", "DB_PASSWORD": "rotated-llll", "SAME_ONE": "same-value-jjjj",
		"PEM": multi, "TWICE": "second-nnnn"} {
		if got := ts.SecretValue(t, ada, mustSecretID(t, ts, ada, name)); got != want {
			t.Errorf("%s=%q, want %q", name, got, want)
		}
	}
	sec, err := ts.Store.SecretByID(context.Background(), ada, old.ID)
	if err != nil || sec.Version != 2 {
		t.Fatalf("DB_PASSWORD: %+v %v, want version 2", sec, err)
	}

	// Again: all unchanged, nothing to import.
	p = ic.preview(text, true)
	if label, enabled := p.button(); label != "Nothing to import" || enabled {
		t.Errorf("button %q enabled=%v after the import", label, enabled)
	}
}

// TestPortalImport_OverwriteOnlyWhereOwnerAndAsked: Bob's own secret is overwritten only with the box
// ticked; a secret he only reads and one not shared with him are skipped with their reasons, and the
// unshared one tells nothing of itself.
func TestPortalImport_OverwriteOnlyWhereOwnerAndAsked(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	bob := ts.SeedMember(t, ada, "bob@example.com", "Bob", "Builder")
	carol := ts.SeedMember(t, ada, "carol@example.com", "Carol", "Hidden")
	owned := ts.SeedSecret(t, bob, "OWNED", "bobs-value-oooo")
	read := ts.SeedSecret(t, ada, "READ_ONLY", "adas-value-pppp")
	ts.SeedShare(t, ada, read, bob, db.RoleReader)
	hidden := ts.SeedSecret(t, carol, "HIDDEN", "carols-value-qqqq")
	ts.Store.UpdateSecret(context.Background(), carol, hidden.ID, []byte("carols-value-qqqq-2"), hidden.Version)
	text := "OWNED=bobs-new-rrrr\nREAD_ONLY=bobs-new-ssss\nHIDDEN=bobs-new-tttt\nFRESH=bobs-new-uuuu\n"
	ic := newImportClient(t, ts, "bob@example.com", "bobs-value-oooo", "adas-value-pppp", "carols-value-qqqq", "bobs-new-")

	wantRows := func(p *importPage, owned, fresh string) {
		t.Helper()
		if got := p.rows[1].text; !strings.HasPrefix(got, owned) {
			t.Errorf("OWNED: %q, want %s…", got, owned)
		}
		if got := p.rows[2].text; got != "Skipped You are a Reader of this secret: only its Owners can change it." {
			t.Errorf("READ_ONLY: %q", got)
		}
		if got := p.rows[3].text; got != "Skipped A secret with this name already exists in this organization and is not shared with you." {
			t.Errorf("HIDDEN: %q", got)
		}
		if got := p.rows[4].text; !strings.HasPrefix(got, fresh) {
			t.Errorf("FRESH: %q", got)
		}
		// Of the hidden secret nothing more than its name is said: not its author, not its version.
		if strings.Contains(p.Body, "Carol") {
			t.Error("the answer tells of the secret Bob cannot see")
		}
	}

	// Without the box: Bob's own secret is skipped; only FRESH is created.
	p := ic.preview(text, false)
	wantRows(p, "Skipped A secret with this name already exists with another value", "New")
	wantImported(t, ic.confirm(text, false, p), "Imported: 1 created, 3 skipped.")
	if got := ts.SecretValue(t, bob, owned.ID); got != "bobs-value-oooo" {
		t.Fatalf("OWNED=%q without overwrite", got)
	}

	// With it: Bob's own is replaced; the other two still are not.
	p = ic.preview(text, true)
	wantRows(p, "Overwrites v1 set by Bob Builder", "Unchanged v1, set by Bob Builder")
	wantImported(t, ic.confirm(text, true, p), "Imported: 1 updated, 1 unchanged, 2 skipped.")
	if got := ts.SecretValue(t, bob, owned.ID); got != "bobs-new-rrrr" {
		t.Errorf("OWNED=%q with overwrite", got)
	}
	if got := ts.SecretValue(t, ada, read.ID); got != "adas-value-pppp" {
		t.Errorf("READ_ONLY=%q: a Reader's import changed it", got)
	}
	if got := ts.SecretValue(t, carol, hidden.ID); got != "carols-value-qqqq-2" {
		t.Errorf("HIDDEN=%q: an import changed a secret not shared with the importer", got)
	}
	webtest.WantAccess(t, ts, bob, hidden.ID, "")
}

// TestPortalImport_ImportIsThePreview: Import imports the text and the choice that were previewed, in
// the organization they were previewed in: a change since, or no preview at all, imports nothing and
// answers with a fresh preview.
func TestPortalImport_ImportIsThePreview(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedSecret(t, ada, "MINE", "mine-vvvv")
	text := "MINE=mine-new-wwww\nNEW_ONE=new-xxxx\n"
	ic := newImportClient(t, ts, "ada@example.com", "mine-vvvv", "mine-new-wwww", "new-xxxx", "sneaked-yyyy")
	before := secretState(t, ts, ada)
	p := ic.preview(text, false)

	for _, tc := range []struct {
		name      string
		text      string
		overwrite bool
		previewed string
	}{
		{"the text changed", text + "SNEAKED=sneaked-yyyy\n", false, p.previewed},
		{"overwrite ticked since", text, true, p.previewed},
		{"no preview", text, false, ""},
		{"another session's preview", text, false, "AAAA" + p.previewed[4:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := importForm(tc.text, tc.overwrite)
			f.Set("confirm", "1")
			f.Set("previewed", tc.previewed)
			f.Set("plan", p.plan)
			r := ic.post(f)
			wantStatus(t, tc.name, r.Response, http.StatusUnprocessableEntity)
			if got := webtest.PageError(r.Body); !strings.HasPrefix(got, "Nothing was imported: the text, the overwrite choice or the organization changed since the preview.") {
				t.Errorf("error %q", got)
			}
			if len(r.rows) == 0 || r.previewed == "" {
				t.Error("no fresh preview under the refusal")
			}
			if after := secretState(t, ts, ada); after != before {
				t.Fatalf("the import changed the secrets:\n%s\nwas\n%s", after, before)
			}
		})
	}

	// Another session of the same user has another token: its fingerprint does not match.
	other := newImportClient(t, ts, "ada@example.com")
	r := other.confirm(text, false, p)
	wantStatus(t, "Import with another session's preview", r.Response, http.StatusUnprocessableEntity)
	if after := secretState(t, ts, ada); after != before {
		t.Fatalf("the import changed the secrets:\n%s\nwas\n%s", after, before)
	}

	// The same session, moved to another organization (in another tab) since the preview.
	second := ts.SeedOrg(t, "Second", "ada@example.com")
	wantRedirect(t, "switch to Second", ic.c.PostForm("/org/switch", url.Values{"org_id": {second.OrgID}}), "/secrets")
	r = ic.confirm(text, false, p)
	wantStatus(t, "Import in another organization than the preview's", r.Response, http.StatusUnprocessableEntity)
	if got := r.rows[1].text; got != "New" {
		t.Errorf("MINE in Second: %q, want the fresh preview's New", got)
	}
	if after := secretState(t, ts, ada); after != before {
		t.Fatalf("the import changed Acme's secrets:\n%s\nwas\n%s", after, before)
	}
	if got := ts.SecretNames(t, second); len(got) != 0 {
		t.Fatalf("the import created %v in Second", got)
	}
}

// TestPortalImport_ChangedAfterPreview: a name taken by another user between the preview and the
// Import. What was previewed is imported or nothing (db checks the plan the preview showed): nothing
// is imported, and the dialog shows the refusal over a fresh preview.
func TestPortalImport_ChangedAfterPreview(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	bob := ts.SeedMember(t, ada, "bob@example.com", "Bob", "Builder")
	text := "FIRST=first-zzzz\nTAKEN=adas-taken-1111\n"
	ic := newImportClient(t, ts, "ada@example.com", "first-zzzz", "adas-taken-1111", "bobs-taken-2222")
	p := ic.preview(text, true)
	if got := p.statuses(); got != "1:new 2:new" {
		t.Fatalf("statuses %s", got)
	}
	ts.SeedSecret(t, bob, "TAKEN", "bobs-taken-2222")

	r := ic.confirm(text, true, p)
	wantStatus(t, "Import after a change", r.Response, http.StatusUnprocessableEntity)
	if got := webtest.PageError(r.Body); !strings.HasPrefix(got, `Nothing was imported: Item 2 ("TAKEN") changed since the preview.`) {
		t.Errorf("the refusal says %q", got)
	}
	if got := r.statuses(); got != "1:new 2:skipped" {
		t.Errorf("the fresh preview's statuses %s", got)
	}
	if got := ts.SecretValue(t, bob, mustSecretID(t, ts, bob, "TAKEN")); got != "bobs-taken-2222" {
		t.Errorf("Bob's TAKEN=%q", got)
	}
	if got := ts.SecretNames(t, ada); len(got) != 0 {
		t.Errorf("Ada's secrets %v after a refused import, want none", got)
	}
}

// TestPortalImport_CSRF: without the session's token in the header, nothing is read or imported.
func TestPortalImport_CSRF(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedSecret(t, ada, "KEPT", "kept")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	stranger := ts.NewClient(t).CSRF()
	before := secretState(t, ts, ada)
	form := url.Values{"dotenv": {"PLANTED=planted-3333\n"}, "overwrite": {"1"}, "confirm": {"1"}}
	for name, hdr := range map[string]http.Header{
		"no token":                    {"Hx-Request": {"true"}},
		"another client's token":      {"Hx-Request": {"true"}, "X-Csrf-Token": {stranger}},
		"cross-site with a good one":  {"Hx-Request": {"true"}, "X-Csrf-Token": {c.CSRF()}, "Sec-Fetch-Site": {"cross-site"}},
		"the token in the form only ": {},
	} {
		t.Run(name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if len(hdr) == 0 {
				f.Set("_csrf", c.CSRF())
			}
			r := c.Do(http.MethodPost, "/secrets/import", f, hdr)
			wantStatus(t, "POST /secrets/import", r, http.StatusForbidden)
			if strings.Contains(r.Body, "planted-3333") {
				t.Error("the refusal holds the value")
			}
		})
	}
	if after := secretState(t, ts, ada); after != before {
		t.Fatalf("refused requests changed the secrets:\n%s\nwas\n%s", after, before)
	}
}

// TestPortalImport_OtherOrganizationUntouched: a name taken in another organization is new in this
// one; importing it leaves the other organization's secret as it was.
func TestPortalImport_OtherOrganizationUntouched(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	olga := ts.SeedOrg(t, "Other", "olga@example.com")
	theirs := ts.SeedSecret(t, olga, "SHARED_NAME", "olgas-value-4444")
	ic := newImportClient(t, ts, "ada@example.com", "olgas-value-4444", "adas-value-5555")
	text := "SHARED_NAME=adas-value-5555\n"
	p := ic.preview(text, true)
	if got := p.rows[1].text; got != "New" {
		t.Fatalf("SHARED_NAME in Acme: %q, want New", got)
	}
	wantImported(t, ic.confirm(text, true, p), "Imported: 1 created.")
	if got := ts.SecretValue(t, olga, theirs.ID); got != "olgas-value-4444" {
		t.Errorf("the other organization's secret holds %q", got)
	}
	if got := ts.SecretNames(t, olga); !slices.Equal(got, []string{"SHARED_NAME"}) {
		t.Errorf("the other organization's secrets: %v", got)
	}
	if got := ts.SecretValue(t, ada, mustSecretID(t, ts, ada, "SHARED_NAME")); got != "adas-value-5555" {
		t.Errorf("Acme's SHARED_NAME=%q", got)
	}
}

// TestPortalImport_BodyLimit: a paste of several 5 MB values (more than a single value's form takes)
// is imported; a body over the import's cap is refused with 413, declared or streamed, before it is
// read whole, and changes nothing.
func TestPortalImport_BodyLimit(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	ts.SeedSecret(t, ada, "KEPT", "kept")
	ic := newImportClient(t, ts, "ada@example.com")
	const formType = "application/x-www-form-urlencoded"

	// Four values of 5 MiB (21 MB, over the 16 MB of the New Secret form): previewed, then imported.
	var b strings.Builder
	for i := range 4 {
		fmt.Fprintf(&b, "BIG_%d=%s\n", i, strings.Repeat(string(rune('a'+i)), db.MaxValueBytes))
	}
	text := b.String()
	p := ic.preview(text, false)
	if label, enabled := p.button(); label != "Import 4 secrets" || !enabled {
		t.Fatalf("button %q enabled=%v", label, enabled)
	}
	if len(p.Body) > 64<<10 {
		t.Errorf("the preview of four secrets is %d bytes", len(p.Body))
	}
	wantImported(t, ic.confirm(text, false, p), "Imported: 4 created.")
	if got := ts.SecretValue(t, ada, mustSecretID(t, ts, ada, "BIG_3")); len(got) != db.MaxValueBytes || got[0] != 'd' {
		t.Fatalf("BIG_3 holds %d bytes", len(got))
	}
	before := secretState(t, ts, ada)

	const limit = 6*db.MaxValueBytes + 64<<10 // the API import's cap
	t.Run("declared over the cap", func(t *testing.T) {
		res := declare(t, ts, fmt.Sprintf("POST /secrets/import HTTP/1.1\r\nHost: keyhold\r\nCookie: kh_session=%s\r\nX-CSRF-Token: %s\r\nHX-Request: true\r\nContent-Type: %s\r\n",
			ic.c.Cookie("kh_session"), ic.c.CSRF(), formType), limit+1)
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", res.StatusCode)
		}
	})
	t.Run("streamed over the cap", func(t *testing.T) {
		body := io.MultiReader(strings.NewReader("confirm=1&dotenv=HUGE%3D"), strings.NewReader(strings.Repeat("x", limit)))
		r := ic.c.Send(http.MethodPost, "/secrets/import", formType, body, -1)
		wantStatus(t, "POST /secrets/import over the cap, chunked", r, http.StatusRequestEntityTooLarge)
		if msg := webtest.ToastText(r.Body); !strings.Contains(msg, "too large") {
			t.Errorf("toast %q", msg)
		}
	})
	t.Run("declared over the cap, without the token", func(t *testing.T) {
		res := declare(t, ts, fmt.Sprintf("POST /secrets/import HTTP/1.1\r\nHost: keyhold\r\nCookie: kh_session=%s\r\nHX-Request: true\r\nContent-Type: %s\r\n",
			ic.c.Cookie("kh_session"), formType), 10_000_000)
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d, want 403 before the body is read", res.StatusCode)
		}
	})
	if after := secretState(t, ts, ada); after != before {
		t.Fatal("refused bodies changed the secrets")
	}
}
