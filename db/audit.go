package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
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
	// organizations); ActionMemberPasswordSet an admin setting a member's.
	ActionPasswordChange    = "user.password_change"
	ActionMemberPasswordSet = "member.password_set"
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
	action, secret_id, secret_name, target_kind, target_id, target_name, role, detail)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// recordTx writes ev inside the transaction of the change it describes: the change and its record
// commit together or not at all.
func recordTx(ctx context.Context, q queryer, a Actor, at time.Time, ev Event) error {
	_, err := q.ExecContext(ctx, insertAuditSQL, ms(at), a.OrgID, a.UserID, a.Email, a.APIKeyID, a.APIKeyLabel, a.Source, a.ClientIP,
		ev.Action, ev.SecretID, ev.SecretName, ev.TargetKind, ev.TargetID, ev.TargetName, ev.Role, ev.Detail)
	if err != nil {
		return fmt.Errorf("db: audit: %w", err)
	}
	return nil
}

// auditWriter records read events (value reveals and API fetches) in batches: every reader waits for
// the commit of the batch that holds its event (group commit), so a value is returned only once its
// read is on disk, while many reads share one transaction.
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
}

type auditReq struct {
	a    Actor
	at   time.Time
	ev   Event
	done chan error // nil for a touch: nobody waits
	// touch records that a.APIKeyID was used at at; with done == nil no event is written.
	touch bool
}

const auditBatchMax = 512

func newAuditWriter(s *Store) *auditWriter {
	w := &auditWriter{s: s, reqs: make(chan auditReq, 4096), quit: make(chan struct{}), stopped: make(chan struct{}), touched: map[string]time.Time{}}
	w.wg.Add(1)
	go w.loop()
	return w
}

var errAuditClosed = errors.New("db: audit writer closed")

// record queues ev and waits until it is committed. It fails closed: an error means the event is not
// recorded and the caller must not hand out what it read.
func (w *auditWriter) record(ctx context.Context, a Actor, ev Event) error {
	now := w.s.now()
	req := auditReq{a: a, at: now, ev: ev, done: make(chan error, 1), touch: w.claimTouch(a, now)}
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
	select {
	case w.reqs <- auditReq{a: a, at: w.s.now(), touch: true}:
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
	batch := make([]auditReq, 0, auditBatchMax)
	for {
		select {
		case req := <-w.reqs:
			batch = append(batch[:0], req)
		case <-w.quit:
			// Drain what was queued before close.
			for {
				select {
				case req := <-w.reqs:
					err := w.write([]auditReq{req})
					if req.done != nil {
						req.done <- err
					}
				default:
					return
				}
			}
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
		err := w.write(batch)
		for _, req := range batch {
			if req.done != nil {
				req.done <- err
			}
		}
	}
}

func (w *auditWriter) write(batch []auditReq) error {
	ctx := context.Background()
	_, err := inTx(ctx, w.s, func(tx *sql.Tx) (struct{}, error) {
		stmt := tx.StmtContext(ctx, w.s.stmts.auditInsert)
		used := map[string]int64{}
		for _, r := range batch {
			a, ev := r.a, r.ev
			if r.touch {
				used[a.APIKeyID] = max(used[a.APIKeyID], ms(r.at))
			}
			if r.done == nil {
				continue
			}
			if _, err := stmt.ExecContext(ctx, ms(r.at), a.OrgID, a.UserID, a.Email, a.APIKeyID, a.APIKeyLabel, a.Source, a.ClientIP,
				ev.Action, ev.SecretID, ev.SecretName, ev.TargetKind, ev.TargetID, ev.TargetName, ev.Role, ev.Detail); err != nil {
				return struct{}{}, err
			}
		}
		for id, at := range used {
			if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, at, id, at); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	if err != nil {
		w.s.log.Error("audit write failed; reads refused", "err", err, "events", len(batch))
		return Errorf(CodeUnavailable, "The audit trail cannot record this read right now, so the value is withheld. Try again shortly.")
	}
	return nil
}

func (w *auditWriter) close() {
	w.once.Do(func() { close(w.quit) })
	w.wg.Wait()
}

// AuditFilter selects audit events. Zero fields match everything.
type AuditFilter struct {
	ActorID  string
	SecretID string
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
	sec, err := s.secretForActor(ctx, s.r, a, secretID)
	if err != nil {
		return nil, err
	}
	if !sec.Access.CanEdit() {
		return nil, Errorf(CodeForbidden, "Only Owners can see a secret's activity.")
	}
	return s.listAudit(ctx, a.OrgID, AuditFilter{SecretID: secretID, Limit: limit})
}

func (s *Store) listAudit(ctx context.Context, orgID string, f AuditFilter) ([]AuditEvent, error) {
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
		WHERE org_id = ? AND (? = '' OR actor_id = ?) AND (? = '' OR secret_id = ?) AND (? = '' OR action = ?)
		AND (? = 0 OR at >= ?) AND (? = 0 OR at < ?) AND (? = 0 OR id < ?)
		ORDER BY id DESC LIMIT ?`,
		orgID, f.ActorID, f.ActorID, f.SecretID, f.SecretID, f.Action, f.Action, from, from, to, to, f.Before, f.Before, f.Limit)
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
