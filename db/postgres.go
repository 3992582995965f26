package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	neturl "net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL is the engine of keyhold instances that share one database (several behind a load
// balancer). Everything PostgreSQL-specific is in this file:
//   - the queries are the same as SQLite's: they are written with ? and ?N placeholders, which the
//     driver registered here rewrites to $N (rebind), in portable SQL (the "C" collation of every
//     text column makes ordering and lower() those of SQLite);
//   - its migrations are migrations/postgres, applied under an advisory lock so that instances
//     starting together apply each once;
//   - changes are serialized across instances as they are in one SQLite file: each transaction of the
//     committer first takes one advisory transaction lock, so the rules each change checks (the last
//     Owner, the last admin) see every change committed before it, on any instance;
//   - read transactions run at REPEATABLE READ: one snapshot, as SQLite's;
//   - its backend (pgBackend) inserts audit events into audit_events, read events before the read's
//     value is returned, in batches, and learns of other instances' commits by LISTEN/NOTIFY.

// PostgresDriver is the database/sql driver keyhold's PostgreSQL connections use: pgx's, with
// rebind. Tools and tests that query a keyhold database directly can use it with the same SQL.
const PostgresDriver = "keyhold-pgx"

const pgDriverName = PostgresDriver

func init() { sql.Register(pgDriverName, pgDriver{}) }

// IsPostgres reports whether loc, where a store lives, is a PostgreSQL URL rather than a SQLite file.
func IsPostgres(loc string) bool {
	return strings.HasPrefix(loc, "postgres://") || strings.HasPrefix(loc, "postgresql://")
}

// Advisory lock keys: one for migrations (a session lock), one that serializes changes (a
// transaction lock). Arbitrary constants, "keyhold" in ASCII and that plus one.
const (
	pgMigrateLock = 0x6b6579686f6c64
	pgChangeLock  = 0x6b6579686f6c65
)

// pgNotifyChannel carries "an instance committed a change"; the payload is the instance's ID.
const pgNotifyChannel = "keyhold_changes"

// openPostgres opens the database at url: the committer's one connection and the read pool.
func openPostgres(ctx context.Context, url string, opt Options) (*engine, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("db: the database URL: %w", err)
	}
	_ = cfg // parsed for its error only: the URL's password is never echoed
	w, err := sql.Open(pgDriverName, url)
	if err != nil {
		return nil, fmt.Errorf("db: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("db: connect to PostgreSQL: %w", err)
	}
	r, err := sql.Open(pgDriverName, url)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("db: open: %w", err)
	}
	r.SetMaxOpenConns(opt.ReadConns)
	r.SetMaxIdleConns(opt.ReadConns)
	return &engine{
		w: w, r: r,
		migrations: "migrations/postgres/*.sql",
		readTx:     &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead},
		lockMigrations: func(ctx context.Context) (func(), error) {
			if _, err := w.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, int64(pgMigrateLock)); err != nil {
				return nil, fmt.Errorf("db: migration lock: %w", err)
			}
			return func() {
				_, _ = w.ExecContext(context.Background(), `SELECT pg_advisory_unlock(?)`, int64(pgMigrateLock))
			}, nil
		},
		beginGroup: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(pgChangeLock))
			return err
		},
		backend: func(m *machine) (backend, error) { return openPGBackend(m, url) },
	}, nil
}

// pgBackend is the machine's PostgreSQL half (see backend).
type pgBackend struct {
	m  *machine
	id string // this instance's ID, the payload of its notifications
	db *sql.DB

	reads   chan pgRead
	touches chan pgTouch
	quit    chan struct{}
	wg      sync.WaitGroup
}

type pgRead struct {
	r    auditRecord
	done chan error
}

// pgTouch is a key's use to record or, with done, flush's marker: everything queued before it is
// written when done closes.
type pgTouch struct {
	r    auditRecord
	done chan struct{}
}

// pgReadBatch bounds the read events one INSERT holds; pgReadWriters is how many INSERTs run at
// once, so that one batch is written while the next gathers.
const (
	pgReadBatch   = 64
	pgReadWriters = 2
)

func openPGBackend(m *machine, url string) (*pgBackend, error) {
	conn, err := sql.Open(pgDriverName, url)
	if err != nil {
		return nil, fmt.Errorf("db: open: %w", err)
	}
	conn.SetMaxOpenConns(pgReadWriters + 1)
	conn.SetMaxIdleConns(pgReadWriters + 1)
	b := &pgBackend{m: m, id: newID(), db: conn, reads: make(chan pgRead, 1024), touches: make(chan pgTouch, 1024),
		quit: make(chan struct{})}
	for range pgReadWriters {
		b.wg.Go(b.writeReads)
	}
	b.wg.Go(b.writeTouches)
	b.wg.Go(func() { b.listen(url) })
	return b, nil
}

// pgInsertAuditSQL is insertAuditSQL without its ON CONFLICT DO NOTHING, which is for SQLite's
// journal replay (journal_id): here an event that cannot be inserted must fail, never vanish.
var pgInsertAuditSQL = strings.TrimSuffix(insertAuditSQL, " ON CONFLICT DO NOTHING")

func auditRow(r auditRecord) []any {
	a, ev := r.a, r.ev
	return []any{ms(r.at), a.OrgID, a.UserID, a.Email, a.APIKeyID, a.APIKeyLabel, a.Source, a.ClientIP,
		ev.Action, ev.SecretID, ev.SecretName, ev.TargetKind, ev.TargetID, ev.TargetName, ev.Role, ev.Detail, nil}
}

// recordChange inserts the change's event in its transaction, and a notification that other
// instances receive once it commits (several in one transaction are delivered as one).
func (b *pgBackend) recordChange(ctx context.Context, tx *sql.Tx, r auditRecord) error {
	if _, err := tx.ExecContext(ctx, pgInsertAuditSQL, auditRow(r)...); err != nil {
		return fmt.Errorf("db: audit: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify(?, ?)`, pgNotifyChannel, b.id); err != nil {
		return fmt.Errorf("db: notify: %w", err)
	}
	return nil
}

// recordRead returns once the read's event has committed into audit_events: concurrent reads share
// one INSERT.
func (b *pgBackend) recordRead(ctx context.Context, r auditRecord) error {
	req := pgRead{r: r, done: make(chan error, 1)}
	select {
	case b.reads <- req:
	case <-b.quit:
		return errAuditClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-b.quit:
		return errAuditClosed
	}
}

// auditUnavailable is a read's refusal when its event could not be inserted: 503 with Retry-After.
// The database being out of reach is logged by the listener when it loses and regains it, not per
// batch; any other failure is logged.
func auditUnavailable(err error) *Error {
	if Unreachable(err) {
		return &Error{Code: CodeUnavailable, Message: UnreachableMessage, RetryAfterSeconds: 1, cause: err}
	}
	return &Error{Code: CodeUnavailable, Message: "The audit trail cannot be written: try again shortly.", RetryAfterSeconds: 1, cause: err}
}

// insertAuditRows is pgInsertAuditSQL for n rows.
func insertAuditRows(n int) string {
	head, tuple, _ := strings.Cut(pgInsertAuditSQL, "VALUES ")
	tuple, tail, _ := strings.Cut(tuple, ")")
	return head + "VALUES " + strings.TrimSuffix(strings.Repeat(tuple+"), ", n), ", ") + tail
}

// writeReads takes the waiting read events, pgReadBatch at most, inserts them in one statement
// (which commits on its own), and answers each.
func (b *pgBackend) writeReads() {
	batch := make([]pgRead, 0, pgReadBatch)
	for {
		select {
		case <-b.quit:
			return
		case req := <-b.reads:
			batch = append(batch[:0], req)
		}
	more:
		for len(batch) < pgReadBatch {
			select {
			case req := <-b.reads:
				batch = append(batch, req)
			default:
				break more
			}
		}
		args := make([]any, 0, len(batch)*auditColumns)
		for _, req := range batch {
			args = append(args, auditRow(req.r)...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := b.db.ExecContext(ctx, insertAuditRows(len(batch)), args...)
		cancel()
		b.m.auditWritten.Add(unlessErr(err, len(batch)))
		if err != nil {
			if !Unreachable(err) {
				b.m.log.Error("audit insert failed; reads refused", "err", err)
			}
			err = auditUnavailable(err)
		}
		for _, req := range batch {
			req.done <- err
		}
		clear(batch)
	}
}

func (b *pgBackend) noteKeyUse(r auditRecord) {
	select {
	case b.touches <- pgTouch{r: r}:
	default: // informational: dropped when the queue is full
	}
}

// writeTouches records API keys' last-used times, at best effort.
func (b *pgBackend) writeTouches() {
	for {
		select {
		case <-b.quit:
			return
		case t := <-b.touches:
			if t.done != nil {
				close(t.done)
				continue
			}
			r := t.r
			at := ms(r.at)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err := b.db.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, at, r.a.APIKeyID, at)
			cancel()
			if err != nil {
				b.m.log.Warn("API key last-used time not recorded", "err", err)
			}
		}
	}
}

// flush waits for the keys' last-used times queued so far: every event is in audit_events already,
// once its recording returned.
func (b *pgBackend) flush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case b.touches <- pgTouch{done: done}:
	case <-b.quit:
		return errAuditClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-b.quit:
		return errAuditClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maintain has nothing to do: PostgreSQL's upkeep is its own (autovacuum).
func (b *pgBackend) maintain() error { return nil }

func (b *pgBackend) close() {
	close(b.quit)
	b.wg.Wait()
	b.db.Close()
}

// listen makes every cached answer stale when another instance commits: it LISTENs on its own
// connection. While it has no connection it cannot know, so caches are made stale every
// ExternalPollInterval until it has one again (and once more then).
func (b *pgBackend) listen(url string) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-b.quit
		cancel()
	}()
	lost := false
	for ctx.Err() == nil {
		err := b.listenOnce(ctx, url, func() {
			if lost {
				b.m.log.Info("the database answers again; change notifications are back")
				lost = false
			}
		})
		if ctx.Err() != nil {
			return
		}
		if !lost {
			b.m.log.Warn("lost the database connection for change notifications; caches are bypassed until it is back", "err", err)
			lost = true
		}
		blind := time.NewTicker(b.m.tune.ExternalPollInterval)
		for retry := time.Now().Add(time.Second); time.Now().Before(retry); {
			b.m.changedElsewhere()
			select {
			case <-ctx.Done():
				blind.Stop()
				return
			case <-blind.C:
			}
		}
		blind.Stop()
	}
}

// listenOnce listens until its connection fails; listening calls back once it listens.
func (b *pgBackend) listenOnce(ctx context.Context, url string, listening func()) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgNotifyChannel); err != nil {
		return err
	}
	// Whatever committed while nobody listened is unknown.
	b.m.changedElsewhere()
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if n.Payload != b.id {
			b.m.changedElsewhere()
		}
	}
}

// pgDriver is pgx's database/sql driver with rebind applied to every query.
type pgDriver struct{}

func (pgDriver) Open(name string) (driver.Conn, error) {
	c, err := stdlib.GetDefaultDriver().Open(name)
	if err != nil {
		return nil, err
	}
	return pgConn{c.(*stdlib.Conn)}, nil
}

// pgConn is a pgx connection whose queries are rebound; every other method is pgx's.
type pgConn struct{ *stdlib.Conn }

func (c pgConn) Prepare(query string) (driver.Stmt, error) { return c.Conn.Prepare(rebind(query)) }

func (c pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

func (c pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

// rebound caches rebind's answers: the queries are the program's constants.
var rebound sync.Map

// rebind rewrites SQLite's placeholders to PostgreSQL's: ?N to $N, and each bare ? to the next $N. It
// leaves string literals, quoted identifiers and comments as they are.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	if q, ok := rebound.Load(query); ok {
		return q.(string)
	}
	var out strings.Builder
	out.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(query) && query[j] != c {
				j++
			}
			out.WriteString(query[i:min(j+1, len(query))])
			i = j
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query) - i
			}
			out.WriteString(query[i : i+j])
			i += j - 1
		case c == '?':
			j := i + 1
			for j < len(query) && query[j] >= '0' && query[j] <= '9' {
				j++
			}
			out.WriteByte('$')
			if j > i+1 {
				out.WriteString(query[i+1 : j])
			} else {
				n++
				out.WriteString(strconv.Itoa(n))
			}
			i = j - 1
		default:
			out.WriteByte(c)
		}
	}
	q := out.String()
	rebound.Store(query, q)
	return q
}

// Unreachable reports whether err is the database's being out of reach: a connection that could not
// be made or broke (PostgreSQL restarting or failing over, the network), or a server shutting down.
// What was in flight was not acknowledged; database/sql opens fresh connections for what follows, so
// service resumes by itself once the database is back. Requests get 503 meanwhile.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch code := pgCode(err); {
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, driver.ErrBadConn), errors.Is(err, net.ErrClosed),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return true
	case strings.HasPrefix(code, "08"), code == "57P01", code == "57P02", code == "57P03": // connection exception, shutdown, starting
		return true
	}
	return pgconn.SafeToRetry(err) || errors.Is(err, pgconn.ErrConnClosed)
}

// RedactURL is a database URL for messages and logs: its password, and the values of parameters
// naming a password (password, sslpassword), replaced by xxxxx; a URL that does not parse is not
// repeated at all.
func RedactURL(v string) string {
	u, err := neturl.Parse(v)
	if err != nil {
		return "(a URL that does not parse)"
	}
	if p, ok := u.User.Password(); ok && p != "" {
		u.User = neturl.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	redacted := false
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
			redacted = true
		}
	}
	if redacted {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// pgCode is the SQLSTATE of a PostgreSQL error, "" for any other error.
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}
