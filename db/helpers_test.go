package db_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/db/dbtest"
)

var ctx = context.Background()

// testMasterKey is fixed per test binary so that reopening a test database works.
var testMasterKey = func() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}()

// TestMain runs the package's tests once per backend of the table (dbtest.RunSuites): SQLite, and
// PostgreSQL when a server is configured.
func TestMain(m *testing.M) { os.Exit(dbtest.RunSuites(m)) }

// mustOpen opens a fresh database on the run's backend: a real SQLite file under t.TempDir(), or a
// new PostgreSQL database.
func mustOpen(t testing.TB) *db.Store {
	t.Helper()
	return mustOpenAt(t, location(t), db.Options{})
}

// mustOpenAt opens (or reopens) the database at path; opt.MasterKey defaults to testMasterKey. The
// store is closed when the test ends (closing it earlier as well is fine). A test that opens a SQLite
// file of its own tests SQLite's engine: on the PostgreSQL run it is skipped, having run on SQLite's.
func mustOpenAt(t testing.TB, path string, opt db.Options) *db.Store {
	t.Helper()
	if onPostgres() && !db.IsPostgres(path) {
		t.Skip("a SQLite file of its own: tested on the SQLite run")
	}
	if opt.MasterKey == nil {
		opt.MasterKey = testMasterKey
	}
	if opt.SignIn.Account.MaxFailures == 0 && opt.SignIn.Client.MaxFailures == 0 {
		// Tests check many passwords from one address: throttle tests set their own limits.
		opt.SignIn = db.SignInLimits{Account: plentyAttempts, Client: plentyAttempts}
	}
	s, err := db.Open(ctx, path, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// location is a fresh database for a test on the run's backend: a file or a PostgreSQL database.
func location(t testing.TB) string { return dbtest.Location(t) }

// onPostgres reports whether this run of the suite is on PostgreSQL.
func onPostgres() bool { return dbtest.Current() == dbtest.Postgres }

// sqliteOnly skips, on the PostgreSQL run of the suite, a test of SQLite's own machinery (the audit
// journal and outbox, the WAL, its pragmas): it ran on the SQLite run.
func sqliteOnly(t testing.TB) {
	t.Helper()
	if onPostgres() {
		t.Skip("SQLite's own machinery: tested on the SQLite run")
	}
}

// plentyAttempts is a throttle no test reaches by accident.
var plentyAttempts = db.Throttle{MaxFailures: 1 << 20, Window: time.Minute, Lockout: time.Minute}

// newClock is the db tests' clock (dbtest.Clock), at a fixed instant.
func newClock() *dbtest.Clock { return dbtest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) }

// mustOpenClock opens a temp database whose clock the test controls.
func mustOpenClock(t testing.TB) (*db.Store, *dbtest.Clock) {
	t.Helper()
	c := newClock()
	return mustOpenAt(t, location(t), db.Options{Now: c.Now}), c
}

// mustOrg creates an organization whose admin is adminEmail and returns the admin's actor. When
// adminEmail already has an account, that user becomes the admin (no password is hashed).
func mustOrg(t testing.TB, s *db.Store, name, adminEmail string) db.Actor {
	t.Helper()
	org, u, err := s.CreateOrg(ctx, name, db.NewUser{Email: adminEmail, FirstName: "Ada", LastName: "Admin", Password: "correct horse battery"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return mustActor(t, s, u.ID, org.ID)
}

// mustMember adds a plain member to admin's organization and returns their actor. The member's first
// name is the local part of the email ("bob@example.com" is "bob Member").
func mustMember(t testing.TB, s *db.Store, admin db.Actor, email string) db.Actor {
	t.Helper()
	first, _, _ := strings.Cut(email, "@")
	m, err := s.AddMember(ctx, db.SystemActor(admin.OrgID), db.NewUser{Email: email, FirstName: first, LastName: "Member", Password: "correct horse battery"}, db.OrgMember)
	if err != nil {
		t.Fatal(err)
	}
	return mustActor(t, s, m.ID, admin.OrgID)
}

// mustJoin brings user's existing account into the organization of orgActor with role, the one way
// an existing account joins another organization: an invitation its holder accepts.
func mustJoin(t testing.TB, s *db.Store, orgActor, user db.Actor, role db.OrgRole) db.Actor {
	t.Helper()
	token, _, err := s.CreateInvitation(ctx, db.SystemActor(orgActor.OrgID), db.NewInvitation{Email: user.Email, Role: role})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AcceptInvitation(ctx, token, user.UserID, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	return mustActor(t, s, user.UserID, orgActor.OrgID)
}

func mustActor(t testing.TB, s *db.Store, userID, orgID string) db.Actor {
	t.Helper()
	a, err := s.ActorFor(ctx, userID, orgID, "portal", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustSecret(t testing.TB, s *db.Store, a db.Actor, name, value string) *db.Secret {
	t.Helper()
	sec, err := s.CreateSecret(ctx, a, name, []byte(value))
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func mustShare(t testing.TB, s *db.Store, owner db.Actor, sec *db.Secret, kind, id string, role db.Role) {
	t.Helper()
	if err := s.ChangeAccess(ctx, owner, sec.ID, []db.AccessChange{{Kind: kind, ID: id, Role: role}}); err != nil {
		t.Fatal(err)
	}
}

func mustRevoke(t testing.TB, s *db.Store, owner db.Actor, sec *db.Secret, kind, id string) {
	t.Helper()
	if err := s.ChangeAccess(ctx, owner, sec.ID, []db.AccessChange{{Kind: kind, ID: id, Revoke: true}}); err != nil {
		t.Fatal(err)
	}
}

// mustTeam creates a team in admin's organization with the given members.
func mustTeam(t testing.TB, s *db.Store, admin db.Actor, name string, members ...db.Actor) *db.Team {
	t.Helper()
	team, err := s.CreateTeam(ctx, admin, name, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(members) > 0 {
		var ids []string
		for _, m := range members {
			ids = append(ids, m.UserID)
		}
		if _, err := s.UpdateTeam(ctx, admin, team.ID, db.TeamChange{AddUserIDs: ids}); err != nil {
			t.Fatal(err)
		}
	}
	return team
}

// mustReveal returns the value of a secret as a reads it.
func mustReveal(t testing.TB, s *db.Store, a db.Actor, id string) string {
	t.Helper()
	sec, err := s.RevealSecret(ctx, a, id)
	if err != nil {
		t.Fatal(err)
	}
	return sec.Value
}

// wantAccess checks a's effective role on a secret; "" means a cannot see it.
func wantAccess(t testing.TB, s *db.Store, a db.Actor, id string, want db.Role) {
	t.Helper()
	sec, err := s.SecretByID(ctx, a, id)
	if want == "" {
		wantCode(t, err, db.CodeNotFound)
		return
	}
	if err != nil {
		t.Fatalf("SecretByID: %v", err)
	}
	if sec.Access != want {
		t.Fatalf("access=%q, want %q", sec.Access, want)
	}
}

func wantCode(t testing.TB, err error, want db.Code) {
	t.Helper()
	if got := db.ErrorCode(err); got != want {
		t.Fatalf("code=%q (err=%v), want %q", got, err, want)
	}
}

// rawDB opens a second, unchecked connection to s's file, for looking under the store and for
// breaking things on purpose.
func rawDB(t testing.TB, s *db.Store) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite", "file:"+s.Path()+"?_pragma=busy_timeout(10000)"
	if loc := s.Location(); db.IsPostgres(loc) {
		driver, dsn = db.PostgresDriver, loc // raw queries are written with ? as the store's are
	}
	r, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	r.SetMaxOpenConns(1)
	t.Cleanup(func() { r.Close() })
	rawStores.Store(r, s)
	return r
}

// rawStores maps each raw connection to its store, so that raw reads first move journaled read
// events into the table, as the store's own listings do.
var rawStores sync.Map

func syncRaw(r *sql.DB) {
	if s, ok := rawStores.Load(r); ok {
		_ = s.(*db.Store).SyncAudit()
	}
}

func rawExec(t testing.TB, r *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := r.ExecContext(ctx, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func rawInt(t testing.TB, r *sql.DB, query string, args ...any) int {
	t.Helper()
	syncRaw(r)
	var n int
	if err := r.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// tableBytes returns every column of every row of table, as stored, for scanning.
func tableBytes(t testing.TB, r *sql.DB, table string) [][]byte {
	t.Helper()
	syncRaw(r)
	rows, err := r.QueryContext(ctx, `SELECT * FROM `+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			out = append(out, bytes.Clone(v))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// tableContains reports whether any column of any row of table contains needle.
func tableContains(t testing.TB, r *sql.DB, table string, needle []byte) bool {
	t.Helper()
	for _, v := range tableBytes(t, r, table) {
		if bytes.Contains(v, needle) {
			return true
		}
	}
	return false
}

// filesContaining returns the files under dir (the database, -wal, -shm, anything) that contain
// needle.
func filesContaining(t testing.TB, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		n++
		if bytes.Contains(b, needle) {
			hits = append(hits, filepath.Base(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no files under %s", dir)
	}
	return hits
}

// canary returns a distinctive value that appears nowhere unless this test put it there.
func canary(label string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return "PLAINTEXT-CANARY-" + label + "-" + hex.EncodeToString(b)
}

func secretNames(secs []db.Secret) []string {
	out := []string{}
	for _, s := range secs {
		out = append(out, s.Name)
	}
	return out
}

// noExpiry is the zero expiry of an API key that never expires.
var noExpiry time.Time

// longSession are session limits no test reaches by accident.
var longSession = db.SessionLimits{Idle: 24 * time.Hour, Absolute: 30 * 24 * time.Hour}

// changeChar returns s with the character at i replaced by a different one.
func changeChar(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
