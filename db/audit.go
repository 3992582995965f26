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

// Audit actions.
const (
	ActionOrgCreate      = "org.create"
	ActionMemberAdd      = "member.add"
	ActionMemberRole     = "member.role"
	ActionMemberRemove   = "member.remove"
	ActionSecretCreate   = "secret.create"
	ActionSecretUpdate   = "secret.update"
	ActionSecretDelete   = "secret.delete"
	ActionSecretRead     = "secret.read"
	ActionAccessGrant    = "access.grant"
	ActionAccessRevoke   = "access.revoke"
	ActionTeamCreate     = "team.create"
	ActionTeamUpdate     = "team.update"
	ActionTeamDelete     = "team.delete"
	ActionTeamMemberAdd  = "team.member_add"
	ActionTeamMemberDrop = "team.member_remove"
	ActionAPIKeyCreate   = "apikey.create"
	ActionAPIKeyRevoke   = "apikey.revoke"
	// ActionPasswordChange is a user changing their own password (recorded in each of their
	// organizations). ActionPasswordReset is the operator resetting a forgotten one, and
	// ActionPasswordResetUsed the user choosing a new one through the reset link.
	ActionPasswordChange    = "user.password_change"
	ActionPasswordReset     = "user.password_reset"
	ActionPasswordResetUsed = "user.password_reset_used"
	// ActionMemberPasswordSet is an admin setting a member's password: no longer possible, kept so
	// that events recorded before read as they did.
	ActionMemberPasswordSet = "member.password_set"
	ActionInvitationCreate  = "invitation.create"
	ActionInvitationRevoke  = "invitation.revoke"
	ActionInvitationAccept  = "invitation.accept"
	ActionInvitationRefuse  = "invitation.refuse"
	// ActionAccessViaTeam is recorded on a secret when someone joins a team that holds a grant on
	// it: they gained the role through the team (TargetName is the person, Detail the team's name,
	// then "; invited by …" when they came in through an invitation).
	ActionAccessViaTeam = "access.via_team"
)

// Event is one audit record. It never holds a secret value.
type Event struct {
	Action     string
	SecretID   string
	SecretName string
	TargetKind string
	TargetID   string
	TargetName string
	Role       string
	Detail     string
}

// AuditEvent is a recorded Event with who, where and when.
type AuditEvent struct {
	Event
	ID          int64
	At          time.Time
	OrgID       string
	ActorID     string
	ActorEmail  string
	APIKeyID    string
	APIKeyLabel string
	Source      string
	ClientIP    string
}

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

// recordTx writes ev inside the transaction of the change it describes: the change and its record
// commit together or not at all. When this process journals read events, the record goes into the
// outbox, numbered in the sequence of the reads, and moves into audit_events with them; otherwise
// straight into audit_events.
func (s *Store) recordTx(ctx context.Context, tx *sql.Tx, a Actor, at time.Time, ev Event) error {
	row := []any{ms(at), a.OrgID, a.UserID, a.Email, a.APIKeyID, a.APIKeyLabel, a.Source, a.ClientIP,
		ev.Action, ev.SecretID, ev.SecretName, ev.TargetKind, ev.TargetID, ev.TargetName, ev.Role, ev.Detail}
	var err error
	if seq, ok := s.audit.nextSeq(); ok {
		_, err = tx.StmtContext(ctx, s.stmts.auditOutbox).ExecContext(ctx, append([]any{seq}, row...)...)
	} else {
		_, err = tx.StmtContext(ctx, s.stmts.auditInsert).ExecContext(ctx, append(row, nil)...) // no journal ID
	}
	if err != nil {
		return fmt.Errorf("db: audit: %w", err)
	}
	return nil
}

// auditWriter records read events (value reveals and API fetches) so that a value is returned only
// once its read is recorded. Each reader appends its event to a journal beside the database (one
// write; durable across a crash of the process, like a WAL commit with synchronous=NORMAL), and
// every applyInterval the journaled events move into audit_events in one transaction, merged in
// sequence with the changes' events from the outbox. So reads cost no database write of their own,
// a change's commit writes its events to one small table, and the index pages of audit_events are
// written once per move, not once per commit. Without the journal, reads are grouped into shared
// transactions (group commit) and changes write their events straight into audit_events.
type auditWriter struct {
	s    *Store
	reqs chan auditReq
	wg   sync.WaitGroup
	once sync.Once
	quit chan struct{}
	// stopped is closed when loop has returned: nothing queued after that is ever answered.
	stopped chan struct{}

	mu      sync.Mutex
	touched map[string]time.Time // API key ID → when touch last queued it

	// journal, when this process owns it, makes read events durable: each reader appends its own,
	// and the loop moves them into the database every applyInterval. Without it (another process
	// owns the journal) reads go through reqs, and every batch is a database transaction.
	journal *journal
	syncs   chan chan error
	// lastJID is the last journal ID handed out, to a read event or to a change's event in the
	// outbox: one sequence, so that a move lists them in the order they happened. IDs increase, so
	// each move adds to the end of the journal-ID index instead of writing a page at a random place
	// per event.
	lastJID atomic.Int64
	// reads counts the read events recorded: the committer paces writes only while reads are served.
	reads atomic.Int64
}

type auditReq struct {
	a    Actor
	at   time.Time
	ev   Event
	done chan error // nil for a touch: nobody waits
	// event is set for a read event; touch records that a.APIKeyID was used at at.
	event bool
	touch bool
	// jid identifies the event in the journal, so that replaying it after a crash inserts it once.
	jid int64
}

const auditBatchMax = 512

// applyInterval is how often journaled read events are moved into the database.
const applyInterval = 250 * time.Millisecond

func newAuditWriter(s *Store) *auditWriter {
	w := &auditWriter{s: s, reqs: make(chan auditReq, 4096), quit: make(chan struct{}), stopped: make(chan struct{}),
		touched: map[string]time.Time{}, syncs: make(chan chan error)}
	j, err := openJournal(s.path)
	if err != nil {
		s.log.Warn("audit journal unavailable; read events go straight to the database", "err", err)
	}
	if j != nil && j.reserveErr != nil {
		s.log.Warn("audit journal: no space reserved; on a full disk, reads will be refused", "err", j.reserveErr)
	}
	w.journal = j
	// Events journaled before a crash move in now (each is inserted once, by its jid).
	if err := w.apply(); err != nil {
		s.log.Error("replaying the audit journal failed; will retry", "err", err)
	}
	// New IDs follow every ID in use: those in the database and the outbox, and the clock (in
	// nanoseconds, far ahead of any count of events) for a journal that could not be replayed yet.
	var maxJID sql.NullInt64
	if err := s.w.QueryRow(lastJIDSQL).Scan(&maxJID); err != nil {
		s.log.Warn("reading the last audit journal ID", "err", err)
	}
	w.lastJID.Store(max(time.Now().UnixNano(), maxJID.Int64))
	w.wg.Add(1)
	go w.loop()
	return w
}

// lastJIDSQL is the last journal ID in use. Both maxima come from an index (the WHERE names the
// partial index's condition): a scan of the trail would make every start read all of it.
const lastJIDSQL = `SELECT MAX(id) FROM (SELECT MAX(journal_id) AS id FROM audit_events WHERE journal_id IS NOT NULL
	UNION ALL SELECT MAX(seq) FROM audit_outbox)`

var errAuditClosed = errors.New("db: audit writer closed")

// readCount is how many read events have been recorded since the store opened.
func (w *auditWriter) readCount() int64 {
	if w == nil {
		return 0
	}
	return w.reads.Load()
}

// nextSeq numbers a change's event for the outbox; ok is false when this process does not journal
// read events (another process owns the journal, or there is no writer yet, during migrations), and
// the event goes straight into audit_events.
func (w *auditWriter) nextSeq() (seq int64, ok bool) {
	if w == nil || w.journal == nil {
		return 0, false
	}
	return w.lastJID.Add(1), true
}

// record queues ev and waits until it is committed. It fails closed: an error means the event is not
// recorded and the caller must not hand out what it read.
func (w *auditWriter) record(ctx context.Context, a Actor, ev Event) error {
	w.reads.Add(1)
	now := w.s.now()
	req := auditReq{a: a, at: now, ev: ev, done: make(chan error, 1), event: true, touch: w.claimTouch(a, now), jid: w.lastJID.Add(1)}
	if w.journal != nil {
		select {
		case <-w.stopped:
			return errAuditClosed
		default:
		}
		if err := w.journal.append(req); err != nil {
			w.s.noteWrite(err, false)
			if !isDiskFull(err) { // a full disk is logged once (health.go)
				w.s.log.Error("audit journal append failed; read refused", "err", err)
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

// touchEvery is how often an API key's last-used time is refreshed by touch.
const touchEvery = 10 * time.Second

// touch queues a note that the actor's API key was used, for the next batch, without waiting: the
// last-used time is informational, so a full queue drops the note rather than slow the request. A key
// noted less than touchEvery ago is skipped.
func (w *auditWriter) touch(a Actor) {
	if !w.claimTouch(a, w.s.now()) {
		return
	}
	if w.journal != nil {
		_ = w.journal.append(auditReq{a: a, at: w.s.now(), touch: true}) // informational: a failure only loses the note
		return
	}
	select {
	case w.reqs <- auditReq{a: a, at: w.s.now(), touch: true}: // no event, nobody waits
	default:
	}
}

// claimTouch reports whether the actor's API key is due a last-used update (none in the last
// touchEvery), and if so marks it done, so that a busy key costs one UPDATE per touchEvery, not one
// per batch.
func (w *auditWriter) claimTouch(a Actor, now time.Time) bool {
	if a.APIKeyID == "" {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if last, ok := w.touched[a.APIKeyID]; ok && now.Sub(last) < touchEvery && !now.Before(last) {
		return false
	}
	if len(w.touched) >= 10000 {
		for id, at := range w.touched {
			if now.Sub(at) >= touchEvery {
				delete(w.touched, id)
			}
		}
	}
	w.touched[a.APIKeyID] = now
	return true
}

func (w *auditWriter) loop() {
	defer w.wg.Done()
	defer close(w.stopped)
	tick := time.NewTicker(applyInterval)
	defer tick.Stop()
	batch := make([]auditReq, 0, auditBatchMax)
	for {
		select {
		case req := <-w.reqs:
			batch = append(batch[:0], req)
		case reply := <-w.syncs:
			reply <- w.apply()
			continue
		case <-tick.C:
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

// commit writes a batch of read events in one database transaction (the path without a journal)
// and answers everyone waiting on it. A failure answers CodeUnavailable: the reads are refused.
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
	if !w.s.mayWrite() {
		// The disk is full still: the events wait in the journal, and no transaction is tried only
		// to fail.
		return errAuditFull(nil)
	}
	var (
		old   int
		batch []auditReq
		moved int
	)
	err := inAuditTx(w.s, func(ctx context.Context, tx *sql.Tx) error {
		// Taken once the transaction holds the writer connection: no change commits between the
		// two reads.
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
		moved = len(events)
		if len(changes) > 0 {
			// Everything in the outbox was read above: the writer connection is this transaction's.
			if _, err := tx.ExecContext(ctx, `DELETE FROM audit_outbox`); err != nil {
				return err
			}
		}
		return nil
	})
	w.s.noteWrite(err, moved > 0)
	if err != nil {
		w.journal.restore(batch)
		if isDiskFull(err) { // logged once (health.go)
			return errAuditFull(err)
		}
		w.s.log.Error("moving audit events failed; will retry", "err", err, "events", len(batch))
		return Errorf(CodeUnavailable, "The audit trail cannot record this read right now, so the value is withheld. Try again shortly.")
	}
	reserved := w.journal.reserveErr == nil
	if err := w.journal.done(old); err != nil {
		w.s.log.Error("audit journal reset failed", "err", err)
		return err
	}
	if err := w.journal.reserveErr; reserved && err != nil {
		w.s.log.Warn("audit journal: its space could not be reserved again; on a full disk, reads will be refused", "err", err)
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
		r := auditReq{event: true}
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

// inAuditTx runs one of the audit writer's own transactions: alone (not through the committer, which
// may be waiting for it), and without making cached fetch answers stale (audit rows change no one's
// access).
func inAuditTx(s *Store, fn func(ctx context.Context, tx *sql.Tx) error) error {
	ctx := context.Background()
	return s.runAlone(&txOp{ctx: ctx, run: func(tx *sql.Tx) error { return fn(ctx, tx) }, committed: func() {}})
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

// write inserts a batch of read events (and API key last-used times) in one transaction. Events
// carry their journal ID, so a batch written twice (replayed after a crash) is inserted once.
func (w *auditWriter) write(batch []auditReq) error {
	err := inAuditTx(w.s, func(ctx context.Context, tx *sql.Tx) error {
		return w.insert(ctx, tx, batch)
	})
	w.s.noteWrite(err, true)
	if err != nil {
		w.s.log.Error("audit write failed", "err", err, "events", len(batch))
		return Errorf(CodeUnavailable, "The audit trail cannot record this read right now, so the value is withheld. Try again shortly.")
	}
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
			if err := flush(w.s.stmts.auditInsertMany); err != nil {
				return err
			}
		}
	}
	// The rest one row at a time.
	for len(rows) > 0 {
		one := rows[:auditColumns]
		if _, err := tx.StmtContext(ctx, w.s.stmts.auditInsert).ExecContext(ctx, one...); err != nil {
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
}

// AuditFilter selects audit events. Zero fields match everything.
type AuditFilter struct {
	ActorID string
	// Secret is a secret's ID, or its exact name: then the events of every secret of the
	// organization that has or had that name, deleted ones included.
	Secret   string
	Action   string
	From, To time.Time
	// Before pages backwards: only events with ID < Before.
	Before int64
	Limit  int
}

// ListAudit lists the organization's audit events, newest first. Admins only.
func (s *Store) ListAudit(ctx context.Context, a Actor, f AuditFilter) ([]AuditEvent, error) {
	if !a.IsAdmin() {
		return nil, Errorf(CodeForbidden, "Only organization admins can read the audit log.")
	}
	return s.listAudit(ctx, a.OrgID, f)
}

// SecretActivity lists the audit events of one secret, newest first. Owners only.
func (s *Store) SecretActivity(ctx context.Context, a Actor, secretID string, limit int) ([]AuditEvent, error) {
	sec, err := s.SecretByID(ctx, a, secretID)
	if err != nil {
		return nil, err
	}
	if !sec.Access.CanEdit() {
		return nil, Errorf(CodeForbidden, "Only Owners can see a secret's activity.")
	}
	return s.listAudit(ctx, a.OrgID, AuditFilter{Secret: secretID, Limit: limit})
}

func (s *Store) listAudit(ctx context.Context, orgID string, f AuditFilter) ([]AuditEvent, error) {
	if err := s.audit.sync(ctx); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var from, to int64
	if !f.From.IsZero() {
		from = ms(f.From)
	}
	if !f.To.IsZero() {
		to = ms(f.To)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, org_id, actor_id, actor_email, api_key_id, api_key_label, source, client_ip,
		action, secret_id, secret_name, target_kind, target_id, target_name, role, detail
		FROM audit_events
		WHERE org_id = ?1 AND (?2 = '' OR actor_id = ?2) AND (?3 = '' OR action = ?3)
		AND (?4 = '' OR secret_id = ?4 OR secret_id IN (SELECT id FROM secrets WHERE org_id = ?1 AND name = ?4))
		AND (?5 = 0 OR at >= ?5) AND (?6 = 0 OR at < ?6) AND (?7 = 0 OR id < ?7)
		ORDER BY id DESC LIMIT ?8`,
		orgID, f.ActorID, f.Action, f.Secret, from, to, f.Before, f.Limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.OrgID, &e.ActorID, &e.ActorEmail, &e.APIKeyID, &e.APIKeyLabel, &e.Source, &e.ClientIP,
			&e.Action, &e.SecretID, &e.SecretName, &e.TargetKind, &e.TargetID, &e.TargetName, &e.Role, &e.Detail); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
