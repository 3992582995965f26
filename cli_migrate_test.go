package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/db/dbtest"
	"github.com/keyhold/keyhold/web/webtest"
)

// migrate runs keyhold migrate in-process and returns its output, its log and its error.
func migrate(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, log bytes.Buffer
	err := migrateCommand(context.Background(), args, &out, slog.New(slog.NewTextHandler(&log, nil)))
	return out.String(), log.String(), err
}

// pgRows counts the rows of every table of the PostgreSQL database at loc ("" for no table at all).
func pgRows(t *testing.T, loc string) string {
	t.Helper()
	r, err := sql.Open(db.PostgresDriver, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rows, err := r.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		var n int
		if err := r.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%d ", table, n)
	}
	return b.String()
}

// Mistakes in the command line are usage errors of one line that name what is wrong, never echo a
// password, and touch nothing.
func TestMigrate_UsageErrors(t *testing.T) {
	t.Setenv("KEYHOLD_DATABASE_URL", "")
	data := t.TempDir()
	seedOrgs(t, data)
	noData := filepath.Join(t.TempDir(), "nothing-here")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"nothing", nil, "migrate needs --from-data DIR"},
		{"no --to", []string{"--from-data", data}, "and --to postgres://"},
		{"no --from-data", []string{"--to", "postgres://keyhold@127.0.0.1:1/keyhold"}, "migrate needs --from-data DIR"},
		{"a SQLite file as --to", []string{"--from-data", data, "--to", filepath.Join(t.TempDir(), db.FileName)}, "--to must be a PostgreSQL URL"},
		{"another database's URL", []string{"--from-data", data, "--to", "mysql://root:hunter2-secret@db:3306/keyhold"}, "--to must be a PostgreSQL URL"},
		{"a URL that does not parse", []string{"--from-data", data, "--to", "postgres://keyhold:hunter2-secret@db:notaport/keyhold"}, "--to is not a PostgreSQL URL that parses"},
		{"an argument", []string{"--from-data", data, "--to", "postgres://db/keyhold", "extra"}, `unexpected argument "extra"`},
		{"an unknown flag", []string{"--data", data}, "flag provided but not defined: -data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := migrate(t, tc.args...)
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err=%v, want a usage error containing %q", err, tc.want)
			}
			if line := oneLine(err); strings.Contains(line, "\n") || strings.Contains(line, "hunter2") {
				t.Fatalf("message %q: not one line, or it holds the password", line)
			}
			if out != "" {
				t.Fatalf("printed %q", out)
			}
		})
	}
	// A directory without a deployment: refused, and nothing is created there (no master key).
	_, _, err := migrate(t, "--from-data", noData, "--to", "postgres://keyhold@127.0.0.1:1/keyhold")
	if err == nil || !strings.Contains(err.Error(), "no keyhold data at") {
		t.Fatalf("no data: %v", err)
	}
	if _, err := os.Stat(noData); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("migrate created %s: %v", noData, err)
	}
}

// apiAnswers runs the SDK's requests with each API key against the server at base: the organization
// and user, the list of secrets, each secret by ID and by name, its access controls, users and teams,
// and returns every status and body, by request.
func apiAnswers(t *testing.T, base string, keys map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for label, key := range keys {
		apiAnswersOf(t, base, label, key, out)
	}
	return out
}

func apiAnswersOf(t *testing.T, base, label, key string, out map[string]string) {
	t.Helper()
	call := func(key, path string) []byte {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		out[label+" GET "+path] = fmt.Sprintf("%d %s", resp.StatusCode, b)
		return b
	}
	for _, path := range []string{"/v1/organizations/current", "/v1/users/current", "/v1/users", "/v1/teams"} {
		call(key, path)
	}
	var list struct {
		Secrets []struct{ ID, Name string }
	}
	_ = json.Unmarshal(call(key, "/v1/secrets"), &list)
	for _, s := range list.Secrets {
		call(key, "/v1/secrets/"+s.ID)
		call(key, "/v1/secrets/"+s.ID+"/accessControls")
		call(key, "/v1/secrets?name="+url.QueryEscape(s.Name))
	}
}

// portalAnswers signs in to the portal at base as email and returns what its Secrets tab lists and
// what each secret's Reveal shows.
func portalAnswers(t *testing.T, base, email, password string) []string {
	t.Helper()
	c := webtest.NewClient(t, base)
	webtest.SignIn(t, c, email, password)
	page := c.Get("/secrets")
	if page.Status != http.StatusOK {
		t.Fatalf("the Secrets tab: %d", page.Status)
	}
	names := webtest.RowNames(page.Body)
	out := []string{strings.Join(names, ",")}
	ids := secretPaths(page.Body)
	if len(ids) == 0 {
		t.Fatalf("no secret links in the Secrets tab")
	}
	for _, p := range ids {
		r := c.Reveal(p)
		v, ok := webtest.TextareaValue(r.Body)
		out = append(out, fmt.Sprintf("%s %d %v %s", p, r.Status, ok, v))
	}
	return out
}

// secretPaths lists the /secrets/{id} paths the page links to, each once, in order.
func secretPaths(body string) []string {
	var out []string
	seen := map[string]bool{}
	for rest := body; ; {
		i := strings.Index(rest, "/secrets/")
		if i < 0 {
			return out
		}
		rest = rest[i+len("/secrets/"):]
		if len(rest) < 36 {
			return out
		}
		id := rest[:36]
		if strings.Count(id, "-") == 4 && !seen[id] {
			seen[id] = true
			out = append(out, "/secrets/"+id)
		}
	}
}

// startKeyhold runs keyhold serve in-process with args until the test ends (or stop), and returns
// its base URL once /healthz answers.
func startKeyhold(t *testing.T, args ...string) (base string, stop func()) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	log := &lockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", addr}, args...), strings.NewReader(""), io.Discard, log)
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("keyhold serve exited with %d:\n%s", code, log)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("keyhold serve did not stop:\n%s", log)
		}
	}
	t.Cleanup(stop)
	base = "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, stop
			}
		}
		select {
		case code := <-done:
			t.Fatalf("keyhold serve exited with %d:\n%s", code, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("keyhold serve did not answer /healthz:\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// keyhold migrate end to end: a SQLite deployment (made by the CLI, with members, a team, shared
// secrets, API keys, one revoked, and reads) served over HTTP, migrated while the server runs
// (refused), then stopped and migrated, then served from PostgreSQL: the SDK's and the portal's
// request sequences answer the same. A second migrate into the now non-empty database is refused and
// changes nothing.
func TestMigrate(t *testing.T) {
	target := dbtest.PostgresDatabase(t)
	t.Setenv("KEYHOLD_DATABASE_URL", "")
	for _, name := range []string{"KEYHOLD_MASTER_KEY", "KEYHOLD_MASTER_KEY_FILE"} {
		t.Setenv(name, "") // restored when the test ends
		os.Unsetenv(name)  // the key is data's master.key, as a SQLite deployment's is
	}
	data := t.TempDir()
	want := seedOrgs(t, data) // Acme and Globex, ada admin of both, a TOKEN in each
	keys := apiKeys(t, data, want)
	password := "correct horse battery"
	bobKey := func() string {
		ctx := context.Background()
		s := openWithKey(t, data, readKey(t, data))
		defer s.Close()
		ada := orgAdmin(t, s, "Acme")
		bob, err := s.AddMember(ctx, db.SystemActor(ada.OrgID), db.NewUser{Email: "bob@example.com", FirstName: "Bob", Password: password}, db.OrgMember)
		if err != nil {
			t.Fatal(err)
		}
		team, err := s.CreateTeam(ctx, ada, "Ops", "on call")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateTeam(ctx, ada, team.ID, db.TeamChange{AddUserIDs: []string{bob.ID}}); err != nil {
			t.Fatal(err)
		}
		shared, err := s.CreateSecret(ctx, ada, "SHARED", []byte("for the Ops team"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ChangeAccess(ctx, ada, shared.ID, []db.AccessChange{{Kind: "team", ID: team.ID, Role: db.RoleReader}}); err != nil {
			t.Fatal(err)
		}
		gone, err := s.CreateSecret(ctx, ada, "GONE", []byte("deleted"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteSecret(ctx, ada, gone.ID); err != nil {
			t.Fatal(err)
		}
		b, err := s.ActorFor(ctx, bob.ID, ada.OrgID, "cli", "")
		if err != nil {
			t.Fatal(err)
		}
		key, _, err := s.CreateAPIKey(ctx, b, "bob's laptop", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return key
	}()
	code, out, errOut := cli(t, data, "", "apikey", "create", "--org", "Acme", "--email", "bob@example.com", "--label", "to revoke")
	if code != 0 {
		t.Fatal(errOut)
	}
	revoked := strings.TrimSpace(out)
	func() {
		s := openWithKey(t, data, readKey(t, data))
		defer s.Close()
		a, err := s.AuthenticateAPIKey(context.Background(), revoked, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeAPIKey(context.Background(), a, a.APIKeyID); err != nil {
			t.Fatal(err)
		}
	}()
	allKeys := map[string]string{"ada in Acme": keys["Acme"], "ada in Globex": keys["Globex"], "bob": bobKey, "revoked": revoked}

	// Served from SQLite: the clients' answers.
	base, stop := startKeyhold(t, "--data", data)
	apiBefore := apiAnswers(t, base, allKeys)
	portalBefore := [][]string{portalAnswers(t, base, "ada@example.com", password), portalAnswers(t, base, "bob@example.com", password)}
	if !strings.HasPrefix(apiBefore["revoked GET /v1/organizations/current"], "401 ") ||
		!strings.Contains(apiBefore["bob GET /v1/secrets?name=SHARED"], "for the Ops team") {
		t.Fatalf("the answers before the move are not what the deployment holds: %v", apiBefore)
	}

	// Refused while the server runs on the data directory; the target stays untouched.
	_, _, err := migrate(t, "--from-data", data, "--to", target)
	if db.ErrorCode(err) != db.CodeConflict || !strings.Contains(oneLine(err), "server") {
		t.Fatalf("migrate beside a running server: %v", err)
	}
	if got := pgRows(t, target); got != "" {
		t.Fatalf("the refused migrate touched the target: %s", got)
	}
	stop()

	out, log, err := migrate(t, "--from-data", data, "--to", target)
	if err != nil {
		t.Fatalf("migrate: %v\n%s", err, log)
	}
	t.Logf("keyhold migrate printed:\n%s", out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, row := range []string{"orgs 2 rows", "users 2 rows", "memberships 3 rows", "teams 1 rows", "team_members 1 rows", "api_keys 4 rows", "secrets 4 rows"} {
		name, rest, _ := strings.Cut(row, " ")
		if !hasReportRow(lines, name, rest) {
			t.Errorf("the report has no line %q", row)
		}
	}
	if !strings.Contains(out, "3 secrets reveal the same value from both") {
		t.Errorf("the report does not say 3 secrets were checked")
	}
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "next: start every keyhold instance with --database") || !strings.Contains(last, "same master key") ||
		!strings.Contains(last, filepath.Join(data, "master.key")) {
		t.Errorf("last line: %q", last)
	}
	for _, v := range append(mapValues(want), "for the Ops team", target) {
		if strings.Contains(out+log, v) {
			t.Fatalf("migrate printed or logged %q", v)
		}
	}
	// The SQLite data is left as it was.
	wantSecrets(t, data, readKey(t, data), want)

	// Served from PostgreSQL with the same master key, as the last line says: the same answers.
	t.Setenv("KEYHOLD_MASTER_KEY_FILE", filepath.Join(data, "master.key"))
	base, stop = startKeyhold(t, "--database", target, "--data", t.TempDir())
	apiAfter := apiAnswers(t, base, allKeys)
	portalAfter := [][]string{portalAnswers(t, base, "ada@example.com", password), portalAnswers(t, base, "bob@example.com", password)}
	if !reflect.DeepEqual(portalAfter, portalBefore) {
		t.Errorf("the portal answers differently on PostgreSQL:\n%q\nwant\n%q", portalAfter, portalBefore)
	}
	var reqs []string
	for r := range apiBefore {
		reqs = append(reqs, r)
	}
	sort.Strings(reqs)
	for _, r := range reqs {
		if apiAfter[r] != apiBefore[r] {
			t.Errorf("%s answers differently on PostgreSQL:\n%.400s\nwant\n%.400s", r, apiAfter[r], apiBefore[r])
		}
	}
	if len(apiAfter) != len(apiBefore) {
		t.Errorf("%d requests on PostgreSQL, %d before", len(apiAfter), len(apiBefore))
	}

	// A second migrate (the URL from KEYHOLD_DATABASE_URL) is refused: the database holds data now.
	// It names the first table that does, prints nothing, and changes nothing.
	stop()
	before := pgRows(t, target)
	t.Setenv("KEYHOLD_DATABASE_URL", target)
	out, _, err = migrate(t, "--from-data", data)
	if db.ErrorCode(err) != db.CodeConflict || !strings.Contains(oneLine(err), "table orgs has rows") || out != "" {
		t.Fatalf("a second migrate: %v, printed %q", err, out)
	}
	if got := pgRows(t, target); got != before {
		t.Fatalf("the refused migrate changed the target:\n%s\nwas\n%s", got, before)
	}
}

// hasReportRow reports whether a line of lines reads name, then the words of rest.
func hasReportRow(lines []string, name, rest string) bool {
	want := append([]string{name}, strings.Fields(rest)...)
	for _, l := range lines {
		if reflect.DeepEqual(strings.Fields(l), want) {
			return true
		}
	}
	return false
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
