package db

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A part line that a failed append could not trim is skipped on replay: the events after it were
// acknowledged and are replayed (all but the one appended onto the part line).
func TestJournal_ReplaySkipsATornLine(t *testing.T) {
	t.Parallel()
	line := func(jid int64) []byte {
		b, err := json.Marshal(journalLine{JID: jid, At: 1, Event: Event{Action: ActionSecretRead}, IsEv: true})
		if err != nil {
			t.Fatal(err)
		}
		return append(b, '\n')
	}
	var data []byte
	data = append(data, line(1)...)
	data = append(data, line(2)[:20]...) // torn, untrimmed
	data = append(data, line(3)...)      // appended onto it: lost
	data = append(data, line(4)...)
	data = append(data, line(5)[:10]...) // torn by a crash
	path := filepath.Join(t.TempDir(), "journal")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []int64
	for _, r := range readJournal(f) {
		got = append(got, r.jid)
	}
	if want := []int64{1, 4}; !slices.Equal(got, want) {
		t.Errorf("replayed %v, want %v", got, want)
	}
}
