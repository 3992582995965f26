package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
)

// Changes that wait while another commits are committed together, each in a savepoint of its own:
// one that fails or panics leaves no trace and gets its own error, and the others commit.
func TestCommitter_GroupKeepsEachChangeAllOrNothing(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "acme", "ada@example.com")
	r := rawDB(t, s)
	// A table of the test's own, in the same database: each change writes a row and may then fail.
	if err := s.Change(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`CREATE TABLE commit_probe (name TEXT PRIMARY KEY)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	write := func(name string) func(tx *sql.Tx) error {
		return func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO commit_probe (name) VALUES (?)`, name)
			return err
		}
	}

	// The first change holds the committer until the others are queued behind it.
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- s.Change(ctx, func(tx *sql.Tx) error {
			<-release
			return write("first")(tx)
		})
	}()
	errBoom := errors.New("refused after writing")
	type outcome struct {
		name     string
		err      error
		panicked any
	}
	changes := []struct {
		name string
		fn   func(tx *sql.Tx) error
	}{
		{"ok_1", write("ok_1")},
		{"fails", func(tx *sql.Tx) error {
			if err := write("fails")(tx); err != nil {
				return err
			}
			return errBoom
		}},
		{"panics", func(tx *sql.Tx) error {
			if err := write("panics")(tx); err != nil {
				return err
			}
			panic("change panicked after writing")
		}},
		{"duplicate", write("ok_1")}, // the same key as ok_1, which runs before it or after it
		{"secret", func(tx *sql.Tx) error { return nil }},
	}
	var wg sync.WaitGroup
	out := make([]outcome, len(changes))
	for i, c := range changes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { out[i].panicked = recover() }()
			out[i].name = c.name
			if c.name == "secret" {
				_, out[i].err = s.CreateSecret(ctx, ada, "GROUPED", []byte("grouped value"))
				return
			}
			out[i].err = s.Change(ctx, c.fn)
		}()
	}
	time.Sleep(200 * time.Millisecond) // let them all queue
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first: %v", err)
	}

	byName := map[string]outcome{}
	for _, o := range out {
		byName[o.name] = o
	}
	okOne, dup := byName["ok_1"], byName["duplicate"]
	if (okOne.err == nil) == (dup.err == nil) {
		t.Fatalf("exactly one of two writes of one key must commit: %v / %v", okOne.err, dup.err)
	}
	if !errors.Is(byName["fails"].err, errBoom) {
		t.Fatalf("the failing change got %v, want its own error", byName["fails"].err)
	}
	if byName["panics"].panicked == nil {
		t.Fatal("a panic in a change did not reach its caller")
	}
	if err := byName["secret"].err; err != nil {
		t.Fatalf("CreateSecret grouped with failing changes: %v", err)
	}
	if got := fetchValue(t, s, ada, "GROUPED"); got != "grouped value" {
		t.Fatalf("grouped secret reads %q", got)
	}
	var names []string
	rows, err := r.Query(`SELECT name FROM commit_probe ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	if fmt.Sprint(names) != "[first ok_1]" {
		t.Fatalf("committed rows %v, want [first ok_1]: a failed change left a row, or a good one lost its row", names)
	}
}

// A change whose caller has gone before the committer reaches it writes nothing.
func TestCommitter_CanceledChangeWritesNothing(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "acme", "ada@example.com")
	release := make(chan struct{})
	go s.Change(ctx, func(tx *sql.Tx) error { <-release; return nil })
	time.Sleep(50 * time.Millisecond)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := s.CreateSecret(cctx, ada, "CANCELED", []byte("v"))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	close(release)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled create: %v, want context.Canceled", err)
	}
	if got := fetchValue(t, s, ada, "CANCELED"); got != "" {
		t.Fatalf("a canceled create was stored: %q", got)
	}
}

// Commits are paced only when changes queue behind a commit while secrets are being read: then the
// next commit waits out the pacing interval and holds them all. A lone writer, or writers with no
// reads beside them, are never paced.
func TestCommitter_PacesConcurrentWritesBesideReads(t *testing.T) {
	t.Parallel()
	// Journaled reads move only when asked: a move is a change of its own, which would add commits.
	s := mustOpenAt(t, filepath.Join(t.TempDir(), db.FileName), db.Options{Tuning: db.Tuning{CommitDelay: 500 * time.Millisecond, CommitSiblings: 4, JournalApplyInterval: -1}})
	ada := mustOrg(t, s, "acme", "ada@example.com")
	mustSecret(t, s, ada, "READ_ME", "v")
	_, paced0, _ := s.CommitStats()
	for i := range 10 {
		mustSecret(t, s, ada, fmt.Sprintf("ALONE_%d", i), "v")
		fetchValue(t, s, ada, "READ_ME")
	}
	if _, paced, _ := s.CommitStats(); paced != paced0 {
		t.Fatalf("%d of a lone writer's commits were paced", paced-paced0)
	}

	// queue holds the committer in one change while five more queue behind it, reads a secret when
	// read is set, and lets them go: it reports how many commits the five took, and how many of
	// those were paced.
	queue := func(prefix string, read bool) (commits, paced int64) {
		held, release := make(chan struct{}), make(chan struct{})
		heldDone := make(chan error, 1)
		go func() { heldDone <- s.Change(ctx, func(tx *sql.Tx) error { close(held); <-release; return nil }) }()
		<-held
		errs := make(chan error, 5)
		for i := range 5 {
			go func() {
				_, err := s.CreateSecret(ctx, ada, fmt.Sprintf("%s_%d", prefix, i), []byte("v"))
				errs <- err
			}()
		}
		for {
			if _, _, pending := s.CommitStats(); pending == 6 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if read {
			fetchValue(t, s, ada, "READ_ME")
		}
		commits0, paced0, _ := s.CommitStats()
		close(release)
		if err := <-heldDone; err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		for i := range 5 {
			if got := fetchValue(t, s, ada, fmt.Sprintf("%s_%d", prefix, i)); got != "v" {
				t.Errorf("%s_%d reads %q", prefix, i, got)
			}
		}
		commits, paced, _ = s.CommitStats()
		return commits - commits0, paced - paced0
	}
	if _, paced := queue("NO_READS", false); paced != 0 {
		t.Errorf("%d commits paced with no reads beside the writers", paced)
	}
	if commits, paced := queue("READS", true); commits != 1 || paced != 1 {
		t.Errorf("beside a read, the five queued changes took %d commits, %d paced; want one paced commit", commits, paced)
	}
}
