package db_test

import (
	"slices"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
)

func TestStore_Session_RoundTrip(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	token, err := s.CreateSession(ctx, ada.UserID, ada.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) < 40 {
		t.Fatalf("token %q is short", token)
	}
	sess, err := s.SessionByToken(ctx, token, longSession)
	if err != nil {
		t.Fatal(err)
	}
	if sess.UserID != ada.UserID || sess.OrgID != ada.OrgID {
		t.Fatalf("session %+v", sess)
	}
	// A session moves only to an organization its user belongs to.
	gus := mustOrg(t, s, "Gamma", "gus@example.com")
	for _, orgID := range []string{gus.OrgID, "no-such-org", ""} {
		wantCode(t, s.UpdateSession(ctx, token, orgID), db.CodeNotFound)
	}
	if sess, err = s.SessionByToken(ctx, token, longSession); err != nil || sess.OrgID != ada.OrgID {
		t.Fatalf("after refused moves %+v %v, want still in Acme", sess, err)
	}
	beta := mustOrg(t, s, "Beta", "bea@example.com")
	mustJoin(t, s, beta, ada, db.OrgMember)
	if err := s.UpdateSession(ctx, token, beta.OrgID); err != nil {
		t.Fatal(err)
	}
	sess, err = s.SessionByToken(ctx, token, longSession)
	if err != nil || sess.OrgID != beta.OrgID {
		t.Fatalf("after update %+v %v", sess, err)
	}
	for _, bad := range []string{"", token[:len(token)-1], token + "x", changeChar(token, 0), changeChar(token, len(token)/2)} {
		_, err := s.SessionByToken(ctx, bad, longSession)
		wantCode(t, err, db.CodeNotFound)
	}
	if err := s.DeleteSession(ctx, token); err != nil {
		t.Fatal(err)
	}
	_, err = s.SessionByToken(ctx, token, longSession)
	wantCode(t, err, db.CodeNotFound)
}

func TestStore_Session_Timeouts(t *testing.T) {
	t.Parallel()
	s, clock := mustOpenClock(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	raw := rawDB(t, s)
	lim := db.SessionLimits{Idle: 30 * time.Minute, Absolute: 2 * time.Hour}

	t.Run("idle", func(t *testing.T) {
		token, err := s.CreateSession(ctx, ada.UserID, ada.OrgID)
		if err != nil {
			t.Fatal(err)
		}
		// Each use within the idle limit keeps it alive, well past one idle period.
		for range 3 {
			clock.Add(29 * time.Minute)
			if _, err := s.SessionByToken(ctx, token, lim); err != nil {
				t.Fatalf("used within the idle limit: %v", err)
			}
		}
		clock.Add(31 * time.Minute)
		_, err = s.SessionByToken(ctx, token, lim)
		wantCode(t, err, db.CodeNotFound)
		if n := rawInt(t, raw, `SELECT COUNT(*) FROM sessions WHERE user_id = ?`, ada.UserID); n != 0 {
			t.Errorf("the expired session is still stored (%d rows)", n)
		}
	})
	t.Run("absolute", func(t *testing.T) {
		token, err := s.CreateSession(ctx, ada.UserID, ada.OrgID)
		if err != nil {
			t.Fatal(err)
		}
		for elapsed := 20 * time.Minute; elapsed <= 2*time.Hour; elapsed += 20 * time.Minute {
			clock.Add(20 * time.Minute)
			if _, err := s.SessionByToken(ctx, token, lim); err != nil {
				t.Fatalf("at %v: %v", elapsed, err)
			}
		}
		clock.Add(time.Minute) // 2h01m since sign-in, though used a minute ago
		_, err = s.SessionByToken(ctx, token, lim)
		wantCode(t, err, db.CodeNotFound)
	})
}

func TestStore_DeleteUserSessions(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	var adas []string
	for range 3 {
		tok, err := s.CreateSession(ctx, ada.UserID, ada.OrgID)
		if err != nil {
			t.Fatal(err)
		}
		adas = append(adas, tok)
	}
	bobs, err := s.CreateSession(ctx, bob.UserID, ada.OrgID)
	if err != nil {
		t.Fatal(err)
	}

	// After a password change, every other session of the user ends.
	if err := s.DeleteUserSessions(ctx, ada.UserID, adas[1]); err != nil {
		t.Fatal(err)
	}
	for i, tok := range adas {
		_, err := s.SessionByToken(ctx, tok, longSession)
		if i == 1 {
			if err != nil {
				t.Errorf("the kept session ended: %v", err)
			}
		} else {
			wantCode(t, err, db.CodeNotFound)
		}
	}
	if _, err := s.SessionByToken(ctx, bobs, longSession); err != nil {
		t.Errorf("another user's session ended: %v", err)
	}
	// With no session to keep, all end.
	if err := s.DeleteUserSessions(ctx, ada.UserID, ""); err != nil {
		t.Fatal(err)
	}
	_, err = s.SessionByToken(ctx, adas[1], longSession)
	wantCode(t, err, db.CodeNotFound)
	if _, err := s.SessionByToken(ctx, bobs, longSession); err != nil {
		t.Errorf("another user's session ended: %v", err)
	}
}

func TestStore_Session_TokenNotStored(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	token, err := s.CreateSession(ctx, ada.UserID, ada.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, s)
	if !tableContains(t, raw, "sessions", []byte(ada.UserID)) {
		t.Fatal("the scan does not see the sessions table")
	}
	if tableContains(t, raw, "sessions", []byte(token)) || tableContains(t, raw, "sessions", []byte(token[:20])) {
		t.Fatal("the sessions table holds the token")
	}
	if n := rawInt(t, raw, `SELECT COUNT(*) FROM sessions WHERE length(id_hash) = 32`); n != 1 {
		t.Fatalf("%d sessions keyed by a 32-byte hash", n)
	}
}

// A session in use never reaches its idle timeout, even one shorter than a minute: its last-seen time
// is refreshed relative to the timeout (a fixed one-minute refresh ended active sessions).
func TestStore_Session_ShortIdleStaysAliveInUse(t *testing.T) {
	t.Parallel()
	s, clock := mustOpenClock(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	lim := db.SessionLimits{Idle: 30 * time.Second, Absolute: time.Hour}
	token, err := s.CreateSession(ctx, ada.UserID, ada.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 15 { // five minutes of a request every 20 s
		clock.Add(20 * time.Second)
		if _, err := s.SessionByToken(ctx, token, lim); err != nil {
			t.Fatalf("request %d, %v after the last: %v", i+1, 20*time.Second, err)
		}
	}
	clock.Add(31 * time.Second)
	_, err = s.SessionByToken(ctx, token, lim)
	wantCode(t, err, db.CodeNotFound)
}

// A session whose organization its user has left moves to another organization of theirs; one whose
// user belongs to none any more ends. One call decides, for every request.
func TestStore_SessionActor(t *testing.T) {
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	zed := mustOrg(t, s, "Zeta", "zed@example.com")
	mustJoin(t, s, zed, bob, db.OrgAdmin)
	token, err := s.CreateSession(ctx, bob.UserID, ada.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	sess, a, err := s.SessionActor(ctx, token, longSession)
	if err != nil || sess.OrgID != ada.OrgID || a.UserID != bob.UserID || a.OrgID != ada.OrgID || a.Role != db.OrgMember || a.Source != "portal" {
		t.Fatalf("SessionActor %+v %+v %v", sess, a, err)
	}
	wantOrgs := []db.OrgChoice{{ID: ada.OrgID, Name: "Acme", Role: db.OrgMember}, {ID: zed.OrgID, Name: "Zeta", Role: db.OrgAdmin}}
	if !slices.Equal(sess.Orgs, wantOrgs) || a.Email != "bob@example.com" || a.Name == "" {
		t.Fatalf("the session's organizations %+v and actor %+v, want %+v and Bob", sess.Orgs, a, wantOrgs)
	}
	if _, err := s.RemoveMember(ctx, ada, bob.UserID); err != nil {
		t.Fatal(err)
	}
	// RemoveMember ends the member's sessions in that organization; a session in another one...
	other, err := s.CreateSession(ctx, bob.UserID, ada.OrgID) // ...as if made before the removal
	if err != nil {
		t.Fatal(err)
	}
	sess, a, err = s.SessionActor(ctx, other, longSession)
	if err != nil || sess.OrgID != zed.OrgID || a.OrgID != zed.OrgID || !a.IsAdmin() {
		t.Fatalf("after leaving Acme: %+v %+v %v, want the session moved to Zeta as its admin", sess, a, err)
	}
	if !slices.Equal(sess.Orgs, wantOrgs[1:]) {
		t.Fatalf("the session's organizations after leaving Acme: %+v", sess.Orgs)
	}
	if again, err := s.SessionByToken(ctx, other, longSession); err != nil || again.OrgID != zed.OrgID {
		t.Fatalf("the move was not stored: %+v %v", again, err)
	}
	last, err := s.CreateSession(ctx, bob.UserID, zed.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveMember(ctx, zed, bob.UserID); err != nil {
		t.Fatal(err)
	}
	stale, err := s.CreateSession(ctx, bob.UserID, zed.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.SessionActor(ctx, stale, longSession)
	wantCode(t, err, db.CodeNotFound)
	_, err = s.SessionByToken(ctx, stale, longSession)
	wantCode(t, err, db.CodeNotFound) // ended, not just refused
	_, _, err = s.SessionActor(ctx, last, longSession)
	wantCode(t, err, db.CodeNotFound)
}
