package web_test

// Fuzz targets for the JSON bodies of the Management API, through the real echo instance with a valid
// API key: whatever the body, the answer is a status of the contract, an error is {"code", "message"}
// and never echoes a value, and nothing stored changes unless the answer is 200. Inputs name the
// fixture's IDs by placeholders ($SECRET, $ADA, $BOB, $TEAM, $OTHER, $OTHERTEAM; see fuzzFixture).
//
//	go test -run '^$' -fuzz '^FuzzAPISecretBody$' -fuzztime 60s ./web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/keyhold/keyhold/web"
)

// contractStatuses are the statuses the contract allows for a request with a valid key and a body.
var contractStatuses = map[int]bool{200: true, 400: true, 403: true, 404: true, 409: true, 413: true, 415: true}

// apiFuzz is a fuzzFixture with an API key of Ada's.
type apiFuzz struct {
	*fuzzFixture
	key string
}

func newAPIFuzz(f *testing.F) *apiFuzz {
	fx := &apiFuzz{fuzzFixture: newFuzzFixture(f, web.Config{APIRate: 1e9, APIBurst: 1 << 30})}
	key, _, err := fx.ts.Store.CreateAPIKey(context.Background(), fx.ada, "fuzz", time.Time{})
	if err != nil {
		f.Fatal(err)
	}
	fx.key = key
	return fx
}

// do sends body (placeholders expanded) to method path and checks the answer against the contract.
// It returns the status.
func (fx *apiFuzz) Do(t *testing.T, method, path, body string) int {
	t.Helper()
	path, body = fx.expand(path), fx.expand(body)
	fx.log.Reset()
	before := fx.changes.count(t)
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+fx.key)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	fx.ts.Config.Handler.ServeHTTP(rec, req)
	status := rec.Code
	if !contractStatuses[status] {
		t.Fatalf("%s %s %q: status %d, not one of the contract's; body %.300q\nlog: %s", method, path, body, status, rec.Body.String(), fx.log.String())
	}
	if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, "json") {
		t.Fatalf("%s %s %q: %d with Content-Type %q", method, path, body, status, ct)
	}
	if status == http.StatusOK {
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s %q: 200 with a body that is not JSON: %.300q", method, path, body, rec.Body.String())
		}
		return status
	}
	if after := fx.changes.count(t); after != before {
		t.Fatalf("%s %s %q: status %d, but %d changes were stored", method, path, body, status, after-before)
	}
	var e map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || len(e) != 2 {
		t.Fatalf("%s %s %q: error body %q is not {code, message}", method, path, body, rec.Body.String())
	}
	msg, _ := e["message"].(string)
	if code, _ := e["code"].(float64); int(code) != status || msg == "" || !utf8.ValidString(msg) {
		t.Fatalf("%s %s %q: error body %q for status %d", method, path, body, rec.Body.String(), status)
	}
	// A message may name what is wrong, never repeat a value.
	var in struct{ Value any }
	if json.Unmarshal([]byte(body), &in) == nil {
		if v, ok := in.Value.(string); ok && len(v) >= 6 && strings.Contains(msg, v) {
			t.Fatalf("%s %s: the error message %q repeats the value", method, path, msg)
		}
	}
	return status
}

// FuzzAPISecretBody: POST /v1/secrets (even route) and PATCH /v1/secrets/{id} (odd route).
func FuzzAPISecretBody(f *testing.F) {
	fx := newAPIFuzz(f)
	for _, seed := range []struct {
		route uint8
		body  string
	}{
		{0, `{"name": "API_TOKEN", "value": "s3cr3t-value"}`},
		{0, `{"name": "bad-name", "value": "s3cr3t-value"}`},
		{0, `{"name": "NO_VALUE"}`},
		{0, `{"name": "NUMBER", "value": 12}`},
		{0, `{"name": "DUP", "value": "a"} {"x": 1}`},
		{0, `{"name": "ESCAPED", "value": "\u0000\ud800\"\\"}`},
		{0, `[{"name": "LIST", "value": "v"}]`},
		{0, `null`},
		{0, ``},
		{0, `{"name": "` + strings.Repeat("N", 257) + `", "value": "v"}`},
		{1, `{"value": "new value"}`},
		{1, `{"value": null}`},
		{1, `{"value": "` + strings.Repeat("é", 300) + `", "name": "IGNORED"}`},
		{1, `{"value": "unterminated`},
		{1, `{"value": ["a"]}`},
		{0, "{\"name\": \"RAW\", \"value\": \"ok\xff\xed\xa0\x80\"}"},
		{1, `{"value": "\udc00\ud83d\ude00", "value": "later"}`},
	} {
		f.Add(seed.route, seed.body)
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		if route%2 == 0 {
			fx.Do(t, http.MethodPost, "/v1/secrets", body)
		} else {
			fx.Do(t, http.MethodPatch, "/v1/secrets/$SECRET", body)
		}
	})
}

// FuzzAPIAccessControls: PATCH /v1/secrets/{id}/accessControls. After a change, the next input gets a
// fresh secret, so that one input taking Ada's access away does not turn every later one into a 404.
func FuzzAPIAccessControls(f *testing.F) {
	fx := newAPIFuzz(f)
	for _, seed := range []string{
		`{"grants": [{"role": "Reader", "users": ["$BOB"]}]}`,
		`{"grants": [{"role": "Owner", "teams": ["$TEAM"]}], "revokes": [{"role": "Owner", "users": ["$ADA"]}]}`,
		`{"revokes": [{"role": "Owner", "users": ["$ADA"]}]}`,
		`{"revokes": [{"role": "Reader", "users": ["$BOB"]}], "grants": [{"role": "Owner", "users": ["$BOB"]}]}`,
		`{"grants": [{"role": "Admin", "users": ["$BOB"]}]}`,
		`{"grants": [{"role": "Reader", "users": ["$OTHER"], "teams": ["$OTHERTEAM"]}]}`,
		`{"grants": [{"role": "Reader", "users": ["not-a-uuid", ""]}]}`,
		`{"grants": [{"role": "reader", "users": ["$BOB", "$BOB"]}], "revokes": [{"role": "", "users": ["$BOB"]}]}`,
		`{"grants": null, "revokes": {}}`,
		`{"grants": [{"role": "Reader", "users": "$BOB"}]}`,
		`[]`,
		`{}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if fx.Do(t, http.MethodPatch, "/v1/secrets/$SECRET/accessControls", body) == http.StatusOK {
			fx.newSecret(t)
		}
	})
}

// FuzzAPITeamBody: POST /v1/teams (even route) and PATCH /v1/teams/{id} (odd route).
func FuzzAPITeamBody(f *testing.F) {
	fx := newAPIFuzz(f)
	for _, seed := range []struct {
		route uint8
		body  string
	}{
		{0, `{"name": "Platform", "description": "Runs the platform"}`},
		{0, `{"name": "ops", "description": ""}`},
		{0, `{"name": ""}`},
		{0, `{"name": 7, "description": true}`},
		{0, `{"description": "no name"}`},
		{1, `{"name": "Renamed", "description": "new", "addMemberUserEmails": ["ada@example.com"], "removeMemberUserIDs": ["$BOB"]}`},
		{1, `{"addMemberUserIDs": ["$OTHER"], "addMemberUserEmails": ["carol@example.com"]}`},
		{1, `{"removeMemberUserEmails": ["nobody@example.com"], "name": null}`},
		{1, `{"addMemberUserIDs": ["$BOB"], "removeMemberUserIDs": ["$BOB"]}`},
		{1, `{"addMemberUserIDs": "$BOB"}`},
		{1, `{"name": "  "}`},
	} {
		f.Add(seed.route, seed.body)
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		if route%2 == 0 {
			fx.Do(t, http.MethodPost, "/v1/teams", body)
		} else {
			fx.Do(t, http.MethodPatch, "/v1/teams/$TEAM", body)
		}
	})
}
