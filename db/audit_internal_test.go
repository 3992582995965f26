package db

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// A read that reaches the audit writer as the store closes must get an error, never hang: a request
// queued after the writer has drained and stopped would otherwise wait forever.
func TestAuditWriter_RecordAfterCloseDoesNotHang(t *testing.T) {
	key := make([]byte, MasterKeySize)
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), FileName), Options{MasterKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.audit.close()
	for i := range 100 {
		done := make(chan error, 1)
		go func() {
			done <- s.audit.record(context.Background(), Actor{OrgID: "o"}, Event{Action: ActionSecretRead})
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
