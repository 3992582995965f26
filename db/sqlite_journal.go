package db

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"time"
)

// journal makes read events durable before they reach the database: a reader appends its event
// itself, under a mutex, with one write (no hand-off to another goroutine, and never behind a database
// commit). Appends alternate between two files: apply swaps files, moves what the old one holds into
// the database, then empties it, while appends go on into the other. Only one process uses the
// journal at a time (an exclusive flock on a lock file, released when the process dies); another
// process opening the same database records its read events straight into the database instead, as
// every process does on systems without flock.
//
// Each file keeps its reserve bytes allocated from its start (Tuning.JournalReserve, 8 MiB: a read's
// event takes about 500 bytes, so the two files hold those of some 30,000 reads), taken again each
// time it is emptied: on a full disk appends land in that space, so reads go on while the database refuses
// their events (health.go). An append that fails is cut off again, so that no torn line sits before
// the lines appended after it.
type journal struct {
	lock    *os.File
	files   [2]*os.File
	reserve int64 // bytes each file keeps allocated
	// reserveErr is why the files could not be given their reserved space, the last time it failed.
	reserveErr error

	mu      sync.Mutex
	cur     int // the file appends go to
	size    [2]int64
	buf     bytes.Buffer
	pending []auditReq // appended, not yet in the database
	// applying is set from take until done or restore: appends must not go back to the file taken.
	applying bool
}

// journalLine is one event as journaled: everything write needs to insert it.
type journalLine struct {
	JID   int64
	At    int64
	Actor Actor
	Event Event
	IsEv  bool `json:"E"`
	Touch bool `json:"T"`
}

// journalPaths are the journal's lock file and its two files for a database at dbPath.
func journalPaths(dbPath string) (lock string, files [2]string) {
	base := dbPath + "-audit-journal"
	return base + ".lock", [2]string{base + ".0", base + ".1"}
}

// openJournal opens (creating) the journal of the database at dbPath. The events it still holds
// from a previous run, which may not have reached the database, become pending. It returns a nil
// journal, and no error, when another process holds it.
func openJournal(dbPath string, reserveBytes int64) (*journal, error) {
	if !fileLocks {
		return nil, nil // nothing would keep a second process out of the journal
	}
	lockPath, paths := journalPaths(dbPath)
	lock, err := lockFile(lockPath, true)
	if errors.Is(err, ErrLocked) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	j := &journal{lock: lock, reserve: reserveBytes}
	for i, p := range paths {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			j.close()
			return nil, err
		}
		j.files[i] = f
		j.pending = append(j.pending, readJournal(f)...)
		st, err := f.Stat()
		if err != nil {
			j.close()
			return nil, err
		}
		j.size[i] = st.Size()
		j.keepReserved(i)
	}
	return j, nil
}

// keepReserved gives file i its reserved space, noting in reserveErr why it could not.
func (j *journal) keepReserved(i int) {
	if errors.Is(j.reserveErr, errNoReserve) {
		return // the filesystem cannot: no use asking at every apply
	}
	j.reserveErr = reserve(j.files[i], j.reserve)
}

// readJournal returns the events in f. A line that does not parse is skipped, not the end: a crash
// tears only the last line, but a failed append that could not trim its part leaves it mid-file, and
// the events appended after it were acknowledged.
func readJournal(f *os.File) []auditReq {
	var out []auditReq
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l journalLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			continue
		}
		out = append(out, auditReq{auditRecord: auditRecord{a: l.Actor, at: time.UnixMilli(l.At), ev: l.Event, event: l.IsEv, touch: l.Touch}, jid: l.JID})
	}
	return out
}

// append writes reqs to the current file in one write: once it returns, they survive a crash of
// the process.
func (j *journal) append(reqs ...auditReq) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.buf.Reset()
	enc := json.NewEncoder(&j.buf)
	for _, r := range reqs {
		if err := enc.Encode(journalLine{JID: r.jid, At: ms(r.at), Actor: r.a, Event: r.ev, IsEv: r.event, Touch: r.touch}); err != nil {
			return err
		}
	}
	err := j.write()
	if isDiskFull(err) && !j.applying {
		// The current file's reserved space is used up: the other file's may not be. (No move is
		// under way, so the other file holds nothing that done would empty unmoved.)
		j.cur = 1 - j.cur
		err = j.write()
	}
	if err != nil {
		return err
	}
	j.pending = append(j.pending, reqs...)
	return nil
}

// write appends buf to the current file, or nothing.
func (j *journal) write() error {
	f := j.files[j.cur]
	n, err := f.Write(j.buf.Bytes())
	if err != nil {
		if n > 0 {
			// A line torn here would end the replay of every line appended after it.
			_ = f.Truncate(j.size[j.cur]) // best effort: the append fails either way
		}
		return err
	}
	j.size[j.cur] += int64(n)
	return nil
}

// take switches appends to the other file and returns the pending events with the file that holds
// them (plus, after a failed apply, the other file: replay is idempotent).
func (j *journal) take() (old int, batch []auditReq) {
	j.mu.Lock()
	defer j.mu.Unlock()
	old, batch = j.cur, j.pending
	// The next batch is likely the size of this one: room for it now, not growth by copying.
	j.cur, j.pending = 1-j.cur, make([]auditReq, 0, len(batch))
	j.applying = true
	return old, batch
}

// done empties file old once its events are in the database, and reserves its space again (emptying
// freed it). Appends go to the other file meanwhile.
func (j *journal) done(old int) error {
	defer func() {
		j.mu.Lock()
		j.applying = false
		j.mu.Unlock()
	}()
	j.mu.Lock()
	empty := j.size[old] == 0
	j.mu.Unlock()
	if empty {
		return nil // nothing was appended to it: its space is still reserved
	}
	if err := j.files[old].Truncate(0); err != nil {
		return err
	}
	j.keepReserved(old)
	j.mu.Lock()
	j.size[old] = 0
	j.mu.Unlock()
	return nil
}

// restore puts back events whose move into the database failed, to be tried again.
func (j *journal) restore(batch []auditReq) {
	j.mu.Lock()
	j.pending = append(batch, j.pending...)
	j.applying = false
	j.mu.Unlock()
}

func (j *journal) close() {
	if j == nil {
		return
	}
	for _, f := range j.files {
		if f != nil {
			f.Close()
		}
	}
	j.lock.Close()
}
