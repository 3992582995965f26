package db_test

import (
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
)

// Under steady writes with readers beside them, a PASSIVE checkpoint never lets the WAL start over:
// there is always a reader in it when the next commit comes. The upkeep restarts it once it is long,
// waiting for the readers of the moment to leave: its length stays bounded. The test drives the upkeep
// by hand, round after round of writes, with a reader that is always in the WAL except while a
// restart waits for it to leave (short reads leave within that wait); without restarts, the same
// rounds make the WAL grow without end.
func TestCheckpointer_WALStaysBoundedUnderSteadyWrites(t *testing.T) {
	t.Parallel()
	const restartAt, rounds = 256, 10
	bounded := walRounds(t, restartAt, rounds)
	growing := walRounds(t, 1<<30, rounds) // PASSIVE checkpoints alone

	grew := 0
	for i := 1; i < rounds; i++ {
		if growing[i] > growing[i-1] {
			grew++
		}
	}
	perRound := growing[0] // the WAL as one round of writes leaves it
	if grew != rounds-1 || growing[rounds-1] < rounds*perRound/2 {
		t.Fatalf("without restarts the WAL was %v frames after each round: the readers do not keep it from starting over", growing)
	}
	restarts := 0
	for i := 1; i < rounds; i++ {
		if bounded[i] < bounded[i-1] {
			restarts++
		}
	}
	if longest := slices.Max(bounded); restarts < 2 || longest > restartAt+2*perRound {
		t.Fatalf("with restarts past %d frames, the WAL was %v frames after each round (%d restarts): it is not kept short", restartAt, bounded, restarts)
	}
	t.Logf("WAL after each round: %v with restarts, %v without", bounded, growing)
}

// walRounds runs rounds of writes on a new store that restarts the WAL past restartAt frames, and
// returns the WAL's length after each round's writes.
func walRounds(t *testing.T, restartAt, rounds int) []int {
	path := filepath.Join(t.TempDir(), db.FileName)
	s := mustOpenAt(t, path, db.Options{Tuning: db.Tuning{CheckpointInterval: -1, WALRestartFrames: restartAt, JournalApplyInterval: -1}})
	ada := mustOrg(t, s, "acme", "ada@example.com")

	readers, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	readers.SetMaxOpenConns(2) // two reads overlap as one ends
	t.Cleanup(func() { readers.Close() })
	// begin starts a read that keeps its snapshot, as a long enough read does, until it ends.
	begin := func() *sql.Tx {
		tx, err := readers.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM secrets`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	reader := begin()
	defer func() {
		if reader != nil {
			reader.Rollback()
		}
	}()
	s.BeforeWALRestart(func() { // the restart waits for the readers in the WAL: this one leaves
		reader.Rollback()
		reader = nil
	})

	value := []byte(strings.Repeat("x", 4096))
	var frames []int
	for round := range rounds {
		for i := range 20 {
			if _, err := s.CreateSecret(ctx, ada, fmt.Sprintf("W_%d_%d", round, i), value); err != nil {
				t.Fatal(err)
			}
		}
		frames = append(frames, walFrames(t, path))
		// A read that began during the writes takes over from the one before it: there is always a
		// reader in the WAL.
		next := begin()
		reader.Rollback()
		reader = next
		if err := s.Checkpoint(); err != nil {
			t.Fatal(err)
		}
		if reader == nil {
			reader = begin()
		}
	}
	return frames
}

// walFrames is the WAL's length in frames: mxFrame in the WAL-index header that SQLite keeps in the
// -shm file (a u32 at byte 16, in the machine's byte order), read without taking any lock.
func walFrames(t *testing.T, path string) int {
	t.Helper()
	shm, err := os.ReadFile(path + "-shm")
	if err != nil || len(shm) < 20 {
		t.Fatalf("the WAL index: %d bytes, %v", len(shm), err)
	}
	return int(binary.NativeEndian.Uint32(shm[16:20]))
}
