package web

import (
	"strconv"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db/dbtest"
)

// TestKeyLimiters_Evict: idle buckets are dropped, so memory is bounded by the keys in recent use.
func TestKeyLimiters_Evict(t *testing.T) {
	clock := dbtest.NewClock(time.Unix(1_900_000_000, 0))
	k := newKeyLimiters(10, 20, clock.Now)
	for i := range 1000 {
		if d := k.wait(strconv.Itoa(i)); d != 0 {
			t.Fatalf("fresh key waited %v", d)
		}
	}
	if k.size() != 1000 {
		t.Fatalf("size %d", k.size())
	}
	clock.Add(2 * time.Minute)
	k.wait("new")
	if k.size() != 1 {
		t.Fatalf("after idling, %d buckets held, want 1", k.size())
	}
	for range 20 {
		k.wait("busy")
	}
	if d := k.wait("busy"); d <= 0 || d > 200*time.Millisecond {
		t.Fatalf("empty bucket wait %v, want about 100ms", d)
	}
}
