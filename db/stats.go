package db

// Stats are counts of the store's work since it opened, for metrics. The machine keeps them in atomic
// counters beside the work they count (machine.go, machine_cache.go, machine_commit.go, the audit
// writers, throttle.go); nothing reads them but Stats, so they decide nothing. Every count only grows,
// except AuditPending. A snapshot is not atomic across its fields.
type Stats struct {
	// SecretReads counts values read: API fetches by name or by ID and portal reveals. Each counts
	// as its audit event is recorded, also when recording it fails (the value is then withheld).
	SecretReads int64
	// AuditWritten counts read events written into audit_events by this process. AuditPending is how
	// many are durable but not there yet: on SQLite, those in the audit journal (they move in every
	// Tuning.JournalApplyInterval, and before any listing of the trail; a move under way is in
	// neither); 0 on PostgreSQL, where a read returns only once its event is in audit_events.
	// Changes' events commit with their change and are not counted here.
	AuditWritten, AuditPending int64
	// Commits counts the committer's transactions, CommitChanges the changes they held (their ratio
	// is the mean group size), CommitsPaced those that waited for more changes to gather (committer).
	Commits, CommitChanges, CommitsPaced int64
	// FetchCacheHits and FetchCacheMisses count the lookups of the fetch cache (SecretByName) that it
	// answered and that went to the database; KeyCacheHits and KeyCacheMisses the same for API keys.
	FetchCacheHits, FetchCacheMisses int64
	KeyCacheHits, KeyCacheMisses     int64
	// SignInFailures counts password checks that failed: a wrong password, or no such account, at a
	// sign-in, an invitation accepted by an existing account, or a password change. Attempts refused
	// by the throttle before any check are not counted.
	SignInFailures int64
}

// Stats returns the store's counts now.
func (s *Store) Stats() Stats {
	m := s.m
	return Stats{
		SecretReads:      m.reads.Load(),
		AuditWritten:     m.auditWritten.Load(),
		AuditPending:     m.auditPending(),
		Commits:          m.commits.commits.Load(),
		CommitChanges:    m.commits.changes.Load(),
		CommitsPaced:     m.commits.paced.Load(),
		FetchCacheHits:   m.fetches.hits.Load(),
		FetchCacheMisses: m.fetches.misses.Load(),
		KeyCacheHits:     m.keys.hits.Load(),
		KeyCacheMisses:   m.keys.misses.Load(),
		SignInFailures:   m.signInFailures.Load(),
	}
}

// auditPending counts the read events in the audit journal, not yet moved into audit_events.
func (m *machine) auditPending() int64 {
	b, ok := m.back.(*sqliteBackend)
	if !ok || b.audit.journal == nil {
		return 0
	}
	j := b.audit.journal
	j.mu.Lock()
	defer j.mu.Unlock()
	return readEvents(j.pending)
}

// readEvents counts the events in batch (the rest are notes of an API key's use).
func readEvents(batch []auditReq) int64 {
	var n int64
	for _, r := range batch {
		if r.event {
			n++
		}
	}
	return n
}

// unlessErr is n when err is nil, else 0: what a write of n events that returned err wrote.
func unlessErr(err error, n int) int64 {
	if err != nil {
		return 0
	}
	return int64(n)
}

// countIf is 1 when cond holds, else 0.
func countIf(cond bool) int64 {
	if cond {
		return 1
	}
	return 0
}
