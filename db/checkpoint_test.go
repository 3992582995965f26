package db_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
)

// Under steady writes with readers beside them, a PASSIVE checkpoint never reaches the end of the
// WAL, so SQLite alone would never start it over and it would grow for as long as the writes last.
// The checkpointer restarts it once it is long: its length stays bounded.
func TestCheckpointer_WALStaysBoundedUnderSteadyWrites(t *testing.T) {
	t.Cleanup(db.SetWALRestartFrames(256)) // 1 MiB; registered first, so it is undone after Close
	path := filepath.Join(t.TempDir(), db.FileName)
	s := mustOpenAt(t, path, db.Options{})
	ada := mustOrg(t, s, "acme", "ada@example.com")
	sec := mustSecret(t, s, ada, "READ_ALL_ALONG", "v")

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				if _, err := s.CreateSecret(ctx, ada, fmt.Sprintf("W_%d_%d", w, i), []byte(strings.Repeat("x", 4096))); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // a reader that is always somewhere in the WAL
		defer wg.Done()
		for ctx.Err() == nil {
			if _, err := s.RevealSecret(ctx, ada, sec.ID); err != nil && ctx.Err() == nil {
				t.Error(err)
				return
			}
		}
	}()

	// The WAL's length in frames: mxFrame in the WAL-index header that SQLite keeps in the -shm file
	// (a u32 at byte 16, in the machine's byte order), read without taking any lock that would get
	// in the checkpointer's way.
	var longest, samples, restarts, last int
	for ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		shm, err := os.ReadFile(path + "-shm")
		if err != nil || len(shm) < 20 {
			continue
		}
		frames := int(binary.NativeEndian.Uint32(shm[16:20]))
		if frames < last {
			restarts++ // the WAL started over: without restarts it only grows
		}
		last, longest = frames, max(longest, frames)
		samples++
	}
	wg.Wait()
	if samples < 20 {
		t.Fatalf("only %d samples of the WAL", samples)
	}
	// The checkpointer looks once a second: in 4 s of writes the WAL must have started over at least
	// twice (without restarts it never does, and grows to about 4 s of writes).
	if restarts < 2 {
		t.Fatalf("the WAL started over %d times in %d samples and reached %d frames: it is not being restarted", restarts, samples, longest)
	}
	t.Logf("WAL started over %d times; longest %d frames over %d samples", restarts, longest, samples)
}
