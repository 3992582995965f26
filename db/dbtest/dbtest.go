// Package dbtest holds what tests of every package need of db: the table of backends the suites run
// against (SQLite, and PostgreSQL when KEYHOLD_TEST_DATABASE_URL names a server), a fresh database per
// test on the current one, and a clock they control. webtest builds the server harness on it.
package dbtest

import (
	"sync"
	"time"
)

// Clock is a settable clock for db.Options.Now: it stands still until a test moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that reads start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
