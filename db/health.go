package db

import (
	"context"
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
//     Tuning.JournalReserve bytes allocated (sqlite_journal.go), which no other file can take. The
//     events wait there while the database refuses them, and move in once it takes writes again. A
//     read whose event cannot be appended is refused, as before.
//   - The disk counts as full from a write that failed for want of space until a write succeeds: any
//     change, a move of journaled events, or the probe, which runs every Tuning.DiskProbeInterval
//     while the disk is full and tries a small write once the filesystem has probeFree bytes free.
//     Nothing needs a restart.
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
	if s.m.diskFull() {
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
func (m *machine) diskFull() bool { return m.health.full.Load() }

// noteWrite records the outcome of a write: a failure for want of space starts the disk-full state,
// and a success ends it when wrote says that the write stored something (a statement that changed
// no row proves nothing: it needed no space). Other failures say nothing about the disk.
func (m *machine) noteWrite(err error, wrote bool) {
	full := isDiskFull(err)
	if full == m.health.full.Load() || !full && (err != nil || !wrote) {
		return
	}
	m.health.mu.Lock()
	defer m.health.mu.Unlock()
	if full == m.health.full.Load() {
		return // another write got here first
	}
	m.health.full.Store(full)
	if full {
		m.health.fullSince = time.Now()
		m.log.Error("the disk is full: changes are refused until space is freed", "dir", filepath.Dir(m.path), "err", err)
	} else {
		m.log.Info("space is back: changes are written again", "full_for", time.Since(m.health.fullSince).Round(time.Millisecond))
	}
}

// mayWrite reports whether a write is worth trying: not while the disk is full and its filesystem has
// less than probeFree bytes free. Where free space cannot be told, it is worth trying.
func (m *machine) mayWrite() bool {
	if !m.diskFull() {
		return true
	}
	free, err := freeBytes(filepath.Dir(m.path))
	return err != nil || free >= probeFree
}

// probeDisk runs every Tuning.DiskProbeInterval: while the disk is full and has room again, it
// writes a row of its own, whose success ends the disk-full state.
func (m *machine) probeDisk() {
	if !m.diskFull() || !m.mayWrite() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The outcome is noted by exec: a failure keeps the state, and is tried again next time.
	_, _ = m.exec(ctx, `INSERT INTO meta (key, value) VALUES ('disk_probe', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, m.now().UTC().Format(time.RFC3339Nano))
}
