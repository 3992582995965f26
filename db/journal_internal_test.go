//go:build linux

package db

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// smallTmpfs mounts a tmpfs of size on a new temporary directory, unmounted when the test ends. It
// needs root (CI runs as root); elsewhere the test is skipped, or fails when CI is set.
func smallTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must run this test as root: it mounts a tmpfs")
		}
		t.Skip("needs root to mount a small tmpfs (the main package's TestDiskFull runs in a user namespace instead)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs on %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
			exec.Command("umount", "-l", dir).Run() //nolint:errcheck // best effort after the error above
		}
	})
	return dir
}

// allocated is how much space the filesystem has given f, reserved space included.
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

// TestJournal_FullDiskAppendsIntoReservedSpace fills the disk under an open journal: appends go on in
// the two files' reserved space, the one that finally fails leaves no torn line (the files replay as
// exactly the events appended), and a file emptied after a move gets its space reserved again.
func TestJournal_FullDiskAppendsIntoReservedSpace(t *testing.T) {
	t.Parallel()
	dir := smallTmpfs(t, "4m")
	const journalReserve = 256 << 10
	j, err := openJournal(filepath.Join(dir, FileName), journalReserve)
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	if j.reserveErr != nil {
		t.Fatal(j.reserveErr)
	}
	_, paths := journalPaths(filepath.Join(dir, FileName))
	for _, p := range paths {
		if got := allocated(t, p); got < journalReserve {
			t.Fatalf("%s: %d bytes allocated, want the %d reserved", p, got, journalReserve)
		}
	}

	filler, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer filler.Close()
	for _, n := range []int{64 << 10, 1} {
		for {
			if _, err := filler.Write(make([]byte, n)); errors.Is(err, syscall.ENOSPC) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
	}

	at := time.Now()
	a := Actor{UserID: newID(), Email: "ada@example.com", OrgID: newID(), Source: "api", APIKeyID: newID(), APIKeyLabel: "deploy"}
	appended := 0
	for {
		req := auditReq{auditRecord: auditRecord{a: a, at: at, ev: Event{Action: ActionSecretRead, SecretID: newID(), SecretName: "API_TOKEN"}, event: true}, jid: int64(appended + 1)}
		err := j.append(req)
		if err != nil {
			if !isDiskFull(err) {
				t.Fatalf("append %d: %v, want a full disk", appended+1, err)
			}
			break
		}
		appended++
	}
	line := int(j.size[0]+j.size[1]) / appended
	if minimum := int(2*journalReserve)/line - 2; appended < minimum {
		t.Errorf("%d events (%d bytes each) appended on a full disk, want at least %d: both files' reserved space", appended, line, minimum)
	}
	replayed := 0
	for i, f := range j.files {
		if _, err := f.Seek(0, 0); err != nil {
			t.Fatal(err)
		}
		got := readJournal(f)
		replayed += len(got)
		if st, err := f.Stat(); err != nil || st.Size() != j.size[i] {
			t.Errorf("file %d: %d bytes on disk, %d appended (%v)", i, st.Size(), j.size[i], err)
		}
	}
	if replayed != appended || len(j.pending) != appended {
		t.Errorf("the files replay %d events and %d are pending, %d were appended", replayed, len(j.pending), appended)
	}

	// Space is back; a move empties the file it took and reserves its space again.
	filler.Close()
	if err := os.Remove(filler.Name()); err != nil {
		t.Fatal(err)
	}
	old, batch := j.take()
	if len(batch) != appended {
		t.Fatalf("take: %d events, want %d", len(batch), appended)
	}
	if err := j.done(old); err != nil {
		t.Fatal(err)
	}
	if st, err := j.files[old].Stat(); err != nil || st.Size() != 0 {
		t.Errorf("the file moved is not empty: %v %v", st.Size(), err)
	}
	if got := allocated(t, paths[old]); got < journalReserve || j.reserveErr != nil {
		t.Errorf("the file moved has %d bytes allocated (%v), want the %d reserved", got, j.reserveErr, journalReserve)
	}
	if err := j.append(auditReq{auditRecord: auditRecord{a: a, at: at, ev: Event{Action: ActionSecretRead}, event: true}, jid: int64(appended + 1)}); err != nil {
		t.Errorf("append once space is back: %v", err)
	}
}
