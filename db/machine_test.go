package db_test

import (
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
)

// The invariants written down in machine.go, one test each (with the tests it names there).

// A commit returns only once the WAL is on disk: the writer connection commits with
// synchronous=FULL, and leaves checkpoints (and their fsyncs) to the upkeep.
func TestMachine_WriterFlushesEveryCommit(t *testing.T) {
	t.Parallel()
	sqliteOnly(t)
	s := mustOpen(t)
	for pragma, want := range map[string]int64{"synchronous": 2, "wal_autocheckpoint": 0} {
		if got, err := s.WriterPragma(pragma); err != nil || got != want {
			t.Errorf("the writer connection's %s is %d (%v), want %d", pragma, got, err, want)
		}
	}
}

// Only the committer's goroutine uses the writer connection: a session's write waits behind a
// change that holds it, instead of taking the connection beside it.
func TestMachine_SessionWritesQueueBehindChanges(t *testing.T) {
	t.Parallel()
	// No moves of journaled reads: the only changes are the test's.
	s := mustOpenAt(t, filepath.Join(t.TempDir(), db.FileName), db.Options{Tuning: db.Tuning{JournalApplyInterval: -1}})
	ada := mustOrg(t, s, "acme", "ada@example.com")
	held, release := make(chan struct{}), make(chan struct{})
	heldDone := make(chan error, 1)
	go func() {
		heldDone <- s.Change(ctx, func(*sql.Tx) error { close(held); <-release; return nil })
	}()
	<-held
	created := make(chan error, 1)
	go func() {
		_, err := s.CreateSession(ctx, ada.UserID, ada.OrgID)
		created <- err
	}()
	for {
		if _, _, pending := s.CommitStats(); pending == 2 {
			break
		}
		select {
		case err := <-created:
			t.Fatalf("a session was written while a change held the writer connection (%v)", err)
		case <-time.After(time.Millisecond):
		}
	}
	close(release)
	if err := errors.Join(<-heldDone, <-created); err != nil {
		t.Fatal(err)
	}
}

// raced is a change made while lookups of what it changes hammer the store.
type raced struct {
	change func() error
	// lookup looks up what change changes and reports whether it found it as it was before.
	lookup func() (what string, before bool)
	done   atomic.Bool // set once change has returned
}

// raceChanges makes each change in turn while goroutines look up what the change in progress and the
// one before it change, and fails if a lookup that started after a change had returned found what it
// replaced. A change commits while lookups of what it changes are in flight: caches that miss often
// (a short TTL, churn) make some of them queries that read the state before it.
func raceChanges(t *testing.T, changes []*raced) {
	t.Helper()
	var (
		current    atomic.Int64 // the change in progress, or the last one
		stop       atomic.Bool
		lookups    atomic.Int64
		violations atomic.Int64
		firstMu    sync.Mutex
		first      string
		wg         sync.WaitGroup
	)
	for h := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(h), 1))
			for !stop.Load() {
				i := int(current.Load())
				if i > 0 && r.IntN(3) == 0 {
					i-- // the change before: it has returned, and its lookups must show it
				}
				c := changes[i]
				done := c.done.Load() // before the lookup starts
				what, before := c.lookup()
				lookups.Add(1)
				if done && before && violations.Add(1) == 1 {
					firstMu.Lock()
					first = what
					firstMu.Unlock()
				}
			}
		}()
	}
	for i, c := range changes {
		current.Store(int64(i))
		time.Sleep(300 * time.Microsecond) // lookups find, and cache, what is there
		if err := c.change(); err != nil {
			t.Error(err)
			break
		}
		c.done.Store(true)
	}
	time.Sleep(3 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if n := violations.Load(); n > 0 {
		t.Fatalf("%d of %d lookups found what a change that had returned replaced; the first: %s", n, lookups.Load(), first)
	}
	t.Logf("%d changes raced by %d lookups, none stale", len(changes), lookups.Load())
}

// API keys are looked up while keys are revoked, their users removed and their roles changed: once
// the change has returned, no lookup finds the key as it was, also when lookups that raced the
// change were in flight when it committed (with the cache's stamp taken after the query instead of
// before it, this fails).
func TestMachine_NoKeyLookupSucceedsOnceRevoked(t *testing.T) {
	t.Parallel()
	// A very short TTL: lookups of a key miss, and query, all the time, so some are in flight when a
	// change commits; and what one files is served to the lookups of the next 50µs.
	s := mustOpenAt(t, filepath.Join(t.TempDir(), db.FileName), db.Options{Tuning: db.Tuning{KeyCacheTTL: 50 * time.Microsecond}})
	ada := mustOrg(t, s, "acme", "ada@example.com")
	key := func(a db.Actor, label string) (string, *db.APIKey) {
		token, k, err := s.CreateAPIKey(ctx, a, label, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		return token, k
	}
	lookup := func(token string, stillWorks bool) func() (string, bool) {
		return func() (string, bool) {
			a, err := s.AuthenticateAPIKey(ctx, token, "")
			if stillWorks { // a role change: the key works, with the new role
				return fmt.Sprintf("%s acting as %s with role %q (%v)", a.APIKeyLabel, a.Email, a.Role, err), err != nil || a.Role != db.OrgAdmin
			}
			return fmt.Sprintf("%s acting as %s", a.APIKeyLabel, a.Email), err == nil
		}
	}
	var changes []*raced
	for i := range 8 {
		for j := range 50 { // revoking costs no password hash: more of them
			token, k := key(ada, fmt.Sprintf("revoked-%d-%d", i, j))
			changes = append(changes, &raced{lookup: lookup(token, false), change: func() error { return s.RevokeAPIKey(ctx, ada, k.ID) }})
		}
		leaver := mustMember(t, s, ada, fmt.Sprintf("leaver%d@example.com", i))
		token, _ := key(leaver, "leaver's")
		changes = append(changes, &raced{lookup: lookup(token, false), change: func() error {
			_, err := s.RemoveMember(ctx, ada, leaver.UserID)
			return err
		}})
		riser := mustMember(t, s, ada, fmt.Sprintf("riser%d@example.com", i))
		token, _ = key(riser, "riser's")
		changes = append(changes, &raced{lookup: lookup(token, true), change: func() error { return s.SetMemberRole(ctx, ada, riser.UserID, db.OrgAdmin) }})
	}
	raceChanges(t, changes)
}
