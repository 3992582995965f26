package web_test

// Tests of the JSON Management API through the real echo instance from New, served over loopback by
// httptest, on a real SQLite file. Every response of every test is checked against the OpenAPI
// document (see checkDoc): its status must be documented for the operation and every field it carries
// must be a documented property.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/db/dbtest"
	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/webtest"
)

var bg = context.Background()

// ---- fixture ---------------------------------------------------------------------------------------

// apiEnv is the test server (webtest) with a clock the test controls, seen as an API client sees it:
// principals with API keys, and the OpenAPI document every answer is checked against.
type apiEnv struct {
	*webtest.Server
	t      *testing.T
	store  *db.Store
	clock  *dbtest.Clock
	doc    map[string]any
	client *http.Client
}

// newAPIEnv serves web.New(store, cfg) on loopback with a fresh database whose clock the test controls.
func newAPIEnv(t *testing.T, cfg web.Config) *apiEnv {
	t.Helper()
	clock := dbtest.NewClock(time.Now().UTC().Truncate(time.Second))
	ts := webtest.NewWith(t, cfg, db.Options{Now: clock.Now})
	raw, err := os.ReadFile("../handlers/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return &apiEnv{Server: ts, t: t, store: ts.Store, clock: clock, doc: doc, client: ts.Client()}
}

// with returns env for a subtest: its helpers then fail t, not the parent test.
func (env *apiEnv) with(t *testing.T) *apiEnv {
	c := *env
	c.t = t
	return &c
}

// principal is a user of an organization with an API key.
type principal struct {
	db.Actor
	Key   string
	KeyID string
}

func (env *apiEnv) org(name, adminEmail string) principal {
	env.t.Helper()
	org, u, err := env.store.CreateOrg(bg, name, db.NewUser{Email: adminEmail, FirstName: "Ada", LastName: "Admin", Password: "correct horse battery"}, "test")
	if err != nil {
		env.t.Fatal(err)
	}
	return env.principal(u.ID, org.ID)
}

func (env *apiEnv) member(admin principal, email string) principal {
	env.t.Helper()
	first, _, _ := strings.Cut(email, "@")
	m, err := env.store.AddMember(bg, db.SystemActor(admin.OrgID), db.NewUser{Email: email, FirstName: first, LastName: "Member", Password: "correct horse battery"}, db.OrgMember)
	if err != nil {
		env.t.Fatal(err)
	}
	return env.principal(m.ID, admin.OrgID)
}

func (env *apiEnv) principal(userID, orgID string) principal {
	env.t.Helper()
	a, err := env.store.ActorFor(bg, userID, orgID, "test", "127.0.0.1")
	if err != nil {
		env.t.Fatal(err)
	}
	token, k, err := env.store.CreateAPIKey(bg, a, "key of "+a.Email, time.Time{})
	if err != nil {
		env.t.Fatal(err)
	}
	return principal{Actor: a, Key: token, KeyID: k.ID}
}

func (env *apiEnv) team(admin principal, name string, members ...principal) *db.Team {
	env.t.Helper()
	team, err := env.store.CreateTeam(bg, admin.Actor, name, "the "+name)
	if err != nil {
		env.t.Fatal(err)
	}
	var ids []string
	for _, m := range members {
		ids = append(ids, m.UserID)
	}
	if _, err := env.store.UpdateTeam(bg, admin.Actor, team.ID, db.TeamChange{AddUserIDs: ids}); err != nil {
		env.t.Fatal(err)
	}
	return team
}

// nest puts team inner in team outer.
func (env *apiEnv) nest(admin principal, outer, inner *db.Team) {
	env.t.Helper()
	if _, err := env.store.UpdateTeam(bg, admin.Actor, outer.ID, db.TeamChange{AddTeamIDs: []string{inner.ID}}); err != nil {
		env.t.Fatal(err)
	}
}

func (env *apiEnv) secret(owner principal, name, value string) *db.Secret {
	env.t.Helper()
	sec, err := env.store.CreateSecret(bg, owner.Actor, name, []byte(value))
	if err != nil {
		env.t.Fatal(err)
	}
	return sec
}

func (env *apiEnv) share(owner principal, secID, kind, id string, role db.Role) {
	env.t.Helper()
	if err := env.store.ChangeAccess(bg, owner.Actor, secID, []db.AccessChange{{Kind: kind, ID: id, Role: role}}); err != nil {
		env.t.Fatal(err)
	}
}

// snapshot describes everything the owner can see — secrets, versions, values, access lists — plus the
// organization's teams and members, so a test can show that a refused request changed nothing.
func (env *apiEnv) snapshot(owner, admin principal) string {
	env.t.Helper()
	var b strings.Builder
	page, err := env.store.ListSecrets(bg, owner.Actor, "", 0, 1000)
	if err != nil {
		env.t.Fatal(err)
	}
	for _, s := range page.Secrets {
		full, err := env.store.RevealSecret(bg, owner.Actor, s.ID)
		if err != nil {
			env.t.Fatal(err)
		}
		fmt.Fprintf(&b, "secret %s %s v%d len=%d %q\n", s.ID, s.Name, s.Version, len(full.Value), full.Value[:min(len(full.Value), 64)])
		grants, err := env.store.AccessList(bg, owner.Actor, s.ID)
		if err != nil {
			env.t.Fatal(err)
		}
		for _, g := range grants {
			fmt.Fprintf(&b, "  grant %s %s %s\n", g.Kind, g.ID, g.Role)
		}
	}
	teams, err := env.store.ListTeams(bg, admin.Actor)
	if err != nil {
		env.t.Fatal(err)
	}
	for _, t := range teams {
		fmt.Fprintf(&b, "team %s %s %q %d\n", t.ID, t.Name, t.Description, len(t.Members))
	}
	ms, err := env.store.ListMembers(bg, admin.Actor, "")
	if err != nil {
		env.t.Fatal(err)
	}
	for _, m := range ms {
		fmt.Fprintf(&b, "member %s %s\n", m.ID, m.Role)
	}
	return b.String()
}

// ---- requests ---------------------------------------------------------------------------------------

type apiResp struct {
	Status int
	Header http.Header
	Body   []byte
}

// reqOpt adjusts a request before it is sent.
type reqOpt func(*http.Request)

func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

// Do sends a request as the compatible clients do (Content-Type and Accept JSON on every request) with
// key as the bearer key ("" for none). body is nil (no body), a string or []byte (sent as is), or a
// value to marshal. The response is checked against the OpenAPI document.
func (env *apiEnv) Do(key, method, path string, body any, opts ...reqOpt) *apiResp {
	env.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			env.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, env.URL+path, rd)
	if err != nil {
		env.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for _, o := range opts {
		o(req)
	}
	res, err := env.client.Do(req)
	if err != nil {
		env.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		env.t.Fatal(err)
	}
	r := &apiResp{Status: res.StatusCode, Header: res.Header, Body: data}
	env.checkDoc(method, req.URL.Path, r)
	return r
}

// want fails unless the response has the status; on success it decodes the body into v (when v is not
// nil) after checking it is JSON.
func (r *apiResp) want(t *testing.T, status int, v any) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, clip(r.Body))
	}
	if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, "json") {
		t.Fatalf("Content-Type %q, want JSON", ct)
	}
	if v != nil {
		if err := json.Unmarshal(r.Body, v); err != nil {
			t.Fatalf("decode %s: %v", clip(r.Body), err)
		}
	}
}

// wantError checks the error shape: exactly {"code": status, "message": "..."}, with a message for a
// person, and never any of the given values.
func (r *apiResp) wantError(t *testing.T, status int, never ...string) string {
	t.Helper()
	var m map[string]any
	r.want(t, status, &m)
	if got := keys(m); !slices.Equal(got, []string{"code", "message"}) {
		t.Fatalf("error fields %v, want [code message]: %s", got, clip(r.Body))
	}
	if code, _ := m["code"].(float64); int(code) != status {
		t.Fatalf("code %v, want %d", m["code"], status)
	}
	msg, _ := m["message"].(string)
	if msg == "" || strings.Contains(msg, "goroutine") || strings.Contains(msg, ".go:") {
		t.Fatalf("message %q is not for a person", msg)
	}
	for _, v := range never {
		if v != "" && bytes.Contains(r.Body, []byte(v)) {
			t.Fatalf("error body echoes a value: %s", clip(r.Body))
		}
	}
	return msg
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func wantKeys(t *testing.T, what string, m map[string]any, want ...string) {
	t.Helper()
	sort.Strings(want)
	if got := keys(m); !slices.Equal(got, want) {
		t.Fatalf("%s fields %v, want %v", what, got, want)
	}
}

var (
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	timeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
)

func wantUUID(t *testing.T, what string, v any) {
	t.Helper()
	if s, _ := v.(string); !uuidRE.MatchString(s) {
		t.Fatalf("%s = %v, want a lower-case UUID", what, v)
	}
}

func wantTime(t *testing.T, what string, v any) {
	t.Helper()
	s, _ := v.(string)
	if !timeRE.MatchString(s) {
		t.Fatalf("%s = %v, want RFC 3339 UTC like 2026-11-25T10:00:00Z", what, v)
	}
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// ---- the OpenAPI document ---------------------------------------------------------------------------

// docOperation finds the documented operation for a concrete method and path, or nil. A literal path
// wins over a templated one (/v1/users/current over /v1/users/{userID}); {param} matches one segment.
func (env *apiEnv) docOperation(method, path string) map[string]any {
	paths, _ := env.doc["paths"].(map[string]any)
	m := strings.ToLower(method)
	if item, ok := paths[path].(map[string]any); ok {
		op, _ := item[m].(map[string]any)
		return op
	}
	segs := strings.Split(path, "/")
	for p, item := range paths {
		ps := strings.Split(p, "/")
		if len(ps) != len(segs) {
			continue
		}
		match := true
		for i := range ps {
			if ps[i] != segs[i] && !(strings.HasPrefix(ps[i], "{") && segs[i] != "") {
				match = false
				break
			}
		}
		if match {
			op, _ := item.(map[string]any)[m].(map[string]any)
			return op
		}
	}
	return nil
}

// resolve follows a $ref within the document.
func (env *apiEnv) resolve(node map[string]any) map[string]any {
	for {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		var cur any = env.doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = cur.(map[string]any)[part]
		}
		node = cur.(map[string]any)
	}
}

// checkDoc checks a response of a documented operation: its status is documented, and its JSON body
// fits the documented schema (every field it carries is a documented property, every required property
// is there).
func (env *apiEnv) checkDoc(method, path string, r *apiResp) {
	env.t.Helper()
	op := env.docOperation(method, path)
	if op == nil {
		return
	}
	responses, _ := op["responses"].(map[string]any)
	rd, ok := responses[strconv.Itoa(r.Status)].(map[string]any)
	if !ok {
		env.t.Fatalf("%s %s answered %d, which the OpenAPI document does not list: %s", method, path, r.Status, clip(r.Body))
	}
	rd = env.resolve(rd)
	headers, _ := rd["headers"].(map[string]any)
	for h := range headers {
		if r.Header.Get(h) == "" && h != "WWW-Authenticate" {
			env.t.Fatalf("%s %s %d: documented header %s missing", method, path, r.Status, h)
		}
	}
	content, _ := rd["content"].(map[string]any)
	mt, _ := content["application/json"].(map[string]any)
	if mt == nil {
		return
	}
	var body any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		env.t.Fatalf("%s %s %d: body is not JSON: %v", method, path, r.Status, err)
	}
	if err := env.fits(mt["schema"].(map[string]any), body, "body"); err != nil {
		env.t.Fatalf("%s %s %d: %v\nbody: %s", method, path, r.Status, err, clip(r.Body))
	}
}

func (env *apiEnv) fits(schema map[string]any, v any, where string) error {
	schema = env.resolve(schema)
	if alts, ok := schema["oneOf"].([]any); ok {
		var errs []string
		for _, alt := range alts {
			err := env.fits(alt.(map[string]any), v, where)
			if err == nil {
				return nil
			}
			errs = append(errs, err.Error())
		}
		return fmt.Errorf("%s fits none of oneOf: %s", where, strings.Join(errs, "; "))
	}
	switch schema["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s is %T, want an object", where, v)
		}
		props, _ := schema["properties"].(map[string]any)
		for k, val := range m {
			ps, ok := props[k].(map[string]any)
			if !ok {
				return fmt.Errorf("%s.%s is not documented", where, k)
			}
			if err := env.fits(ps, val, where+"."+k); err != nil {
				return err
			}
		}
		req, _ := schema["required"].([]any)
		for _, k := range req {
			if _, ok := m[k.(string)]; !ok {
				return fmt.Errorf("%s lacks required %s", where, k)
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s is %T, want an array", where, v)
		}
		for i, item := range a {
			if err := env.fits(schema["items"].(map[string]any), item, fmt.Sprintf("%s[%d]", where, i)); err != nil {
				return err
			}
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s is %T, want a string", where, v)
		}
		if schema["format"] == "uuid" && !uuidRE.MatchString(s) {
			return fmt.Errorf("%s = %q, want a lower-case UUID", where, s)
		}
		if schema["format"] == "date-time" && !timeRE.MatchString(s) {
			return fmt.Errorf("%s = %q, want RFC 3339 UTC", where, s)
		}
		if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, any(s)) {
			return fmt.Errorf("%s = %q, not one of %v", where, s, enum)
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			return fmt.Errorf("%s = %v, want an integer", where, v)
		}
	}
	return nil
}

// TestAPI_OpenAPI_MatchesRoutes keeps the document and the route table in step: every /v1 route is
// documented and every documented operation is routed. It also checks that the document is served
// without a key and is the embedded file.
func TestAPI_OpenAPI_MatchesRoutes(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	routed := map[string]bool{}
	for _, r := range env.Echo.Routes() {
		if !strings.HasPrefix(r.Path, "/v1/") || r.Path == "/v1/openapi.json" || r.Method == echo.RouteNotFound ||
			strings.Contains(r.Name, "methodNotAllowed") { // the 405 answers of the methods a path does not route
			continue
		}
		p := regexp.MustCompile(`:(\w+)`).ReplaceAllString(r.Path, "{$1}")
		routed[r.Method+" "+p] = true
	}
	documented := map[string]bool{}
	for p, item := range env.doc["paths"].(map[string]any) {
		for m, op := range item.(map[string]any) {
			if m == "parameters" {
				continue
			}
			documented[strings.ToUpper(m)+" "+p] = true
			o := op.(map[string]any)
			for _, field := range []string{"operationId", "summary", "description"} {
				if v, _ := o[field].(string); v == "" {
					t.Errorf("%s %s has no %s", m, p, field)
				}
			}
			if tags, _ := o["tags"].([]any); len(tags) != 1 {
				t.Errorf("%s %s has tags %v, want one", m, p, o["tags"])
			}
			responses := o["responses"].(map[string]any)
			for _, code := range []string{"200", "401", "403", "429"} {
				if responses[code] == nil {
					t.Errorf("%s %s does not document %s", m, p, code)
				}
			}
			if o["requestBody"] != nil {
				for _, code := range []string{"400", "413", "415"} {
					if responses[code] == nil {
						t.Errorf("%s %s takes a body but does not document %s", m, p, code)
					}
				}
			}
		}
	}
	for k := range routed {
		if !documented[k] {
			t.Errorf("route %s is not in openapi.json", k)
		}
	}
	for k := range documented {
		if !routed[k] {
			t.Errorf("openapi.json documents %s, which is not routed", k)
		}
	}
	if len(routed) < 16 {
		t.Fatalf("only %d /v1 routes: %v", len(routed), routed)
	}

	r := env.Do("", http.MethodGet, "/v1/openapi.json", nil)
	r.want(t, http.StatusOK, nil)
	raw, _ := os.ReadFile("../handlers/openapi.json")
	if !bytes.Equal(r.Body, raw) {
		t.Fatal("GET /v1/openapi.json is not handlers/openapi.json")
	}
	if v, _ := env.doc["openapi"].(string); !strings.HasPrefix(v, "3.0") {
		t.Fatalf("openapi = %q, want 3.0.x", v)
	}
}

// TestAPI_OpenAPI_DocumentsResponses decodes one response of every kind against the documented
// property names, strictly: checkDoc runs on every response of every test, and here the fixture
// makes every optional part appear (a team grant and a user grant, team members, a filtered list).
func TestAPI_OpenAPI_DocumentsResponses(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	rita := env.member(admin, "rita@example.com")
	team := env.team(admin, "readers", rita)
	sec := env.secret(olive, "DB_PASSWORD", "hunter2")
	env.share(olive, sec.ID, db.PrincipalTeam, team.ID, db.RoleReader)
	env.share(olive, sec.ID, db.PrincipalUser, rita.UserID, db.RoleReader)

	var roles []map[string]any
	env.Do(olive.Key, http.MethodGet, "/v1/secrets/"+sec.ID+"/accessControls", nil).want(t, 200, &roles)
	if len(roles) != 2 {
		t.Fatalf("roles %v", roles)
	}
	for _, path := range []string{"/v1/secrets", "/v1/secrets?name=DB_PASSWORD", "/v1/secrets/" + sec.ID, "/v1/organizations/current",
		"/v1/users", "/v1/users?email=rita@example.com", "/v1/users/current", "/v1/teams", "/v1/teams/" + team.ID} {
		env.Do(olive.Key, http.MethodGet, path, nil).want(t, 200, nil)
	}
	env.Do(olive.Key, http.MethodGet, "/v1/secrets/"+uuid.NewString(), nil).wantError(t, 404)
}

// ---- contract ---------------------------------------------------------------------------------------

// TestAPI_Secrets_Contract walks every secrets endpoint and checks statuses, field names and shapes.
func TestAPI_Secrets_Contract(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	value := "line one\nline two \u00e9\u4e16 \"quoted\" <tag> & \\ \u0001"

	// POST: 200 (not 201) with the Secret, no value.
	var created map[string]any
	r := env.Do(olive.Key, http.MethodPost, "/v1/secrets", map[string]any{"name": "API_TOKEN", "value": value, "ignored": true})
	r.want(t, http.StatusOK, &created)
	wantKeys(t, "created secret", created, "secretID", "name", "createdBy", "createdAt", "lastUpdatedBy", "lastUpdatedAt")
	id := created["secretID"].(string)
	wantUUID(t, "secretID", id)
	wantUUID(t, "createdBy", created["createdBy"])
	wantTime(t, "createdAt", created["createdAt"])
	wantTime(t, "lastUpdatedAt", created["lastUpdatedAt"])
	if created["name"] != "API_TOKEN" || created["createdBy"] != olive.UserID || created["lastUpdatedBy"] != olive.UserID {
		t.Fatalf("created %v", created)
	}

	// GET by ID: with the value, byte-exact, and an ETag.
	var got map[string]any
	r = env.Do(olive.Key, http.MethodGet, "/v1/secrets/"+id, nil)
	r.want(t, http.StatusOK, &got)
	wantKeys(t, "secret", got, "secretID", "name", "value", "createdBy", "createdAt", "lastUpdatedBy", "lastUpdatedAt")
	if got["value"] != value {
		t.Fatalf("value %q, want %q", got["value"], value)
	}
	if et := r.Header.Get("ETag"); et != `"1"` {
		t.Fatalf("ETag %q, want \"1\"", et)
	}
	// Upper-case IDs name the same secret.
	env.Do(olive.Key, http.MethodGet, "/v1/secrets/"+strings.ToUpper(id), nil).want(t, http.StatusOK, nil)

	// List: no values.
	var list struct {
		Secrets []map[string]any `json:"secrets"`
	}
	env.Do(olive.Key, http.MethodGet, "/v1/secrets", nil).want(t, http.StatusOK, &list)
	if len(list.Secrets) != 1 {
		t.Fatalf("list %v", list)
	}
	wantKeys(t, "listed secret", list.Secrets[0], "secretID", "name", "createdBy", "createdAt", "lastUpdatedBy", "lastUpdatedAt")

	// By name: one secret with its value; an unknown or empty name is an empty list, not 404.
	env.Do(olive.Key, http.MethodGet, "/v1/secrets?name=API_TOKEN", nil).want(t, http.StatusOK, &list)
	if len(list.Secrets) != 1 || list.Secrets[0]["value"] != value || list.Secrets[0]["secretID"] != id {
		t.Fatalf("by name %v", list)
	}
	for _, q := range []string{"?name=NOPE", "?name=", "?name=bad%20name"} {
		r = env.Do(olive.Key, http.MethodGet, "/v1/secrets"+q, nil)
		r.want(t, http.StatusOK, nil)
		if strings.TrimSpace(string(r.Body)) != `{"secrets":[]}` {
			t.Fatalf("%s: %s, want {\"secrets\":[]}", q, r.Body)
		}
	}

	// PATCH: 200 Secret without value; the version moves on.
	var patched map[string]any
	r = env.Do(olive.Key, http.MethodPatch, "/v1/secrets/"+id, map[string]string{"value": "v2"})
	r.want(t, http.StatusOK, &patched)
	wantKeys(t, "patched secret", patched, "secretID", "name", "createdBy", "createdAt", "lastUpdatedBy", "lastUpdatedAt")
	if r.Header.Get("ETag") != `"2"` {
		t.Fatalf("ETag after PATCH %q", r.Header.Get("ETag"))
	}
	// If-Match: a stale version is 409 and changes nothing; the current one (quoted or bare) works.
	before := env.snapshot(olive, admin)
	env.Do(olive.Key, http.MethodPatch, "/v1/secrets/"+id, map[string]string{"value": "stale"}, header("If-Match", `"1"`)).wantError(t, http.StatusConflict, "stale")
	env.Do(olive.Key, http.MethodPatch, "/v1/secrets/"+id, map[string]string{"value": "x"}, header("If-Match", `"soon"`)).wantError(t, http.StatusBadRequest)
	if after := env.snapshot(olive, admin); after != before {
		t.Fatalf("refused If-Match changed data:\n%s\n%s", before, after)
	}
	env.Do(olive.Key, http.MethodPatch, "/v1/secrets/"+id, map[string]string{"value": "v3"}, header("If-Match", `"2"`)).want(t, http.StatusOK, nil)
	r = env.Do(olive.Key, http.MethodPatch, "/v1/secrets/"+id, map[string]string{"value": "v4"}, header("If-Match", `3`))
	r.want(t, http.StatusOK, nil)
	r = env.Do(olive.Key, http.MethodGet, "/v1/secrets/"+id, nil)
	r.want(t, http.StatusOK, &got)
	if got["value"] != "v4" || r.Header.Get("ETag") != `"4"` {
		t.Fatalf("after If-Match PATCHes: %v %s", got["value"], r.Header.Get("ETag"))
	}

	// DELETE: {"secretID"}, then gone everywhere and the name is free again.
	var del map[string]any
	env.Do(olive.Key, http.MethodDelete, "/v1/secrets/"+id, nil).want(t, http.StatusOK, &del)
	wantKeys(t, "delete", del, "secretID")
	if del["secretID"] != id {
		t.Fatalf("delete %v", del)
	}
	env.Do(olive.Key, http.MethodGet, "/v1/secrets/"+id, nil).wantError(t, http.StatusNotFound)
	env.Do(olive.Key, http.MethodDelete, "/v1/secrets/"+id, nil).wantError(t, http.StatusNotFound)
	env.Do(olive.Key, http.MethodPost, "/v1/secrets", map[string]string{"name": "API_TOKEN", "value": "again"}).want(t, http.StatusOK, nil)
}

// TestAPI_AccessControls_Contract covers GET and PATCH …/accessControls: the ResourceRole shape,
// grants to users and teams, revokes, atomicity and the last-Owner rule.
func TestAPI_AccessControls_Contract(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	rita := env.member(admin, "rita@example.com")
	team := env.team(admin, "platform", rita)
	stranger := env.org("Globex", "grace@example.com")
	strangerTeam := env.team(stranger, "outsiders")
	sec := env.secret(olive, "DB_PASSWORD", "hunter2")
	path := "/v1/secrets/" + sec.ID + "/accessControls"

	var roles []map[string]any
	env.Do(olive.Key, http.MethodGet, path, nil).want(t, http.StatusOK, &roles)
	if len(roles) != 1 {
		t.Fatalf("roles %v", roles)
	}
	wantKeys(t, "ResourceRole", roles[0], "role", "description", "grants")
	if roles[0]["role"] != "Owner" || roles[0]["description"] != "Can edit, share and delete" {
		t.Fatalf("owner role %v", roles[0])
	}
	grants := roles[0]["grants"].([]any)
	g := grants[0].(map[string]any)
	wantKeys(t, "grant", g, "identity", "createdAt", "createdBy")
	wantTime(t, "grant createdAt", g["createdAt"])
	wantKeys(t, "user identity", g["identity"].(map[string]any), "userID", "email", "firstName", "lastName")
	wantKeys(t, "createdBy", g["createdBy"].(map[string]any), "userID", "email", "firstName", "lastName")
	if id := g["identity"].(map[string]any); id["userID"] != olive.UserID || id["firstName"] != "olive" || id["lastName"] != "Member" {
		t.Fatalf("identity %v", id)
	}

	// Grant Reader to a user and a team in one request: 200 {}.
	r := env.Do(olive.Key, http.MethodPatch, path, map[string]any{
		"grants": []map[string]any{{"role": "Reader", "users": []string{rita.UserID}, "teams": []string{team.ID}}}})
	r.want(t, http.StatusOK, nil)
	if strings.TrimSpace(string(r.Body)) != "{}" {
		t.Fatalf("PATCH accessControls body %s, want {}", r.Body)
	}
	env.Do(olive.Key, http.MethodGet, path, nil).want(t, http.StatusOK, &roles)
	if len(roles) != 2 || roles[1]["role"] != "Reader" || roles[1]["description"] != "Can read the value" || len(roles[1]["grants"].([]any)) != 2 {
		t.Fatalf("roles after grant %v", roles)
	}
	var sawTeam bool
	for _, gr := range roles[1]["grants"].([]any) {
		id := gr.(map[string]any)["identity"].(map[string]any)
		if _, ok := id["teamID"]; ok {
			wantKeys(t, "team identity", id, "teamID", "name", "description")
			sawTeam = id["teamID"] == team.ID && id["name"] == "platform"
		}
	}
	if !sawTeam {
		t.Fatalf("no team grant in %v", roles)
	}

	// Refusals change nothing: unknown role, a foreign user or team (even next to a valid change),
	// revoking the last Owner.
	before := env.snapshot(olive, admin)
	for _, tc := range []struct {
		name   string
		body   any
		status int
	}{
		{"unknown role", map[string]any{"grants": []map[string]any{{"role": "Admin", "users": []string{rita.UserID}}}}, 400},
		{"missing role", map[string]any{"grants": []map[string]any{{"users": []string{rita.UserID}}}}, 400},
		{"foreign user", map[string]any{"grants": []map[string]any{{"role": "Owner", "users": []string{rita.UserID, stranger.UserID}}}}, 400},
		{"foreign team", map[string]any{"grants": []map[string]any{{"role": "Reader", "teams": []string{strangerTeam.ID}}}}, 400},
		{"unknown user", map[string]any{"grants": []map[string]any{{"role": "Reader", "users": []string{uuid.NewString()}}}}, 400},
		{"last Owner", map[string]any{"revokes": []map[string]any{{"role": "Owner", "users": []string{olive.UserID}}}}, 409},
		{"last Owner, atomically", map[string]any{
			"grants":  []map[string]any{{"role": "Owner", "users": []string{}}, {"role": "Reader", "users": []string{olive.UserID}}},
			"revokes": []map[string]any{{"role": "Reader", "teams": []string{team.ID}}}}, 409},
		{"malformed", `{"grants": [`, 400},
		{"grants not an array", `{"grants": {"role": "Reader"}}`, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := env.with(t)
			env.Do(olive.Key, http.MethodPatch, path, tc.body).wantError(t, tc.status)
			if after := env.snapshot(olive, admin); after != before {
				t.Fatalf("refused change altered data:\n%s\n---\n%s", before, after)
			}
		})
	}

	// Handing Owner to a team then revoking the direct grant is fine: rita owns it through the team.
	env.Do(olive.Key, http.MethodPatch, path, map[string]any{
		"grants":  []map[string]any{{"role": "Owner", "teams": []string{team.ID}}},
		"revokes": []map[string]any{{"role": "Owner", "users": []string{olive.UserID}}}}).want(t, http.StatusOK, nil)
	env.Do(olive.Key, http.MethodGet, path, nil).wantError(t, http.StatusNotFound)
	env.Do(rita.Key, http.MethodGet, path, nil).want(t, http.StatusOK, &roles)
	if roles[0]["role"] != "Owner" {
		t.Fatalf("roles %v", roles)
	}
}

// TestAPI_OrgUsersTeams_Contract covers organizations/current, users and teams.
func TestAPI_OrgUsersTeams_Contract(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	rita := env.member(admin, "rita@example.com")

	var org map[string]any
	env.Do(olive.Key, http.MethodGet, "/v1/organizations/current", nil).want(t, http.StatusOK, &org)
	wantKeys(t, "organization", org, "orgID", "name", "firewallRanges")
	if org["orgID"] != olive.OrgID || org["name"] != "Acme" || len(org["firewallRanges"].([]any)) != 0 {
		t.Fatalf("org %v", org)
	}

	var users []map[string]any
	env.Do(olive.Key, http.MethodGet, "/v1/users", nil).want(t, http.StatusOK, &users)
	if len(users) != 3 {
		t.Fatalf("users %v", users)
	}
	for _, u := range users {
		wantKeys(t, "user", u, "userID", "email", "firstName", "lastName", "userKind")
		wantUUID(t, "userID", u["userID"])
		if u["userKind"] != "Standard" {
			t.Fatalf("userKind %v", u["userKind"])
		}
	}
	env.Do(olive.Key, http.MethodGet, "/v1/users?email=RITA@example.com", nil).want(t, http.StatusOK, &users)
	if len(users) != 1 || users[0]["userID"] != rita.UserID || users[0]["firstName"] != "rita" || users[0]["lastName"] != "Member" {
		t.Fatalf("filtered users %v", users)
	}
	r := env.Do(olive.Key, http.MethodGet, "/v1/users?email=nobody@example.com", nil)
	r.want(t, http.StatusOK, nil)
	if strings.TrimSpace(string(r.Body)) != "[]" {
		t.Fatalf("no match: %s", r.Body)
	}
	var me map[string]any
	env.Do(olive.Key, http.MethodGet, "/v1/users/current", nil).want(t, http.StatusOK, &me)
	if me["userID"] != olive.UserID || me["email"] != "olive@example.com" || me["userKind"] != "Standard" {
		t.Fatalf("current %v", me)
	}

	// Teams: members may read, admins manage.
	before := env.snapshot(olive, admin)
	env.Do(olive.Key, http.MethodPost, "/v1/teams", map[string]string{"name": "platform"}).wantError(t, http.StatusForbidden)
	env.Do(admin.Key, http.MethodPost, "/v1/teams", map[string]string{"name": " "}).wantError(t, http.StatusBadRequest)
	if after := env.snapshot(olive, admin); after != before {
		t.Fatal("refused team create changed data")
	}
	var team map[string]any
	env.Do(admin.Key, http.MethodPost, "/v1/teams", map[string]string{"name": "platform", "description": "Runs the platform"}).want(t, http.StatusOK, &team)
	wantKeys(t, "team", team, "teamID", "name", "description", "memberUsers", "memberTeams", "createdAt")
	teamID := team["teamID"].(string)
	wantUUID(t, "teamID", teamID)
	wantTime(t, "createdAt", team["createdAt"])
	env.Do(admin.Key, http.MethodPost, "/v1/teams", map[string]string{"name": "PLATFORM"}).wantError(t, http.StatusConflict)

	var idOnly map[string]any
	env.Do(admin.Key, http.MethodPatch, "/v1/teams/"+teamID, map[string]any{
		"description": "Keeps the lights on", "addMemberUserIDs": []string{olive.UserID}, "addMemberUserEmails": []string{"rita@example.com"}}).
		want(t, http.StatusOK, &idOnly)
	wantKeys(t, "team patch", idOnly, "teamID")
	env.Do(olive.Key, http.MethodGet, "/v1/teams/"+teamID, nil).want(t, http.StatusOK, &team)
	members := team["memberUsers"].([]any)
	if team["description"] != "Keeps the lights on" || team["name"] != "platform" || len(members) != 2 || len(team["memberTeams"].([]any)) != 0 {
		t.Fatalf("team after patch %v", team)
	}
	wantKeys(t, "member", members[0].(map[string]any), "userID", "email", "firstName", "lastName")
	var teams []map[string]any
	env.Do(olive.Key, http.MethodGet, "/v1/teams", nil).want(t, http.StatusOK, &teams)
	if len(teams) != 1 || teams[0]["teamID"] != teamID {
		t.Fatalf("teams %v", teams)
	}
	before = env.snapshot(olive, admin)
	env.Do(olive.Key, http.MethodPatch, "/v1/teams/"+teamID, map[string]any{"name": "mine"}).wantError(t, http.StatusForbidden)
	env.Do(admin.Key, http.MethodPatch, "/v1/teams/"+teamID, map[string]any{"removeMemberUserEmails": []string{"nobody@example.com"}}).wantError(t, http.StatusBadRequest)
	env.Do(admin.Key, http.MethodPatch, "/v1/teams/"+teamID, map[string]any{"addMemberUserIDs": []string{uuid.NewString()}, "name": "renamed"}).wantError(t, http.StatusBadRequest)
	env.Do(admin.Key, http.MethodPatch, "/v1/teams/"+uuid.NewString(), map[string]any{"name": "x"}).wantError(t, http.StatusNotFound)
	env.Do(olive.Key, http.MethodDelete, "/v1/teams/"+teamID, nil).wantError(t, http.StatusForbidden)
	if after := env.snapshot(olive, admin); after != before {
		t.Fatalf("refused team changes altered data:\n%s\n---\n%s", before, after)
	}
	env.Do(admin.Key, http.MethodPatch, "/v1/teams/"+teamID, map[string]any{"removeMemberUserIDs": []string{olive.UserID}}).want(t, http.StatusOK, nil)
	env.Do(admin.Key, http.MethodDelete, "/v1/teams/"+teamID, nil).want(t, http.StatusOK, &idOnly)
	if idOnly["teamID"] != teamID {
		t.Fatalf("team delete %v", idOnly)
	}
	env.Do(admin.Key, http.MethodGet, "/v1/teams/"+teamID, nil).wantError(t, http.StatusNotFound)
	env.Do(admin.Key, http.MethodGet, "/v1/teams/not-a-uuid", nil).wantError(t, http.StatusNotFound)

	// Removing a user: admins only; their sole-owned secrets go with them (last-Owner rule).
	sec := env.secret(rita, "RITAS_TOKEN", "r1")
	before = env.snapshot(olive, admin)
	env.Do(olive.Key, http.MethodDelete, "/v1/users/"+rita.UserID, nil).wantError(t, http.StatusForbidden)
	env.Do(admin.Key, http.MethodDelete, "/v1/users/"+uuid.NewString(), nil).wantError(t, http.StatusNotFound)
	env.Do(admin.Key, http.MethodDelete, "/v1/users/"+admin.UserID, nil).wantError(t, http.StatusConflict) // the last admin
	if after := env.snapshot(olive, admin); after != before {
		t.Fatal("refused user removals changed data")
	}
	var removed map[string]any
	env.Do(admin.Key, http.MethodDelete, "/v1/users/"+rita.UserID, nil).want(t, http.StatusOK, &removed)
	wantKeys(t, "user delete", removed, "userID")
	if removed["userID"] != rita.UserID {
		t.Fatalf("removed %v", removed)
	}
	env.Do(rita.Key, http.MethodGet, "/v1/users/current", nil).wantError(t, http.StatusUnauthorized)
	if _, err := env.store.SecretByID(bg, rita.Actor, sec.ID); db.ErrorCode(err) != db.CodeNotFound {
		t.Fatalf("rita's secret survived her: %v", err)
	}
}

// TestAPI_Errors covers every error class with the exact status and shape, and shows that a refused
// request stores nothing.
func TestAPI_Errors(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	rita := env.member(admin, "rita@example.com")
	nina := env.member(admin, "nina@example.com")
	revoked := env.principal(olive.UserID, olive.OrgID)
	if err := env.store.RevokeAPIKey(bg, olive.Actor, revoked.KeyID); err != nil {
		t.Fatal(err)
	}
	sec := env.secret(olive, "DB_PASSWORD", "hunter2")
	env.share(olive, sec.ID, db.PrincipalUser, rita.UserID, db.RoleReader)
	canary := "CANARY-" + uuid.NewString()
	big := strings.Repeat("a", db.MaxValueBytes+1)

	cases := []struct {
		name   string
		key    string
		method string
		path   string
		body   any
		opts   []reqOpt
		status int
	}{
		{"400 name charset", olive.Key, "POST", "/v1/secrets", map[string]string{"name": "bad-name!", "value": canary}, nil, 400},
		{"400 name too long", olive.Key, "POST", "/v1/secrets", map[string]string{"name": strings.Repeat("N", 257), "value": canary}, nil, 400},
		{"400 malformed JSON", olive.Key, "POST", "/v1/secrets", `{"name": "OK", "value": "` + canary + `"`, nil, 400},
		{"400 syntax error", olive.Key, "POST", "/v1/secrets", `{"name": "OK", "value": ` + canary + `}`, nil, 400},
		{"400 trailing data", olive.Key, "POST", "/v1/secrets", `{"name": "OK", "value": "` + canary + `"} {}`, nil, 400},
		{"400 empty body", olive.Key, "POST", "/v1/secrets", "", nil, 400},
		{"400 array body", olive.Key, "POST", "/v1/secrets", `["` + canary + `"]`, nil, 400},
		{"400 missing name", olive.Key, "POST", "/v1/secrets", map[string]string{"value": canary}, nil, 400},
		{"400 null value", olive.Key, "POST", "/v1/secrets", `{"name": "OK", "value": null}`, nil, 400},
		{"400 value not a string", olive.Key, "POST", "/v1/secrets", `{"name": "OK", "value": 12345}`, nil, 400},
		{"400 empty value", olive.Key, "POST", "/v1/secrets", map[string]string{"name": "OK", "value": ""}, nil, 400},
		{"400 PATCH value not a string", olive.Key, "PATCH", "/v1/secrets/" + sec.ID, `{"value": 12345}`, nil, 400},
		{"401 no key", "", "GET", "/v1/secrets", nil, nil, 401},
		{"401 no key on POST", "", "POST", "/v1/secrets", map[string]string{"name": "OK", "value": canary}, nil, 401},
		{"401 garbage key", "garbage", "GET", "/v1/secrets", nil, nil, 401},
		{"401 unknown kh_ key", "kh_" + strings.Repeat("x", 40), "GET", "/v1/secrets", nil, nil, 401},
		{"401 revoked key", revoked.Key, "GET", "/v1/organizations/current", nil, nil, 401},
		{"401 basic auth", "", "GET", "/v1/secrets", nil, []reqOpt{header("Authorization", "Basic b2xpdmU6aHVudGVyMg==")}, 401},
		{"401 unknown path without key", "", "GET", "/v1/nope", nil, nil, 401},
		{"403 reader PATCH", rita.Key, "PATCH", "/v1/secrets/" + sec.ID, map[string]string{"value": canary}, nil, 403},
		{"403 reader DELETE", rita.Key, "DELETE", "/v1/secrets/" + sec.ID, nil, nil, 403},
		{"403 organizationID mismatch", olive.Key, "GET", "/v1/secrets?organizationID=" + uuid.NewString(), nil, nil, 403},
		{"403 non-admin team create", olive.Key, "POST", "/v1/teams", map[string]string{"name": "rogue"}, nil, 403},
		{"404 unknown secret", olive.Key, "GET", "/v1/secrets/" + uuid.NewString(), nil, nil, 404},
		{"404 not a UUID", olive.Key, "GET", "/v1/secrets/DB_PASSWORD", nil, nil, 404},
		{"404 not shared", nina.Key, "GET", "/v1/secrets/" + sec.ID, nil, nil, 404},
		{"404 not shared PATCH", nina.Key, "PATCH", "/v1/secrets/" + sec.ID, map[string]string{"value": canary}, nil, 404},
		{"404 unknown path", olive.Key, "GET", "/v1/nope", nil, nil, 404},
		{"409 duplicate name", rita.Key, "POST", "/v1/secrets", map[string]string{"name": "DB_PASSWORD", "value": canary}, nil, 409},
		{"413 value 5,242,881 bytes", olive.Key, "POST", "/v1/secrets", map[string]string{"name": "BIG", "value": big}, nil, 413},
		{"413 PATCH value 5,242,881 bytes", olive.Key, "PATCH", "/v1/secrets/" + sec.ID, map[string]string{"value": big}, nil, 413},
		{"415 text/plain", olive.Key, "POST", "/v1/secrets", map[string]string{"name": "OK", "value": canary}, []reqOpt{header("Content-Type", "text/plain")}, 415},
		{"415 form", olive.Key, "PATCH", "/v1/secrets/" + sec.ID, "value=" + canary, []reqOpt{header("Content-Type", "application/x-www-form-urlencoded")}, 415},
		{"415 no Content-Type", olive.Key, "POST", "/v1/secrets", map[string]string{"name": "OK", "value": canary}, []reqOpt{func(r *http.Request) { r.Header.Del("Content-Type") }}, 415},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := env.with(t)
			before := env.snapshot(olive, admin)
			r := env.Do(tc.key, tc.method, tc.path, tc.body, tc.opts...)
			msg := r.wantError(t, tc.status, canary, big[:64])
			t.Logf("%d %s", tc.status, msg)
			if tc.status == 401 && r.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
			if after := env.snapshot(olive, admin); after != before {
				t.Fatalf("refused request changed data:\n%s\n---\n%s", before, after)
			}
		})
	}

	// Content-Type with parameters is JSON; a bodiless GET or DELETE may say JSON or nothing.
	env.Do(olive.Key, http.MethodPost, "/v1/secrets", map[string]string{"name": "CHARSET", "value": "v"},
		header("Content-Type", "application/json; charset=utf-8")).want(t, http.StatusOK, nil)
	env.Do(olive.Key, http.MethodGet, "/v1/secrets", nil, func(r *http.Request) { r.Header.Del("Content-Type") }).want(t, http.StatusOK, nil)
	// The key's own organization ID is accepted in any case.
	env.Do(olive.Key, http.MethodGet, "/v1/secrets?organizationID="+strings.ToUpper(olive.OrgID), nil).want(t, http.StatusOK, nil)
}

// TestAPI_ContentType: a body is JSON when its Content-Type parses as application/json, in any case,
// with parameters but no charset other than UTF-8. Anything else is 415 and stores nothing: a substring
// match would take text/plain; x=application/json.
func TestAPI_ContentType(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	sec := env.secret(olive, "DB_PASSWORD", "hunter2")
	canary := "CANARY-" + uuid.NewString()
	for i, c := range []struct {
		name, contentType string // contentType "" sends none
		ok                bool
	}{
		{"json", "application/json", true},
		{"charset utf-8", "application/json; charset=utf-8", true},
		{"capitals", "APPLICATION/JSON", true},
		{"quoted charset in capitals", `Application/Json ; Charset="UTF-8"`, true},
		{"json in a parameter", "text/plain; x=application/json", false},
		{"jsonp", "application/jsonp", false},
		{"text", "text/plain", false},
		{"missing", "", false},
		{"malformed parameters", "application/json;;;=", false},
		{"charset latin-1", "application/json; charset=iso-8859-1", false},
		{"charset utf-16", "application/json; charset=utf-16", false},
		{"json suffix", "application/merge-patch+json", false},
		{"two types", "application/json, text/plain", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := env.with(t)
			opt := header("Content-Type", c.contentType)
			if c.contentType == "" {
				opt = func(r *http.Request) { r.Header.Del("Content-Type") }
			}
			before := env.snapshot(olive, admin)
			name, value := fmt.Sprintf("CONTENT_TYPE_%d", i), fmt.Sprintf("%s %d", canary, i)
			post := env.Do(olive.Key, http.MethodPost, "/v1/secrets", map[string]string{"name": name, "value": value}, opt)
			patch := env.Do(olive.Key, http.MethodPatch, "/v1/secrets/"+sec.ID, map[string]string{"value": value}, opt)
			if c.ok {
				post.want(t, http.StatusOK, nil)
				patch.want(t, http.StatusOK, nil)
				if got := env.secretValueByName(olive, name); got != value {
					t.Fatalf("POST stored %q, want %q", got, value)
				}
				if got, err := env.store.RevealSecret(bg, olive.Actor, sec.ID); err != nil || got.Value != value {
					t.Fatalf("PATCH stored %v (%v), want %q", got, err, value)
				}
				return
			}
			post.wantError(t, http.StatusUnsupportedMediaType, canary)
			patch.wantError(t, http.StatusUnsupportedMediaType, canary)
			if after := env.snapshot(olive, admin); after != before {
				t.Fatalf("refused request changed data:\n%s\n---\n%s", before, after)
			}
		})
	}
	// Clients send Content-Type: application/json on bodiless GET and DELETE too.
	env.Do(olive.Key, http.MethodGet, "/v1/secrets/"+sec.ID, nil, header("Content-Type", "application/json")).want(t, http.StatusOK, nil)
	env.Do(olive.Key, http.MethodDelete, "/v1/secrets/"+sec.ID, nil, header("Content-Type", "application/json")).want(t, http.StatusOK, nil)
}

// secretValueByName reads the value of a's secret named name, or "" when there is none.
func (env *apiEnv) secretValueByName(a principal, name string) string {
	env.t.Helper()
	sec, err := env.store.SecretByName(bg, a.Actor, name)
	if db.ErrorCode(err) == db.CodeNotFound {
		return ""
	} else if err != nil {
		env.t.Fatal(err)
	}
	return sec.Value
}

// TestAPI_ValueNotText: a value that is not UTF-8 text, raw bytes that are not UTF-8 or the \u escape
// of a lone surrogate, is refused with 400 over real HTTP, in POST and PATCH, with a message that
// repeats nothing of the value, and nothing is stored, where encoding/json would have stored U+FFFD
// in its place. Text, surrogate pairs included, is stored byte for byte.
func TestAPI_ValueNotText(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	sec := env.secret(olive, "DB_PASSWORD", "hunter2")
	canary := "CANARY-" + uuid.NewString()
	for _, c := range []struct {
		name, value string // value goes between the quotes of "value" as is
		escape      string // the lone surrogate the message names, if any
	}{
		{"byte 0xff", canary + "\xff" + canary, ""},
		{"truncated sequence", canary + "\xe2\x82" + canary, ""},
		{"overlong encoding", canary + "\xc0\xaf" + canary, ""},
		{"encoded surrogate", canary + "\xed\xa0\x80" + canary, ""},
		{"lone high surrogate", canary + `\ud800` + canary, `\ud800`},
		{"lone low surrogate", canary + `\udc00` + canary, `\udc00`},
		{"high surrogate then letter", canary + `\ud800\u0041` + canary, `\ud800`},
		{"high surrogate at the end", canary + `\ud800`, `\ud800`},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := env.with(t)
			before := env.snapshot(olive, admin)
			for _, r := range []*apiResp{
				env.Do(olive.Key, http.MethodPost, "/v1/secrets", `{"name": "NOT_TEXT", "value": "`+c.value+`"}`),
				env.Do(olive.Key, http.MethodPatch, "/v1/secrets/"+sec.ID, `{"value": "`+c.value+`"}`),
			} {
				msg := r.wantError(t, http.StatusBadRequest, canary, "CANARY")
				if !strings.HasPrefix(msg, "The value is not valid UTF-8 text (") || !strings.Contains(msg, "base64") {
					t.Errorf("message %q does not say the value is not UTF-8 text", msg)
				}
				if c.escape != "" && !strings.Contains(msg, c.escape) {
					t.Errorf("message %q does not name %s", msg, c.escape)
				}
			}
			if got := env.secretValueByName(olive, "NOT_TEXT"); got != "" {
				t.Fatalf("a refused POST stored %q", got)
			}
			if got, err := env.store.RevealSecret(bg, olive.Actor, sec.ID); err != nil || got.Value != "hunter2" || got.Version != sec.Version {
				t.Fatalf("after a refused PATCH: %v, %v; want hunter2 at version %d", got, err, sec.Version)
			}
			if after := env.snapshot(olive, admin); after != before {
				t.Fatalf("refused request changed data:\n%s\n---\n%s", before, after)
			}
		})
	}

	env.Do(olive.Key, http.MethodPost, "/v1/secrets", `{"name": "EMOJI", "value": "\ud83d\ude00 \u00e9"}`).want(t, http.StatusOK, nil)
	if got, want := env.secretValueByName(olive, "EMOJI"), "\xf0\x9f\x98\x80 \xc3\xa9"; got != want {
		t.Fatalf("stored %q, want %q", got, want)
	}
	env.Do(olive.Key, http.MethodPatch, "/v1/secrets/"+sec.ID, "{\"value\": \"\\uD83D\\uDE00 é€\U0010FFFF\"}").want(t, http.StatusOK, nil)
	if got, want := env.secretValueByName(olive, "DB_PASSWORD"), "😀 é€\U0010FFFF"; got != want {
		t.Fatalf("stored %q, want %q", got, want)
	}

	// A name is left to the name rule: only letters, digits and _.
	before := env.snapshot(olive, admin)
	msg := env.Do(olive.Key, http.MethodPost, "/v1/secrets", "{\"name\": \"A\xffB\", \"value\": \""+canary+"\"}").wantError(t, http.StatusBadRequest, canary)
	if !strings.Contains(msg, "invalid UTF-8") {
		t.Errorf("message %q, want the name rule's", msg)
	}
	if after := env.snapshot(olive, admin); after != before {
		t.Fatalf("refused request changed data:\n%s\n---\n%s", before, after)
	}
}

// apiBodyLimit is the contract's body limit: a value of 5 MiB at its worst JSON escaping (6 bytes per
// byte, \u0001) plus 64 KiB of envelope.
const apiBodyLimit = 6*db.MaxValueBytes + 64<<10

// TestAPI_BodyLimit shows that the body limit admits the largest legal value at its worst escaping,
// and refuses a larger body while it is read, without reading it all.
func TestAPI_BodyLimit(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")

	// 5 MiB of U+0001, each escaped as \u0001: a 30 MiB body, legal.
	var b bytes.Buffer
	b.WriteString(`{"name": "ESCAPED", "value": "`)
	for range db.MaxValueBytes {
		b.WriteString(`\u0001`)
	}
	b.WriteString(`"}`)
	var created map[string]any
	env.Do(olive.Key, http.MethodPost, "/v1/secrets", b.Bytes()).want(t, http.StatusOK, &created)
	sec, err := env.store.RevealSecret(bg, olive.Actor, created["secretID"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if sec.Value != strings.Repeat("\x01", db.MaxValueBytes) {
		t.Fatalf("stored %d bytes, want %d of U+0001", len(sec.Value), db.MaxValueBytes)
	}

	before := env.snapshot(olive, admin)

	// A streamed (chunked) body of 40 MB: 413, and the server stops reading near the limit.
	t.Run("streamed", func(t *testing.T) {
		const total = 40 << 20
		start := env.BytesRead()
		body := io.MultiReader(strings.NewReader(`{"name": "HUGE", "value": "`), &repeatReader{b: 'a', n: total})
		req, _ := http.NewRequest(http.MethodPost, env.URL+"/v1/secrets", body)
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
		r.wantError(t, http.StatusRequestEntityTooLarge)
		read := env.BytesRead() - start
		t.Logf("the server read %d bytes of a %d-byte body", read, total)
		if read > apiBodyLimit+1<<20 || read >= total {
			t.Fatalf("server read %d bytes of a %d-byte body; the limit is %d", read, total, apiBodyLimit)
		}
	})

	// A declared length over the limit: refused before the body is read at all.
	t.Run("declared", func(t *testing.T) {
		conn, err := net.Dial("tcp", env.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// The previous request's connection may still be draining its body (net/http reads some of
		// an unread body to keep the connection): wait until nothing more is read, then count.
		env.client.CloseIdleConnections()
		for last, deadline := int64(-1), time.Now().Add(3*time.Second); time.Now().Before(deadline); {
			cur := env.BytesRead()
			if cur == last {
				break
			}
			last = cur
			time.Sleep(100 * time.Millisecond)
		}
		start := env.BytesRead()
		fmt.Fprintf(conn, "POST /v1/secrets HTTP/1.1\r\nHost: keyhold\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"name\": ",
			olive.Key, 40<<20)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no answer before the body was sent: %v", err)
		}
		data, _ := io.ReadAll(res.Body)
		r := &apiResp{Status: res.StatusCode, Header: res.Header, Body: data}
		r.wantError(t, http.StatusRequestEntityTooLarge)
		if read := env.BytesRead() - start; read > 64<<10 {
			t.Fatalf("server read %d bytes", read)
		}
	})

	if after := env.snapshot(olive, admin); after != before {
		t.Fatal("refused bodies changed data")
	}
}

// repeatReader yields n copies of b.
type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n)
	for i := range n {
		p[i] = r.b
	}
	r.n -= n
	return n, nil
}

// TestAPI_RateLimit: a key's bucket empties into 429 with Retry-After; another key is unaffected.
func TestAPI_RateLimit(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{APIRate: 0.01, APIBurst: 2})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	for range 2 {
		env.Do(olive.Key, http.MethodGet, "/v1/organizations/current", nil).want(t, http.StatusOK, nil)
	}
	r := env.Do(olive.Key, http.MethodGet, "/v1/organizations/current", nil)
	r.wantError(t, http.StatusTooManyRequests)
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 100 {
		t.Fatalf("Retry-After %q, want whole seconds in 1..100", r.Header.Get("Retry-After"))
	}
	// A refused request is not stored either.
	before := env.snapshot(olive, admin)
	env.Do(olive.Key, http.MethodPost, "/v1/secrets", map[string]string{"name": "LIMITED", "value": "v"}).wantError(t, http.StatusTooManyRequests)
	if env.snapshot(olive, admin) != before {
		t.Fatal("rate-limited POST stored something")
	}
	env.Do(admin.Key, http.MethodGet, "/v1/organizations/current", nil).want(t, http.StatusOK, nil)
}

// ---- the clients' sequences -------------------------------------------------------------------------

// TestAPI_PythonSDKSequence replays what singlestoredb's manage_workspaces(...).organizations.current
// .get_secret(NAME) sends, with and without organizationID, and reads the answers as the SDK does.
func TestAPI_PythonSDKSequence(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	env.secret(olive, "OPENAI_KEY", "sk-test-123")

	sdk := func(path string) *apiResp {
		t.Helper()
		return env.Do(olive.Key, http.MethodGet, path, nil,
			header("User-Agent", "singlestoredb-python/1.16.0"), header("Accept-Encoding", "gzip, deflate"))
	}
	for _, q := range []string{"", "organizationID=" + olive.OrgID} {
		sep := func(p string) string {
			if q == "" {
				return p
			}
			if strings.Contains(p, "?") {
				return p + "&" + q
			}
			return p + "?" + q
		}
		// Organization.from_dict: orgID, name, firewallRanges.
		var org struct {
			OrgID          string   `json:"orgID"`
			Name           string   `json:"name"`
			FirewallRanges []string `json:"firewallRanges"`
		}
		sdk(sep("/v1/organizations/current")).want(t, http.StatusOK, &org)
		if org.OrgID != olive.OrgID || org.Name != "Acme" {
			t.Fatalf("org %+v", org)
		}
		// get_secret: res.json()['secrets'], then Secret.from_dict on each item.
		var res map[string][]map[string]any
		sdk(sep("/v1/secrets?name=OPENAI_KEY")).want(t, http.StatusOK, &res)
		items := res["secrets"]
		if len(items) != 1 {
			t.Fatalf("secrets %v", res)
		}
		for _, k := range []string{"secretID", "name", "createdBy", "createdAt", "lastUpdatedBy", "lastUpdatedAt"} {
			if _, ok := items[0][k]; !ok {
				t.Fatalf("Secret.from_dict needs %s: %v", k, items[0])
			}
		}
		if items[0]["value"] != "sk-test-123" || items[0]["name"] != "OPENAI_KEY" {
			t.Fatalf("secret %v", items[0])
		}
		// "Secret NAME not found" comes from an empty list.
		sdk(sep("/v1/secrets?name=MISSING")).want(t, http.StatusOK, &res)
		if len(res["secrets"]) != 0 {
			t.Fatalf("missing secret %v", res)
		}
	}
}

// goSecret and friends are the Go client's generated types (its field names and JSON tags).
type goSecret struct {
	CreatedAt     string     `json:"createdAt"`
	CreatedBy     uuid.UUID  `json:"createdBy"`
	DeletedAt     *string    `json:"deletedAt,omitempty"`
	DeletedBy     *uuid.UUID `json:"deletedBy,omitempty"`
	LastUpdatedAt string     `json:"lastUpdatedAt"`
	LastUpdatedBy uuid.UUID  `json:"lastUpdatedBy"`
	Name          string     `json:"name"`
	SecretID      uuid.UUID  `json:"secretID"`
	Value         *string    `json:"value,omitempty"`
}

type goUserInfo struct {
	Email     string    `json:"email"`
	FirstName string    `json:"firstName"`
	LastName  string    `json:"lastName"`
	UserID    uuid.UUID `json:"userID"`
}

type goResourceRole struct {
	Role        string `json:"role"`
	Description string `json:"description"`
	Grants      []struct {
		Identity  json.RawMessage `json:"identity"`
		CreatedAt string          `json:"createdAt"`
		CreatedBy goUserInfo      `json:"createdBy"`
	} `json:"grants"`
}

// goDecode decodes as the generated client does — only on the exact status with a JSON Content-Type —
// and strictly: every field must be one the client's type knows.
func goDecode(t *testing.T, r *apiResp, v any) {
	t.Helper()
	if r.Status != http.StatusOK || !strings.Contains(r.Header.Get("Content-Type"), "json") {
		t.Fatalf("client would not decode: %d %q %s", r.Status, r.Header.Get("Content-Type"), clip(r.Body))
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode into %T: %v", v, err)
	}
}

// TestAPI_GoClientSequence replays the generated Go client: POST → GET → PATCH → GET accessControls →
// DELETE, with the server URL ending in a slash as the contract says clients are built.
func TestAPI_GoClientSequence(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")

	var created goSecret
	goDecode(t, env.Do(olive.Key, http.MethodPost, "/v1/secrets", map[string]string{"name": "GO_CLIENT", "value": "first"}), &created)
	if created.Value != nil || created.Name != "GO_CLIENT" || created.CreatedBy.String() != olive.UserID {
		t.Fatalf("created %+v", created)
	}
	var got goSecret
	goDecode(t, env.Do(olive.Key, http.MethodGet, "/v1/secrets/"+created.SecretID.String(), nil), &got)
	if got.Value == nil || *got.Value != "first" || got.SecretID != created.SecretID {
		t.Fatalf("got %+v", got)
	}
	var patched goSecret
	goDecode(t, env.Do(olive.Key, http.MethodPatch, "/v1/secrets/"+created.SecretID.String(), map[string]string{"value": "second"}), &patched)
	if patched.Value != nil || patched.LastUpdatedBy.String() != olive.UserID {
		t.Fatalf("patched %+v", patched)
	}
	var roles []goResourceRole
	goDecode(t, env.Do(olive.Key, http.MethodGet, "/v1/secrets/"+created.SecretID.String()+"/accessControls", nil), &roles)
	if len(roles) != 1 || roles[0].Role != "Owner" || len(roles[0].Grants) != 1 || roles[0].Grants[0].CreatedBy.UserID.String() != olive.UserID {
		t.Fatalf("roles %+v", roles)
	}
	var identity goUserInfo
	if err := json.Unmarshal(roles[0].Grants[0].Identity, &identity); err != nil || identity.Email != "olive@example.com" {
		t.Fatalf("identity %s: %v", roles[0].Grants[0].Identity, err)
	}
	var deleted struct {
		SecretID *uuid.UUID `json:"secretID,omitempty"`
	}
	goDecode(t, env.Do(olive.Key, http.MethodDelete, "/v1/secrets/"+created.SecretID.String(), nil), &deleted)
	if deleted.SecretID == nil || *deleted.SecretID != created.SecretID {
		t.Fatalf("deleted %+v", deleted)
	}
}

// ---- authorization matrix ---------------------------------------------------------------------------

// The principals of the authorization matrix.
// The API's requests of the authorization matrix (authz_test.go), and the logical action each one is.
const (
	aList        = "list"           // GET /v1/secrets: 200 means it is listed, 404 that it is not
	aRevealID    = "reveal by ID"   // GET /v1/secrets/{id}
	aRevealName  = "reveal by name" // GET /v1/secrets?name=: 200 means it comes with its value, 404 an empty list
	aEdit        = "edit"           // PATCH /v1/secrets/{id}
	aDelete      = "delete"         // DELETE /v1/secrets/{id}
	aReadAccess  = "read access"    // GET /v1/secrets/{id}/accessControls
	aShare       = "change access"  // PATCH /v1/secrets/{id}/accessControls
	statusHidden = http.StatusNotFound
)

// apiAction is the matrix's action each API request is.
var apiAction = map[string]string{aList: actList, aRevealID: actReveal, aRevealName: actReveal, aEdit: actEdit, aDelete: actDelete,
	aReadAccess: actReadAccess, aShare: actChangeAccess}

// apiStatus is how the API spells each outcome.
var apiStatus = map[authOutcome]int{allowed: http.StatusOK, forbidden: http.StatusForbidden, hidden: statusHidden, signIn: http.StatusUnauthorized}

// authzCase is one cell of the matrix through the API: what principal gets for a request.
type authzCase struct {
	Principal string
	Action    string
	Want      int
}

// authzMatrix is the authorization matrix (authz_test.go) as the API's requests and statuses.
var authzMatrix = func() []authzCase {
	var out []authzCase
	for _, p := range matrixPrincipals {
		for _, a := range []string{aList, aRevealID, aRevealName, aEdit, aDelete, aReadAccess, aShare} {
			out = append(out, authzCase{p, a, apiStatus[matrixWant(p, apiAction[a])]})
		}
	}
	return out
}()

// TestAPI_AuthorizationMatrix runs every cell against a fresh secret (so an Owner's delete does not
// spoil the next cell) and checks that a refused change changed nothing.
func TestAPI_AuthorizationMatrix(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	ps := map[string]principal{
		pOwner:      env.member(admin, "olive@example.com"),
		pTeamOwner:  env.member(admin, "tom@example.com"),
		pReader:     env.member(admin, "rita@example.com"),
		pTeamReader: env.member(admin, "ted@example.com"),
		pMember:     env.member(admin, "nina@example.com"),
		pAdmin:      admin,
		pOtherOrg:   env.org("Globex", "grace@example.com"),
		pAnonymous:  {},
	}
	ps[pNestedOwner], ps[pNestedReader] = env.member(admin, "nell@example.com"), env.member(admin, "nick@example.com")
	owners := env.team(admin, "owners", ps[pTeamOwner])
	readers := env.team(admin, "readers", ps[pTeamReader])
	env.nest(admin, owners, env.team(admin, "owners-inner", ps[pNestedOwner]))
	ps[pTeamManager] = env.member(admin, "mona@example.com")
	if _, err := env.store.ChangeTeamAccess(bg, admin.Actor, owners.ID, []db.RoleGrant{{Role: db.RoleNameOwner, UserIDs: []string{ps[pTeamManager].UserID}}}, nil); err != nil {
		t.Fatal(err)
	}
	env.nest(admin, readers, env.team(admin, "readers-inner", ps[pNestedReader]))
	owner := ps[pOwner]
	env.secret(ps[pOtherOrg], "OTHER_ORG_SECRET", "theirs")

	for i, tc := range authzMatrix {
		t.Run(tc.Principal+"/"+tc.Action, func(t *testing.T) {
			env := env.with(t)
			name := fmt.Sprintf("MATRIX_%d", i)
			value := "value-" + uuid.NewString()
			sec := env.secret(owner, name, value)
			env.share(owner, sec.ID, db.PrincipalTeam, owners.ID, db.RoleOwner)
			env.share(owner, sec.ID, db.PrincipalUser, ps[pReader].UserID, db.RoleReader)
			env.share(owner, sec.ID, db.PrincipalTeam, readers.ID, db.RoleReader)
			key := ps[tc.Principal].Key
			before := env.snapshot(owner, admin)

			var r *apiResp
			got := 0
			switch tc.Action {
			case aList:
				r = env.Do(key, http.MethodGet, "/v1/secrets", nil)
				got = r.Status
				if r.Status == 200 {
					var list goList
					r.want(t, 200, &list)
					got = statusHidden
					for _, s := range list.Secrets {
						if s.SecretID == sec.ID {
							got = 200
							if s.Value != nil {
								t.Fatal("the list carries a value")
							}
						}
					}
				}
			case aRevealName:
				r = env.Do(key, http.MethodGet, "/v1/secrets?name="+name, nil)
				got = r.Status
				if r.Status == 200 {
					var list goList
					r.want(t, 200, &list)
					got = statusHidden
					if len(list.Secrets) == 1 && list.Secrets[0].Value != nil && *list.Secrets[0].Value == value {
						got = 200
					} else if len(list.Secrets) != 0 {
						t.Fatalf("by name: %s", clip(r.Body))
					}
				}
			case aRevealID:
				r = env.Do(key, http.MethodGet, "/v1/secrets/"+sec.ID, nil)
				got = r.Status
				if got == 200 && !strings.Contains(string(r.Body), value) {
					t.Fatal("200 without the value")
				}
			case aEdit:
				r = env.Do(key, http.MethodPatch, "/v1/secrets/"+sec.ID, map[string]string{"value": "changed"})
				got = r.Status
			case aDelete:
				r = env.Do(key, http.MethodDelete, "/v1/secrets/"+sec.ID, nil)
				got = r.Status
			case aReadAccess:
				r = env.Do(key, http.MethodGet, "/v1/secrets/"+sec.ID+"/accessControls", nil)
				got = r.Status
			case aShare:
				r = env.Do(key, http.MethodPatch, "/v1/secrets/"+sec.ID+"/accessControls",
					map[string]any{"grants": []map[string]any{{"role": "Reader", "users": []string{ps[pMember].UserID}}}})
				got = r.Status
			}
			if got != tc.Want {
				t.Fatalf("%s %s: got %d, want %d (%s)", tc.Principal, tc.Action, got, tc.Want, clip(r.Body))
			}
			if r.Status >= 400 {
				r.wantError(t, r.Status, value)
				if after := env.snapshot(owner, admin); after != before {
					t.Fatalf("refused request changed data:\n%s\n---\n%s", before, after)
				}
			}
			if tc.Want != 200 && strings.Contains(string(r.Body), value) {
				t.Fatal("a refused caller saw the value")
			}
			// Keep the owner's list short: the snapshot reads every value.
			if _, err := env.store.DeleteSecret(bg, owner.Actor, sec.ID); err != nil && db.ErrorCode(err) != db.CodeNotFound {
				t.Fatal(err)
			}
		})
	}
}

type goList struct {
	Secrets []struct {
		SecretID string  `json:"secretID"`
		Value    *string `json:"value"`
	} `json:"secrets"`
}

// ---- keys and audit ---------------------------------------------------------------------------------

// TestAPI_KeyLifecycle: a new key works and records when it was last used; it stops working when it
// expires, when it is revoked, and when its user leaves the organization.
func TestAPI_KeyLifecycle(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")

	token, key, err := env.store.CreateAPIKey(bg, olive.Actor, "expiring", env.clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() time.Time {
		ks, err := env.store.ListAPIKeys(bg, olive.Actor)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ks {
			if k.ID == key.ID {
				return k.LastUsedAt
			}
		}
		t.Fatal("key not listed")
		return time.Time{}
	}
	if !lastUsed().IsZero() {
		t.Fatal("a new key has been used")
	}
	env.clock.Add(time.Minute)
	usedAt := env.clock.Now()
	// A call that reads no value still records the use (in the background: poll for it).
	env.Do(token, http.MethodGet, "/v1/organizations/current", nil).want(t, http.StatusOK, nil)
	deadline := time.Now().Add(5 * time.Second)
	for lastUsed().IsZero() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := lastUsed(); !got.Equal(usedAt) {
		t.Fatalf("last used %v, want %v", got, usedAt)
	}

	env.clock.Add(2 * time.Hour) // past the expiry
	env.Do(token, http.MethodGet, "/v1/organizations/current", nil).wantError(t, http.StatusUnauthorized)

	env.Do(olive.Key, http.MethodGet, "/v1/users/current", nil).want(t, http.StatusOK, nil)
	if err := env.store.RevokeAPIKey(bg, olive.Actor, olive.KeyID); err != nil {
		t.Fatal(err)
	}
	env.Do(olive.Key, http.MethodGet, "/v1/users/current", nil).wantError(t, http.StatusUnauthorized)

	rita := env.member(admin, "rita@example.com")
	env.Do(rita.Key, http.MethodGet, "/v1/secrets", nil).want(t, http.StatusOK, nil)
	if _, err := env.store.RemoveMember(bg, admin.Actor, rita.UserID); err != nil {
		t.Fatal(err)
	}
	env.Do(rita.Key, http.MethodGet, "/v1/secrets", nil).wantError(t, http.StatusUnauthorized)
}

// TestAPI_Audit: every value read and every change made through the API is an audit event naming the
// key.
func TestAPI_Audit(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	rita := env.member(admin, "rita@example.com")

	var created map[string]any
	env.Do(olive.Key, http.MethodPost, "/v1/secrets", map[string]string{"name": "AUDITED", "value": "v1"}).want(t, 200, &created)
	id := created["secretID"].(string)
	env.Do(olive.Key, http.MethodGet, "/v1/secrets/"+id, nil).want(t, 200, nil)
	env.Do(olive.Key, http.MethodGet, "/v1/secrets?name=AUDITED", nil).want(t, 200, nil)
	env.Do(olive.Key, http.MethodPatch, "/v1/secrets/"+id, map[string]string{"value": "v2"}).want(t, 200, nil)
	env.Do(olive.Key, http.MethodPatch, "/v1/secrets/"+id+"/accessControls",
		map[string]any{"grants": []map[string]any{{"role": "Reader", "users": []string{rita.UserID}}}}).want(t, 200, nil)
	env.Do(olive.Key, http.MethodPatch, "/v1/secrets/"+id+"/accessControls",
		map[string]any{"revokes": []map[string]any{{"role": "Reader", "users": []string{rita.UserID}}}}).want(t, 200, nil)
	env.Do(olive.Key, http.MethodDelete, "/v1/secrets/"+id, nil).want(t, 200, nil)
	var team map[string]any
	env.Do(admin.Key, http.MethodPost, "/v1/teams", map[string]string{"name": "audited"}).want(t, 200, &team)

	events, err := env.store.ListAudit(bg, admin.Actor, db.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, ev := range events {
		if ev.SecretID != id && ev.TargetID != team["teamID"] {
			continue
		}
		count[ev.Action]++
		wantKey, wantLabel := olive.KeyID, "key of olive@example.com"
		if ev.Action == db.ActionTeamCreate {
			wantKey, wantLabel = admin.KeyID, "key of ada@example.com"
		}
		if ev.APIKeyID != wantKey || ev.APIKeyLabel != wantLabel || ev.Source != "api" || ev.ClientIP == "" {
			t.Errorf("%s: key %q label %q source %q ip %q", ev.Action, ev.APIKeyID, ev.APIKeyLabel, ev.Source, ev.ClientIP)
		}
		if strings.Contains(ev.Detail, "v1") || strings.Contains(ev.Detail, "v2") {
			t.Errorf("%s detail mentions a value: %q", ev.Action, ev.Detail)
		}
	}
	want := map[string]int{db.ActionSecretCreate: 1, db.ActionSecretRead: 2, db.ActionSecretUpdate: 1,
		db.ActionAccessGrant: 1, db.ActionAccessRevoke: 1, db.ActionSecretDelete: 1, db.ActionTeamCreate: 1}
	for a, n := range want {
		if count[a] != n {
			t.Errorf("%d %s events, want %d (all: %v)", count[a], a, n, count)
		}
	}
}

// TestAPI_ListsEverySecret: GET /v1/secrets lists every readable secret, past the store's page size.
func TestAPI_ListsEverySecret(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	olive := env.member(admin, "olive@example.com")
	const n = 1005
	for i := range n {
		env.secret(olive, fmt.Sprintf("S_%04d", i), "v")
	}
	var list goList
	env.Do(olive.Key, http.MethodGet, "/v1/secrets", nil).want(t, http.StatusOK, &list)
	seen := map[string]bool{}
	for _, s := range list.Secrets {
		seen[s.SecretID] = true
	}
	if len(list.Secrets) != n || len(seen) != n {
		t.Fatalf("listed %d secrets (%d distinct), want %d", len(list.Secrets), len(seen), n)
	}
}

// JSON answers go out whole, with their Content-Length, not chunked: a fetch answer larger than
// net/http's 2 KB chunking buffer, an error, and ?pretty (indented, and still whole).
func TestAPI_JSONHasContentLength(t *testing.T) {
	t.Parallel()
	env := newAPIEnv(t, web.Config{})
	admin := env.org("Acme", "ada@example.com")
	value := strings.Repeat("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n", 128) // 4.2 KB, 8.4 KB escaped
	env.secret(admin, "TLS_KEY_PEM", value)
	for _, c := range []struct {
		name, path string
		status     int
	}{
		{"fetch", "/v1/secrets?name=TLS_KEY_PEM", http.StatusOK},
		{"fetch pretty", "/v1/secrets?name=TLS_KEY_PEM&pretty", http.StatusOK},
		{"error", "/v1/secrets/not-an-id", http.StatusNotFound},
	} {
		r := env.Do(admin.Key, http.MethodGet, c.path, nil)
		if r.Status != c.status {
			t.Fatalf("%s: status %d: %s", c.name, r.Status, clip(r.Body))
		}
		if got := r.Header.Get("Content-Length"); got != strconv.Itoa(len(r.Body)) {
			t.Fatalf("%s: Content-Length %q for a %d-byte body", c.name, got, len(r.Body))
		}
		if !json.Valid(r.Body) {
			t.Fatalf("%s: not JSON: %s", c.name, clip(r.Body))
		}
	}
	pretty := env.Do(admin.Key, http.MethodGet, "/v1/secrets?name=TLS_KEY_PEM&pretty", nil)
	if !strings.Contains(string(pretty.Body), "\n  ") {
		t.Fatalf("?pretty is not indented: %s", clip(pretty.Body))
	}
	var out struct{ Secrets []struct{ Value string } }
	if err := json.Unmarshal(pretty.Body, &out); err != nil || len(out.Secrets) != 1 || out.Secrets[0].Value != value {
		t.Fatalf("pretty fetch: %v, %d secrets", err, len(out.Secrets))
	}
}
