package db

// The machine is the one home of what stands between the domain code and the database: the committer
// (machine_commit.go), the audit trail's writers, the caches and what makes them stale
// (machine_cache.go), the disk-health state (health.go), and the engine's own half behind the backend
// interface (machine_backend.go; SQLite's is sqlite*.go, PostgreSQL's postgres.go). Domain code runs a change with inTx,
// declaring what it touches (machine_change.go); it never makes a cache stale itself, and never uses
// the writer connection. Its invariants:
//
// Durable when
//   - A change is acknowledged (its method returns nil) only once the transaction holding it has
//     committed, and a commit returns only once the WAL is flushed (SQLite: synchronous=FULL;
//     PostgreSQL: its commit, with synchronous_commit as the server has it, on by default): an
//     acknowledged change survives a crash of the process and a power loss. Its audit event commits
//     with it. A change not acknowledged is all or nothing; previews are always rolled back.
//   - A read's value is returned only once its event is durable: on SQLite appended to the audit
//     journal (one write, not flushed) or, when another process holds the journal, committed;
//     journaled events move into audit_events every JournalApplyInterval, and before any listing of
//     the trail. On PostgreSQL it is committed into audit_events (concurrent reads share one INSERT):
//     no instance holds the only copy of an event, so an instance that dies loses none.
//   - So a crash of the process loses nothing acknowledged or handed out. A power loss can also lose
//     the events of reads journaled since the last move, never a change.
//
// Who writes
//   - After Open, only the committer's goroutine uses the writer connection: changes, previews,
//     sessions and sign-in counters, moves of audit events and the disk probe are handed to it and run
//     in savepoints of its group transactions; the backend's upkeep that needs that connection (a WAL
//     restart, PRAGMA data_version) runs between two of its commits. Before that, Open migrates and
//     checks the master key on it. While reads are served, commits are paced (see committer): a
//     change waits at most CommitDelay more for its commit.
//
// Caches
//   - Each cached answer is filed under a stamp: the counters it depends on, read before the query that
//     produced it. It is served only while the counters still hold that stamp. After a commit, and
//     before any change in it is acknowledged, the committer bumps the counters of what each change
//     declared it touches. So no answer read before a change is served once the change is
//     acknowledged, and a lookup that raced the change files its answer under a stamp already stale.
//   - The fetch cache (SecretByName) holds a secret's row with its value sealed, or "cannot read": it
//     depends on the secret's name in its organization and on access in that organization. Access
//     includes team membership, team nesting and team_closure (nesting.go): every change of those
//     declares touchesAccess, so taking a team out of another stops its members' fetches at once.
//   - The API key cache (AuthenticateAPIKey) holds the actor a key acts as: it depends on API keys
//     (member changes declare them too: a key acts with its user's role), for at most KeyCacheTTL.
//   - The keyring (crypto.go) holds unwrapped data keys and each organization's data key ID for as
//     long as the store is open; nothing makes them stale: an organization gets its one data key when
//     it is created, and rotating the master key re-wraps a data key without changing it.
//   - Everything goes stale when a commit fails (what it changed is unknown) and when another process
//     has committed, which the backend notices: SQLite within ExternalPollInterval (PRAGMA
//     data_version); PostgreSQL by a NOTIFY that each change's transaction sends and every other
//     instance LISTENs for (milliseconds), and while the listening connection is down, caches are made
//     stale every ExternalPollInterval until it is back. That bounds how long an answer can miss
//     another process's change.
//
// Several processes (PostgreSQL)
//   - Each commit of the committer first takes one advisory transaction lock, so changes are
//     serialized across instances as they are in one SQLite file: the rules a change checks (the last
//     Owner, the last admin) see every change committed before it, whichever instance made it.
//
// Tests named after them: TestMachine_WriterFlushesEveryCommit, TestCrash_KillMidLoad (main package),
// TestStore_Audit_ReadRecordedBeforeReturn, TestStore_Audit_JournalReplay,
// TestMachine_SessionWritesQueueBehindChanges, TestMachine_NoKeyLookupSucceedsOnceRevoked,
// TestFetchCache_EveryChangeShowsAtOnce, TestFetchCache_ChangeByAnotherProcess,
// TestPostgres_CachesFollowOtherInstances, TestPostgres_RulesHoldAcrossInstances,
// TestStore_Audit_ChangesFailClosed.

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Tuning are the settings of the machine. Zero values mean the defaults given with each; a negative
// interval turns that background work off (tests then drive it by hand).
type Tuning struct {
	// CommitDelay and CommitSiblings pace commits while changes queue beside reads (see committer):
	// default 10ms and 4. A negative CommitDelay never paces.
	CommitDelay    time.Duration
	CommitSiblings int
	// CheckpointInterval is how often the engine's upkeep runs (SQLite: a PASSIVE checkpoint of the
	// WAL): default 1s.
	CheckpointInterval time.Duration
	// WALRestartFrames is the length of the WAL, in pages, past which the upkeep also starts it over:
	// default 8192 (32 MiB).
	WALRestartFrames int
	// JournalApplyInterval is how often journaled read events move into the database: default 250ms.
	JournalApplyInterval time.Duration
	// JournalReserve is the space each audit journal file keeps allocated, for reads on a full disk:
	// default 8 MiB.
	JournalReserve int64
	// ExternalPollInterval is how often the store asks whether another process committed (SQLite:
	// PRAGMA data_version): default 100ms.
	ExternalPollInterval time.Duration
	// KeyCacheTTL bounds how long a cached API key lookup is served: default 2s; negative: never.
	KeyCacheTTL time.Duration
	// DiskProbeInterval is how often, while the disk is full, the store looks for space again: default
	// 1s.
	DiskProbeInterval time.Duration
}

func (t *Tuning) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&t.CommitDelay, 10*time.Millisecond)
	def(&t.CheckpointInterval, time.Second)
	def(&t.JournalApplyInterval, 250*time.Millisecond)
	def(&t.ExternalPollInterval, 100*time.Millisecond)
	def(&t.KeyCacheTTL, 2*time.Second)
	def(&t.DiskProbeInterval, time.Second)
	if t.CommitSiblings <= 0 {
		t.CommitSiblings = 4
	}
	if t.WALRestartFrames <= 0 {
		t.WALRestartFrames = 8192
	}
	if t.JournalReserve <= 0 {
		t.JournalReserve = 8 << 20
	}
}

// machine is the committer, the audit trail's writers, the caches and their counters, the disk-health
// state and the backend, with the invariants above.
type machine struct {
	w    *sql.DB // the writer connection: the committer's alone
	path string  // the SQLite file; "" on PostgreSQL
	// beginGroup, when set, runs first in each of the committer's transactions (engine.beginGroup).
	beginGroup func(ctx context.Context, tx *sql.Tx) error
	log        *slog.Logger
	now        func() time.Time
	tune       Tuning

	commits *committer
	back    backend
	stamps  stamps
	fetches *stampCache[fetchKey, *Secret]
	keys    *stampCache[[32]byte, cachedKey]
	health  health
	// reads counts the read events recorded: the committer paces writes only while reads are served.
	reads atomic.Int64
	// auditWritten counts read events written into audit_events, signInFailures failed password
	// checks: for Stats only.
	auditWritten, signInFailures atomic.Int64

	mu      sync.Mutex
	touched map[string]time.Time // API key ID → when its use was last noted

	stops []func() // the machine's own tickers
}

// startMachine starts the committer on the writer connection w, then the backend (which may hand it
// work: replaying the audit journal), then the upkeep and the disk probe.
func startMachine(e *engine, log *slog.Logger, now func() time.Time, tune Tuning) (*machine, error) {
	m := &machine{w: e.w, path: e.path, beginGroup: e.beginGroup, log: log, now: now, tune: tune, touched: map[string]time.Time{}}
	m.stamps.init()
	m.fetches = newStampCache(m.stamps.fetch, fetchSize, fetchMaxEntries, fetchMaxBytes)
	m.keys = newStampCache[[32]byte, cachedKey](m.stamps.key, nil, keyCacheMaxEntries, 0)
	m.commits = newCommitter(m)
	back, err := e.backend(m)
	if err != nil {
		m.commits.close()
		return nil, err
	}
	m.back = back
	m.stops = append(m.stops,
		every(tune.CheckpointInterval, func() { _ = m.back.maintain() }), // logged by maintain
		every(tune.DiskProbeInterval, m.probeDisk))
	return m, nil
}

// close stops the tickers, then the backend (flushing what it holds through the committer), then the
// committer.
func (m *machine) close() {
	for _, stop := range m.stops {
		stop()
	}
	m.back.close()
	m.commits.close()
}

// changedElsewhere makes every cached answer stale: another process has committed.
func (m *machine) changedElsewhere() { m.invalidate(touchesEverything()) }

// onWriter runs fn on the writer connection between two commits, outside any transaction.
func (m *machine) onWriter(ctx context.Context, fn func(ctx context.Context, w *sql.DB) error) error {
	return m.commits.between(ctx, fn)
}

// recordRead records a read's event and returns once it is durable; an error means it is not, and the
// caller must not hand out what it read. An API key's last-used time is noteKeyUse's, which every API
// request went through first (APIRequestActor).
func (m *machine) recordRead(ctx context.Context, a Actor, ev Event) error {
	m.reads.Add(1)
	return m.back.recordRead(ctx, auditRecord{a: a, at: m.now(), ev: ev, event: true})
}

// noteKeyUse records, in the background, that the actor's API key was just used. A key noted less
// than touchEvery ago is skipped.
func (m *machine) noteKeyUse(a Actor) {
	now := m.now()
	if m.claimTouch(a, now) {
		m.back.noteKeyUse(auditRecord{a: a, at: now, touch: true})
	}
}

// touchEvery is how often an API key's last-used time is refreshed.
const touchEvery = 10 * time.Second

// claimTouch reports whether the actor's API key is due a last-used update (none in the last
// touchEvery), and if so marks it done, so that a busy key costs one UPDATE per touchEvery, not one
// per batch.
func (m *machine) claimTouch(a Actor, now time.Time) bool {
	if a.APIKeyID == "" {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if last, ok := m.touched[a.APIKeyID]; ok && now.Sub(last) < touchEvery && !now.Before(last) {
		return false
	}
	if len(m.touched) >= 10000 {
		for id, at := range m.touched {
			if now.Sub(at) >= touchEvery {
				delete(m.touched, id)
			}
		}
	}
	m.touched[a.APIKeyID] = now
	return true
}

// syncAudit returns once every event recorded so far is in audit_events, so that a listing sees it.
func (m *machine) syncAudit(ctx context.Context) error { return m.back.flush(ctx) }

// every runs tick every interval on a goroutine of its own until stop, which waits for a running tick
// to end. A negative interval runs nothing.
func every(interval time.Duration, tick func()) (stop func()) {
	if interval < 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				tick()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
