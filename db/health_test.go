package db_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/keyhold/keyhold/db"
)

// sqliteErrors returns real SQLite errors: SQLITE_FULL from a database capped at its size, and a
// UNIQUE violation.
func sqliteErrors(t *testing.T) (full, unique error) {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "raw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1) // the cap below is the connection's
	for _, q := range []string{`CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)`, `INSERT INTO t VALUES ('a', '')`} {
		if _, err := conn.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var pages int
	if err := conn.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	_, full = conn.Exec(`INSERT INTO t VALUES ('b', zeroblob(1000000))`)
	_, unique = conn.Exec(`INSERT INTO t VALUES ('a', '')`)
	if full == nil || unique == nil {
		t.Fatalf("want two failures, got %v and %v", full, unique)
	}
	return full, unique
}

func TestIsDiskFull(t *testing.T) {
	t.Parallel()
	full, unique := sqliteErrors(t)
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"SQLITE_FULL", full, true},
		{"SQLITE_FULL wrapped", fmt.Errorf("db: commit: %w", full), true},
		{"SQLITE_FULL behind a savepoint failure", fmt.Errorf("db: savepoint: %w (after %w)", errors.New("no such savepoint"), full), true},
		{"ENOSPC from a file write", &os.PathError{Op: "write", Path: "journal", Err: syscall.ENOSPC}, true},
		{"EDQUOT from a file write", &os.PathError{Op: "write", Path: "journal", Err: syscall.EDQUOT}, true},
		{"UNIQUE violation", unique, false},
		{"EIO", &os.PathError{Op: "write", Path: "journal", Err: syscall.EIO}, false},
		{"a message that says so", errors.New("database or disk is full"), false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := db.IsDiskFull(tc.err); got != tc.want {
				t.Errorf("IsDiskFull(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// TestStore_DiskFull_ChangesRefusedReadsServed caps the database at its size, as a full disk would:
// changes fail with CodeStorageFull and store nothing, the store reports the disk full, reads are
// served with their events journaled, and once a change succeeds again every read is in the trail.
func TestStore_DiskFull_ChangesRefusedReadsServed(t *testing.T) {
	t.Parallel()
	// No disk probe: its small write fits the capped database, and would end the state at once. Nor
	// the timed move of journaled reads: a few small events may fit the capped pages too, and a move
	// that stores them ends the state as rightly, but at a moment of the scheduler's choosing (under
	// load, between two of the checks below). The listing at the end moves them, as every listing does.
	s := mustOpenAt(t, filepath.Join(t.TempDir(), db.FileName), db.Options{Tuning: db.Tuning{DiskProbeInterval: -1, JournalApplyInterval: -1}})
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	value := canary("on-full-disk")
	sec := mustSecret(t, s, ada, "API_TOKEN", value)
	bob := mustMember(t, s, ada, "bob@example.com")
	if h := s.Health(ctx); !h.Ready {
		t.Fatalf("health before: %+v", h)
	}
	if err := s.LimitPages(0); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 200<<10) // needs new pages
	_, err := s.CreateSecret(ctx, ada, "REFUSED", []byte(big))
	wantCode(t, err, db.CodeStorageFull)
	if msg := db.ErrorMessage(err); !strings.Contains(msg, "disk is full") || strings.Contains(msg, big[:64]) {
		t.Errorf("message %q", msg)
	}
	if !db.IsDiskFull(errors.Unwrap(err)) {
		t.Errorf("the error does not keep its cause: %v", errors.Unwrap(err))
	}
	_, err = s.UpdateSecret(ctx, ada, sec.ID, []byte(big), sec.Version)
	wantCode(t, err, db.CodeStorageFull)
	if h := s.Health(ctx); h.Ready || h.Reason != "the disk is full" {
		t.Errorf("health on a full disk: %+v", h)
	}
	for range 3 {
		if got := mustReveal(t, s, ada, sec.ID); got != value {
			t.Fatalf("reveal on a full disk: %d bytes, want the value", len(got))
		}
	}
	// A change that commits but stores nothing (revoking a grant bob does not hold) proves nothing
	// about the space: the disk is still full.
	if err := s.ChangeAccess(ctx, ada, sec.ID, []db.AccessChange{{Kind: db.PrincipalUser, ID: bob.UserID, Revoke: true}}); err != nil {
		t.Fatal(err)
	}
	if h := s.Health(ctx); h.Ready {
		t.Errorf("health after a change that stored nothing: %+v, want still full", h)
	}

	if err := s.LimitPages(-1); err != nil {
		t.Fatal(err)
	}
	mustSecret(t, s, ada, "AFTER", big)
	if h := s.Health(ctx); !h.Ready {
		t.Errorf("health after a change succeeded: %+v", h)
	}
	events, err := s.ListAudit(ctx, ada, db.AuditFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, e := range events {
		counts[e.Action+" "+e.SecretName]++
	}
	want := map[string]int{"secret.create API_TOKEN": 1, "secret.read API_TOKEN": 3, "secret.create AFTER": 1}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%d × %s in the trail, want %d", counts[k], k, n)
		}
	}
	if counts["secret.create REFUSED"] != 0 || counts["secret.update API_TOKEN"] != 0 {
		t.Errorf("a refused change is in the trail: %v", counts)
	}
	if _, err := s.SecretByName(ctx, ada, "REFUSED"); db.ErrorCode(err) != db.CodeNotFound {
		t.Errorf("the refused secret: %v, want CodeNotFound", err)
	}
	if got := mustReveal(t, s, ada, sec.ID); got != value {
		t.Errorf("the refused update changed the value")
	}
}

// TestStore_DiskProbe_EndsFullState: with nothing else writing, the probe finds that writes work again.
func TestStore_DiskProbe_EndsFullState(t *testing.T) {
	t.Parallel()
	s := mustOpenAt(t, filepath.Join(t.TempDir(), db.FileName), db.Options{Tuning: db.Tuning{DiskProbeInterval: -1}}) // driven by hand
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	if err := s.LimitPages(0); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateSecret(ctx, ada, "REFUSED", []byte(strings.Repeat("x", 200<<10)))
	wantCode(t, err, db.CodeStorageFull)
	if err := s.LimitPages(-1); err != nil {
		t.Fatal(err)
	}
	if h := s.Health(ctx); h.Ready {
		t.Fatalf("health before the probe: %+v", h)
	}
	s.ProbeDisk()
	if h := s.Health(ctx); !h.Ready {
		t.Errorf("health after the probe: %+v", h)
	}
}
