package db

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// health is what the store knows of its disk. When the data directory's filesystem fills up:
//
//   - A change that cannot be written fails with CodeStorageFull, and nothing of it is stored: SQLite
//     reports SQLITE_FULL before its commit record is in the WAL. What was committed before is safe.
//   - Reads of values go on while their audit events can be journaled: each journal file keeps
//     journalReserve bytes allocated (journal.go), which no other file can take. The events wait
//     there while the database refuses them, and move in once it takes writes again. A read whose
//     event cannot be appended is refused, as before.
//   - The disk counts as full from a write that failed for want of space until a write succeeds: any
//     change, a move of journaled events, or the probe, which runs every probeInterval while the disk
//     is full and tries a small write once the filesystem has probeFree bytes free. Nothing needs a
//     restart.
//
// The state is logged when it starts and when it ends, not once per refused request.
type health struct {
	full atomic.Bool // read on every write: the common case takes no lock

	mu        sync.Mutex // held to change full
	fullSince time.Time  // when full was set
}

// Health is the store's state, for the health endpoints.
type Health struct {
	// Ready is true when the database answers and changes are being written.
	Ready bool
	// Reason says why not in a few words, such as "the disk is full".
	Reason string
}

// probeInterval is how often, while the disk is full, the store looks for free space again.
const probeInterval = time.Second

// probeFree is the free space (of the data directory's filesystem) from which the probe, and the move
// of journaled events, try a write again while the disk is full: below it they would fail, or succeed
// only in space SQLite's WAL already holds.
const probeFree = 1 << 20

// diskFullMessage is the message of a change refused for want of space.
const diskFullMessage = "The server's disk is full, so this change was not saved. Ask the operator to free space, then try again."

// errStorageFull is the CodeStorageFull error of a change that failed with cause.
func errStorageFull(cause error) error {
	return &Error{Code: CodeStorageFull, Message: diskFullMessage, cause: cause}
}

// Health reports whether the database answers and changes are being written: not while the disk is
// full (see health), nor when the database does not answer within 2 seconds.
func (s *Store) Health(ctx context.Context) Health {
	if s.diskFull() {
		return Health{Reason: "the disk is full"}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err != nil {
		return Health{Reason: "the database does not answer"}
	}
	return Health{Ready: true}
}

// diskFull reports whether a write failed for want of space and none has succeeded since.
func (s *Store) diskFull() bool { return s.health.full.Load() }

// noteWrite records the outcome of a write: a failure for want of space starts the disk-full state,
// and a success ends it when wrote says that the write stored something (a statement that changed
// no row proves nothing: it needed no space). Other failures say nothing about the disk.
func (s *Store) noteWrite(err error, wrote bool) {
	full := isDiskFull(err)
	if full == s.health.full.Load() || !full && (err != nil || !wrote) {
		return
	}
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	if full == s.health.full.Load() {
		return // another write got here first
	}
	s.health.full.Store(full)
	if full {
		s.health.fullSince = time.Now()
		s.log.Error("the disk is full: changes are refused until space is freed", "dir", filepath.Dir(s.path), "err", err)
	} else {
		s.log.Info("space is back: changes are written again", "full_for", time.Since(s.health.fullSince).Round(time.Millisecond))
	}
}

// mayWrite reports whether a write is worth trying: not while the disk is full and its filesystem has
// less than probeFree bytes free. Where free space cannot be told, it is worth trying.
func (s *Store) mayWrite() bool {
	if !s.diskFull() {
		return true
	}
	free, err := freeBytes(filepath.Dir(s.path))
	return err != nil || free >= probeFree
}

// probeDisk runs every probeInterval: while the disk is full and has room again, it writes a row of
// its own, whose success ends the disk-full state.
func (s *Store) probeDisk() {
	if !s.diskFull() || !s.mayWrite() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The outcome is noted by exec: a failure keeps the state, and is tried again next time.
	_, _ = s.exec(ctx, `INSERT INTO meta (key, value) VALUES ('disk_probe', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, s.now().UTC().Format(time.RFC3339Nano))
}

// exec runs one statement on the writer connection outside the committer (sessions, sign-in
// counters), noting its outcome for health and returning CodeStorageFull when the disk is full.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		s.noteWrite(err, false)
		if isDiskFull(err) {
			return nil, errStorageFull(err)
		}
		return nil, err
	}
	n, _ := res.RowsAffected()
	s.noteWrite(nil, n > 0)
	return res, nil
}
