package dbtest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// ranUnder is the backend of each run of TestCurrent, in order.
var ranUnder []Backend

func TestMain(m *testing.M) {
	want := Backends()
	if only := Backend(os.Getenv(backendEnv)); only != "" {
		want = []Backend{only}
	}
	code := RunSuites(m)
	// RunSuites ran the tests once per backend, with Current set to it (unless -run left TestCurrent out).
	if ran := slices.Compact(ranUnder); code == 0 && len(ran) > 0 && !slices.Equal(ran, want) {
		fmt.Printf("dbtest: TestCurrent ran under %v, want %v\n", ran, want)
		code = 1
	}
	os.Exit(code)
}

func TestCurrent(t *testing.T) {
	ranUnder = append(ranUnder, Current())
	backends := Backends()
	if backends[0] != SQLite {
		t.Errorf("Backends() = %v: SQLite first", backends)
	}
	if _, ok := PostgresURL(); ok != slices.Contains(backends, Postgres) {
		t.Errorf("Backends() = %v with %s set: %v", backends, urlEnv, ok)
	}
	if !slices.Contains(backends, Current()) {
		t.Errorf("Current() = %q, not one of %v", Current(), backends)
	}
}

func TestMissingPostgres(t *testing.T) {
	for _, c := range []struct {
		ci, url string
		missing bool
	}{
		{"true", "", true},
		{"true", "postgres://keyhold@127.0.0.1:5432/postgres", false},
		{"", "", false},
		{"", "postgres://keyhold@127.0.0.1:5432/postgres", false},
	} {
		t.Setenv("CI", c.ci)
		t.Setenv(urlEnv, c.url)
		if got := missingPostgres(); (got != "") != c.missing {
			t.Errorf("CI=%q %s=%q: missingPostgres() = %q", c.ci, urlEnv, c.url, got)
		}
	}
}

var nameRE = regexp.MustCompile(`^kh_[0-9a-f]{16}$`)

func TestDatabaseURL(t *testing.T) {
	for _, c := range []struct{ admin, want string }{
		{"postgres://keyhold@127.0.0.1:5432/postgres?sslmode=disable", "postgres://keyhold@127.0.0.1:5432/NAME?sslmode=disable"},
		{"postgresql://u:p%40ss@db.example:6543?sslmode=require", "postgresql://u:p%40ss@db.example:6543/NAME?sslmode=require"},
		{"postgres://u@h/postgres?dbname=other&sslmode=disable", "postgres://u@h/NAME?sslmode=disable"},
	} {
		got, name, err := databaseURL(c.admin)
		if err != nil {
			t.Errorf("databaseURL(%q): %v", c.admin, err)
			continue
		}
		if !nameRE.MatchString(name) {
			t.Errorf("databaseURL(%q) named the database %q", c.admin, name)
		}
		if want := regexp.MustCompile(`\bNAME\b`).ReplaceAllString(c.want, name); got != want {
			t.Errorf("databaseURL(%q) = %q, want %q", c.admin, got, want)
		}
		if _, other, _ := databaseURL(c.admin); other == name {
			t.Errorf("databaseURL(%q) named two databases %q", c.admin, name)
		}
	}
	for _, admin := range []string{"host=127.0.0.1 dbname=postgres", "mysql://h/db", "://"} {
		if got, _, err := databaseURL(admin); err == nil {
			t.Errorf("databaseURL(%q) = %q, want an error", admin, got)
		}
	}
}

// TestLocation checks the current backend's database for a test: fresh, empty, the test's own, and
// gone once the test has ended.
func TestLocation(t *testing.T) {
	switch Current() {
	case SQLite:
		var loc string
		t.Run("test", func(t *testing.T) {
			loc = Location(t)
			if !filepath.IsAbs(loc) || filepath.Base(loc) != "keyhold.db" {
				t.Fatalf("Location = %q, want an absolute path to a keyhold.db", loc)
			}
			if entries, err := os.ReadDir(filepath.Dir(loc)); err != nil || len(entries) != 0 {
				t.Fatalf("the directory of Location %q: %v entries, %v; want an empty one", loc, len(entries), err)
			}
			if err := os.WriteFile(loc, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			if other := Location(t); filepath.Dir(other) == filepath.Dir(loc) {
				t.Errorf("Location twice in a test: %q, %q", loc, other)
			}
		})
		if _, err := os.Stat(filepath.Dir(loc)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Location's directory after the test: %v, want it removed", err)
		}

	case Postgres:
		admin, _ := PostgresURL()
		adminURL, err := url.Parse(admin)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var names []string
		var held *pgx.Conn
		t.Run("test", func(t *testing.T) {
			loc := Location(t)
			u, err := url.Parse(loc)
			if err != nil {
				t.Fatal(err)
			}
			name := u.Path[1:]
			names = append(names, name)
			if !nameRE.MatchString(name) || u.Host != adminURL.Host || u.User.String() != adminURL.User.String() ||
				u.Query().Get("sslmode") != adminURL.Query().Get("sslmode") {
				t.Fatalf("Location = %q on the server %q", loc, admin)
			}
			conn, err := pgx.Connect(ctx, loc)
			if err != nil {
				t.Fatal(err)
			}
			held = conn
			var current string
			var relations int
			if err := conn.QueryRow(ctx, `SELECT current_database(), (SELECT count(*) FROM pg_class c
				JOIN pg_namespace n ON n.oid = c.relnamespace
				WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%')`).Scan(&current, &relations); err != nil {
				t.Fatal(err)
			}
			if current != name || relations != 0 {
				t.Fatalf("Location %q: connected to %q, holding %d relations; want %q, empty", loc, current, relations, name)
			}
			if _, err := conn.Exec(ctx, "CREATE TABLE secrets (name text PRIMARY KEY)"); err != nil {
				t.Fatal(err)
			}
			other, err := url.Parse(Location(t))
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, other.Path[1:])
			if names[1] == name {
				t.Errorf("Location twice in a test: %q, %q", loc, other)
			}
			// held stays connected: the test's end drops the database all the same.
		})
		if held != nil {
			defer held.Close(context.Background())
		}
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var left int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = ANY($1)", names).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if len(names) != 2 || left != 0 {
			t.Errorf("the test's databases %v: %d left after the test", names, left)
		}

	default:
		t.Fatalf("Current() = %q", Current())
	}
}
