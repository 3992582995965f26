package web_test

// Shared by the fuzz targets of the API (api_fuzz_test.go) and of the portal's forms
// (portal_fuzz_test.go): a change counter on the database, a log to show when a request fails, and the
// fixture's IDs, which fuzz inputs name by placeholders ($SECRET, $BOB, …) because they differ on every
// run.

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/db/dbtest"
	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/webtest"
)

// changeCounter counts every committed change to keyhold's data, with triggers added to the test's
// database: every insert, update and delete of every table except the audit trail, the sign-in
// failure counters (a refused sign-in is meant to count) and the last-used and last-seen times that
// every request refreshes. A refused request must leave the count as it was.
type changeCounter struct {
	conn *sql.Conn
}

// noisyColumns are refreshed by requests that change nothing.
var noisyColumns = map[string]string{"api_keys": "last_used_at", "sessions": "last_seen_at"}

func watchChanges(t testing.TB, path string) *changeCounter {
	t.Helper()
	if dbtest.Current() == dbtest.Postgres {
		// The counter is SQLite triggers on the file; what a refused request changes does not depend
		// on the engine (the handlers and the store's rules are the same).
		t.Skip("counts changes with SQLite triggers: fuzzed on the SQLite run")
	}
	ctx := context.Background()
	pool, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	conn, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	tables := dataTables(t, conn, "audit_events", "audit_outbox", "login_failures")
	ddl := []string{`CREATE TABLE fuzz_changes (n INTEGER NOT NULL)`, `INSERT INTO fuzz_changes (n) VALUES (0)`}
	for _, table := range tables {
		var cols []string
		rows, err := conn.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var col string
			rows.Scan(&col)
			if col != noisyColumns[table] {
				cols = append(cols, col)
			}
		}
		rows.Close()
		for event, on := range map[string]string{"ins": "INSERT", "del": "DELETE", "upd": "UPDATE OF " + strings.Join(cols, ", ")} {
			ddl = append(ddl, fmt.Sprintf(`CREATE TRIGGER fuzz_%s_%s AFTER %s ON %s BEGIN UPDATE fuzz_changes SET n = n + 1; END`,
				table, event, on, table))
		}
	}
	for _, q := range ddl {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return &changeCounter{conn: conn}
}

// dataTables lists keyhold's tables but the migrations table and those in except.
func dataTables(t testing.TB, conn *sql.Conn, except ...string) []string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name NOT IN ('schema_migrations', 'fuzz_changes')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(except, name) {
			tables = append(tables, name)
		}
	}
	return tables
}

// wipe deletes every row of keyhold's data but the master key check, so that a fuzz target can start
// again from an empty database without opening a new one. (This connection does not enforce foreign
// keys.)
func (c *changeCounter) wipe(t testing.TB) {
	t.Helper()
	for _, table := range dataTables(t, c.conn, "meta") {
		if _, err := c.conn.ExecContext(context.Background(), `DELETE FROM `+table); err != nil {
			t.Fatalf("wipe %s: %v", table, err)
		}
	}
}

// count is the number of changes committed so far.
func (c *changeCounter) count(t testing.TB) int64 {
	t.Helper()
	var n int64
	if err := c.conn.QueryRowContext(context.Background(), `SELECT n FROM fuzz_changes`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// logBuffer keeps what the server logged during one request (a recovered panic, an internal error).
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// fuzzFixture is a server with two organizations: in Acme, Ada (admin) owns $SECRET and shares it with
// Bob (member) as Reader, and $TEAM holds Bob; in Globex, $OTHER is a user and $OTHERTEAM a team that
// Acme's requests must not reach.
type fuzzFixture struct {
	ts      *webtest.Server
	log     *logBuffer
	changes *changeCounter
	ada     db.Actor
	bob     db.Actor
	vars    map[string]string
	// placeholders replaces the keys of vars by their values.
	placeholders *strings.Replacer
	secrets      int
}

// newFuzzFixture starts the server with cfg (its Logger is replaced) and seeds it.
func newFuzzFixture(t testing.TB, cfg web.Config) *fuzzFixture {
	t.Helper()
	fx := &fuzzFixture{log: &logBuffer{}}
	cfg.Logger = slog.New(slog.NewTextHandler(fx.log, nil))
	fx.ts = webtest.NewConfig(t, cfg)
	fx.ada = fx.ts.SeedOrg(t, "Acme", "ada@example.com")
	fx.bob = fx.ts.SeedMember(t, fx.ada, "bob@example.com", "Bob", "Builder")
	team, err := fx.ts.Store.CreateTeam(context.Background(), fx.ada, "Ops", "Runs things")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.ts.Store.UpdateTeam(context.Background(), fx.ada, team.ID, db.TeamChange{AddUserIDs: []string{fx.bob.UserID}}); err != nil {
		t.Fatal(err)
	}
	other := fx.ts.SeedOrg(t, "Globex", "carol@example.com")
	otherTeam, err := fx.ts.Store.CreateTeam(context.Background(), other, "Sales", "")
	if err != nil {
		t.Fatal(err)
	}
	fx.vars = map[string]string{"$ADA": fx.ada.UserID, "$BOB": fx.bob.UserID, "$TEAM": team.ID,
		"$OTHER": other.UserID, "$OTHERTEAM": otherTeam.ID}
	fx.newSecret(t)
	fx.changes = watchChanges(t, fx.ts.Store.Path())
	return fx
}

// newSecret makes a fresh $SECRET, owned by Ada and readable by Bob: after a request that may have
// changed who can reach the last one.
func (fx *fuzzFixture) newSecret(t testing.TB) {
	t.Helper()
	fx.secrets++
	sec := fx.ts.SeedSecret(t, fx.ada, fmt.Sprintf("FIXTURE_%d_%s", fx.secrets, rand.Text()), "fuzz value")
	fx.ts.SeedShare(t, fx.ada, sec, fx.bob, db.RoleReader)
	fx.vars["$SECRET"] = sec.ID
	keys := slices.Collect(maps.Keys(fx.vars))
	// Longest first, so that $OTHERTEAM is not read as $OTHER followed by TEAM.
	slices.SortFunc(keys, func(a, b string) int { return len(b) - len(a) })
	var pairs []string
	for _, k := range keys {
		pairs = append(pairs, k, fx.vars[k])
	}
	fx.placeholders = strings.NewReplacer(pairs...)
}

// expand replaces the placeholders in s by the fixture's IDs.
func (fx *fuzzFixture) expand(s string) string {
	return fx.placeholders.Replace(s)
}
