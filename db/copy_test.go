package db_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/db/dbtest"
)

// copyTarget creates an empty PostgreSQL database for a copy on the server KEYHOLD_TEST_DATABASE_URL
// names (dropped when the test ends) and returns its URL. Without that server the test is skipped.
func copyTarget(t testing.TB) string {
	t.Helper()
	if onPostgres() {
		t.Skip("the copy's source is a SQLite file: tested on the SQLite run")
	}
	admin, ok := dbtest.PostgresURL()
	if !ok {
		t.Skip("KEYHOLD_TEST_DATABASE_URL is not set: copying into PostgreSQL needs a server (scripts/test.sh starts one)")
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("KEYHOLD_TEST_DATABASE_URL: %v", err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	name := "kh_copy_" + hex.EncodeToString(b)
	adminExec := func(query string) error {
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, query)
		return err
	}
	if err := adminExec("CREATE DATABASE " + name + " TEMPLATE template0"); err != nil {
		t.Fatalf("create the target database: %v", err)
	}
	t.Cleanup(func() {
		if err := adminExec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop the target database %s: %v", name, err)
		}
	})
	u.Path, u.RawPath = "/"+name, ""
	q := u.Query()
	q.Del("dbname")
	u.RawQuery = q.Encode()
	return u.String()
}

// copyDeployment is a SQLite deployment made through the Store, and what the test needs to know of it.
type copyDeployment struct {
	path                  string
	ada, bob, carol, dave db.Actor
	bobInGlobex           db.Actor
	ops                   *db.Team
	tokenID               string
	secrets               map[string]copySecret // by ID, live and deleted
	bobKey, revokedKey    string
	daveKey               string
	adaSession            string
	frankReset            string
	password              string
	auditBefore           map[string][]db.AuditEvent // by organization ID
	answersBefore         []clientAnswer
}

type copySecret struct {
	value   string
	owner   db.Actor // an Owner of it, in the source
	deleted bool
}

// buildCopyDeployment makes, in a SQLite file, two organizations with members (one in both, through
// an accepted invitation), a team, secrets shared to users and to the team (one of about 1 MB, one
// updated, one deleted), API keys (one revoked), invitations (pending with a team, revoked,
// accepted), a password reset, sessions, a failed sign-in, and hundreds of audited reads. It returns
// the deployment with the source still open.
func buildCopyDeployment(t *testing.T) (*db.Store, *copyDeployment) {
	t.Helper()
	d := &copyDeployment{path: filepath.Join(t.TempDir(), db.FileName), secrets: map[string]copySecret{}, password: "correct horse battery"}
	s := mustOpenAt(t, d.path, db.Options{})
	d.ada = mustOrg(t, s, "Acme", "ada@example.com")
	d.bob = mustMember(t, s, d.ada, "bob@example.com")
	d.carol = mustMember(t, s, d.ada, "carol@example.com")
	mustMember(t, s, d.ada, "frank@example.com")
	d.dave = mustOrg(t, s, "Globex", "dave@example.com")
	d.bobInGlobex = mustJoin(t, s, d.dave, d.bob, db.OrgMember)
	d.ops = mustTeam(t, s, d.ada, "Ops", d.bob, d.carol)
	// Ops sits in Platform, whose Owner is Carol: nesting, its closure and team Owners are copied too.
	platform := mustTeam(t, s, d.ada, "Platform")
	if _, err := s.UpdateTeam(ctx, d.ada, platform.ID, db.TeamChange{AddTeamIDs: []string{d.ops.ID}, AddOwnerIDs: []string{d.carol.UserID}}); err != nil {
		t.Fatal(err)
	}

	add := func(owner db.Actor, name, value string) *db.Secret {
		sec := mustSecret(t, s, owner, name, value)
		d.secrets[sec.ID] = copySecret{value: value, owner: owner}
		return sec
	}
	dbpw := add(d.ada, "DB_PASSWORD", canary("db"))
	mustShare(t, s, d.ada, dbpw, "user", d.bob.UserID, db.RoleReader)
	updated := canary("db-v2")
	if _, err := s.UpdateSecret(ctx, d.ada, dbpw.ID, []byte(updated), dbpw.Version); err != nil {
		t.Fatal(err)
	}
	d.secrets[dbpw.ID] = copySecret{value: updated, owner: d.ada}
	token := add(d.ada, "API_TOKEN", canary("token"))
	d.tokenID = token.ID
	mustShare(t, s, d.ada, token, "team", d.ops.ID, db.RoleReader)
	note := add(d.carol, "CAROL_NOTE", "a note with unicode: ünïcødé ✓\nand a second line")
	mustShare(t, s, d.carol, note, "team", d.ops.ID, db.RoleOwner)
	big := make([]byte, 512<<10)
	rand.Read(big)
	add(d.ada, "BIG", hex.EncodeToString(big)) // 1 MiB of text
	old := add(d.ada, "OLD", canary("old"))
	if _, err := s.DeleteSecret(ctx, d.ada, old.ID); err != nil {
		t.Fatal(err)
	}
	d.secrets[old.ID] = copySecret{value: d.secrets[old.ID].value, owner: d.ada, deleted: true}
	for i := range 24 {
		owner := []db.Actor{d.ada, d.bob, d.carol}[i%3]
		add(owner, fmt.Sprintf("SERVICE_%02d", i), canary(fmt.Sprintf("svc%d", i)))
	}
	globex := add(d.dave, "GLOBEX_KEY", canary("globex"))
	mustShare(t, s, d.dave, globex, "user", d.bob.UserID, db.RoleOwner)

	var err error
	if d.bobKey, _, err = s.CreateAPIKey(ctx, d.bob, "ci", noExpiry); err != nil {
		t.Fatal(err)
	}
	var revoked *db.APIKey
	if d.revokedKey, revoked, err = s.CreateAPIKey(ctx, d.bob, "old laptop", time.Now().Add(90*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, d.bob, revoked.ID); err != nil {
		t.Fatal(err)
	}
	if d.daveKey, _, err = s.CreateAPIKey(ctx, d.dave, "deploy", noExpiry); err != nil {
		t.Fatal(err)
	}

	if _, _, err := s.CreateInvitation(ctx, d.ada, db.NewInvitation{Email: "erin@example.com", TeamIDs: []string{d.ops.ID}, Message: "welcome"}); err != nil {
		t.Fatal(err)
	}
	_, gone, err := s.CreateInvitation(ctx, d.ada, db.NewInvitation{Email: "gina@example.com", Role: db.OrgAdmin})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeInvitation(ctx, d.ada, gone.ID); err != nil {
		t.Fatal(err)
	}
	if d.frankReset, _, err = s.ResetPassword(ctx, "frank@example.com"); err != nil {
		t.Fatal(err)
	}
	if d.adaSession, err = s.CreateSession(ctx, d.ada.UserID, d.ada.OrgID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SignIn(ctx, "carol@example.com", "not her password", "10.0.0.9"); db.ErrorCode(err) != db.CodeUnauthorized {
		t.Fatalf("a wrong password: %v", err)
	}

	// Reads through the API and the portal: more events than one INSERT of the copy carries.
	api, err := s.APIRequestActor(ctx, d.bobKey, "10.0.0.7", "")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if _, err := s.SecretByName(ctx, api, "API_TOKEN"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RevealSecret(ctx, d.carol, note.ID); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, err := s.RevealSecret(ctx, d.bobInGlobex, globex.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	d.answersBefore = clientAnswers(t, s, d)
	d.auditBefore = map[string][]db.AuditEvent{d.ada.OrgID: allAudit(t, s, d.ada), d.dave.OrgID: allAudit(t, s, d.dave)}
	return s, d
}

// allAudit is the organization's whole audit trail, newest first, page by page.
func allAudit(t testing.TB, s *db.Store, admin db.Actor) []db.AuditEvent {
	t.Helper()
	var out []db.AuditEvent
	var before int64
	for {
		page, err := s.ListAudit(ctx, admin, db.AuditFilter{Limit: 500, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		before = page[len(page)-1].ID
	}
}

// clientAnswer is what one call of a client's request sequence answered.
type clientAnswer struct {
	call string
	v    any
}

// clientAnswers runs what the clients ask, in their order: the SDK (an API key: list, then fetch by
// name; a revoked key), the portal (sign-in, a new session and an old one, the Secrets tab, each
// secret's reveal and access list, teams, API keys, members, invitations, the organization switch)
// and answers what each call returned. Times and tokens the calls themselves make (new sessions,
// last-used times) are left out.
func clientAnswers(t *testing.T, s *db.Store, d *copyDeployment) []clientAnswer {
	t.Helper()
	var out []clientAnswer
	add := func(call string, v any, err error) {
		t.Helper()
		if err != nil {
			v = "error " + string(db.ErrorCode(err)) + ": " + db.ErrorMessage(err)
		}
		out = append(out, clientAnswer{call, v})
	}
	apiActor := func(a db.Actor, err error) any {
		if err != nil {
			return nil
		}
		return []string{a.UserID, a.OrgID, a.Email, a.Name, string(a.Role), a.Source, a.APIKeyID, a.APIKeyLabel}
	}

	// The SDK.
	for _, key := range []string{d.bobKey, d.daveKey} {
		a, err := s.APIRequestActor(ctx, key, "10.0.0.7", "")
		add("api actor", apiActor(a, err), err)
		list, err := s.AllSecrets(ctx, a)
		add("api list", list, err)
		for _, sec := range list {
			got, err := s.SecretByName(ctx, a, sec.Name)
			add("api fetch "+sec.Name, got, err)
		}
	}
	a, err := s.APIRequestActor(ctx, d.revokedKey, "10.0.0.7", "")
	add("api revoked key", apiActor(a, err), err)

	// The portal.
	for _, email := range []string{"bob@example.com", "ada@example.com"} {
		u, orgID, err := s.SignIn(ctx, email, d.password, "10.0.0.8")
		add("sign in "+email, []any{u, orgID}, err)
		if err != nil {
			continue
		}
		token, err := s.CreateSession(ctx, u.ID, orgID)
		if err != nil {
			t.Fatal(err)
		}
		sess, a, err := s.SessionActor(ctx, token, longSession)
		if err != nil {
			t.Fatal(err)
		}
		add("session orgs "+email, sess.Orgs, nil)
		add("session actor "+email, apiActor(a, nil), nil)
		page, err := s.ListSecrets(ctx, a, "", 0, 100)
		add("secrets tab "+email, page, err)
		if page != nil {
			for _, sec := range page.Secrets {
				got, err := s.RevealSecret(ctx, a, sec.ID)
				add("reveal "+sec.Name, got, err)
				grants, err := s.AccessList(ctx, a, sec.ID)
				add("access "+sec.Name, grants, err)
			}
		}
		teams, err := s.ListTeams(ctx, a)
		add("teams", teams, err)
		keys, err := s.ListAPIKeys(ctx, a)
		for i := range keys {
			keys[i].LastUsedAt = time.Time{}
		}
		add("api keys", keys, err)
		ms, err := s.Memberships(ctx, u.ID)
		add("memberships", ms, err)
		if a.IsAdmin() {
			members, err := s.ListMembers(ctx, a, "")
			add("members", members, err)
			invs, err := s.ListInvitations(ctx, a, db.InvitationFilter{})
			add("invitations", invs, err)
			view, err := s.TeamView(ctx, a, d.ops.ID)
			add("team view", view, err)
		}
	}
	sess, a, err := s.SessionActor(ctx, d.adaSession, longSession)
	if sess != nil {
		sess.LastSeenAt = time.Time{}
	}
	add("old session", []any{sess, apiActor(a, err)}, err)
	_, _, err = s.SignIn(ctx, "frank@example.com", d.password, "10.0.0.8")
	add("sign in after a reset", nil, err)
	reset, err := s.PasswordResetByToken(ctx, d.frankReset)
	add("reset link", reset, err)
	for id, sec := range d.secrets {
		if sec.deleted {
			_, err := s.RevealSecret(ctx, sec.owner, id)
			add("reveal deleted", nil, err)
		}
	}
	return out
}

// wantSameAnswers compares two runs of clientAnswers, call by call.
func wantSameAnswers(t *testing.T, label string, got, want []clientAnswer) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d answers, want %d", label, len(got), len(want))
	}
	for i := range want {
		if got[i].call != want[i].call || !reflect.DeepEqual(got[i].v, want[i].v) {
			g, w := fmt.Sprintf("%+v", got[i].v), fmt.Sprintf("%+v", want[i].v)
			t.Fatalf("%s: answer %d (%s) differs:\n got %.600s\nwant %.600s", label, i, want[i].call, g, w)
		}
	}
}

// tableCounts counts the rows of each table at the database (a SQLite file or a PostgreSQL URL).
func tableCounts(t testing.TB, loc string, tables []string) map[string]int64 {
	t.Helper()
	driver, dsn := "sqlite", "file:"+loc+"?_pragma=busy_timeout(10000)"
	if db.IsPostgres(loc) {
		driver, dsn = db.PostgresDriver, loc
	}
	r, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[string]int64{}
	for _, table := range tables {
		var n int64
		if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	if db.IsPostgres(loc) {
		var last sql.NullInt64
		if err := r.QueryRowContext(ctx, `SELECT last_value FROM audit_events_id_seq`).Scan(&last); err != nil {
			t.Fatal(err)
		}
		out["audit_events_id_seq"] = last.Int64
	}
	return out
}

// pgTableCount is how many tables the PostgreSQL database at loc has.
func pgTableCount(t testing.TB, loc string) int {
	t.Helper()
	r, err := sql.Open(db.PostgresDriver, loc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var n int
	if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var copiedTables = []string{"meta", "orgs", "users", "memberships", "teams", "team_members", "team_nesting", "team_closure", "team_owners", "data_keys", "secrets", "secret_versions", "grants",
	"api_keys", "sessions", "login_failures", "invitations", "invitation_teams", "password_resets", "audit_events"}

func copyOptions() db.Options { return db.Options{MasterKey: testMasterKey} }

// A SQLite deployment with secrets, shares, teams, API keys and audit events moved to PostgreSQL: the
// clients' request sequences give the same answers before and after, every secret reveals the same,
// the audit trail is the same events in the same order and goes on after them, keys and passwords
// work, and a second copy into the now non-empty database is refused and changes nothing.
func TestCopyToPostgres(t *testing.T) {
	target := copyTarget(t)
	src, d := buildCopyDeployment(t)

	// Refused while another process (here: this store) holds the source's audit journal, whose
	// events the copy would miss; and while a server holds the serve lock. Neither touches the target.
	_, err := db.CopyToPostgres(ctx, d.path, target, copyOptions())
	wantCode(t, err, db.CodeConflict)
	if !strings.Contains(err.Error(), "audit journal") {
		t.Fatalf("refusal: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	// A read event left in the audit journal, as by a process that crashed after journaling it: the
	// copy moves it into the trail first.
	journal := src.AuditJournalFiles()[0]
	crashed := fmt.Sprintf(`{"JID":%d,"At":%d,"Actor":{"UserID":%q,"Email":%q,"OrgID":%q,"Source":"api","ClientIP":"192.0.2.99"},`+
		`"Event":{"Action":%q,"SecretID":%q,"SecretName":"API_TOKEN"},"E":true}`+"\n",
		time.Now().UnixNano(), time.Now().UnixMilli(), d.bob.UserID, d.bob.Email, d.bob.OrgID, db.ActionSecretRead, d.tokenID)
	f, err := os.OpenFile(journal, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(crashed); err != nil {
		t.Fatal(err)
	}
	f.Close()
	lock, err := db.LockServe(d.path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.CopyToPostgres(ctx, d.path, target, copyOptions())
	wantCode(t, err, db.CodeConflict)
	if !strings.Contains(err.Error(), "server") {
		t.Fatalf("refusal: %v", err)
	}
	lock.Close()
	if n := pgTableCount(t, target); n != 0 {
		t.Fatalf("a refused copy created %d tables in the target", n)
	}
	wantCode(t, func() error { _, err := db.CopyToPostgres(ctx, d.path, d.path+".copy", copyOptions()); return err }(), db.CodeInvalid)

	sourceBefore := tableCounts(t, d.path, copiedTables)
	started := time.Now()
	rep, err := db.CopyToPostgres(ctx, d.path, target, copyOptions())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("copied in %v (the copy transaction %v, %d audit events, %d secrets, one of 1 MiB); checked %d secrets",
		time.Since(started), rep.Copied, sourceBefore["audit_events"], sourceBefore["secrets"], rep.Sampled)

	// The report: every table in order, as many rows as the source had, each of them non-empty here.
	var names []string
	for _, tc := range rep.Tables {
		names = append(names, tc.Name)
		want := sourceBefore[tc.Name]
		if tc.Name == "audit_events" {
			want++ // the journaled read
		}
		if tc.Rows != want || tc.Rows == 0 {
			t.Errorf("report: %s has %d rows, the source %d", tc.Name, tc.Rows, sourceBefore[tc.Name])
		}
	}
	if !reflect.DeepEqual(names, copiedTables) {
		t.Fatalf("copied %v, want %v", names, copiedTables)
	}
	if rep.Sampled != 20 || rep.Duration <= 0 || rep.Copied <= 0 || rep.Copied > rep.Duration {
		t.Fatalf("report: %+v", rep)
	}
	// The check's reveals were recorded on both sides: after them, the two agree table by table.
	sourceAfter, targetAfter := tableCounts(t, d.path, copiedTables), tableCounts(t, target, copiedTables)
	for _, table := range copiedTables {
		want := sourceBefore[table]
		if table == "audit_events" {
			want += int64(rep.Sampled)
		}
		if table == "audit_events" {
			want++ // the journaled read
		}
		if sourceAfter[table] != want || targetAfter[table] != want {
			t.Errorf("%s: source %d, target %d rows, want %d", table, sourceAfter[table], targetAfter[table], want)
		}
	}

	src = mustOpenAt(t, d.path, copyOptions())
	dst := mustOpenAt(t, target, copyOptions())

	// The audit trail: the copied events as they were (in Acme's, the crashed process's read last),
	// then the check's reads, the same on both.
	for _, admin := range []db.Actor{d.ada, d.dave} {
		before := d.auditBefore[admin.OrgID]
		copied := len(before)
		if admin.OrgID == d.ada.OrgID {
			copied++
		}
		s, g := allAudit(t, src, admin), allAudit(t, dst, admin)
		if len(g) != len(s) || len(g) < copied {
			t.Fatalf("audit of %s: %d events on the target, %d on the source, %d copied", admin.Email, len(g), len(s), copied)
		}
		if !reflect.DeepEqual(g[len(g)-len(before):], before) {
			t.Fatalf("audit of %s: the copied trail differs from the source's", admin.Email)
		}
		if copied > len(before) {
			e := g[len(g)-copied]
			if e.ClientIP != "192.0.2.99" || e.ActorID != d.bob.UserID || e.Action != db.ActionSecretRead || e.SecretID != d.tokenID ||
				e.ID <= before[0].ID || !reflect.DeepEqual(e, s[len(s)-copied]) {
				t.Fatalf("the journaled read after the copied trail: %+v", e)
			}
		}
		for i, e := range g[:len(g)-copied] {
			o := s[i]
			if e.Action != db.ActionSecretRead || e.Source != "cli" {
				t.Fatalf("audit of %s: an event after the copy that is not the check's read: %+v", admin.Email, e)
			}
			e.At, o.At = time.Time{}, time.Time{}
			if e != o {
				t.Fatalf("audit of %s: the check's reads differ:\n%+v\n%+v", admin.Email, e, o)
			}
		}
	}

	// Every live secret reveals the same for an Owner, on both; the deleted one on neither.
	for id, sec := range d.secrets {
		want := db.CodeNotFound
		if !sec.deleted {
			want = ""
		}
		for _, s := range []*db.Store{src, dst} {
			got, err := s.RevealSecret(ctx, mustActor(t, s, sec.owner.UserID, sec.owner.OrgID), id)
			wantCode(t, err, want)
			if err == nil && got.Value != sec.value {
				t.Fatalf("secret %s reads differently on %s", got.Name, s.Location())
			}
		}
	}

	// The clients' request sequences answer the same on PostgreSQL as they did on SQLite.
	wantSameAnswers(t, "target", clientAnswers(t, dst, d), d.answersBefore)
	wantSameAnswers(t, "source after the copy", clientAnswers(t, src, d), d.answersBefore)

	// API keys: bob's authenticates as bob in Acme, the revoked one does not.
	a, err := dst.AuthenticateAPIKey(ctx, d.bobKey, "10.0.0.7")
	if err != nil || a.UserID != d.bob.UserID || a.OrgID != d.ada.OrgID {
		t.Fatalf("bob's key on the target: %+v %v", a, err)
	}
	_, err = dst.AuthenticateAPIKey(ctx, d.revokedKey, "10.0.0.7")
	wantCode(t, err, db.CodeUnauthorized)
	// Sign-in with the same password, and not with another.
	if u, orgID, err := dst.SignIn(ctx, "Carol@example.com", d.password, "10.0.0.5"); err != nil || u.ID != d.carol.UserID || orgID != d.ada.OrgID {
		t.Fatalf("carol signs in on the target: %v %v", u, err)
	}
	_, _, err = dst.SignIn(ctx, "carol@example.com", "not her password", "10.0.0.5")
	wantCode(t, err, db.CodeUnauthorized)

	// New changes go on after the copied trail, with IDs after its.
	maxID := d.auditBefore[d.ada.OrgID][0].ID
	if id := d.auditBefore[d.dave.OrgID][0].ID; id > maxID {
		maxID = id
	}
	if _, err := dst.CreateSecret(ctx, d.ada, "AFTER_THE_MOVE", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if ev, err := dst.ListAudit(ctx, d.ada, db.AuditFilter{Limit: 1}); err != nil || ev[0].Action != db.ActionSecretCreate || ev[0].ID <= maxID {
		t.Fatalf("the first change after the copy: %+v %v (the copied trail ends at %d)", ev, err, maxID)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}

	// A second copy into the now non-empty database is refused, naming a table, and changes nothing
	// on either side.
	sourceBefore, targetBefore := tableCounts(t, d.path, copiedTables), tableCounts(t, target, copiedTables)
	_, err = db.CopyToPostgres(ctx, d.path, target, copyOptions())
	wantCode(t, err, db.CodeConflict)
	if !strings.Contains(err.Error(), "table orgs has rows") {
		t.Fatalf("refusal: %v", err)
	}
	if got := tableCounts(t, target, copiedTables); !reflect.DeepEqual(got, targetBefore) {
		t.Fatalf("the refused copy changed the target:\n%v\n%v", got, targetBefore)
	}
	if got := tableCounts(t, d.path, copiedTables); !reflect.DeepEqual(got, sourceBefore) {
		t.Fatalf("the refused copy changed the source:\n%v\n%v", got, sourceBefore)
	}
}

// A database that holds another deployment (under another master key) is refused as not empty,
// before the copy opens it: opening would migrate it, or fail on the key.
func TestCopyToPostgres_RefusesOtherDeployment(t *testing.T) {
	target := copyTarget(t)
	path := filepath.Join(t.TempDir(), db.FileName)
	s := mustOpenAt(t, path, db.Options{})
	mustSecret(t, s, mustOrg(t, s, "Acme", "ada@example.com"), "TOKEN", "v")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	sourceBefore := tableCounts(t, path, copiedTables)

	// Opened by a deployment with another master key, which stored nothing but its key's check value.
	other := make([]byte, 32)
	rand.Read(other)
	o := mustOpenAt(t, target, db.Options{MasterKey: other})
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	before := tableCounts(t, target, copiedTables)
	_, err := db.CopyToPostgres(ctx, path, target, copyOptions())
	wantCode(t, err, db.CodeConflict)
	if !strings.Contains(err.Error(), "another master key") {
		t.Fatalf("refusal: %v", err)
	}
	if got := tableCounts(t, target, copiedTables); !reflect.DeepEqual(got, before) {
		t.Fatalf("the refused copy changed the target")
	}

	// Holding that deployment's data.
	o = mustOpenAt(t, target, db.Options{MasterKey: other})
	mustOrg(t, o, "Initech", "peter@example.com")
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	before = tableCounts(t, target, copiedTables)
	_, err = db.CopyToPostgres(ctx, path, target, copyOptions())
	wantCode(t, err, db.CodeConflict)
	if !strings.Contains(err.Error(), "table orgs has rows") {
		t.Fatalf("refusal: %v", err)
	}
	if got := tableCounts(t, target, copiedTables); !reflect.DeepEqual(got, before) {
		t.Fatalf("the refused copy changed the target")
	}
	if got := tableCounts(t, path, copiedTables); !reflect.DeepEqual(got, sourceBefore) {
		t.Fatalf("the refused copies changed the source")
	}

	// A source that does not exist is not created.
	missing := filepath.Join(t.TempDir(), db.FileName)
	if _, err := db.CopyToPostgres(ctx, missing, target, copyOptions()); err == nil {
		t.Fatal("copied a database that does not exist")
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("the missing source was created: %v", err)
	}
}
