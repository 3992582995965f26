package db

import (
	"context"
	"database/sql"
	"time"
)

// backend is the engine's half of the machine: how audit events become durable, how the store learns
// that another process committed, and the engine's upkeep. The committer, the caches and their
// counters, and the disk-health state are the machine's own and work the same over any backend.
//
// There are two. sqliteBackend (sqlite.go): read events go to a journal file held under a file lock,
// change events through an outbox, other processes' commits are noticed by polling PRAGMA
// data_version, and the upkeep is checkpointing and restarting the WAL. pgBackend (postgres.go):
// read events are inserted in batches that commit before recordRead returns (a read answered from
// the fetch cache has no transaction of its own to share), change events go straight into
// audit_events with a NOTIFY, other instances' commits arrive by LISTEN, and there is no upkeep.
// Nothing in the domain code differs between them.
type backend interface {
	// recordChange writes a change's audit event inside the change's transaction.
	recordChange(ctx context.Context, tx *sql.Tx, r auditRecord) error
	// recordRead returns once a read's event is durable. An error means it is not: the read's value
	// must be withheld.
	recordRead(ctx context.Context, r auditRecord) error
	// noteKeyUse records that an API key was used, at r.at, without waiting and at best effort: a
	// key's last-used time is informational.
	noteKeyUse(r auditRecord)
	// flush returns once every event recorded so far is in audit_events, for a listing.
	flush(ctx context.Context) error
	// maintain runs the engine's upkeep once; the machine runs it every CheckpointInterval.
	maintain() error
	// close stops the backend's background work, flushing what it holds through the committer, which
	// still runs.
	close()
}

// auditRecord is an audit event on its way into audit_events, or (touch) a note that the actor's API
// key was used at at.
type auditRecord struct {
	a  Actor
	at time.Time
	ev Event
	// event is set for an event; touch notes that a.APIKeyID was used at at.
	event bool
	touch bool
}
