package db_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/keyhold/keyhold/db"
)

// hammer runs workers goroutines at once, each creating perWorker secrets, updating each at its
// version, and reading it back through store(w). It returns every error.
func hammer(stores []*db.Store, a db.Actor, prefix string, workers, perWorker int) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	start := make(chan struct{})
	for w := range workers {
		s := stores[w%len(stores)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range perWorker {
				name := fmt.Sprintf("%s_%02d_%02d", prefix, w, i)
				sec, err := s.CreateSecret(ctx, a, name, []byte("v1 "+name))
				if err != nil {
					fail(fmt.Errorf("create %s: %w", name, err))
					continue
				}
				if _, err := s.UpdateSecret(ctx, a, sec.ID, []byte("v2 "+name), sec.Version); err != nil {
					fail(fmt.Errorf("update %s: %w", name, err))
					continue
				}
				got, err := s.SecretByName(ctx, a, name)
				if err != nil {
					fail(fmt.Errorf("read %s: %w", name, err))
				} else if got.Value != "v2 "+name || got.Version != 2 {
					fail(fmt.Errorf("read %s: value %q version %d", name, got.Value, got.Version))
				}
				if _, err := s.ListSecrets(ctx, a, prefix, 0, 10); err != nil {
					fail(fmt.Errorf("list: %w", err))
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// checkAllPresent checks that every secret hammer made is there, at version 2, as seen from s.
func checkAllPresent(t *testing.T, s *db.Store, a db.Actor, prefix string, workers, perWorker int) {
	t.Helper()
	page, err := s.ListSecrets(ctx, a, prefix+"_", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if want := workers * perWorker; page.Total != want || len(page.Secrets) != want {
		t.Fatalf("%d secrets listed (Total %d), want %d", len(page.Secrets), page.Total, want)
	}
	for _, sec := range page.Secrets {
		if sec.Version != 2 {
			t.Errorf("%s is at version %d, want 2", sec.Name, sec.Version)
		}
	}
}

func TestStore_ConcurrentWrites(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	const workers, perWorker = 16, 8
	for _, err := range hammer([]*db.Store{s}, ada, "C", workers, perWorker) {
		t.Error(err)
	}
	checkAllPresent(t, s, ada, "C", workers, perWorker)
	raw := rawDB(t, s)
	if n := rawInt(t, raw, `SELECT COUNT(*) FROM audit_events WHERE action = 'secret.read'`); n != workers*perWorker {
		t.Errorf("%d read events, want %d", n, workers*perWorker)
	}
}

// A second Store on the same file, like the CLI while the server runs, writes at the same time as
// the first: writers wait for each other instead of failing with SQLITE_BUSY.
func TestStore_TwoStoresOneFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), db.FileName)
	server := mustOpenAt(t, path, db.Options{})
	ada := mustOrg(t, server, "Acme", "ada@example.com")
	cli := mustOpenAt(t, path, db.Options{})

	const workers, perWorker = 16, 6
	errs := hammer([]*db.Store{server, cli}, ada, "T", workers, perWorker)
	for _, err := range errs {
		if strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "locked") {
			t.Errorf("busy: %v", err)
		} else {
			t.Error(err)
		}
	}
	checkAllPresent(t, server, ada, "T", workers, perWorker)
	checkAllPresent(t, cli, ada, "T", workers, perWorker)
}
