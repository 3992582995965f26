package db_test

import (
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
)

func TestStore_Throttle(t *testing.T) {
	s, clock := mustOpenClock(t)
	const account, addr = "email:ada@example.com", "ip:192.0.2.7"
	keys := []string{account, addr}
	limits := []db.Throttle{
		{MaxFailures: 3, Window: 15 * time.Minute, Lockout: 10 * time.Minute},
		{MaxFailures: 5, Window: 15 * time.Minute, Lockout: 30 * time.Minute},
	}
	fail := func(n int) {
		t.Helper()
		for range n {
			if err := s.LoginFailed(ctx, keys, limits); err != nil {
				t.Fatal(err)
			}
		}
	}
	allowed := func(keys ...string) {
		t.Helper()
		if err := s.LoginAllowed(ctx, keys...); err != nil {
			t.Fatalf("LoginAllowed(%v) = %v, want allowed", keys, err)
		}
	}
	limited := func(maxWait time.Duration, keys ...string) {
		t.Helper()
		err := s.LoginAllowed(ctx, keys...)
		wantCode(t, err, db.CodeRateLimited)
		e := err.(*db.Error)
		if e.RetryAfterSeconds <= 0 || e.RetryAfterSeconds > int(maxWait.Seconds())+1 {
			t.Fatalf("RetryAfterSeconds=%d, want in (0, %v]", e.RetryAfterSeconds, maxWait)
		}
	}

	fail(2)
	allowed(account, addr)
	fail(1) // the third failure locks the account, not yet the address
	limited(10*time.Minute, account)
	limited(10*time.Minute, addr, account) // any locked key refuses
	allowed(addr)
	allowed("email:bob@example.com")

	clock.Add(9 * time.Minute)
	limited(time.Minute, account)
	clock.Add(time.Minute + time.Second)
	allowed(account)

	// A success clears the account's count, not the address's.
	if err := s.LoginSucceeded(ctx, account); err != nil {
		t.Fatal(err)
	}
	fail(2) // the address is now at 5 failures
	allowed(account)
	limited(30*time.Minute, addr)

	// Failures spread beyond the window do not add up.
	if err := s.LoginSucceeded(ctx, account); err != nil {
		t.Fatal(err)
	}
	fail(2)
	clock.Add(16 * time.Minute)
	fail(1)
	allowed(account)
}
