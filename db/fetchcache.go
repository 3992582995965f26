package db

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// fetchCache remembers the answers of SecretByName, the SDK's fetch, so that fetching the same secret
// again needs no query: the row (with its value still sealed) or the fact that the actor cannot read
// such a secret. Values are opened, and every read is audited, on each fetch as before; the cache only
// saves the lookup.
//
// An entry is valid while nothing it depends on has changed, which two kinds of counter tell:
//   - epoch, bumped after every commit of this process that could change who reads what (grants,
//     teams, members, organizations), and when another process (the CLI, a second instance) has
//     committed anything, which watchDataVersion notices within externalPoll;
//   - one generation per (organization, name) slot, bumped after a commit that creates, changes or
//     deletes a secret of that name: the change that writers make all the time, which must not empty
//     the cache for every other secret.
//
// A lookup notes both counters before it queries and files its answer under them, so an answer read
// before a commit is never trusted after the commit's bump. The bump follows the commit and precedes
// the change's reply, so a client that was told its change is done never fetches what it replaced.
type fetchCache struct {
	epoch atomic.Uint64
	slots [fetchSlots]atomic.Uint64
	seed  maphash.Seed

	mu    sync.RWMutex
	m     map[fetchKey]*fetchEntry
	bytes int // sealed bytes held
}

const (
	fetchSlots = 4096
	// fetchMaxValue is the largest sealed value kept: a 5 MB value is fetched from the database.
	fetchMaxValue = 64 << 10
	// fetchMaxBytes bounds what the cache holds; when an entry would pass it the cache starts over.
	fetchMaxBytes = 16 << 20
	// fetchMaxEntries bounds the entries the same way (an entry for a missing secret holds no bytes).
	fetchMaxEntries = 20000
	// externalPoll is how often the store asks SQLite whether another process committed.
	externalPoll = 100 * time.Millisecond
)

type fetchKey struct{ orgID, userID, name string }

// fetchEntry is one remembered answer: sec is nil when the actor cannot read a secret of that name.
type fetchEntry struct {
	epoch, gen uint64
	sec        *Secret
}

// fetchStamp is the state of the counters a lookup is filed under.
type fetchStamp struct{ epoch, gen uint64 }

func newFetchCache() *fetchCache {
	return &fetchCache{seed: maphash.MakeSeed(), m: map[fetchKey]*fetchEntry{}}
}

func (c *fetchCache) slot(orgID, name string) int {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(orgID)
	h.WriteByte(0)
	h.WriteString(name)
	return int(h.Sum64() % fetchSlots)
}

// get returns the remembered answer for k (found reports whether there is a valid one) and, for a
// lookup that follows a miss, the stamp to file its answer under.
func (c *fetchCache) get(k fetchKey) (sec *Secret, found bool, st fetchStamp) {
	st.epoch, st.gen = c.epoch.Load(), c.slots[c.slot(k.orgID, k.name)].Load()
	c.mu.RLock()
	e := c.m[k]
	c.mu.RUnlock()
	if e != nil && e.epoch == st.epoch && e.gen == st.gen {
		return e.sec, true, st
	}
	return nil, false, st
}

// put files an answer read after st was taken. A secret whose sealed value is large is not kept.
func (c *fetchCache) put(k fetchKey, st fetchStamp, sec *Secret) {
	size := 0
	if sec != nil {
		size = len(sec.sealed)
		if size > fetchMaxValue {
			return
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.m[k]; old != nil && old.sec != nil {
		c.bytes -= len(old.sec.sealed)
	}
	if c.bytes+size > fetchMaxBytes || len(c.m) >= fetchMaxEntries {
		clear(c.m)
		c.bytes = 0
	}
	c.m[k] = &fetchEntry{epoch: st.epoch, gen: st.gen, sec: sec}
	c.bytes += size
}

// changedAll makes every remembered answer stale.
func (c *fetchCache) changedAll() {
	c.epoch.Add(1)
	c.mu.Lock()
	clear(c.m)
	c.bytes = 0
	c.mu.Unlock()
}

// changedSecret makes the answers for one secret name of an organization stale.
func (c *fetchCache) changedSecret(orgID, name string) {
	c.slots[c.slot(orgID, name)].Add(1)
}

// watchDataVersion polls PRAGMA data_version on the writer connection, which changes only when
// another connection (another process: this one writes through that connection alone) has committed,
// and then forgets every remembered answer, fetches and API keys alike.
func (s *Store) watchDataVersion() (stop func()) {
	version := func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var v int64
		if err := s.w.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
			// Unknown: assume another process changed something.
			s.log.Warn("data_version", "err", err)
			return -1
		}
		return v
	}
	// The first value is read before the store answers anything, so a commit of another process
	// after Open is always a change from it.
	last := version()
	return every(externalPoll, func() {
		if v := version(); v != last || v < 0 {
			s.fetches.changedAll()
			s.apiKeys.clear()
			last = v
		}
	})
}
