package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// sqliteBackend is the machine's SQLite half (see backend):
//   - read events go to the audit journal, a file beside the database held under a file lock
//     (sqlite_journal.go), and move into audit_events with the changes' events from the outbox
//     (sqlite_audit.go); a process that does not hold the journal commits them in groups instead;
//   - another process's commit is noticed by polling PRAGMA data_version on the writer connection,
//     which changes only when another connection has committed (this process writes through that one
//     connection alone), every ExternalPollInterval;
//   - the upkeep moves WAL checkpoints off the commit path: the writer connection has automatic
//     checkpoints turned off (a checkpoint's fsync would otherwise stall the commit that triggered it
//     and every read waiting on that commit), and maintain runs a PASSIVE checkpoint, which never
//     blocks readers or the writer, on a connection of its own. When the WAL has grown past
//     WALRestartFrames it then starts it over (restartWAL). SQLite still checkpoints when the last
//     connection closes.
type sqliteBackend struct {
	m         *machine
	audit     *auditWriter
	ckpt      *sql.DB // the checkpoints' own connection
	stopWatch func()
	// beforeRestart, when set (by a test), runs before each WAL restart.
	beforeRestart atomic.Pointer[func()]
}

// openSQLiteBackend starts the SQLite backend of m, whose committer runs already.
func openSQLiteBackend(m *machine) (*sqliteBackend, error) {
	b := &sqliteBackend{m: m}
	var err error
	if b.audit, err = newAuditWriter(m); err != nil {
		return nil, err
	}
	if b.ckpt, err = sql.Open("sqlite", dsn(m.path, connPlain)); err != nil {
		b.audit.close()
		return nil, fmt.Errorf("db: open: %w", err)
	}
	b.ckpt.SetMaxOpenConns(1)
	b.stopWatch = b.watchDataVersion()
	return b, nil
}

func (b *sqliteBackend) recordChange(ctx context.Context, tx *sql.Tx, r auditRecord) error {
	return b.audit.recordChange(ctx, tx, r)
}

func (b *sqliteBackend) recordRead(ctx context.Context, r auditRecord) error {
	return b.audit.record(ctx, r)
}

func (b *sqliteBackend) noteKeyUse(r auditRecord) { b.audit.touch(r) }

func (b *sqliteBackend) flush(ctx context.Context) error { return b.audit.sync(ctx) }

func (b *sqliteBackend) close() {
	b.stopWatch()
	b.audit.close()
	b.ckpt.Close()
}

// maintain runs a PASSIVE checkpoint and, when the WAL is WALRestartFrames long or more, restarts it.
// Under steady writes a PASSIVE checkpoint never catches up with the end of the WAL while readers are
// in it, so SQLite never starts it over: it grew by 25 MB/s under the writers benchmark, and every
// page read looks through its index.
func (b *sqliteBackend) maintain() error {
	var busy, frames, copied int
	if err := b.ckpt.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
		if !isDiskFull(err) { // a full disk is logged once, by the writes it refuses (health.go)
			b.m.log.Warn("checkpoint failed", "err", err)
		}
		return err
	}
	if frames < b.m.tune.WALRestartFrames {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.m.onWriter(ctx, b.restartWAL); err != nil {
		b.m.log.Warn("WAL restart failed", "err", err)
		return err
	}
	return nil
}

// restartWAL runs a RESTART checkpoint on the writer connection, between two commits: it copies the
// few pages committed since the PASSIVE one, waits at most 200 ms for readers and other processes (a
// long backup, the CLI) to leave the WAL, and makes the next commit start the WAL over
// (journal_size_limit then trims the file). If they are still there it does nothing, and the next
// upkeep tries again. Changes wait meanwhile, for no longer than that.
func (b *sqliteBackend) restartWAL(ctx context.Context, w *sql.DB) error {
	if f := b.beforeRestart.Load(); f != nil {
		(*f)()
	}
	c, err := w.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `PRAGMA busy_timeout = 200`); err != nil {
		return err
	}
	_, err = c.ExecContext(ctx, `PRAGMA wal_checkpoint(RESTART)`)
	if _, rerr := c.ExecContext(ctx, fmt.Sprintf(`PRAGMA busy_timeout = %d`, busyTimeoutMS)); rerr != nil {
		// The connection must not keep the short timeout: drop it, the pool opens a fresh one.
		c.Raw(func(any) error { return driver.ErrBadConn })
		return errors.Join(err, rerr)
	}
	return err
}

// watchDataVersion polls PRAGMA data_version on the writer connection, between commits, and makes
// every cached answer stale when another process has committed.
func (b *sqliteBackend) watchDataVersion() (stop func()) {
	version := func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var v int64
		err := b.m.onWriter(ctx, func(ctx context.Context, w *sql.DB) error {
			return w.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v)
		})
		if err != nil {
			// Unknown: assume another process changed something.
			b.m.log.Warn("data_version", "err", err)
			return -1
		}
		return v
	}
	// The first value is read before the store answers anything, so a commit of another process
	// after Open is always a change from it.
	last := version()
	return every(b.m.tune.ExternalPollInterval, func() {
		if v := version(); v != last || v < 0 {
			b.m.changedElsewhere()
			last = v
		}
	})
}
