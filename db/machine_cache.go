package db

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// The caches of the machine (see machine.go for what each serves and who makes it stale) share one
// scheme: an answer is filed under the stamp taken before the query that produced it, and served
// while the counters still hold that stamp.

// stamps are the counters that cached answers depend on. Each only ever grows.
type stamps struct {
	// epoch: everything (a failed commit, another process's commit, a change that declares it).
	epoch atomic.Uint64
	// keys: API keys and who they act as.
	keys atomic.Uint64
	// orgs: access in the organizations hashed to each slot.
	orgs [orgSlots]atomic.Uint64
	// names: the secret names (with their organization) hashed to each slot. Writers change secrets
	// all the time: that must not make every other secret's answers stale.
	names [nameSlots]atomic.Uint64
	seed  maphash.Seed
}

const (
	orgSlots  = 256
	nameSlots = 4096
)

// stamp is the state of the counters an answer depends on.
type stamp struct{ epoch, scope, item uint64 }

func (c *stamps) init() { c.seed = maphash.MakeSeed() }

func (c *stamps) orgSlot(orgID string) int {
	return int(maphash.String(c.seed, orgID) % orgSlots)
}

func (c *stamps) nameSlot(orgID, name string) int {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(orgID)
	h.WriteByte(0)
	h.WriteString(name)
	return int(h.Sum64() % nameSlots)
}

// fetch is the stamp of a fetch answer: everything, access in its organization, its name.
func (c *stamps) fetch(k fetchKey) stamp {
	return stamp{c.epoch.Load(), c.orgs[c.orgSlot(k.orgID)].Load(), c.names[c.nameSlot(k.orgID, k.name)].Load()}
}

// key is the stamp of an API key lookup: everything, and API keys (the key's organization is not known
// before the lookup).
func (c *stamps) key([32]byte) stamp {
	return stamp{epoch: c.epoch.Load(), scope: c.keys.Load()}
}

// invalidate makes stale what t declares: the committer calls it after a commit, before the changes
// in it are acknowledged.
func (m *machine) invalidate(t touches) {
	c := &m.stamps
	if t.everything {
		c.epoch.Add(1)
		m.fetches.clear() // nothing in them can be served again: give the memory back
		m.keys.clear()
		return
	}
	if t.apiKeys {
		c.keys.Add(1)
	}
	for _, org := range t.orgs {
		c.orgs[c.orgSlot(org)].Add(1)
	}
	for _, n := range t.secrets {
		c.names[c.nameSlot(n.orgID, n.name)].Add(1)
	}
}

// stampCache is a cache whose answers are valid while the counters they depend on hold the stamp
// they were filed under.
type stampCache[K comparable, V any] struct {
	stamp      func(K) stamp // the counters an answer for K depends on, now
	size       func(V) int   // the bytes an answer holds; nil: none worth counting
	maxEntries int
	maxBytes   int

	mu    sync.RWMutex
	m     map[K]stamped[V]
	bytes int

	hits, misses atomic.Int64 // get's answers found and not: for Stats only
}

type stamped[V any] struct {
	st stamp
	v  V
}

func newStampCache[K comparable, V any](stamp func(K) stamp, size func(V) int, maxEntries, maxBytes int) *stampCache[K, V] {
	return &stampCache[K, V]{stamp: stamp, size: size, maxEntries: maxEntries, maxBytes: maxBytes, m: map[K]stamped[V]{}}
}

// get returns the answer for k (found reports whether there is a valid one) and, for a lookup that
// follows a miss, the stamp to file its answer under: taken now, before the lookup's query.
func (c *stampCache[K, V]) get(k K) (v V, found bool, st stamp) {
	st = c.stamp(k)
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if ok && e.st == st {
		c.hits.Add(1)
		return e.v, true, st
	}
	c.misses.Add(1)
	return v, false, st
}

// put files an answer read after st was taken. When the cache is full it starts over.
func (c *stampCache[K, V]) put(k K, st stamp, v V) {
	size := 0
	if c.size != nil {
		if size = c.size(v); size < 0 {
			return // not worth keeping
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[k]; ok && c.size != nil {
		c.bytes -= c.size(old.v)
	}
	if c.maxBytes > 0 && c.bytes+size > c.maxBytes || len(c.m) >= c.maxEntries {
		clear(c.m)
		c.bytes = 0
	}
	c.m[k] = stamped[V]{st: st, v: v}
	c.bytes += size
}

// clear forgets every answer.
func (c *stampCache[K, V]) clear() {
	c.mu.Lock()
	clear(c.m)
	c.bytes = 0
	c.mu.Unlock()
}

// The fetch cache remembers the answers of SecretByName, the SDK's fetch, so that fetching the same
// secret again needs no query: the row (with its value still sealed), or nil when the actor cannot
// read a secret of that name. Values are opened, and every read is audited, on each fetch; the cache
// only saves the lookup.
type fetchKey struct{ orgID, userID, name string }

const (
	// fetchMaxValue is the largest sealed value kept: a 5 MB value is fetched from the database.
	fetchMaxValue = 64 << 10
	// fetchMaxBytes bounds the sealed bytes the fetch cache holds; when an entry would pass it the
	// cache starts over.
	fetchMaxBytes = 16 << 20
	// fetchMaxEntries bounds the entries the same way (an entry for a missing secret holds no bytes).
	fetchMaxEntries = 20000
)

// fetchSize is the sealed bytes a fetch answer holds, or -1 for one too large to keep.
func fetchSize(sec *Secret) int {
	if sec == nil {
		return 0
	}
	if len(sec.sealed) > fetchMaxValue {
		return -1
	}
	return len(sec.sealed)
}

// The API key cache remembers successful key lookups by the key's hash, so the hot path needs no
// query for them; failed lookups are not cached (the 401 path is one indexed query).
type cachedKey struct {
	actor   Actor
	expires int64 // Unix ms; 0: never
	at      time.Time
}

const keyCacheMaxEntries = 10000
