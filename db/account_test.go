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
	_, err := s.Authenticate(ctx, email, password)
	if ok && err != nil {
		t.Fatalf("%s cannot sign in with %q: %v", email, password, err)
	}
	if !ok && err == nil {
		t.Fatalf("%s still signs in with %q", email, password)
	}
}

func mustSession(t testing.TB, s *db.Store, a db.Actor) string {
	t.Helper()
	token, err := s.CreateSession(ctx, a.UserID, a.OrgID, nil)
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
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
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
			err := s.ChangePassword(ctx, ada.UserID, tc.current, tc.next)
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
	wantCode(t, s.ChangePassword(ctx, "no-such-user", helperPassword, "a brand new password"), db.CodeNotFound)
	if evs := auditActions(t, s, ada, db.ActionPasswordChange); len(evs) != 0 {
		t.Errorf("%d password_change events after refusals, want none", len(evs))
	}
}

func TestStore_ChangePassword(t *testing.T) {
	s, clock := mustOpenClock(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	zed := mustOrg(t, s, "Globex", "zed@example.com")
	if _, err := s.AddMember(ctx, zed, db.NewUser{Email: "ada@example.com"}, db.OrgMember); err != nil {
		t.Fatal(err)
	}
	session := mustSession(t, s, ada)
	raw := rawDB(t, s)
	before := rawInt(t, raw, `SELECT password_changed_at FROM users WHERE id = ?`, ada.UserID)
	clock.Add(time.Hour)

	if err := s.ChangePassword(ctx, ada.UserID, helperPassword, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	wantSignIn(t, s, "ada@example.com", "a brand new password", true)
	wantSignIn(t, s, "ada@example.com", helperPassword, false)
	if after := rawInt(t, raw, `SELECT password_changed_at FROM users WHERE id = ?`, ada.UserID); after != before+int(time.Hour/time.Millisecond) {
		t.Errorf("password_changed_at %d, want %d (an hour later)", after, before+int(time.Hour/time.Millisecond))
	}
	// Sessions are the caller's business: the portal keeps the one that made the change.
	if !sessionLive(t, s, session) {
		t.Error("ChangePassword ended a session")
	}
	// Each organization's admins see it in their own audit log.
	for _, admin := range []db.Actor{ada, zed} {
		evs := auditActions(t, s, admin, db.ActionPasswordChange)
		if len(evs) != 1 {
			t.Fatalf("%d password_change events in org %s, want 1", len(evs), admin.OrgID)
		}
		if e := evs[0]; e.ActorID != ada.UserID || e.ActorEmail != "ada@example.com" || e.TargetID != ada.UserID || e.TargetName != "ada@example.com" {
			t.Errorf("event %+v, want Ada changing her own password", e)
		}
	}
	// The old password no longer changes anything.
	wantCode(t, s.ChangePassword(ctx, ada.UserID, helperPassword, "yet another password"), db.CodeUnauthorized)
	wantSignIn(t, s, "ada@example.com", "a brand new password", true)
}

func TestStore_SetMemberPassword(t *testing.T) {
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	carol := mustMember(t, s, ada, "carol@example.com")
	bob1, bob2, carolSession := mustSession(t, s, bob), mustSession(t, s, bob), mustSession(t, s, carol)
	adaSession := mustSession(t, s, ada)

	if err := s.SetMemberPassword(ctx, ada, bob.UserID, "handed over in person"); err != nil {
		t.Fatal(err)
	}
	wantSignIn(t, s, "bob@example.com", "handed over in person", true)
	wantSignIn(t, s, "bob@example.com", helperPassword, false)
	if sessionLive(t, s, bob1) || sessionLive(t, s, bob2) {
		t.Error("a session of Bob survived the new password")
	}
	if !sessionLive(t, s, carolSession) || !sessionLive(t, s, adaSession) {
		t.Error("someone else's session ended")
	}
	evs := auditActions(t, s, ada, db.ActionMemberPasswordSet)
	if len(evs) != 1 || evs[0].ActorID != ada.UserID || evs[0].TargetID != bob.UserID || evs[0].TargetName != "bob@example.com" {
		t.Fatalf("events %+v, want one: Ada set Bob's password", evs)
	}
}

func TestStore_SetMemberPassword_Refusals(t *testing.T) {
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	carol := mustMember(t, s, ada, "carol@example.com")
	zed := mustOrg(t, s, "Globex", "zed@example.com") // an organization Ada does not belong to
	dan := mustMember(t, s, zed, "dan@example.com")   // in Globex only
	if _, err := s.AddMember(ctx, zed, db.NewUser{Email: "carol@example.com"}, db.OrgMember); err != nil {
		t.Fatal(err) // Carol is in both; Ada administers only Acme
	}
	bobSession, carolSession := mustSession(t, s, bob), mustSession(t, s, carol)

	for _, tc := range []struct {
		name   string
		actor  db.Actor
		userID string
		pw     string
		want   db.Code
	}{
		{"not an admin", bob, carol.UserID, "handed over in person", db.CodeForbidden},
		{"not a member of the org", ada, dan.UserID, "handed over in person", db.CodeNotFound},
		{"no such user", ada, "no-such-user", "handed over in person", db.CodeNotFound},
		{"too short", ada, bob.UserID, "short", db.CodeInvalid},
		{"own password", ada, ada.UserID, "handed over in person", db.CodeInvalid},
		{"member of an org the admin does not run", ada, carol.UserID, "handed over in person", db.CodeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, s.SetMemberPassword(ctx, tc.actor, tc.userID, tc.pw), tc.want)
		})
	}
	for _, email := range []string{"ada@example.com", "bob@example.com", "carol@example.com", "dan@example.com"} {
		wantSignIn(t, s, email, helperPassword, true)
	}
	if !sessionLive(t, s, bobSession) || !sessionLive(t, s, carolSession) {
		t.Error("a refused SetMemberPassword ended a session")
	}
	if evs := auditActions(t, s, ada, db.ActionMemberPasswordSet); len(evs) != 0 {
		t.Errorf("%d password_set events after refusals, want none", len(evs))
	}

	// An admin of every organization the user belongs to may set it.
	if _, err := s.AddMember(ctx, zed, db.NewUser{Email: "ada@example.com"}, db.OrgAdmin); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMemberPassword(ctx, ada, carol.UserID, "handed over in person"); err != nil {
		t.Fatalf("Ada, admin of both of Carol's organizations: %v", err)
	}
	wantSignIn(t, s, "carol@example.com", "handed over in person", true)
}
