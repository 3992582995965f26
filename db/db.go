// Package db is keyhold's model layer: the only road to data. It owns the schema and its migrations,
// the rules on names and values, the Owner/Reader permission checks, sealing values at rest, and the
// audit trail. It knows nothing of HTTP. What is durable when, what each cache serves and what makes
// it stale are written down once, in machine.go.
package db

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationsFS embed.FS

// FileName is the database file inside the data directory.
const FileName = "keyhold.db"

// Options configure Open.
type Options struct {
	// MasterKey is the 32-byte key that wraps every data key.
	MasterKey []byte
	Logger    *slog.Logger
	// Now returns the current time; tests may set it. Defaults to time.Now.
	Now func() time.Time
	// ReadConns is the size of the read pool (default 8).
	ReadConns int
	// SignIn throttles password attempts per account and per client address (default: 5 and 20
	// attempts in 15 minutes, then 15 minutes locked).
	SignIn SignInLimits
	// HashSlots is how many password hashes run at once (default: one fewer than GOMAXPROCS, at
	// least 1); HashQueueWait is how long an attempt waits for a slot before it is refused as busy
	// (default 2s).
	HashSlots     int
	HashQueueWait time.Duration
	// InvitationTTL is how long an invitation link works (default 7 days); ResetTTL how long a
	// password-reset link works (default 24 hours).
	InvitationTTL time.Duration
	ResetTTL      time.Duration
	// MaxVersions is how many versions of a secret are kept, the current one included (default
	// DefaultMaxVersions); older ones are destroyed when a new one is written.
	MaxVersions int
	// TrashWindow is how long a deleted secret can be restored (default DefaultTrashWindow); then
	// PurgeTrash destroys it.
	TrashWindow time.Duration
	// Tuning are the settings of the committer, the audit journal, the caches and the upkeep
	// (machine.go); zero values are the defaults.
	Tuning Tuning
	// Existing refuses a database keyhold has not set up (it has no schema yet) instead of setting it
	// up: for commands that act on a deployment, so that a mistyped database name does not become a
	// new, empty keyhold.
	Existing bool
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ReadConns <= 0 {
		o.ReadConns = 8
	}
	o.SignIn.defaults()
	if o.HashSlots <= 0 {
		o.HashSlots = defaultHashSlots()
	}
	if o.HashQueueWait <= 0 {
		o.HashQueueWait = 2 * time.Second
	}
	if o.InvitationTTL <= 0 {
		o.InvitationTTL = 7 * 24 * time.Hour
	}
	if o.ResetTTL <= 0 {
		o.ResetTTL = 24 * time.Hour
	}
	if o.MaxVersions <= 0 {
		o.MaxVersions = DefaultMaxVersions
	}
	if o.TrashWindow <= 0 {
		o.TrashWindow = DefaultTrashWindow
	}
	o.Tuning.defaults()
}

// Store is keyhold's data: every read and change goes through its methods, which enforce the rules.
type Store struct {
	w    *sql.DB // the one writer connection, the machine's committer's once Open returns
	r    *sql.DB // a pool of read-only connections
	path string  // the SQLite file; "" on PostgreSQL
	loc  string  // what Open was given: the file or the PostgreSQL URL
	// readTx are the options of a read transaction: one snapshot.
	readTx *sql.TxOptions
	log    *slog.Logger
	now    func() time.Time
	keys   *keyring

	signIn    SignInLimits
	hashes    *hashLimiter
	inviteTTL time.Duration
	resetTTL  time.Duration
	// maxVersions and trashWindow are Options.MaxVersions and Options.TrashWindow.
	maxVersions int64
	trashWindow time.Duration

	stmts statements
	// m is the committer, the audit trail's writers, the caches, the disk-health state and the
	// engine's upkeep, with their invariants (machine.go).
	m *machine

	closeOnce sync.Once
	closeErr  error
}

// statements are the prepared queries of the hot paths. database/sql prepares each once per pooled
// connection and reuses it, so SQLite parses them once, not on every request.
type statements struct {
	secretByID   *sql.Stmt // read pool: a secret without its value
	revealByID   *sql.Stmt // read pool: a secret with its sealed value
	revealByName *sql.Stmt // read pool: the SDK fetch by name
	listSecrets  *sql.Stmt // read pool: a page of the Secrets tab
	countSecrets *sql.Stmt // read pool: how many secrets the page is of
	apiKey       *sql.Stmt // read pool: the actor behind an API key
	secretByIDW  *sql.Stmt // writer: secretByID inside a change
	insertSecret *sql.Stmt // writer: a new secret
	insertOwner  *sql.Stmt // writer: its creator's Owner grant
	updateValue  *sql.Stmt // writer: a secret's new value
	keepVersion  *sql.Stmt // writer: the value it replaces, into the history
	trimVersions *sql.Stmt // writer: the versions past the cap
}

// preparer prepares statements until one fails, and keeps that failure.
type preparer struct {
	ctx context.Context
	err error
}

func (p *preparer) prep(db *sql.DB, query string) *sql.Stmt {
	if p.err != nil {
		return nil
	}
	st, err := db.PrepareContext(p.ctx, query)
	p.err = err
	return st
}

// closeStmts closes the statements that were prepared.
func closeStmts(sts ...*sql.Stmt) {
	for _, st := range sts {
		if st != nil {
			st.Close()
		}
	}
}

func (s *Store) prepare(ctx context.Context) error {
	p := &preparer{ctx: ctx}
	s.stmts = statements{
		secretByID:   p.prep(s.r, secretSQL(bySecretID, false)),
		revealByID:   p.prep(s.r, secretSQL(bySecretID, true)),
		revealByName: p.prep(s.r, fetchByNameSQL),
		listSecrets: p.prep(s.r, `SELECT `+secretCols+`, `+accessExpr+` `+secretFrom+` WHERE `+listWhere+`
			ORDER BY s.name LIMIT ?4 OFFSET ?5`),
		countSecrets: p.prep(s.r, countSecretsSQL),
		apiKey:       p.prep(s.r, apiKeySQL),
		secretByIDW:  p.prep(s.w, secretSQL(bySecretID, false)),
		insertSecret: p.prep(s.w, insertSecretSQL),
		insertOwner:  p.prep(s.w, insertOwnerSQL),
		updateValue:  p.prep(s.w, updateValueSQL),
		keepVersion:  p.prep(s.w, keepVersionSQL),
		trimVersions: p.prep(s.w, trimVersionsSQL),
	}
	if p.err != nil {
		return fmt.Errorf("db: prepare: %w", p.err)
	}
	return nil
}

func (st statements) close() {
	closeStmts(st.secretByID, st.revealByID, st.revealByName, st.listSecrets, st.countSecrets, st.apiKey, st.secretByIDW, st.insertSecret,
		st.insertOwner, st.updateValue, st.keepVersion, st.trimVersions)
}

// engine is a database keyhold runs on, as Open opens it: its connections, and the few ways the
// shared code uses them differently. openSQLite (here) and openPostgres (postgres.go) make one each;
// every rule and every query is the same on both.
type engine struct {
	w, r *sql.DB
	path string // the SQLite file; "" on PostgreSQL
	// migrations is the glob of the engine's migrations in migrationsFS.
	migrations string
	// readTx are the options of a read transaction.
	readTx *sql.TxOptions
	// lockMigrations, when set, holds a lock that other processes respect while migrations run, and
	// returns its release.
	lockMigrations func(ctx context.Context) (func(), error)
	// beginGroup, when set, runs first in each transaction of the committer.
	beginGroup func(ctx context.Context, tx *sql.Tx) error
	// backend starts the machine's engine half.
	backend func(m *machine) (backend, error)
}

func (e *engine) close() error { return errors.Join(e.r.Close(), e.w.Close()) }

// Open opens the database at loc, a SQLite file (created if needed) or a PostgreSQL URL
// (postgres://…; see IsPostgres), applies pending migrations, checks the master key against the
// database, and starts the machine (the committer, the audit writer, the upkeep). Close releases it.
func Open(ctx context.Context, loc string, opt Options) (*Store, error) {
	opt.defaults()
	kr, err := newKeyring(opt.MasterKey)
	if err != nil {
		return nil, err
	}
	var e *engine
	if IsPostgres(loc) {
		e, err = openPostgres(ctx, loc, opt)
	} else {
		e, err = openSQLite(loc, opt)
	}
	if err != nil {
		return nil, err
	}
	s := &Store{w: e.w, r: e.r, path: e.path, loc: loc, readTx: e.readTx, log: opt.Logger, now: opt.Now, keys: kr,
		signIn: opt.SignIn, hashes: newHashLimiter(opt.HashSlots, opt.HashQueueWait), inviteTTL: opt.InvitationTTL, resetTTL: opt.ResetTTL,
		maxVersions: int64(opt.MaxVersions), trashWindow: opt.TrashWindow}
	if opt.Existing {
		var versions int
		if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&versions); err != nil || versions == 0 {
			e.close()
			if Unreachable(err) {
				return nil, err
			}
			return nil, Errorf(CodeNotFound, "This database holds no keyhold data: start keyhold serve on it first, or check its name.")
		}
	}
	if err := s.migrate(ctx, e); err != nil {
		e.close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.stmts.close()
		e.close()
		return nil, err
	}
	// From here on the writer connection is the committer's.
	if s.m, err = startMachine(e, opt.Logger, opt.Now, opt.Tuning); err != nil {
		s.stmts.close()
		e.close()
		return nil, err
	}
	return s, nil
}

// openSQLite opens (creating if needed) the SQLite database file at path: the one writer connection
// and the read pool.
func openSQLite(path string, opt Options) (*engine, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	// SQLite gives the -wal and -shm files the mode of the database file: a new one is private.
	f, err := os.OpenFile(abs, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	f.Close()
	w, err := sql.Open("sqlite", dsn(abs, connWriter))
	if err != nil {
		return nil, fmt.Errorf("db: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	r, err := sql.Open("sqlite", dsn(abs, connReader))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("db: open: %w", err)
	}
	r.SetMaxOpenConns(opt.ReadConns)
	r.SetMaxIdleConns(opt.ReadConns)
	return &engine{w: w, r: r, path: abs, migrations: "migrations/*.sql", readTx: &sql.TxOptions{ReadOnly: true},
		backend: func(m *machine) (backend, error) { return openSQLiteBackend(m) }}, nil
}

// connMode says what a connection is for.
type connMode int

const (
	connWriter connMode = iota // the one writer: takes the write lock at BEGIN
	connReader                 // pooled readers: refuse writes
	connPlain                  // maintenance (backup)
)

// busyTimeoutMS is how long a connection waits for a lock another holds (another process: this
// one writes through one connection) before it fails with SQLITE_BUSY.
const busyTimeoutMS = 10000

// dsn builds the connection string. Every pragma is in the DSN so every pooled connection gets it:
// WAL lets readers run beside the writer; the writer commits with synchronous=FULL, flushing the WAL
// to disk before a commit returns, so an acknowledged change survives a power loss (the committer
// groups concurrent changes so the flush is paid once per group); the busy timeout makes a second
// process (the CLI) wait instead of failing.
func dsn(path string, mode connMode) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS))
	sync := "NORMAL" // readers and maintenance: nothing to flush
	if mode == connWriter {
		sync = "FULL"
	}
	q.Add("_pragma", "synchronous("+sync+")")
	// Map the file into memory: a read after another connection's commit re-reads changed pages from
	// the page cache of the kernel without a system call per page. Up to SQLite's largest window
	// (2 GiB): the audit trail grows the file, and pages past a smaller window would each be read
	// with a system call (the README's Performance section has the numbers). Mapped pages are the
	// kernel's page cache, shared and reclaimable, not the process's heap.
	q.Add("_pragma", "mmap_size(2147418112)")
	switch mode {
	case connWriter:
		// Take the write lock at BEGIN, so a transaction never fails half-way on lock upgrade, and
		// leave checkpoints to the machine's upkeep (sqlite.go).
		q.Add("_txlock", "immediate")
		q.Add("_pragma", "wal_autocheckpoint(0)")
		q.Add("_pragma", "journal_size_limit(67108864)") // a restarted WAL is trimmed to 64 MiB
		// Zero what a delete frees: a destroyed version's or purged secret's ciphertext leaves the
		// file (once the WAL is checkpointed), instead of lingering in free pages.
		q.Add("_pragma", "secure_delete(1)")
	case connReader:
		q.Add("_pragma", "query_only(1)")
	}
	// Escaped: in a file: URI, a # or ? in the path would end it, and a % would start an escape.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// Close stops the machine (flushing the audit events it holds) and closes the database. Calling it
// again is a no-op.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.m.close()
		s.stmts.close()
		s.closeErr = errors.Join(s.r.Close(), s.w.Close())
	})
	return s.closeErr
}

// Path is the database file; "" on PostgreSQL.
func (s *Store) Path() string { return s.path }

// Location is where the database is: what Open was given, a SQLite file or a PostgreSQL URL (which
// may hold a password: never log it).
func (s *Store) Location() string { return s.loc }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.r.PingContext(ctx)
}

// migrate applies the pending migrations, checks the master key against the database and re-seals
// values sealed before version history, under the engine's migration lock (PostgreSQL: one instance
// at a time).
func (s *Store) migrate(ctx context.Context, e *engine) error {
	if e.lockMigrations != nil {
		unlock, err := e.lockMigrations(ctx)
		if err != nil {
			return err
		}
		defer unlock()
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("db: migrations table: %w", err)
	}
	names, err := fs.Glob(migrationsFS, e.migrations)
	if err != nil {
		return fmt.Errorf("db: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		var version int
		if _, err := fmt.Sscanf(base, "%d_", &version); err != nil {
			return fmt.Errorf("db: migration %s: no version number", base)
		}
		body, err := migrationsFS.ReadFile(name)
		if err != nil {
			return fmt.Errorf("db: %w", err)
		}
		err = s.migrateTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("apply %s: %w", base, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				version, base, s.now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("db: migrate: %w", err)
		}
	}
	// Still under the lock: the master key is checked, then the values sealed before version
	// history are sealed again, once, by one instance.
	if err := s.checkMasterKey(ctx); err != nil {
		return err
	}
	return s.resealLegacyValues(ctx)
}

// migrateTx runs fn in a transaction of its own on the writer connection, before the machine starts.
func (s *Store) migrateTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// inReadTx runs fn in one read transaction, so that everything it reads is one snapshot.
func inReadTx[T any](ctx context.Context, s *Store, fn func(tx *sql.Tx) (T, error)) (T, error) {
	var zero T
	tx, err := s.r.BeginTx(ctx, s.readTx)
	if err != nil {
		return zero, fmt.Errorf("db: begin read: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck
	return fn(tx)
}

// queryer is what the unexported helpers need: a *sql.Tx or a *sql.DB.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// newID returns a new ID: a UUID of version 7, whose leading bits are the time, so that rows
// created one after another sit side by side in the primary-key indexes (a commit writes one index
// page, not one at a random place per row).
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY constraint failure, on either
// engine.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return pgCode(err) == "23505" // unique_violation
}

// isDiskFull reports whether err is a write that failed for want of space: SQLite's SQLITE_FULL (its
// unix VFS turns ENOSPC from a write into it; extended codes included), or ENOSPC or EDQUOT from a
// file write of keyhold's own (the audit journal). SQLite reports EDQUOT, and ENOSPC from fsync, as
// a plain I/O error that says nothing of the cause: those stay internal errors.
func isDiskFull(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return true
	}
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

// likePattern turns a search text into a LIKE pattern matching it anywhere, with \ as the escape. It
// lower-cases ASCII letters, and queries compare it with lower(column): so matching ignores the case
// of ASCII letters alike on SQLite (whose LIKE would) and PostgreSQL (whose LIKE would not), and
// lower() of both leaves other letters as they are (SQLite's does; PostgreSQL's does in the "C"
// collation keyhold's columns use).
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	lower := strings.Map(func(c rune) rune {
		if 'A' <= c && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return c
	}, q)
	return "%" + r.Replace(lower) + "%"
}
