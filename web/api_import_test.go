package web_test

// Tests of POST /v1/secrets/import over real HTTP (apiEnv: every answer is checked against the
// OpenAPI document too).

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
)

// importJSON is the answer of POST /v1/secrets/import.
type importJSON struct {
	DryRun    bool             `json:"dryRun"`
	Created   int              `json:"created"`
	Updated   int              `json:"updated"`
	Unchanged int              `json:"unchanged"`
	Skipped   int              `json:"skipped"`
	Items     []map[string]any `json:"items"`
}

// importBody is an import request body: pairs are name, value, name, value…
func importBody(overwrite, dryRun bool, pairs ...string) map[string]any {
	secrets := []map[string]string{}
	for i := 0; i+1 < len(pairs); i += 2 {
		secrets = append(secrets, map[string]string{"name": pairs[i], "value": pairs[i+1]})
	}
	return map[string]any{"secrets": secrets, "overwrite": overwrite, "dryRun": dryRun}
}

// doImport sends an import and wants 200; the answer must hold none of the values sent.
func (env *apiEnv) doImport(t *testing.T, key string, body map[string]any) importJSON {
	t.Helper()
	r := env.Do(key, http.MethodPost, "/v1/secrets/import", body)
	var out importJSON
	r.want(t, http.StatusOK, &out)
	for _, s := range body["secrets"].([]map[string]string) {
		if len(s["value"]) >= 8 && bytes.Contains(r.Body, []byte(s["value"])) {
			t.Fatalf("the answer holds a value: %s", clip(r.Body))
		}
	}
	return out
}

// outcomes describes an answer: "A:create B:skip | 1 0 0 1".
func (o importJSON) outcomes() string {
	var b strings.Builder
	for _, it := range o.Items {
		fmt.Fprintf(&b, "%s:%s ", it["name"], it["outcome"])
	}
	fmt.Fprintf(&b, "| %d %d %d %d", o.Created, o.Updated, o.Unchanged, o.Skipped)
	return b.String()
}

func TestAPI_Import_Contract(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	existing := env.secret(olive, "DB_PASSWORD", "old-"+uuid.NewString())
	tokenValue := "tok-" + uuid.NewString()
	multiLine := "-----BEGIN KEY-----\nline \u00e9\u4e16 \"quoted\" \\ \u0001\n-----END KEY-----\n"

	// Created, byte for byte; the existing one is skipped without overwrite, and says what it is.
	out := env.doImport(t, olive.Key, importBody(false, false, "API_TOKEN", tokenValue, "PEM", multiLine, "DB_PASSWORD", "new-"+uuid.NewString()))
	if got := out.outcomes(); got != "API_TOKEN:create PEM:create DB_PASSWORD:skip | 2 0 0 1" || out.DryRun {
		t.Fatalf("outcomes %s (dryRun %v)", got, out.DryRun)
	}
	wantKeys(t, "created item", out.Items[0], "name", "outcome")
	skipped := out.Items[2]
	wantKeys(t, "skipped item", skipped, "name", "outcome", "reason", "version", "lastUpdatedBy", "lastUpdatedAt")
	if skipped["version"] != float64(1) || skipped["lastUpdatedBy"] != olive.UserID || !strings.Contains(skipped["reason"].(string), "overwrite") {
		t.Fatalf("skipped item %v", skipped)
	}
	wantTime(t, "lastUpdatedAt", skipped["lastUpdatedAt"])
	if got := env.secretValueByName(olive, "API_TOKEN"); got != tokenValue {
		t.Fatalf("API_TOKEN=%q", got)
	}
	if got := env.secretValueByName(olive, "PEM"); got != multiLine {
		t.Fatalf("PEM=%q", got)
	}

	// A dry run changes nothing and says what the import would do.
	before := env.snapshot(olive, admin)
	out = env.doImport(t, olive.Key, importBody(true, true, "DB_PASSWORD", "newer", "API_TOKEN", tokenValue, "FRESH", "f"))
	if got := out.outcomes(); got != "DB_PASSWORD:update API_TOKEN:unchanged FRESH:create | 1 1 1 0" || !out.DryRun {
		t.Fatalf("dry run: %s (dryRun %v)", got, out.DryRun)
	}
	if after := env.snapshot(olive, admin); after != before {
		t.Fatalf("a dry run changed data:\n%s\n---\n%s", before, after)
	}

	// For real: the existing secret gets a new version; the answer gives the version it replaced.
	out = env.doImport(t, olive.Key, importBody(true, false, "DB_PASSWORD", "newer", "API_TOKEN", tokenValue, "FRESH", "f"))
	if got := out.outcomes(); got != "DB_PASSWORD:update API_TOKEN:unchanged FRESH:create | 1 1 1 0" {
		t.Fatalf("import: %s", got)
	}
	if out.Items[0]["version"] != float64(1) {
		t.Fatalf("update item %v", out.Items[0])
	}
	sec, err := env.store.RevealSecret(bg, olive.Actor, existing.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sec.Value != "newer" || sec.Version != 2 {
		t.Fatalf("DB_PASSWORD %q v%d", sec.Value, sec.Version)
	}

	// An empty list imports nothing.
	out = env.doImport(t, olive.Key, importBody(false, false))
	if out.outcomes() != "| 0 0 0 0" || out.Items == nil {
		t.Fatalf("empty import: %+v", out)
	}

	// The import's events are the API key's, as a create's and an update's are.
	events, err := env.store.ListAudit(bg, admin.Actor, db.AuditFilter{Secret: "DB_PASSWORD", Action: db.ActionSecretUpdate})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].APIKeyID != olive.KeyID || events[0].Detail != "version 2, imported" {
		t.Fatalf("update events %+v", events)
	}
}

// TestAPI_Import_AllOrNothing: one bad item refuses the whole import with 400 naming it, and nothing
// is stored.
func TestAPI_Import_AllOrNothing(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	env.secret(olive, "EXISTING", "v1")
	canary := "CANARY-" + uuid.NewString()
	big := strings.Repeat("b", db.MaxValueBytes+1)
	ok := `{"name": "GOOD", "value": "` + canary + `"}`
	for _, c := range []struct {
		name string
		body any
		want string
	}{
		{"bad name", importBody(true, false, "GOOD", canary, "BAD-NAME", canary), `Item 2 ("BAD-NAME"): Name may contain only letters, digits and _`},
		{"a name twice", importBody(true, false, "GOOD", canary, "EXISTING", canary, "GOOD", canary), `Item 3 ("GOOD"): the name is also item 1's`},
		{"empty value", importBody(true, false, "GOOD", canary, "EMPTY", ""), `Item 2 ("EMPTY"): Value is required.`},
		{"value over 5 MiB", importBody(true, false, "GOOD", canary, "BIG", big), `Item 2 of "secrets": Value is larger than the limit of 5 MB`},
		{"value not UTF-8", `{"secrets": [` + ok + `, {"name": "BIN", "value": "` + canary + "\xff" + `"}]}`,
			`Item 2 of "secrets": The value is not valid UTF-8 text (invalid UTF-8 at byte 70 of the item)`},
		{"lone surrogate", `{"secrets": [` + ok + `, {"name": "BIN", "value": "` + canary + `\ud800"}]}`, `a lone surrogate \ud800`},
		{"item without a name", `{"secrets": [` + ok + `, {"value": "` + canary + `"}]}`, `Item 2 of "secrets": "name" is required`},
		{"item without a value", `{"secrets": [` + ok + `, {"name": "NOVALUE"}]}`, `Item 2 of "secrets": "value" is required`},
		{"item null", `{"secrets": [` + ok + `, null]}`, `Item 2 of "secrets": "name" is required`},
		{"item not an object", `{"secrets": [` + ok + `, "` + canary + `"]}`, `Item 2 of "secrets": expected a JSON object, got a string.`},
		{"value a number", `{"secrets": [` + ok + `, {"name": "N", "value": 12345}]}`, `Item 2 of "secrets": "value" must be a string, not a number.`},
		{"no secrets", `{"overwrite": true}`, `"secrets" is required`},
		{"secrets null", `{"secrets": null}`, `"secrets" is required`},
		{"secrets a string", `{"secrets": "` + canary + `"}`, `"secrets" must be an array, not a string.`},
		{"overwrite a string", `{"secrets": [` + ok + `], "overwrite": "yes"}`, `"overwrite" must be true or false, not a string.`},
		{"malformed JSON", `{"secrets": [` + ok, "Invalid JSON body"},
		{"trailing data", `{"secrets": [` + ok + `]} {}`, "unexpected data after the JSON object"},
		{"empty body", "", "the body is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := env.with(t)
			before := env.snapshot(olive, admin)
			msg := env.Do(olive.Key, http.MethodPost, "/v1/secrets/import", c.body).wantError(t, http.StatusBadRequest, canary, big[:64])
			if !strings.Contains(msg, c.want) {
				t.Fatalf("message %q, want it to contain %q", msg, c.want)
			}
			if after := env.snapshot(olive, admin); after != before {
				t.Fatalf("a refused import changed data:\n%s\n---\n%s", before, after)
			}
			if got := env.secretValueByName(olive, "GOOD"); got != "" {
				t.Fatal("GOOD was stored")
			}
		})
	}
}

// TestAPI_Import_Overwrite: an existing secret is replaced only for an Owner who asked; a Reader and
// one who cannot see it are skipped, the latter told only that the name is taken.
func TestAPI_Import_Overwrite(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	rita := env.member(admin, "rita@example.com")
	nina := env.member(admin, "nina@example.com")
	sec := env.secret(olive, "SHARED", "v1")
	env.share(olive, sec.ID, db.PrincipalUser, rita.UserID, db.RoleReader)

	for _, overwrite := range []bool{false, true} {
		out := env.doImport(t, rita.Key, importBody(overwrite, false, "SHARED", "rita's"))
		if out.outcomes() != "SHARED:skip | 0 0 0 1" || !strings.Contains(out.Items[0]["reason"].(string), "Reader") {
			t.Fatalf("reader: %s %v", out.outcomes(), out.Items)
		}
		out = env.doImport(t, nina.Key, importBody(overwrite, false, "SHARED", "v1"))
		if out.outcomes() != "SHARED:skip | 0 0 0 1" {
			t.Fatalf("no access: %s", out.outcomes())
		}
		wantKeys(t, "item nina cannot see", out.Items[0], "name", "outcome", "reason")
		if !strings.Contains(out.Items[0]["reason"].(string), "not shared with you") {
			t.Fatalf("no access: %v", out.Items[0])
		}
	}
	if out := env.doImport(t, olive.Key, importBody(false, false, "SHARED", "olive's")); out.outcomes() != "SHARED:skip | 0 0 0 1" {
		t.Fatalf("owner without overwrite: %s", out.outcomes())
	}
	if got := env.secretValueByName(olive, "SHARED"); got != "v1" {
		t.Fatalf("SHARED=%q after skipped imports", got)
	}
	if out := env.doImport(t, olive.Key, importBody(true, false, "SHARED", "olive's")); out.outcomes() != "SHARED:update | 0 1 0 0" {
		t.Fatalf("owner with overwrite: %s", out.outcomes())
	}
	if got := env.secretValueByName(olive, "SHARED"); got != "olive's" {
		t.Fatalf("SHARED=%q", got)
	}
}

// TestAPI_Import_Keys: a key imports into its own organization only; a revoked key, no key, another
// organization's ID, or a body that is not JSON is refused and changes nothing.
func TestAPI_Import_Keys(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	grace := env.org("Globex", "grace@example.com")
	ours := env.secret(olive, "A", "acme's")
	revoked := env.principal(olive.UserID, olive.OrgID)
	if err := env.store.RevokeAPIKey(bg, olive.Actor, revoked.KeyID); err != nil {
		t.Fatal(err)
	}
	canary := "CANARY-" + uuid.NewString()
	body := importBody(true, false, "A", canary, "B", canary)

	for _, c := range []struct {
		name   string
		key    string
		path   string
		body   any
		opts   []reqOpt
		status int
	}{
		{"revoked key", revoked.Key, "/v1/secrets/import", body, nil, http.StatusUnauthorized},
		{"no key", "", "/v1/secrets/import", body, nil, http.StatusUnauthorized},
		{"another organization's ID", grace.Key, "/v1/secrets/import?organizationID=" + olive.OrgID, body, nil, http.StatusForbidden},
		{"text/plain", olive.Key, "/v1/secrets/import", body, []reqOpt{header("Content-Type", "text/plain")}, http.StatusUnsupportedMediaType},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := env.with(t)
			before := env.snapshot(olive, admin)
			env.Do(c.key, http.MethodPost, c.path, c.body, c.opts...).wantError(t, c.status, canary)
			if after := env.snapshot(olive, admin); after != before {
				t.Fatalf("a refused import changed data:\n%s\n---\n%s", before, after)
			}
		})
	}

	// Globex's key imports into Globex: Acme's A is neither seen nor touched.
	out := env.doImport(t, grace.Key, importBody(true, false, "A", "globex's"))
	if out.outcomes() != "A:create | 1 0 0 0" {
		t.Fatalf("Globex: %s", out.outcomes())
	}
	if got := env.secretValueByName(olive, "A"); got != "acme's" {
		t.Fatalf("Acme's A is %q", got)
	}
	if got := env.secretValueByName(grace, "A"); got != "globex's" {
		t.Fatalf("Globex's A is %q", got)
	}
	if got, err := env.store.SecretByID(bg, olive.Actor, ours.ID); err != nil || got.Version != 1 {
		t.Fatalf("Acme's A: %v %v", got, err)
	}
}

// TestAPI_Import_BodyLimit: a body over the route's cap is refused with 413 while it is read, and
// nothing is stored.
func TestAPI_Import_BodyLimit(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	before := env.snapshot(olive, admin)

	const total = 40 << 20
	start := env.BytesRead()
	// Many small items, valid as far as the server reads: the cap, not a value's limit, refuses it.
	item := []byte(`{"name": "N", "value": "v"}, `)
	body := io.MultiReader(strings.NewReader(`{"secrets": [`), &cycleReader{b: item, n: total})
	req, _ := http.NewRequest(http.MethodPost, env.URL+"/v1/secrets/import", body)
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+olive.Key)
	res, err := env.client.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	r := &apiResp{Status: res.StatusCode, Header: res.Header, Body: data}
	env.checkDoc(http.MethodPost, "/v1/secrets/import", r)
	r.wantError(t, http.StatusRequestEntityTooLarge)
	if read := env.BytesRead() - start; read > apiBodyLimit+1<<20 || read >= total {
		t.Fatalf("server read %d bytes of a %d-byte body; the limit is %d", read, total, apiBodyLimit)
	}
	if after := env.snapshot(olive, admin); after != before {
		t.Fatal("a refused body changed data")
	}
}

// cycleReader yields b again and again, n bytes in all.
type cycleReader struct {
	b   []byte
	n   int
	off int
}

func (r *cycleReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && n < r.n {
		c := copy(p[n:min(len(p), r.n)], r.b[r.off:])
		n += c
		r.off = (r.off + c) % len(r.b)
	}
	r.n -= n
	return n, nil
}
