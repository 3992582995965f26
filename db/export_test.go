package db

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SetRotateHook lets tests interrupt RotateMasterKey after a number of keys, as a crash would.
func SetRotateHook(f func(done int) error) { rotateHook = f }

// SetRotateSwitchHook runs f before RotateMasterKey's transaction that switches the master key.
func SetRotateSwitchHook(f func() error) { rotateSwitchHook = f }

// SealValue seals value as CreateSecret does (the organization's data key, org and secret bound in),
// for the benchmarks.
func (s *Store) SealValue(ctx context.Context, orgID, secretID string, value []byte) (keyID string, sealed []byte, err error) {
	return s.seal(ctx, s.r, orgID, secretID, value)
}

// OpenValue opens what SealValue sealed, as RevealSecret does, for the benchmarks.
func (s *Store) OpenValue(ctx context.Context, orgID, secretID, keyID string, sealed []byte) (string, error) {
	return s.open(ctx, s.r, orgID, secretID, keyID, sealed)
}

// SyncAudit moves journaled read events into the database, as a listing does.
func (s *Store) SyncAudit() error { return s.audit.sync(context.Background()) }

// BreakAuditJournal closes the journal's file under the writer, so that every append fails as a full
// or broken disk would.
func (s *Store) BreakAuditJournal() {
	for _, f := range s.audit.journal.files {
		f.Close()
	}
}

// AuditJournalFiles are the two files the store journals read events in.
func (s *Store) AuditJournalFiles() [2]string {
	_, files := journalPaths(s.path)
	return files
}

// Change runs fn as a change, through the committer like every change.
func (s *Store) Change(ctx context.Context, fn func(tx *sql.Tx) error) error {
	_, err := inTx(ctx, s, func(tx *sql.Tx) (struct{}, error) { return struct{}{}, fn(tx) })
	return err
}

// SetWALRestartFrames changes the WAL length past which the checkpointer restarts the WAL.
func SetWALRestartFrames(n int) (restore func()) {
	old := walRestartFrames
	walRestartFrames = n
	return func() { walRestartFrames = old }
}

// CommitStats reports the committer's transactions so far, how many of them were paced, and how many
// changes are handed to it and not yet answered.
func (s *Store) CommitStats() (commits, paced, pending int64) {
	return s.commits.commits.Load(), s.commits.paced.Load(), s.commits.pending.Load()
}

// SetCommitPacing changes how the committers of stores opened afterwards pace commits under
// concurrent writes.
func SetCommitPacing(delay time.Duration, siblings int) (restore func()) {
	oldDelay, oldSiblings := commitDelay, commitSiblings
	commitDelay, commitSiblings = delay, siblings
	return func() { commitDelay, commitSiblings = oldDelay, oldSiblings }
}

// IsDiskFull is the engine-specific check behind CodeStorageFull.
var IsDiskFull = isDiskFull

// LimitPages caps the database at its size now plus extra pages, on the writer connection: a change
// that needs more fails with SQLITE_FULL, as on a full disk. A negative extra lifts the cap.
func (s *Store) LimitPages(extra int) error {
	limit := int64(0xfffffffe) // SQLite's default
	if extra >= 0 {
		var pages int64
		if err := s.w.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
			return err
		}
		limit = pages + int64(extra)
	}
	_, err := s.w.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, limit))
	return err
}

// StopDiskProbe stops the probe that looks for space again while the disk is full.
func (s *Store) StopDiskProbe() {
	s.stopProbe()
	s.stopProbe = nil
}

// ProbeDisk runs the probe once.
func (s *Store) ProbeDisk() { s.probeDisk() }
