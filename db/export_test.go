package db

import (
	"context"
	"database/sql"
	"fmt"
)

// RotateMasterKeyWithHooks is RotateMasterKey with afterKey run after each re-wrapped key (an error
// interrupts the rotation there, as a crash would) and beforeSwitch run before the transaction that
// switches the master key. Either may be nil.
func RotateMasterKeyWithHooks(ctx context.Context, dbPath string, oldKey, newKey []byte, afterKey func(done int) error, beforeSwitch func() error) (int, error) {
	return rotateMasterKey(ctx, dbPath, oldKey, newKey, rotateHooks{afterKey: afterKey, beforeSwitch: beforeSwitch})
}

// SealValue seals value as CreateSecret does (the organization's data key, org and secret bound in),
// for the benchmarks.
func (s *Store) SealValue(ctx context.Context, orgID, secretID string, value []byte) (keyID string, sealed []byte, err error) {
	return s.seal(ctx, s.r, orgID, secretID, 1, value)
}

// OpenValue opens what SealValue sealed, as RevealSecret does, for the benchmarks.
func (s *Store) OpenValue(ctx context.Context, orgID, secretID, keyID string, sealed []byte) (string, error) {
	return s.open(ctx, s.r, orgID, secretID, 1, keyID, sealed)
}

// SyncAudit moves journaled read events into the database, as a listing does.
func (s *Store) SyncAudit() error { return s.m.syncAudit(context.Background()) }

// sqlite is the store's SQLite backend.
func (s *Store) sqlite() *sqliteBackend { return s.m.back.(*sqliteBackend) }

// BreakAuditJournal makes every read event fail to record: on SQLite it closes the journal's file
// under the writer, as a full or broken disk would; on PostgreSQL a trigger refuses every insert
// into audit_events.
func (s *Store) BreakAuditJournal() {
	if _, ok := s.m.back.(*pgBackend); ok {
		if _, err := s.r.Exec(`CREATE FUNCTION audit_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit down'; END $$;
			CREATE TRIGGER audit_fail BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_fail()`); err != nil {
			panic(err)
		}
		return
	}
	for _, f := range s.sqlite().audit.journal.files {
		f.Close()
	}
}

// AuditJournalFiles are the two files the store journals read events in.
func (s *Store) AuditJournalFiles() [2]string {
	_, files := journalPaths(s.path)
	return files
}

// Change runs fn as a change, through the committer like every change, declaring that it touches
// everything.
func (s *Store) Change(ctx context.Context, fn func(tx *sql.Tx) error) error {
	_, err := inTx(ctx, s, touchesEverything(), func(tx *sql.Tx) (struct{}, error) { return struct{}{}, fn(tx) })
	return err
}

// CommitStats reports the committer's transactions so far, how many of them were paced, and how many
// changes are handed to it and not yet answered.
func (s *Store) CommitStats() (commits, paced, pending int64) {
	c := s.m.commits
	return c.commits.Load(), c.paced.Load(), c.pending.Load()
}

// Checkpoint runs the engine's upkeep once, as the machine does every Tuning.CheckpointInterval.
func (s *Store) Checkpoint() error { return s.m.back.maintain() }

// BeforeWALRestart runs f before each WAL restart, on the committer's goroutine, between two commits.
func (s *Store) BeforeWALRestart(f func()) { s.sqlite().beforeRestart.Store(&f) }

// WriterPragma reads PRAGMA name on the writer connection.
func (s *Store) WriterPragma(name string) (v int64, err error) {
	err = s.m.onWriter(context.Background(), func(ctx context.Context, w *sql.DB) error {
		return w.QueryRowContext(ctx, `PRAGMA `+name).Scan(&v)
	})
	return v, err
}

// IsDiskFull is the engine-specific check behind CodeStorageFull.
var IsDiskFull = isDiskFull

// LimitPages caps the database at its size now plus extra pages, on the writer connection: a change
// that needs more fails with SQLITE_FULL, as on a full disk. A negative extra lifts the cap.
func (s *Store) LimitPages(extra int) error {
	return s.m.onWriter(context.Background(), func(ctx context.Context, w *sql.DB) error {
		limit := int64(0xfffffffe) // SQLite's default
		if extra >= 0 {
			var pages int64
			if err := w.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
				return err
			}
			limit = pages + int64(extra)
		}
		_, err := w.ExecContext(ctx, fmt.Sprintf(`PRAGMA max_page_count = %d`, limit))
		return err
	})
}

// ProbeDisk runs the probe that looks for space again while the disk is full, once.
func (s *Store) ProbeDisk() { s.m.probeDisk() }

// SealLegacy seals value as keyhold did before version history (legacyValueAD), under the
// organization's data key: what resealLegacyValues finds in an older database.
func (s *Store) SealLegacy(ctx context.Context, orgID, secretID string, value []byte) (keyID string, sealed []byte, err error) {
	keyID, aead, err := s.orgDataKey(ctx, s.r, orgID)
	if err != nil {
		return "", nil, err
	}
	return keyID, sealWith(aead, value, legacyValueAD(orgID, secretID)), nil
}
