package db

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A read that reaches the audit writer as the store closes must get an error, never hang: a request
// queued after the writer has drained and stopped would otherwise wait forever.
func TestAuditWriter_RecordAfterCloseDoesNotHang(t *testing.T) {
	t.Parallel()
	key := make([]byte, MasterKeySize)
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), FileName), Options{MasterKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := s.m.back.(*sqliteBackend).audit
	w.close()
	for i := range 100 {
		done := make(chan error, 1)
		go func() {
			done <- w.record(context.Background(), auditRecord{a: Actor{OrgID: "o"}, ev: Event{Action: ActionSecretRead}, event: true})
		}()
		select {
		case err := <-done:
			if err == nil {
				t.Fatalf("attempt %d: record after close reported success", i)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("attempt %d: record after close hangs", i)
		}
	}
}

// Opening a store reads the last journal ID from indexes: a query that scans audit_events made a
// start with a large trail take 0.4 s and map the whole table into memory.
func TestAuditWriter_LastJIDUsesIndexes(t *testing.T) {
	t.Parallel()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), FileName), Options{MasterKey: make([]byte, MasterKeySize)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.r.Query(`EXPLAIN QUERY PLAN ` + lastJIDSQL)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(plan, "; ")
	if !strings.Contains(joined, "audit_journal") || strings.Contains(joined, "SCAN audit_events") {
		t.Errorf("the last journal ID is not read from the audit_journal index: %s", joined)
	}
}
