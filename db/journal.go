package db

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// journal is the append-only file that makes read events durable before they reach the database.
// Only one process uses it at a time (an exclusive flock, released when the process dies); another
// process opening the same database records its read events straight into the database instead.
type journal struct {
	f   *os.File
	buf bytes.Buffer
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

// openJournal opens (creating) the journal at path and returns the events it holds from a previous
// run, which never reached the database. It returns a nil journal, and no error, when another process
// holds it.
func openJournal(path string) (*journal, []auditReq, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("lock %s: %w", path, err)
	}
	var replay []auditReq
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l journalLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			break // a line torn by a crash mid-append ends the journal
		}
		replay = append(replay, auditReq{a: l.Actor, at: time.UnixMilli(l.At), ev: l.Event, event: l.IsEv, touch: l.Touch, jid: l.JID})
	}
	return &journal{f: f}, replay, nil
}

// append writes the batch's events in one write: once it returns, they survive a crash of the process.
func (j *journal) append(batch []auditReq) error {
	j.buf.Reset()
	enc := json.NewEncoder(&j.buf)
	for _, r := range batch {
		if err := enc.Encode(journalLine{JID: r.jid, At: ms(r.at), Actor: r.a, Event: r.ev, IsEv: r.event, Touch: r.touch}); err != nil {
			return err
		}
	}
	_, err := j.f.Write(j.buf.Bytes())
	return err
}

// reset empties the journal once everything in it is in the database.
func (j *journal) reset() error {
	if j == nil {
		return nil
	}
	return j.f.Truncate(0)
}

func (j *journal) close() {
	if j != nil {
		j.f.Close()
	}
}
