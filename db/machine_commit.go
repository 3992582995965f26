package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// committer is group commit, and the one user of the writer connection: its goroutine takes every
// change that is waiting (up to maxBatch), runs each in a savepoint of one transaction, and commits
// them together. A commit is durable (synchronous=FULL: the WAL is flushed to disk before the commit
// returns), so an acknowledged change survives a power loss as well as a crash; grouping pays that
// flush once for all the changes that queued behind the previous one, which is what keeps many
// writers fast. Work that needs the connection outside a transaction (between) runs between two
// commits.
//
// Reads come first: under concurrent writes while secrets are being read, commits are paced
// (commit_delay and commit_siblings in PostgreSQL are the same idea). When the last commit held
// CommitSiblings changes or more, or that many are waiting, and a read was recorded since the last
// commit began, the next commit gathers changes until CommitDelay after the last one began. A
// commit's cost is mostly per commit (the WAL flush, the fsync), not per change: pacing holds
// commits to about 1/CommitDelay a second however many writers there are, which leaves the CPU to
// the reads, and costs a change at most CommitDelay of latency. A lone writer, or writers with no
// reads beside them, are never paced.
//
// Each change is still all or nothing: a change that fails rolls back to its savepoint and gets its
// own error while the others commit. No change is acknowledged before the commit that holds it, nor
// before the cached answers it declared it touches are stale; if that commit fails, every change in
// it gets the error.
type committer struct {
	m     *machine
	ops   chan *txOp
	conns chan *connOp
	quit  chan struct{}
	done  chan struct{}
	// delay and siblings pace commits (Tuning.CommitDelay and CommitSiblings); delay < 0 never paces.
	delay    time.Duration
	siblings int64
	// pending counts the changes handed to submit and not yet answered.
	pending atomic.Int64
	// commits and paced count transactions, and those that waited for delay, for tests.
	commits, paced atomic.Int64
	// changes counts the changes those transactions held: for Stats only.
	changes atomic.Int64
}

// txOp is one change waiting for the committer.
type txOp struct {
	ctx context.Context
	run func(tx *sql.Tx) error
	// preview rolls the change back whatever run returns: its outcome is run's alone.
	preview bool
	// touched says, once the change has committed, what it made stale; nil touches nothing.
	touched  func() touches
	result   chan error
	panicked any
}

// connOp is work on the writer connection outside a transaction.
type connOp struct {
	ctx    context.Context
	run    func(ctx context.Context, w *sql.DB) error
	result chan error
}

// maxBatch bounds the changes in one transaction, so that the first of them waits for a bounded
// amount of work.
const maxBatch = 64

var errStoreClosed = errors.New("db: the store is closed")

func newCommitter(m *machine) *committer {
	c := &committer{m: m, ops: make(chan *txOp), conns: make(chan *connOp), quit: make(chan struct{}), done: make(chan struct{}),
		delay: m.tune.CommitDelay, siblings: int64(m.tune.CommitSiblings)}
	go c.loop()
	return c
}

// submit hands op to the committer and waits for its outcome. A panic in op.run is raised again
// here, in the caller's goroutine.
func (c *committer) submit(op *txOp) error {
	op.result = make(chan error, 1)
	c.pending.Add(1)
	defer c.pending.Add(-1)
	select {
	case c.ops <- op:
	case <-c.quit:
		return errStoreClosed
	case <-op.ctx.Done():
		return op.ctx.Err()
	}
	err := <-op.result
	if op.panicked != nil {
		panic(op.panicked)
	}
	return err
}

// between runs fn on the writer connection between two commits and returns its error.
func (c *committer) between(ctx context.Context, fn func(ctx context.Context, w *sql.DB) error) error {
	op := &connOp{ctx: ctx, run: fn, result: make(chan error, 1)}
	select {
	case c.conns <- op:
	case <-c.quit:
		return errStoreClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-op.result
}

func (c *committer) close() {
	close(c.quit)
	<-c.done
}

func (c *committer) loop() {
	defer close(c.done)
	batch := make([]*txOp, 0, maxBatch)
	pace := time.NewTimer(0)
	var (
		lastStart time.Time
		lastSize  int
		lastReads int64
	)
	for {
		select {
		case <-c.quit:
			return
		case op := <-c.conns:
			op.result <- op.run(op.ctx, c.m.w)
			continue
		case op := <-c.ops:
			batch = append(batch[:0], op)
		}
		reads := c.m.reads.Load()
		concurrent := int64(lastSize) >= c.siblings || c.pending.Load() >= c.siblings
		if wait := time.Until(lastStart.Add(c.delay)); wait > 0 && concurrent && reads != lastReads {
			c.paced.Add(1)
			pace.Reset(wait)
		gather:
			for len(batch) < maxBatch {
				select {
				case op := <-c.ops:
					batch = append(batch, op)
				case <-pace.C:
					break gather
				case <-c.quit:
					break gather // commit what is gathered; the loop stops next
				}
			}
			pace.Stop()
		}
	more:
		for len(batch) < maxBatch {
			select {
			case op := <-c.ops:
				batch = append(batch, op)
			default:
				break more
			}
		}
		lastStart, lastSize, lastReads = time.Now(), len(batch), reads
		c.commits.Add(1)
		c.changes.Add(int64(len(batch)))
		c.commit(batch)
		clear(batch)
	}
}

// commit runs batch in one transaction and answers every op in it. It is where the disk-full state
// is learnt (noteWrite): from a write that failed for want of space, and, while the disk is full,
// from a commit that stored a row (a change that wrote nothing, a preview or one rolled back,
// proves nothing about the space).
func (c *committer) commit(batch []*txOp) {
	errs := make([]error, len(batch))
	ran := 0 // batch[:ran] have run
	// answer gives each op its outcome: its own error, or else fail (the batch's). A preview that ran
	// has its own outcome whatever becomes of the transaction.
	answer := func(fail error) {
		c.m.noteWrite(fail, false)
		for i, op := range batch {
			err := errs[i]
			if err == nil && !(op.preview && i < ran) {
				err = fail
			}
			op.result <- err
		}
	}
	// Only while the disk is full is it worth counting what the changes store: otherwise a stored
	// row changes nothing in noteWrite.
	measure, stored := c.m.diskFull(), false
	totalChanges := func(tx *sql.Tx) (n int64) {
		_ = tx.QueryRowContext(context.Background(), `SELECT total_changes()`).Scan(&n) // 0 on failure: nothing counted
		return n
	}
	ctx := context.Background()
	tx, err := c.m.w.BeginTx(ctx, nil)
	if err != nil {
		answer(fmt.Errorf("db: begin: %w", err))
		return
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if c.m.beginGroup != nil {
		if err := c.m.beginGroup(ctx, tx); err != nil {
			answer(fmt.Errorf("db: begin: %w", err))
			return
		}
	}
	for i, op := range batch {
		ran = i + 1
		if err := op.ctx.Err(); err != nil {
			errs[i] = err // its caller has gone: nothing of it is written
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT change`); err != nil {
			ran = i
			answer(fmt.Errorf("db: savepoint: %w", err))
			return
		}
		var before int64
		if measure {
			before = totalChanges(tx)
		}
		errs[i] = runOp(op, tx)
		c.m.noteWrite(errs[i], false)
		if measure && errs[i] == nil && !op.preview && totalChanges(tx) > before {
			stored = true
		}
		var err error
		if errs[i] != nil || op.preview {
			_, err = tx.ExecContext(ctx, `ROLLBACK TO change`)
		}
		if err == nil {
			_, err = tx.ExecContext(ctx, `RELEASE change`)
		}
		if err != nil {
			// The transaction is in an unknown state: none of it is committed. SQLite may have rolled
			// it all back on the change's own failure (a full disk does): keep that failure in the
			// error, so that every change in the batch is refused for what happened.
			if errs[i] != nil {
				err = fmt.Errorf("%w (after %w)", err, errs[i])
			}
			ran = i
			answer(fmt.Errorf("db: savepoint: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		// Whether a failed commit changed anything is not known: trust no cached answer.
		c.m.invalidate(touchesEverything())
		answer(fmt.Errorf("db: commit: %w", err))
		return
	}
	c.m.noteWrite(nil, stored)
	// Every answer the batch made stale is stale before any change in it is acknowledged.
	for i, op := range batch {
		if errs[i] == nil && !op.preview && op.touched != nil {
			c.m.invalidate(op.touched())
		}
	}
	answer(nil)
}

// runOp runs op.run, turning a panic into an error here and keeping it for submit to raise again.
func runOp(op *txOp, tx *sql.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			op.panicked = r
			err = fmt.Errorf("db: change panicked: %v", r)
		}
	}()
	return op.run(tx)
}
