package db

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const insertAuditSQL = `INSERT INTO audit_events (at, org_id, actor_id, actor_email, api_key_id, api_key_label, source, client_ip,
	action, secret_id, secret_name, target_kind, target_id, target_name, role, detail, journal_id)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`

// auditColumns is how many values insertAuditSQL binds; auditRowsPerInsert rows go in one statement
// when a batch of read events moves into the database (one statement per row cost more than the rows).
const (
	auditColumns       = 17
	auditRowsPerInsert = 32
)

// insertAuditManySQL is insertAuditSQL for auditRowsPerInsert rows.
var insertAuditManySQL = func() string {
	head, tuple, _ := strings.Cut(insertAuditSQL, "VALUES ")
	tuple, tail, _ := strings.Cut(tuple, ")")
	return head + "VALUES " + strings.TrimSuffix(strings.Repeat(tuple+"), ", auditRowsPerInsert), ", ") + tail
}()

const insertOutboxSQL = `INSERT INTO audit_outbox (seq, at, org_id, actor_id, actor_email, api_key_id, api_key_label, source, client_ip,
	action, secret_id, secret_name, target_kind, target_id, target_name, role, detail)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// auditWriter records read events (value reveals and API fetches) so that a value is returned only
// once its read is recorded. Each reader appends its event to a journal beside the database (one
// write; durable across a crash of the process, like a WAL commit with synchronous=NORMAL), and
// every JournalApplyInterval the journaled events move into audit_events in one change, merged in
// sequence with the changes' events from the outbox. So reads cost no database write of their own,
// a change's commit writes its events to one small table, and the index pages of audit_events are
// written once per move, not once per commit. Without the journal, reads are grouped into shared
// changes (each batch waits for its commit) and changes write their events straight into
// audit_events. Its database work goes through the committer like any change, touching nothing.
type auditWriter struct {
	m     *machine
	stmts auditStatements
	reqs  chan auditReq
	wg    sync.WaitGroup
	once  sync.Once
	quit  chan struct{}
	// stopped is closed when loop has returned: nothing queued after that is ever answered.
	stopped chan struct{}

	// journal, when this process owns it, makes read events durable: each reader appends its own,
	// and the loop moves them into the database every JournalApplyInterval. Without it (another
	// process owns the journal) reads go through reqs, and every batch is a database transaction.
	journal *journal
	syncs   chan chan error
	// lastJID is the last journal ID handed out, to a read event or to a change's event in the
	// outbox: one sequence, so that a move lists them in the order they happened. IDs increase, so
	// each move adds to the end of the journal-ID index instead of writing a page at a random place
	// per event.
	lastJID atomic.Int64
}

// auditStatements are the audit writer's prepared statements, on the writer connection.
type auditStatements struct {
	insert     *sql.Stmt // one audit event
	insertMany *sql.Stmt // auditRowsPerInsert audit events
	outbox     *sql.Stmt // a change's audit event, into the outbox
}

func (st auditStatements) close() { closeStmts(st.insert, st.insertMany, st.outbox) }

// auditReq is an audit record as the SQLite backend handles it.
type auditReq struct {
	auditRecord
	done chan error // nil for a touch: nobody waits
	// jid identifies the event in the journal, so that replaying it after a crash inserts it once.
	jid int64
}

const auditBatchMax = 512

func newAuditWriter(m *machine) (*auditWriter, error) {
	w := &auditWriter{m: m, reqs: make(chan auditReq, 4096), quit: make(chan struct{}), stopped: make(chan struct{}),
		syncs: make(chan chan error)}
	ctx := context.Background()
	var maxJID sql.NullInt64
	err := m.onWriter(ctx, func(ctx context.Context, db *sql.DB) error {
		p := &preparer{ctx: ctx}
		w.stmts = auditStatements{insert: p.prep(db, insertAuditSQL), insertMany: p.prep(db, insertAuditManySQL), outbox: p.prep(db, insertOutboxSQL)}
		return p.err
	})
	if err != nil {
		w.stmts.close()
		return nil, fmt.Errorf("db: prepare: %w", err)
	}
	j, err := openJournal(m.path, m.tune.JournalReserve)
	if err != nil {
		m.log.Warn("audit journal unavailable; read events go straight to the database", "err", err)
	}
	if j != nil && j.reserveErr != nil {
		m.log.Warn("audit journal: no space reserved; on a full disk, reads will be refused", "err", j.reserveErr)
	}
	w.journal = j
	// Events journaled before a crash move in now (each is inserted once, by its jid).
	if err := w.apply(); err != nil {
		m.log.Error("replaying the audit journal failed; will retry", "err", err)
	}
	// New IDs follow every ID in use: those in the database and the outbox, and the clock (in
	// nanoseconds, far ahead of any count of events) for a journal that could not be replayed yet.
	if err := m.onWriter(ctx, func(ctx context.Context, db *sql.DB) error {
		return db.QueryRowContext(ctx, lastJIDSQL).Scan(&maxJID)
	}); err != nil {
		m.log.Warn("reading the last audit journal ID", "err", err)
	}
	w.lastJID.Store(max(time.Now().UnixNano(), maxJID.Int64))
	w.wg.Add(1)
	go w.loop()
	return w, nil
}

// lastJIDSQL is the last journal ID in use. Both maxima come from an index (the WHERE names the
// partial index's condition): a scan of the trail would make every start read all of it.
const lastJIDSQL = `SELECT MAX(id) FROM (SELECT MAX(journal_id) AS id FROM audit_events WHERE journal_id IS NOT NULL
	UNION ALL SELECT MAX(seq) FROM audit_outbox)`

var errAuditClosed = errors.New("db: audit writer closed")

// recordChange writes a change's event in its transaction. When this process journals read events,
// the event goes into the outbox, numbered in the sequence of the reads, and moves into audit_events
// with them; otherwise straight into audit_events.
func (w *auditWriter) recordChange(ctx context.Context, tx *sql.Tx, r auditRecord) error {
	a, ev := r.a, r.ev
	row := []any{ms(r.at), a.OrgID, a.UserID, a.Email, a.APIKeyID, a.APIKeyLabel, a.Source, a.ClientIP,
		ev.Action, ev.SecretID, ev.SecretName, ev.TargetKind, ev.TargetID, ev.TargetName, ev.Role, ev.Detail}
	var err error
	if w.journal != nil {
		seq := w.lastJID.Add(1)
		_, err = tx.StmtContext(ctx, w.stmts.outbox).ExecContext(ctx, append([]any{seq}, row...)...)
	} else {
		_, err = tx.StmtContext(ctx, w.stmts.insert).ExecContext(ctx, append(row, nil)...) // no journal ID
	}
	if err != nil {
		return fmt.Errorf("db: audit: %w", err)
	}
	return nil
}

// record makes a read's event durable and returns. It fails closed: an error means the event is not
// recorded and the caller must not hand out what it read.
func (w *auditWriter) record(ctx context.Context, r auditRecord) error {
	req := auditReq{auditRecord: r, done: make(chan error, 1), jid: w.lastJID.Add(1)}
	if w.journal != nil {
		select {
		case <-w.stopped:
			return errAuditClosed
		default:
		}
		if err := w.journal.append(req); err != nil {
			w.m.noteWrite(err, false)
			if !isDiskFull(err) { // a full disk is logged once (health.go)
				w.m.log.Error("audit journal append failed; read refused", "err", err)
			}
			return Errorf(CodeUnavailable, "The audit trail cannot record this read right now, so the value is withheld. Try again shortly.")
		}
		return nil
	}
	select {
	case w.reqs <- req:
	case <-w.quit:
		return errAuditClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the event is written even if the caller goes away; wait for the outcome. A request
	// that slipped in after the writer drained and stopped gets no answer: that is a failure too.
	select {
	case err := <-req.done:
		return err
	case <-w.stopped:
		select {
		case err := <-req.done:
			return err
		default:
			return errAuditClosed
		}
	}
}

// touch queues a note that an API key was used, for the next batch, without waiting: the last-used
// time is informational, so a full queue drops the note rather than slow the request.
func (w *auditWriter) touch(r auditRecord) {
	if w.journal != nil {
		_ = w.journal.append(auditReq{auditRecord: r}) // informational: a failure only loses the note
		return
	}
	select {
	case w.reqs <- auditReq{auditRecord: r}: // no event, nobody waits
	default:
	}
}

func (w *auditWriter) loop() {
	defer w.wg.Done()
	defer close(w.stopped)
	var tick <-chan time.Time
	if d := w.m.tune.JournalApplyInterval; d > 0 {
		t := time.NewTicker(d)
		defer t.Stop()
		tick = t.C
	}
	batch := make([]auditReq, 0, auditBatchMax)
	for {
		select {
		case req := <-w.reqs:
			batch = append(batch[:0], req)
		case reply := <-w.syncs:
			reply <- w.apply()
			continue
		case <-tick:
			w.apply() //nolint:errcheck // logged; the events stay pending and are retried
			continue
		case <-w.quit:
			// Record what was queued before close, move everything into the database, and stop.
		drain:
			for {
				select {
				case req := <-w.reqs:
					w.commit([]auditReq{req})
				default:
					break drain
				}
			}
			w.apply() //nolint:errcheck // logged; what is left stays in the journal for the next start
			w.journal.close()
			return
		}
	fill:
		for len(batch) < auditBatchMax {
			select {
			case req := <-w.reqs:
				batch = append(batch, req)
			default:
				break fill
			}
		}
		w.commit(batch)
	}
}

// commit writes a batch of read events in one change (the path without a journal) and answers
// everyone waiting on it. A failure answers CodeUnavailable: the reads are refused.
func (w *auditWriter) commit(batch []auditReq) {
	err := w.write(batch)
	for _, req := range batch {
		if req.done != nil {
			req.done <- err
		}
	}
}

// apply moves the journaled read events and the changes' events in the outbox into audit_events, in
// the order of their sequence numbers, and empties the journal file and the outbox. It runs on the
// loop's goroutine only (and once in newAuditWriter, before the loop starts).
func (w *auditWriter) apply() error {
	if w.journal == nil {
		return nil
	}
	if !w.m.mayWrite() {
		// The disk is full still: the events wait in the journal, and no transaction is tried only
		// to fail.
		return errAuditFull(nil)
	}
	var (
		old   int
		batch []auditReq
	)
	err := w.change(func(ctx context.Context, tx *sql.Tx) error {
		// Taken once the change runs on the writer connection: no other change runs between the two
		// reads.
		old, batch = w.journal.take()
		changes, err := w.outbox(ctx, tx)
		if err != nil {
			return err
		}
		events := batch
		if len(changes) > 0 {
			events = append(slices.Clip(batch), changes...)
			slices.SortStableFunc(events, func(a, b auditReq) int { return cmp.Compare(a.jid, b.jid) })
		}
		if err := w.insert(ctx, tx, events); err != nil {
			return err
		}
		if len(changes) > 0 {
			// Everything in the outbox was read above: the writer connection is this change's.
			if _, err := tx.ExecContext(ctx, `DELETE FROM audit_outbox`); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		w.journal.restore(batch)
		if isDiskFull(err) { // logged once (health.go)
			return errAuditFull(err)
		}
		w.m.log.Error("moving audit events failed; will retry", "err", err, "events", len(batch))
		return Errorf(CodeUnavailable, "The audit trail cannot record this read right now, so the value is withheld. Try again shortly.")
	}
	w.m.auditWritten.Add(readEvents(batch))
	reserved := w.journal.reserveErr == nil
	if err := w.journal.done(old); err != nil {
		w.m.log.Error("audit journal reset failed", "err", err)
		return err
	}
	if err := w.journal.reserveErr; reserved && err != nil {
		w.m.log.Warn("audit journal: its space could not be reserved again; on a full disk, reads will be refused", "err", err)
	}
	return nil
}

// errAuditFull is the error of a listing that needs the journaled events moved into the database
// while the disk is full.
func errAuditFull(cause error) error {
	return &Error{Code: CodeStorageFull, cause: cause,
		Message: "The server's disk is full, so the newest audit events cannot be listed yet. Ask the operator to free space, then try again."}
}

// outbox reads the changes' events waiting in the outbox, each as an event with its sequence number.
func (w *auditWriter) outbox(ctx context.Context, tx *sql.Tx) ([]auditReq, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq, at, org_id, actor_id, actor_email, api_key_id, api_key_label, source, client_ip,
		action, secret_id, secret_name, target_kind, target_id, target_name, role, detail FROM audit_outbox`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auditReq
	for rows.Next() {
		r := auditReq{auditRecord: auditRecord{event: true}}
		var at int64
		if err := rows.Scan(&r.jid, &at, &r.a.OrgID, &r.a.UserID, &r.a.Email, &r.a.APIKeyID, &r.a.APIKeyLabel, &r.a.Source, &r.a.ClientIP,
			&r.ev.Action, &r.ev.SecretID, &r.ev.SecretName, &r.ev.TargetKind, &r.ev.TargetID, &r.ev.TargetName, &r.ev.Role, &r.ev.Detail); err != nil {
			return nil, err
		}
		r.at = fromMS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// change runs one of the audit writer's own database changes: through the committer, touching no
// cached answer (audit rows change no one's access).
func (w *auditWriter) change(fn func(ctx context.Context, tx *sql.Tx) error) error {
	ctx := context.Background()
	return w.m.commits.submit(&txOp{ctx: ctx, run: func(tx *sql.Tx) error { return fn(ctx, tx) }})
}

// sync waits until every event recorded so far is in the database, so that a listing sees them.
func (w *auditWriter) sync(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case w.syncs <- reply:
	case <-w.stopped:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// write inserts a batch of read events (and API key last-used times) in one change. Events carry
// their journal ID, so a batch written twice (replayed after a crash) is inserted once.
func (w *auditWriter) write(batch []auditReq) error {
	err := w.change(func(ctx context.Context, tx *sql.Tx) error {
		return w.insert(ctx, tx, batch)
	})
	if err != nil {
		w.m.log.Error("audit write failed", "err", err, "events", len(batch))
		return Errorf(CodeUnavailable, "The audit trail cannot record this read right now, so the value is withheld. Try again shortly.")
	}
	w.m.auditWritten.Add(readEvents(batch))
	return nil
}

// insert adds a batch of read events (and API key last-used times) to tx.
func (w *auditWriter) insert(ctx context.Context, tx *sql.Tx, batch []auditReq) error {
	used := map[string]int64{}
	rows := make([]any, 0, auditRowsPerInsert*auditColumns)
	flush := func(stmt *sql.Stmt) error {
		_, err := tx.StmtContext(ctx, stmt).ExecContext(ctx, rows...)
		rows = rows[:0]
		return err
	}
	for _, r := range batch {
		a, ev := r.a, r.ev
		if r.touch {
			used[a.APIKeyID] = max(used[a.APIKeyID], ms(r.at))
		}
		if !r.event {
			continue
		}
		rows = append(rows, ms(r.at), a.OrgID, a.UserID, a.Email, a.APIKeyID, a.APIKeyLabel, a.Source, a.ClientIP,
			ev.Action, ev.SecretID, ev.SecretName, ev.TargetKind, ev.TargetID, ev.TargetName, ev.Role, ev.Detail, r.jid)
		if len(rows) == cap(rows) {
			if err := flush(w.stmts.insertMany); err != nil {
				return err
			}
		}
	}
	// The rest one row at a time.
	for len(rows) > 0 {
		one := rows[:auditColumns]
		if _, err := tx.StmtContext(ctx, w.stmts.insert).ExecContext(ctx, one...); err != nil {
			return err
		}
		rows = rows[auditColumns:]
	}
	for id, at := range used {
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, at, id, at); err != nil {
			return err
		}
	}
	return nil
}

func (w *auditWriter) close() {
	w.once.Do(func() { close(w.quit) })
	w.wg.Wait()
	w.stmts.close()
}
