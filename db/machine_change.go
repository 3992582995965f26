package db

import (
	"context"
	"database/sql"
	"slices"
	"time"
)

// touches declares what a change writes, so that the machine makes stale exactly the cached answers
// that depend on it (machine.go). Every change declares it where it is run: inTx takes one.
type touches struct {
	everything bool
	// apiKeys: API keys, or who a key acts as (its user's membership and role).
	apiKeys bool
	// orgs: who may read which secret in these organizations (grants, teams and their members,
	// memberships), and anything else of theirs but a secret's row.
	orgs []string
	// secrets: these secret names, each in its organization (a secret's row: created, changed, deleted).
	secrets []secretName
}

type secretName struct{ orgID, name string }

// touchesNothing is what changes no cached answer depends on: sign-in counters, sessions,
// invitations not yet accepted, password hashes and resets, audit events.
var touchesNothing touches

// touchesEverything makes every cached answer stale.
func touchesEverything() touches { return touches{everything: true} }

// touchesAPIKeys is a change of API keys or of who they act as.
func touchesAPIKeys() touches { return touches{apiKeys: true} }

// touchesAccess is a change of who may read what in the organization orgID.
func touchesAccess(orgID string) touches { return touches{orgs: []string{orgID}} }

// touchesSecret is a change of the secret named name in the organization orgID.
func touchesSecret(orgID, name string) touches {
	return touches{secrets: []secretName{{orgID, name}}}
}

// touchedSecret is what a change that returns the secret it changed touches.
func touchedSecret(sec *Secret) touches {
	if sec == nil {
		return touchesNothing
	}
	return touchesSecret(sec.OrgID, sec.Name)
}

// and is what t and u touch together.
func (t touches) and(u touches) touches {
	return touches{everything: t.everything || u.everything, apiKeys: t.apiKeys || u.apiKeys,
		orgs: slices.Concat(t.orgs, u.orgs), secrets: slices.Concat(t.secrets, u.secrets)}
}

// inTx runs fn as a change: through the committer, in a transaction that commits if fn returns nil
// and leaves no trace of it otherwise. Once it has committed, and before inTx returns, what t
// declares is made stale.
func inTx[T any](ctx context.Context, s *Store, t touches, fn func(tx *sql.Tx) (T, error)) (T, error) {
	return inTxTouching(ctx, s, func(T) touches { return t }, fn)
}

// inTxTouching is inTx for a change that learns in its transaction what it touches: touched declares
// it from what fn returned.
func inTxTouching[T any](ctx context.Context, s *Store, touched func(T) touches, fn func(tx *sql.Tx) (T, error)) (T, error) {
	var zero, v T
	err := s.m.commits.submit(&txOp{
		ctx:     ctx,
		run:     func(tx *sql.Tx) (err error) { v, err = fn(tx); return err },
		touched: func() touches { return touched(v) },
	})
	if isDiskFull(err) {
		return zero, errStorageFull(err)
	}
	if err != nil {
		return zero, err
	}
	return v, nil
}

// change runs fn as a change that touches t or, with preview, as a preview of it: the very code of
// the change, always rolled back (which secrets would be deleted).
func change[T any](ctx context.Context, s *Store, preview bool, t touches, fn func(tx *sql.Tx) (T, error)) (T, error) {
	if !preview {
		return inTx(ctx, s, t, fn)
	}
	var zero, v T
	err := s.m.commits.submit(&txOp{ctx: ctx, preview: true, run: func(tx *sql.Tx) (err error) { v, err = fn(tx); return err }})
	if err != nil {
		return zero, err
	}
	return v, nil
}

// exec runs one statement as a change that touches nothing (sessions, the disk probe), and returns
// CodeStorageFull when the disk is full. A statement that changed no row proves nothing about the
// disk.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.m.exec(ctx, query, args...)
}

func (m *machine) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := m.commits.submit(&txOp{ctx: ctx, run: func(tx *sql.Tx) (err error) {
		res, err = tx.ExecContext(ctx, query, args...)
		return err
	}})
	if isDiskFull(err) {
		return nil, errStorageFull(err)
	} else if err != nil {
		return nil, err
	}
	return res, nil
}

// recordTx writes ev inside the transaction of the change it describes: the change and its record
// commit together or not at all.
func (s *Store) recordTx(ctx context.Context, tx *sql.Tx, a Actor, at time.Time, ev Event) error {
	return s.m.back.recordChange(ctx, tx, auditRecord{a: a, at: at, ev: ev, event: true})
}
