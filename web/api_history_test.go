package web_test

import (
	"net/http"
	"testing"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
)

// TestAPI_Versions: GET ?version=N and /versions for Owners and Readers, restore over the API, and
// every refusal: bad numbers, Readers asking for earlier versions, strangers, stale If-Match.
func TestAPI_Versions(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	rita := env.member(admin, "rita@example.com")
	nina := env.member(admin, "nina@example.com")
	other := env.org("Globex", "grace@example.com")
	sec := env.secret(olive, "API_TOKEN", "first-value")
	env.share(olive, sec.ID, db.PrincipalUser, rita.UserID, db.RoleReader)
	env.Do(olive.Key, http.MethodPatch, "/v1/secrets/"+sec.ID, map[string]any{"value": "second-value"}).want(t, http.StatusOK, nil)
	env.Do(olive.Key, http.MethodPatch, "/v1/secrets/"+sec.ID, map[string]any{"value": "third-value"}).want(t, http.StatusOK, nil)

	// Today's answer is unchanged: the current value.
	var got map[string]any
	env.Do(rita.Key, http.MethodGet, "/v1/secrets/"+sec.ID, nil).want(t, http.StatusOK, &got)
	wantKeys(t, "secret", got, "secretID", "name", "value", "createdBy", "createdAt", "lastUpdatedBy", "lastUpdatedAt")
	if got["value"] != "third-value" {
		t.Fatalf("current value %v", got["value"])
	}

	var list struct {
		SecretID string           `json:"secretID"`
		Name     string           `json:"name"`
		Versions []map[string]any `json:"versions"`
	}
	for _, p := range []principal{olive, rita} {
		env.Do(p.Key, http.MethodGet, "/v1/secrets/"+sec.ID+"/versions", nil).want(t, http.StatusOK, &list)
		if list.SecretID != sec.ID || list.Name != "API_TOKEN" || len(list.Versions) != 3 ||
			list.Versions[0]["version"] != 3.0 || list.Versions[0]["current"] != true || list.Versions[2]["version"] != 1.0 ||
			list.Versions[2]["size"] != float64(len("first-value")) || list.Versions[1]["createdBy"] != olive.UserID {
			t.Fatalf("%s's versions: %+v", p.Email, list)
		}
		for _, v := range list.Versions {
			if _, ok := v["value"]; ok {
				t.Fatalf("a listed version carries its value: %v", v)
			}
		}
	}

	r := env.Do(olive.Key, http.MethodGet, "/v1/secrets/"+sec.ID+"?version=1", nil)
	r.want(t, http.StatusOK, &got)
	wantKeys(t, "version", got, "secretID", "name", "value", "createdBy", "createdAt", "lastUpdatedBy", "lastUpdatedAt")
	if got["value"] != "first-value" || got["lastUpdatedBy"] != olive.UserID || r.Header.Get("ETag") != `"1"` {
		t.Fatalf("version 1: %v (ETag %s)", got, r.Header.Get("ETag"))
	}
	env.Do(rita.Key, http.MethodGet, "/v1/secrets/"+sec.ID+"?version=3", nil).want(t, http.StatusOK, &got)
	if got["value"] != "third-value" {
		t.Fatalf("the Reader's current version: %v", got)
	}
	env.Do(rita.Key, http.MethodGet, "/v1/secrets/"+sec.ID+"?version=1", nil).wantError(t, http.StatusForbidden, "first-value")
	for _, q := range []string{"0", "-1", "x", "", "1.5", "99999999999999999999"} {
		env.Do(olive.Key, http.MethodGet, "/v1/secrets/"+sec.ID+"?version="+q, nil).wantError(t, http.StatusBadRequest)
	}
	env.Do(olive.Key, http.MethodGet, "/v1/secrets/"+sec.ID+"?version=7", nil).wantError(t, http.StatusNotFound)
	for _, p := range []principal{nina, other} {
		env.Do(p.Key, http.MethodGet, "/v1/secrets/"+sec.ID+"?version=1", nil).wantError(t, http.StatusNotFound, "first-value")
		env.Do(p.Key, http.MethodGet, "/v1/secrets/"+sec.ID+"/versions", nil).wantError(t, http.StatusNotFound)
		env.Do(p.Key, http.MethodPost, "/v1/secrets/"+sec.ID+"/versions/1/restore", "{}").wantError(t, http.StatusNotFound)
	}
	env.Do("", http.MethodGet, "/v1/secrets/"+sec.ID+"/versions", nil).wantError(t, http.StatusUnauthorized)

	// Restore: Readers refused, stale If-Match refused, bad numbers refused; nothing changes.
	before := env.snapshot(olive, admin)
	env.Do(rita.Key, http.MethodPost, "/v1/secrets/"+sec.ID+"/versions/1/restore", "{}").wantError(t, http.StatusForbidden)
	env.Do(olive.Key, http.MethodPost, "/v1/secrets/"+sec.ID+"/versions/1/restore", "{}", header("If-Match", `"2"`)).wantError(t, http.StatusConflict)
	env.Do(olive.Key, http.MethodPost, "/v1/secrets/"+sec.ID+"/versions/zero/restore", "{}").wantError(t, http.StatusBadRequest)
	env.Do(olive.Key, http.MethodPost, "/v1/secrets/"+sec.ID+"/versions/3/restore", "{}").wantError(t, http.StatusBadRequest)
	if after := env.snapshot(olive, admin); after != before {
		t.Fatalf("a refused restore changed something:\n%s\n%s", before, after)
	}
	r = env.Do(olive.Key, http.MethodPost, "/v1/secrets/"+sec.ID+"/versions/1/restore", "{}", header("If-Match", `"3"`))
	r.want(t, http.StatusOK, &got)
	if r.Header.Get("ETag") != `"4"` || got["secretID"] != sec.ID {
		t.Fatalf("restore: %v (ETag %s)", got, r.Header.Get("ETag"))
	}
	if v := env.secretValueByName(rita, "API_TOKEN"); v != "first-value" {
		t.Fatalf("after restoring version 1 the fetch reads %q", v)
	}
}

// TestAPI_Trash: DELETE keeps today's answer and the secret leaves every read at once; the trash
// lists it with deletedBy, deletedAt and purgeAt for its Owner only; restore (under a new name when
// the old one is taken) and destroy, with every refusal changing nothing.
func TestAPI_Trash(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	rita := env.member(admin, "rita@example.com")
	other := env.org("Globex", "grace@example.com")
	sec := env.secret(olive, "API_TOKEN", "the-value")
	env.share(olive, sec.ID, db.PrincipalUser, rita.UserID, db.RoleReader)

	var idOnly map[string]any
	env.Do(olive.Key, http.MethodDelete, "/v1/secrets/"+sec.ID, nil).want(t, http.StatusOK, &idOnly)
	wantKeys(t, "delete answer", idOnly, "secretID")
	env.Do(rita.Key, http.MethodGet, "/v1/secrets/"+sec.ID, nil).wantError(t, http.StatusNotFound, "the-value")
	var byName struct {
		Secrets []map[string]any `json:"secrets"`
	}
	env.Do(rita.Key, http.MethodGet, "/v1/secrets?name=API_TOKEN", nil).want(t, http.StatusOK, &byName)
	if len(byName.Secrets) != 0 {
		t.Fatalf("a deleted secret is fetched by name: %v", byName)
	}

	var trash struct {
		Secrets []map[string]any `json:"secrets"`
	}
	env.Do(olive.Key, http.MethodGet, "/v1/trash", nil).want(t, http.StatusOK, &trash)
	if len(trash.Secrets) != 1 {
		t.Fatalf("trash %v", trash)
	}
	d := trash.Secrets[0]
	wantKeys(t, "deleted secret", d, "secretID", "name", "createdBy", "createdAt", "lastUpdatedBy", "lastUpdatedAt", "deletedBy", "deletedAt", "purgeAt")
	wantTime(t, "deletedAt", d["deletedAt"])
	wantTime(t, "purgeAt", d["purgeAt"])
	if d["secretID"] != sec.ID || d["deletedBy"] != olive.UserID {
		t.Fatalf("deleted secret %v", d)
	}
	for _, p := range []principal{rita, admin, other} {
		env.Do(p.Key, http.MethodGet, "/v1/trash", nil).want(t, http.StatusOK, &trash)
		if len(trash.Secrets) != 0 {
			t.Fatalf("%s sees %v in the trash", p.Email, trash)
		}
		env.Do(p.Key, http.MethodPost, "/v1/trash/"+sec.ID+"/restore", "{}").wantError(t, http.StatusNotFound)
		env.Do(p.Key, http.MethodDelete, "/v1/trash/"+sec.ID, nil).wantError(t, http.StatusNotFound)
	}

	// The name is taken meanwhile: restoring under it is refused; bad bodies are refused.
	env.secret(admin, "API_TOKEN", "new")
	before := env.snapshot(olive, admin)
	msg := env.Do(olive.Key, http.MethodPost, "/v1/trash/"+sec.ID+"/restore", "{}").wantError(t, http.StatusConflict)
	if msg != "A secret named API_TOKEN exists now: restore this one under another name." {
		t.Errorf("conflict message %q", msg)
	}
	env.Do(olive.Key, http.MethodPost, "/v1/trash/"+sec.ID+"/restore", map[string]any{"name": "bad name"}).wantError(t, http.StatusBadRequest)
	env.Do(olive.Key, http.MethodPost, "/v1/trash/"+sec.ID+"/restore", map[string]any{"name": ""}).wantError(t, http.StatusBadRequest)
	env.Do(olive.Key, http.MethodPost, "/v1/trash/"+sec.ID+"/restore", map[string]any{"name": 7}).wantError(t, http.StatusBadRequest)
	env.Do(olive.Key, http.MethodPost, "/v1/trash/"+sec.ID+"/restore", "{").wantError(t, http.StatusBadRequest)
	env.Do(olive.Key, http.MethodPost, "/v1/trash/"+sec.ID+"/restore", "{}", header("Content-Type", "text/plain")).wantError(t, http.StatusUnsupportedMediaType)
	if after := env.snapshot(olive, admin); after != before {
		t.Fatalf("a refused restore changed something:\n%s\n%s", before, after)
	}

	var restored map[string]any
	env.Do(olive.Key, http.MethodPost, "/v1/trash/"+sec.ID+"/restore", map[string]any{"name": "OLD_API_TOKEN"}).want(t, http.StatusOK, &restored)
	if restored["name"] != "OLD_API_TOKEN" || restored["secretID"] != sec.ID {
		t.Fatalf("restored %v", restored)
	}
	if _, ok := restored["deletedAt"]; ok {
		t.Fatalf("a restored secret still says it is deleted: %v", restored)
	}
	if v := env.secretValueByName(rita, "OLD_API_TOKEN"); v != "the-value" {
		t.Fatalf("the Reader's grant came back with the value? %q", v)
	}

	// Delete now: gone for good.
	env.Do(olive.Key, http.MethodDelete, "/v1/secrets/"+sec.ID, nil).want(t, http.StatusOK, nil)
	env.Do(olive.Key, http.MethodDelete, "/v1/trash/"+sec.ID, nil).want(t, http.StatusOK, &idOnly)
	if idOnly["secretID"] != sec.ID {
		t.Fatalf("destroy answer %v", idOnly)
	}
	env.Do(olive.Key, http.MethodPost, "/v1/trash/"+sec.ID+"/restore", "{}").wantError(t, http.StatusNotFound)
	env.Do(olive.Key, http.MethodGet, "/v1/trash", nil).want(t, http.StatusOK, &trash)
	if len(trash.Secrets) != 0 {
		t.Fatalf("trash after destroy: %v", trash)
	}
}
