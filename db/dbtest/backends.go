package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Backend names a database the suites run against.
type Backend string

const (
	SQLite   Backend = "sqlite"
	Postgres Backend = "postgres"
)

const (
	// urlEnv names the PostgreSQL server the tests create their databases on (scripts/test.sh
	// starts a throwaway one when it is empty).
	urlEnv = "KEYHOLD_TEST_DATABASE_URL"
	// backendEnv, when set, runs the suites against that backend alone. RunSuites sets it for the
	// duration of each run, so that processes started during the run inherit its backend: the
	// workers of go test -fuzz run the test binary again, and a worker must fuzz the backend its
	// coordinator is fuzzing, not run through the whole table itself.
	backendEnv = "KEYHOLD_TEST_BACKEND"
)

// current is the Backend the suite is running against now.
var current atomic.Value

// PostgresURL returns the server's URL and true when PostgreSQL is configured.
func PostgresURL() (string, bool) {
	u := os.Getenv(urlEnv)
	return u, u != ""
}

// Backends is the table of backends: SQLite always; PostgreSQL when KEYHOLD_TEST_DATABASE_URL is set.
// When $CI is set and the URL is not, that is a failure of the run (RunSuites reports it), not a skip.
func Backends() []Backend {
	if _, ok := PostgresURL(); ok {
		return []Backend{SQLite, Postgres}
	}
	return []Backend{SQLite}
}

// Current is the backend the suite is running against now (RunSuites sets it; SQLite otherwise).
func Current() Backend {
	if b, ok := current.Load().(Backend); ok {
		return b
	}
	return SQLite
}

// missingPostgres says why the run fails for want of PostgreSQL: on CI ($CI set) the PostgreSQL half
// of the suites must run, so a missing KEYHOLD_TEST_DATABASE_URL is an error there. Empty: nothing missing.
func missingPostgres() string {
	if _, ok := PostgresURL(); ok || os.Getenv("CI") == "" {
		return ""
	}
	return "dbtest: CI is set but " + urlEnv + " is not: the suites did not run against PostgreSQL " +
		"(scripts/test.sh starts a throwaway server when it is empty)"
}

// RunSuites runs the package's tests once per backend of the table, printing which before each
// run, and returns the exit code for os.Exit (non-zero if any run failed). A package's TestMain
// calls it: func TestMain(m *testing.M) { os.Exit(dbtest.RunSuites(m)) }.
//
// KEYHOLD_TEST_BACKEND=sqlite (or postgres) runs the suites against that backend alone.
func RunSuites(m *testing.M) int {
	if !flag.Parsed() {
		flag.Parse()
	}
	// Listing the tests (go test -list) lists them once, and prints nothing else.
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		return m.Run()
	}
	backends := Backends()
	if only := Backend(os.Getenv(backendEnv)); only != "" {
		if !slices.Contains(backends, only) {
			fmt.Fprintf(os.Stderr, "dbtest: %s=%s, but the backends are %v (%s names the PostgreSQL server)\n", backendEnv, only, backends, urlEnv)
			return 2
		}
		backends = []Backend{only}
	}
	// A fuzz worker runs the one backend its coordinator set, quietly: its output goes nowhere.
	worker := false
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		worker = true
	}
	previous, wasSet := os.LookupEnv(backendEnv)
	code := 0
	for _, b := range backends {
		current.Store(b)
		os.Setenv(backendEnv, string(b))
		if !worker {
			fmt.Printf("dbtest: running the tests against %s\n", describe(b))
		}
		if c := m.Run(); c != 0 && code == 0 {
			code = c
		}
	}
	if wasSet {
		os.Setenv(backendEnv, previous)
	} else {
		os.Unsetenv(backendEnv)
	}
	if msg := missingPostgres(); msg != "" && !worker {
		fmt.Fprintln(os.Stderr, msg)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// describe names b for the line RunSuites prints: PostgreSQL with its server, without a password.
func describe(b Backend) string {
	if b != Postgres {
		return string(b)
	}
	raw, _ := PostgresURL()
	if u, err := url.Parse(raw); err == nil {
		return fmt.Sprintf("%s (%s)", b, u.Redacted())
	}
	return string(b)
}

// Location is where a test's fresh, empty database lives on the current backend: a file under
// t.TempDir() named db.FileName's value "keyhold.db" for SQLite, or for PostgreSQL the URL of a new
// database created for this test on the KEYHOLD_TEST_DATABASE_URL server (named "kh_" and 16 random
// hex digits, copied from template0), dropped when the test ends, connections to it or not.
func Location(t testing.TB) string {
	t.Helper()
	if Current() != Postgres {
		// db.FileName, which dbtest cannot import: db's tests import dbtest.
		return filepath.Join(t.TempDir(), "keyhold.db")
	}
	return PostgresDatabase(t)
}

// PostgresDatabase is the URL of a new, empty database for this test on the KEYHOLD_TEST_DATABASE_URL
// server, whatever the current backend (for tests of PostgreSQL alone, in packages whose suites do not
// run per backend), dropped when the test ends. Without a server the test is skipped, and fails when
// $CI is set: there the test script always starts one.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	admin, ok := PostgresURL()
	if !ok {
		if msg := missingPostgres(); msg != "" {
			t.Fatal(msg)
		}
		t.Skip(urlEnv + " is not set: no PostgreSQL server (scripts/test.sh starts a throwaway one)")
	}
	dbURL, name, err := databaseURL(admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := adminExec(ctx, admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0"); err != nil {
		t.Fatalf("dbtest: creating the test's database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := adminExec(ctx, admin, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: dropping the test's database %s: %v", name, err)
		}
	})
	return dbURL
}

// databaseURL returns the URL of a new database name on the server of the URL admin: admin with its
// path (the database) replaced, its user, host and parameters (sslmode...) kept.
func databaseURL(admin string) (dbURL, name string, err error) {
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", "", fmt.Errorf("dbtest: %s must be a postgres:// URL", urlEnv)
	}
	var random [8]byte
	rand.Read(random[:])
	name = "kh_" + hex.EncodeToString(random[:])
	u.Path, u.RawPath = "/"+name, ""
	if q := u.Query(); q.Has("dbname") {
		// A dbname parameter would override the path.
		q.Del("dbname")
		u.RawQuery = q.Encode()
	}
	return u.String(), name, nil
}

// adminExec runs sql on a connection of its own to the server's database of the URL admin.
func adminExec(ctx context.Context, admin, sql string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}
