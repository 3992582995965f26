package db_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/db/dbtest"
)

// openThrottled opens a store with the given sign-in limits and hashing slots, on a test clock.
func openThrottled(t *testing.T, lim db.SignInLimits, slots int, wait time.Duration) (*db.Store, *dbtest.Clock) {
	t.Helper()
	c := newClock()
	s := mustOpenAt(t, filepath.Join(t.TempDir(), db.FileName), db.Options{Now: c.Now, SignIn: lim, HashSlots: slots, HashQueueWait: wait})
	return s, c
}

func TestStore_SignIn_Throttle(t *testing.T) {
	t.Parallel()
	lim := db.SignInLimits{
		Account: db.Throttle{MaxFailures: 3, Window: 15 * time.Minute, Lockout: 10 * time.Minute},
		Client:  db.Throttle{MaxFailures: 5, Window: 15 * time.Minute, Lockout: 30 * time.Minute},
	}
	s, clock := openThrottled(t, lim, 2, time.Second)
	mustOrg(t, s, "Acme", "ada@example.com")
	const addr = "192.0.2.7"
	try := func(email, pw, ip string) error {
		t.Helper()
		_, _, err := s.SignIn(ctx, email, pw, ip)
		return err
	}
	limited := func(err error, maxWait time.Duration) {
		t.Helper()
		wantCode(t, err, db.CodeRateLimited)
		e := err.(*db.Error)
		if e.RetryAfterSeconds <= 0 || e.RetryAfterSeconds > int(maxWait.Seconds())+1 {
			t.Fatalf("RetryAfterSeconds=%d, want in (0, %v]", e.RetryAfterSeconds, maxWait)
		}
	}

	wantCode(t, try("ada@example.com", "wrong password 1", addr), db.CodeUnauthorized)
	wantCode(t, try("ada@example.com", "wrong password 2", addr), db.CodeUnauthorized)
	wantCode(t, try("ada@example.com", "wrong password 3", addr), db.CodeUnauthorized) // the third locks the account
	limited(try("ada@example.com", "correct horse battery", "198.51.100.1"), 10*time.Minute)
	// The address is not locked yet: another account from it still gets its check.
	wantCode(t, try("bob@example.com", "wrong password", addr), db.CodeUnauthorized)

	clock.Add(10*time.Minute + time.Second)
	// The lockout is over; a right password signs in and clears the account's count...
	if err := try("ada@example.com", "correct horse battery", addr); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
	// ...and hands the address its attempt back: 4 failures so far (3 + bob), so one more is allowed.
	wantCode(t, try("carol@example.com", "wrong password", addr), db.CodeUnauthorized)
	limited(try("dan@example.com", "wrong password", addr), 30*time.Minute)
	limited(try("ada@example.com", "correct horse battery", addr), 30*time.Minute)

	// Attempts spread beyond the window do not add up.
	const fresh = "203.0.113.9"
	wantCode(t, try("ada@example.com", "wrong password", fresh), db.CodeUnauthorized)
	wantCode(t, try("ada@example.com", "wrong password", fresh), db.CodeUnauthorized)
	clock.Add(16 * time.Minute)
	wantCode(t, try("ada@example.com", "wrong password", fresh), db.CodeUnauthorized)
	if err := try("ada@example.com", "correct horse battery", fresh); err != nil {
		t.Fatalf("two old failures and one new one locked the account: %v", err)
	}
}

// A client rotating through the addresses of its own IPv6 /64 is one client.
func TestStore_SignIn_Throttle_IPv6Prefix(t *testing.T) {
	t.Parallel()
	lim := db.SignInLimits{
		Account: db.Throttle{MaxFailures: 100, Window: time.Hour, Lockout: time.Hour},
		Client:  db.Throttle{MaxFailures: 3, Window: time.Hour, Lockout: time.Hour},
	}
	s, _ := openThrottled(t, lim, 2, time.Second)
	for i := range 3 {
		_, _, err := s.SignIn(ctx, fmt.Sprintf("user%d@example.com", i), "wrong password", fmt.Sprintf("2001:db8:1:2::%x", i+1))
		wantCode(t, err, db.CodeUnauthorized)
	}
	_, _, err := s.SignIn(ctx, "user9@example.com", "wrong password", "2001:db8:1:2:ffff::1")
	wantCode(t, err, db.CodeRateLimited)
	_, _, err = s.SignIn(ctx, "user9@example.com", "wrong password", "2001:db8:1:3::1") // another /64
	wantCode(t, err, db.CodeUnauthorized)
}

// Attempts are counted before the password is checked: racing attempts cannot get more guesses than
// the limit (check-then-count let 38 through on an account limited to 5).
func TestStore_SignIn_Throttle_Race(t *testing.T) {
	t.Parallel()
	lim := db.SignInLimits{
		Account: db.Throttle{MaxFailures: 5, Window: time.Hour, Lockout: time.Hour},
		Client:  db.Throttle{MaxFailures: 1 << 20, Window: time.Hour, Lockout: time.Hour},
	}
	s, _ := openThrottled(t, lim, 8, time.Minute)
	mustOrg(t, s, "Acme", "ada@example.com")
	const n = 60
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[db.Code]int{}
		start  = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			_, _, err := s.SignIn(ctx, "ada@example.com", fmt.Sprintf("guess number %d", i), fmt.Sprintf("198.51.100.%d", i))
			mu.Lock()
			counts[db.ErrorCode(err)]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if counts[db.CodeUnauthorized] > 5 {
		t.Fatalf("%d guesses were checked against an account limited to 5 (answers %v)", counts[db.CodeUnauthorized], counts)
	}
	if counts[db.CodeUnauthorized]+counts[db.CodeRateLimited] != n {
		t.Fatalf("answers %v, want only 401s and 429s", counts)
	}
	// Locked: even the right password is refused now.
	_, _, err := s.SignIn(ctx, "ada@example.com", "correct horse battery", "198.51.100.200")
	wantCode(t, err, db.CodeRateLimited)
}

// Hashing runs in a bounded number of slots: when every slot is busy and the queue wait is over,
// an attempt is refused as busy (503-style, with Retry-After) and counts as no attempt.
func TestStore_SignIn_BusyRefusesWithoutCounting(t *testing.T) {
	t.Parallel()
	lim := db.SignInLimits{
		Account: db.Throttle{MaxFailures: 3, Window: time.Hour, Lockout: time.Hour},
		Client:  db.Throttle{MaxFailures: 3, Window: time.Hour, Lockout: time.Hour},
	}
	s, _ := openThrottled(t, lim, 1, time.Nanosecond)
	mustOrg(t, s, "Acme", "ada@example.com")
	const n = 40
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		busy  int
		other = map[db.Code]int{}
		start = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			_, _, err := s.SignIn(ctx, fmt.Sprintf("user%d@example.com", i), "wrong password", fmt.Sprintf("198.51.100.%d", i))
			mu.Lock()
			defer mu.Unlock()
			if db.ErrorCode(err) == db.CodeUnavailable {
				busy++
				if e := err.(*db.Error); e.RetryAfterSeconds < 1 {
					t.Errorf("busy answer without Retry-After: %+v", e)
				}
				return
			}
			other[db.ErrorCode(err)]++
		})
	}
	close(start)
	wg.Wait()
	if busy == 0 {
		t.Fatalf("40 simultaneous attempts on one hashing slot with no queue: none was refused as busy (answers %v)", other)
	}
	if other[db.CodeUnauthorized] != n-busy {
		t.Fatalf("answers %v and %d busy, want only 401s besides the busy ones", other, busy)
	}
	// The busy refusals counted nothing: each of their accounts still has its three attempts.
	raw := rawDB(t, s)
	if got := rawInt(t, raw, `SELECT COALESCE(SUM(failures), 0) FROM login_failures WHERE key LIKE 'email:%'`); got != n-busy {
		t.Fatalf("%d attempts counted against accounts, want %d (the checked ones)", got, n-busy)
	}
}
