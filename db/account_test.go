package db_test

import (
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
)

// helperPassword is the password mustOrg and mustMember give every user.
const helperPassword = "correct horse battery"

func wantSignIn(t testing.TB, s *db.Store, email, password string, ok bool) {
	t.Helper()
	_, _, err := s.SignIn(ctx, email, password, "192.0.2.1")
	if ok && err != nil {
		t.Fatalf("%s cannot sign in with %q: %v", email, password, err)
	}
	if !ok && err == nil {
		t.Fatalf("%s still signs in with %q", email, password)
	}
}

func mustSession(t testing.TB, s *db.Store, a db.Actor) string {
	t.Helper()
	token, err := s.CreateSession(ctx, a.UserID, a.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func sessionLive(t testing.TB, s *db.Store, token string) bool {
	t.Helper()
	_, err := s.SessionByToken(ctx, token, longSession)
	if db.ErrorCode(err) == db.CodeNotFound {
		return false
	} else if err != nil {
		t.Fatal(err)
	}
	return true
}

func auditActions(t testing.TB, s *db.Store, admin db.Actor, action string) []db.AuditEvent {
	t.Helper()
	evs, err := s.ListAudit(ctx, admin, db.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestStore_ChangePassword_Refusals(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	session := mustSession(t, s, ada)
	key, _, err := s.CreateAPIKey(ctx, ada, "ci", noExpiry)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, current, next string
		want                db.Code
		msg                 string
	}{
		{"wrong current", "not my password", "a brand new password", db.CodeUnauthorized, "Your current password is incorrect."},
		{"empty current", "", "a brand new password", db.CodeUnauthorized, "Your current password is incorrect."},
		{"too short", helperPassword, "short", db.CodeInvalid, "Password must be at least 12 characters long."},
		{"same as current", helperPassword, helperPassword, db.CodeInvalid, "The new password must differ from your current one."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.ChangePassword(ctx, ada, db.PasswordChange{Current: tc.current, New: tc.next, RevokeAPIKeys: true})
			wantCode(t, err, tc.want)
			if got := db.ErrorMessage(err); got != tc.msg {
				t.Errorf("message %q, want %q", got, tc.msg)
			}
			wantSignIn(t, s, "ada@example.com", helperPassword, true)
			if tc.next != helperPassword {
				wantSignIn(t, s, "ada@example.com", tc.next, false)
			}
		})
	}
	_, err = s.ChangePassword(ctx, db.SystemActor(ada.OrgID), db.PasswordChange{Current: helperPassword, New: "a brand new password"})
	wantCode(t, err, db.CodeForbidden)
	if evs := auditActions(t, s, ada, db.ActionPasswordChange); len(evs) != 0 {
		t.Errorf("%d password_change events after refusals, want none", len(evs))
	}
	// A refusal ends nothing.
	if !sessionLive(t, s, session) {
		t.Error("a refused change ended a session")
	}
	if _, err := s.AuthenticateAPIKey(ctx, key, ""); err != nil {
		t.Errorf("a refused change revoked an API key: %v", err)
	}
}

// A wrong current password counts against the sign-in throttle: a stolen session is no way to guess.
func TestStore_ChangePassword_Throttled(t *testing.T) {
	t.Parallel()
	lim := db.SignInLimits{Account: db.Throttle{MaxFailures: 2, Window: time.Hour, Lockout: time.Hour}, Client: plentyAttempts}
	s, _ := openThrottled(t, lim, 2, time.Second)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	for range 2 {
		_, err := s.ChangePassword(ctx, ada, db.PasswordChange{Current: "a wrong guess!", New: "a brand new password"})
		wantCode(t, err, db.CodeUnauthorized)
	}
	_, err := s.ChangePassword(ctx, ada, db.PasswordChange{Current: helperPassword, New: "a brand new password"})
	wantCode(t, err, db.CodeRateLimited)
	_, _, err = s.SignIn(ctx, "ada@example.com", helperPassword, "192.0.2.99")
	wantCode(t, err, db.CodeRateLimited)
}

func TestStore_ChangePassword(t *testing.T) {
	t.Parallel()
	s, clock := mustOpenClock(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	zed := mustOrg(t, s, "Globex", "zed@example.com")
	adaInGlobex := mustJoin(t, s, zed, ada, db.OrgMember)
	this, other := mustSession(t, s, ada), mustSession(t, s, adaInGlobex)
	zedSession := mustSession(t, s, zed)
	keyAcme, _, err := s.CreateAPIKey(ctx, ada, "acme ci", noExpiry)
	if err != nil {
		t.Fatal(err)
	}
	keyGlobex, _, err := s.CreateAPIKey(ctx, adaInGlobex, "globex ci", noExpiry)
	if err != nil {
		t.Fatal(err)
	}
	keyZed, _, err := s.CreateAPIKey(ctx, zed, "zed ci", noExpiry)
	if err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, s)
	before := rawInt(t, raw, `SELECT password_changed_at FROM users WHERE id = ?`, ada.UserID)
	clock.Add(time.Hour)

	done, err := s.ChangePassword(ctx, ada, db.PasswordChange{Current: helperPassword, New: "a brand new password", KeepSession: this, RevokeAPIKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	if done.SessionsEnded != 1 || done.KeysRevoked != 2 {
		t.Errorf("ended %+v, want 1 session and 2 keys", done)
	}
	wantSignIn(t, s, "ada@example.com", "a brand new password", true)
	wantSignIn(t, s, "ada@example.com", helperPassword, false)
	if after := rawInt(t, raw, `SELECT password_changed_at FROM users WHERE id = ?`, ada.UserID); after != before+int(time.Hour/time.Millisecond) {
		t.Errorf("password_changed_at %d, want %d (an hour later)", after, before+int(time.Hour/time.Millisecond))
	}
	// The session that made the change stays; Ada's other one ends; Zed's is left alone.
	if !sessionLive(t, s, this) || sessionLive(t, s, other) || !sessionLive(t, s, zedSession) {
		t.Errorf("sessions: this %v, other %v, zed %v; want true, false, true",
			sessionLive(t, s, this), sessionLive(t, s, other), sessionLive(t, s, zedSession))
	}
	// Every key of Ada's, in both organizations, stops working; Zed's does not.
	for _, k := range []string{keyAcme, keyGlobex} {
		_, err := s.AuthenticateAPIKey(ctx, k, "")
		wantCode(t, err, db.CodeUnauthorized)
	}
	if _, err := s.AuthenticateAPIKey(ctx, keyZed, ""); err != nil {
		t.Errorf("Zed's key: %v", err)
	}
	// Each organization's admins see it in their own audit log.
	for _, admin := range []db.Actor{ada, zed} {
		evs := auditActions(t, s, admin, db.ActionPasswordChange)
		if len(evs) != 1 {
			t.Fatalf("%d password_change events in org %s, want 1", len(evs), admin.OrgID)
		}
		if e := evs[0]; e.ActorID != ada.UserID || e.ActorEmail != "ada@example.com" || e.TargetID != ada.UserID || e.Detail != "other sessions signed out; 2 API keys revoked" {
			t.Errorf("event %+v, want Ada changing her own password", e)
		}
	}
	// The old password no longer changes anything.
	_, err = s.ChangePassword(ctx, ada, db.PasswordChange{Current: helperPassword, New: "yet another password"})
	wantCode(t, err, db.CodeUnauthorized)
	wantSignIn(t, s, "ada@example.com", "a brand new password", true)
}

func TestStore_ChangePassword_KeepsKeysWhenAsked(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	key, _, err := s.CreateAPIKey(ctx, ada, "ci", noExpiry)
	if err != nil {
		t.Fatal(err)
	}
	done, err := s.ChangePassword(ctx, ada, db.PasswordChange{Current: helperPassword, New: "a brand new password"})
	if err != nil || done.KeysRevoked != 0 {
		t.Fatalf("%+v %v", done, err)
	}
	if _, err := s.AuthenticateAPIKey(ctx, key, ""); err != nil {
		t.Fatalf("the key was revoked: %v", err)
	}
}

// The operator resets a forgotten password: the old one stops working, every session and API key of
// the user ends, and a single-use, expiring link lets the user choose a new one.
func TestStore_ResetPassword(t *testing.T) {
	t.Parallel()
	s, clock := mustOpenClock(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	zed := mustOrg(t, s, "Globex", "zed@example.com")
	mustJoin(t, s, zed, bob, db.OrgMember)
	bobSession, adaSession := mustSession(t, s, bob), mustSession(t, s, ada)
	bobKey, _, err := s.CreateAPIKey(ctx, bob, "ci", noExpiry)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateAPIKey(ctx, bobKey, ""); err != nil { // cached now
		t.Fatal(err)
	}

	_, _, err = s.ResetPassword(ctx, "nobody@example.com")
	wantCode(t, err, db.CodeNotFound)
	first, u, err := s.ResetPassword(ctx, " BOB@example.com")
	if err != nil || u.ID != bob.UserID {
		t.Fatalf("ResetPassword %v %+v", err, u)
	}
	token, _, err := s.ResetPassword(ctx, "bob@example.com") // a second reset kills the first link
	if err != nil {
		t.Fatal(err)
	}
	wantSignIn(t, s, "bob@example.com", helperPassword, false)
	if sessionLive(t, s, bobSession) || !sessionLive(t, s, adaSession) {
		t.Error("want Bob's session ended and Ada's alive")
	}
	_, err = s.AuthenticateAPIKey(ctx, bobKey, "")
	wantCode(t, err, db.CodeUnauthorized)
	for _, admin := range []db.Actor{ada, zed} {
		if evs := auditActions(t, s, admin, db.ActionPasswordReset); len(evs) != 2 || evs[0].TargetID != bob.UserID || evs[0].Source != "cli" {
			t.Errorf("org %s: reset events %+v, want 2 by the CLI about Bob", admin.OrgID, evs)
		}
	}

	_, err = s.PasswordResetByToken(ctx, first)
	wantCode(t, err, db.CodeNotFound)
	r, err := s.PasswordResetByToken(ctx, token)
	if err != nil || r.Email != "bob@example.com" {
		t.Fatalf("PasswordResetByToken %+v %v", r, err)
	}
	_, _, err = s.CompletePasswordReset(ctx, token, "short", "192.0.2.1")
	wantCode(t, err, db.CodeInvalid)
	for _, bad := range []string{"", first, token + "x", changeChar(token, 3)} {
		_, _, err = s.CompletePasswordReset(ctx, bad, "bob's own new password", "192.0.2.1")
		wantCode(t, err, db.CodeNotFound)
	}
	got, orgID, err := s.CompletePasswordReset(ctx, token, "bob's own new password", "192.0.2.1")
	if err != nil || got.ID != bob.UserID || orgID != ada.OrgID && orgID != zed.OrgID {
		t.Fatalf("CompletePasswordReset %+v %q %v", got, orgID, err)
	}
	wantSignIn(t, s, "bob@example.com", "bob's own new password", true)
	// Used: the link works once.
	_, _, err = s.CompletePasswordReset(ctx, token, "someone else's password", "192.0.2.1")
	wantCode(t, err, db.CodeNotFound)
	wantSignIn(t, s, "bob@example.com", "bob's own new password", true)
	if evs := auditActions(t, s, ada, db.ActionPasswordResetUsed); len(evs) != 1 || evs[0].ActorID != bob.UserID {
		t.Errorf("reset-used events %+v, want one by Bob", evs)
	}

	// A link expires.
	late, _, err := s.ResetPassword(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(24*time.Hour + time.Second)
	_, _, err = s.CompletePasswordReset(ctx, late, "bob's later password", "192.0.2.1")
	wantCode(t, err, db.CodeNotFound)
}
