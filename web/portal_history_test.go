package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/webtest"
)

// TestPortal_History: the History dialog for Owners and Readers, revealing and restoring versions,
// and every refusal: another member, another organization, a Reader asking for an earlier value, a bad
// version number, a stale or missing current version. A refusal changes nothing.
func TestPortal_History(t *testing.T) {
	t.Parallel()
	f := newSecretsFixture(t)
	ctx := context.Background()
	if _, err := f.ts.Store.UpdateSecret(ctx, f.ada, f.sec.ID, []byte("v2"), 1); err != nil {
		t.Fatal(err)
	}
	other := f.ts.SeedOrg(t, "Globex", "grace@example.com")
	_ = other
	graceC := webtest.SignedInClient(t, f.ts, "grace@example.com")

	dlg := f.adaC.GetHX(f.secretPath + "/history")
	wantStatus(t, "GET history", dlg, http.StatusOK)
	if !strings.Contains(dlg.Body, "History of") || !strings.Contains(dlg.Body, `aria-label="Restore version 1"`) ||
		!strings.Contains(dlg.Body, `aria-label="Reveal version 1"`) || strings.Contains(dlg.Body, ">v1<") && strings.Contains(dlg.Body, "v1\n") {
		t.Fatalf("the Owner's History dialog:\n%s", dlg.Body)
	}
	if strings.Contains(dlg.Body, `aria-label="Restore version 2"`) {
		t.Error("the current version offers Restore")
	}
	rd := f.ritaC.GetHX(f.secretPath + "/history")
	wantStatus(t, "Reader GET history", rd, http.StatusOK)
	if strings.Contains(rd.Body, "Restore version") || strings.Contains(rd.Body, `aria-label="Reveal version 1"`) ||
		!strings.Contains(rd.Body, `aria-label="Reveal version 2"`) {
		t.Fatalf("the Reader's History dialog offers the wrong actions:\n%s", rd.Body)
	}
	for who, c := range map[string]*webtest.Client{"no access": f.noraC, "other org": graceC} {
		wantStatus(t, who+" history", c.GetHX(f.secretPath+"/history"), http.StatusNotFound)
		wantStatus(t, who+" reveal", c.HX(http.MethodPost, f.secretPath+"/versions/1/reveal", nil), http.StatusNotFound)
		wantStatus(t, who+" restore", c.HX(http.MethodPost, f.secretPath+"/versions/1/restore", url.Values{"current": {"2"}}), http.StatusNotFound)
	}

	// Reveal: an Owner any version, a Reader the current one only.
	r := f.adaC.HX(http.MethodPost, f.secretPath+"/versions/1/reveal", nil)
	wantStatus(t, "reveal version 1", r, http.StatusOK)
	if !strings.Contains(r.Body, ">\nv1</textarea>") {
		t.Fatalf("version 1 revealed as:\n%s", r.Body)
	}
	wantStatus(t, "Reader reveals version 1", f.ritaC.HX(http.MethodPost, f.secretPath+"/versions/1/reveal", nil), http.StatusForbidden)
	r = f.ritaC.HX(http.MethodPost, f.secretPath+"/versions/2/reveal", nil)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, ">\nv2</textarea>") {
		t.Fatalf("the Reader's reveal of the current version: %d\n%s", r.Status, r.Body)
	}
	for _, n := range []string{"0", "x", "-1", "99"} {
		wantStatus(t, "reveal version "+n, f.adaC.HX(http.MethodPost, f.secretPath+"/versions/"+n+"/reveal", nil), http.StatusNotFound)
	}
	hidden := f.adaC.GetHX(f.secretPath + "/versions/1/hidden")
	if hidden.Status != http.StatusOK || strings.Contains(hidden.Body, "v1<") || !strings.Contains(hidden.Body, `id="version-1-value"`) {
		t.Fatalf("Hide: %d\n%s", hidden.Status, hidden.Body)
	}

	// Restore refusals change nothing.
	before := f.value(t)
	wantStatus(t, "Reader restore", f.ritaC.HX(http.MethodPost, f.secretPath+"/versions/1/restore", url.Values{"current": {"2"}}), http.StatusUnprocessableEntity)
	stale := f.adaC.HX(http.MethodPost, f.secretPath+"/versions/1/restore", url.Values{"current": {"1"}})
	wantStatus(t, "stale restore", stale, http.StatusUnprocessableEntity)
	if !strings.Contains(stale.Body, "changed while this dialog was open") {
		t.Errorf("the stale restore says:\n%s", webtest.PageError(stale.Body))
	}
	for _, cur := range []string{"", "x", "0"} {
		wantStatus(t, "restore with current="+cur, f.adaC.HX(http.MethodPost, f.secretPath+"/versions/1/restore", url.Values{"current": {cur}}), http.StatusBadRequest)
	}
	wantStatus(t, "restore the current version", f.adaC.HX(http.MethodPost, f.secretPath+"/versions/2/restore", url.Values{"current": {"2"}}), http.StatusUnprocessableEntity)
	if got := f.value(t); got != before {
		t.Fatalf("a refused restore changed the value to %q", got)
	}

	r = f.adaC.HX(http.MethodPost, f.secretPath+"/versions/1/restore", url.Values{"current": {"2"}})
	wantStatus(t, "restore", r, http.StatusOK)
	if got := webtest.ToastText(r.Body); got != "Restored version 1 of API_TOKEN as version 3." {
		t.Errorf("toast %q", got)
	}
	if got := f.value(t); got != "v1" {
		t.Fatalf("value %q after restoring version 1", got)
	}
}

// TestPortal_Trash: Recently deleted for the Owner only; restore under a new name when the name is
// taken (bad names refused in the dialog), Delete now; strangers get 404 and change nothing.
func TestPortal_Trash(t *testing.T) {
	t.Parallel()
	f := newSecretsFixture(t)
	ctx := context.Background()
	if _, err := f.ts.Store.DeleteSecret(ctx, f.ada, f.sec.ID); err != nil {
		t.Fatal(err)
	}
	f.ts.SeedSecret(t, f.ada, "API_TOKEN", "the new one")
	trashPath := "/secrets/trash/" + f.sec.ID

	page := f.adaC.Get("/secrets/trash")
	wantStatus(t, "GET /secrets/trash", page, http.StatusOK)
	if !strings.Contains(page.Body, "Recently deleted") || !slices.Contains(webtest.RowNames(page.Body), "API_TOKEN") {
		t.Fatalf("the trash page:\n%s", page.Body)
	}
	for who, c := range map[string]*webtest.Client{"reader": f.ritaC, "no access": f.noraC} {
		if names := webtest.RowNames(c.Get("/secrets/trash").Body); len(names) != 0 {
			t.Errorf("%s sees %v in the trash", who, names)
		}
		wantStatus(t, who+" restore", c.HX(http.MethodPost, trashPath+"/restore", nil), http.StatusNotFound)
		wantStatus(t, who+" destroy confirm", c.GetHX(trashPath+"/destroy"), http.StatusNotFound)
		wantStatus(t, who+" destroy", c.HX(http.MethodDelete, trashPath, nil), http.StatusNotFound)
	}

	// The name is taken: the dialog asks for another; bad names are refused under the field.
	r := f.adaC.HX(http.MethodPost, trashPath+"/restore", url.Values{"was": {"API_TOKEN"}})
	wantStatus(t, "restore under a taken name", r, http.StatusUnprocessableEntity)
	if !strings.Contains(r.Body, `id="restore-name"`) || !strings.Contains(r.Body, "exists now") {
		t.Fatalf("no rename dialog:\n%s", r.Body)
	}
	for _, bad := range []string{"bad name", "API_TOKEN", "x-y", strings.Repeat("A", 257)} {
		r := f.adaC.HX(http.MethodPost, trashPath+"/restore", url.Values{"name": {bad}, "was": {"API_TOKEN"}})
		wantStatus(t, "restore as "+bad[:min(len(bad), 10)], r, http.StatusUnprocessableEntity)
		if !strings.Contains(r.Body, `aria-invalid="true"`) {
			t.Errorf("restore as %q: the field is not marked:\n%s", bad, r.Body)
		}
	}
	if names := webtest.RowNames(f.adaC.Get("/secrets/trash").Body); !slices.Equal(names, []string{"API_TOKEN"}) {
		t.Fatalf("refused restores changed the trash: %v", names)
	}

	r = f.adaC.HX(http.MethodPost, trashPath+"/restore", url.Values{"name": {"OLD_API_TOKEN"}})
	wantStatus(t, "restore", r, http.StatusOK)
	if got := webtest.ToastText(r.Body); got != "Restored OLD_API_TOKEN." {
		t.Errorf("toast %q", got)
	}
	if !strings.Contains(r.Header.Get("HX-Trigger"), "trash-changed") {
		t.Errorf("HX-Trigger %q", r.Header.Get("HX-Trigger"))
	}
	if got := f.ts.SecretValue(t, f.rita, f.sec.ID); got != "v1" {
		t.Fatalf("the Reader reads %q after the restore", got)
	}

	// Delete now.
	if _, err := f.ts.Store.DeleteSecret(ctx, f.ada, f.sec.ID); err != nil {
		t.Fatal(err)
	}
	dlg := f.adaC.GetHX(trashPath + "/destroy")
	if dlg.Status != http.StatusOK || !strings.Contains(dlg.Body, `hx-delete="`+trashPath+`"`) || !strings.Contains(dlg.Body, "OLD_API_TOKEN") {
		t.Fatalf("the Delete now confirmation: %d\n%s", dlg.Status, dlg.Body)
	}
	r = f.adaC.HX(http.MethodDelete, trashPath, nil)
	wantStatus(t, "destroy", r, http.StatusOK)
	if got := webtest.ToastText(r.Body); got != "Destroyed OLD_API_TOKEN for good." {
		t.Errorf("toast %q", got)
	}
	wantStatus(t, "destroy again", f.adaC.HX(http.MethodDelete, trashPath, nil), http.StatusNotFound)
	wantStatus(t, "restore after destroy", f.adaC.HX(http.MethodPost, trashPath+"/restore", nil), http.StatusNotFound)
}

// TestPortal_SecretsFilter: ?only=owned and ?only=shared filter the table (and its count); anything
// else is every secret; each row says who it is shared with.
func TestPortal_SecretsFilter(t *testing.T) {
	t.Parallel()
	f := newSecretsFixture(t) // API_TOKEN: Ada owns it, Bob co-owns it, Rita reads it
	f.ts.SeedSecret(t, f.rita, "RITA_OWN", "r")
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"API_TOKEN", "RITA_OWN"}},
		{"?only=owned", []string{"RITA_OWN"}},
		{"?only=shared", []string{"API_TOKEN"}},
		{"?only=everything", []string{"API_TOKEN", "RITA_OWN"}},
		{"?only=shared&q=RITA", nil},
	} {
		r := f.ritaC.GetHX("/secrets" + tc.query)
		wantStatus(t, "GET /secrets"+tc.query, r, http.StatusOK)
		if got := webtest.RowNames(r.Body); !slices.Equal(got, tc.want) {
			t.Errorf("%s: rows %v, want %v", tc.query, got, tc.want)
		}
	}
	r := f.adaC.Get("/secrets")
	if !strings.Contains(r.Body, "You + 2 people") || !strings.Contains(r.Body, `aria-pressed="true"`) {
		t.Errorf("the Secrets tab does not say who API_TOKEN is shared with, or which filter is on")
	}
}

// TestPortal_HideAndDownload: Hide draws the field hidden again (dots and size, no value); Download
// sends the whole value as a file to those who can read it, audited, and needs the CSRF token.
func TestPortal_HideAndDownload(t *testing.T) {
	t.Parallel()
	f := newSecretsFixture(t)
	ctx := context.Background()
	r := f.ritaC.GetHX(f.secretPath + "/masked")
	wantStatus(t, "Hide", r, http.StatusOK)
	if !strings.Contains(r.Body, "2 bytes · hidden") || strings.Contains(r.Body, "v1") || strings.Contains(r.Body, "<textarea") {
		t.Fatalf("the Reader's hidden field:\n%s", r.Body)
	}
	wantStatus(t, "Hide without access", f.noraC.GetHX(f.secretPath+"/masked"), http.StatusNotFound)

	before, err := f.ts.Store.ListAudit(ctx, f.ada, db.AuditFilter{Secret: f.sec.ID, Action: db.ActionSecretRead})
	if err != nil {
		t.Fatal(err)
	}
	r = f.ritaC.PostForm(f.secretPath+"/download", url.Values{"_csrf": {f.ritaC.CSRF()}})
	wantStatus(t, "Download", r, http.StatusOK)
	if r.Body != "v1" || r.Header.Get("Content-Disposition") != `attachment; filename="API_TOKEN.txt"` || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Download: %q %v", r.Body, r.Header)
	}
	after, err := f.ts.Store.ListAudit(ctx, f.ada, db.AuditFilter{Secret: f.sec.ID, Action: db.ActionSecretRead})
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+1 || after[0].ActorEmail != "rita@example.com" {
		t.Fatalf("the download was not audited: %d → %d reads", len(before), len(after))
	}
	wantStatus(t, "Download without the CSRF token", f.ritaC.Do(http.MethodPost, f.secretPath+"/download", url.Values{}, nil), http.StatusForbidden)
	r = f.noraC.PostForm(f.secretPath+"/download", url.Values{"_csrf": {f.noraC.CSRF()}})
	if r.Status != http.StatusNotFound || strings.Contains(r.Body, "v1") {
		t.Fatalf("Download without access: %d %q", r.Status, r.Body)
	}
}
