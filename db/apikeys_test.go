package db_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
)

func TestStore_CreateAPIKey_TokenNotStored(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := mustOpenAt(t, filepath.Join(dir, db.FileName), db.Options{})
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	token, key, err := s.CreateAPIKey(ctx, ada, "  deploy bot  ", noExpiry)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, "kh_") || len(token) < 40 {
		t.Fatalf("token %q: want the kh_ prefix and at least 40 characters", token)
	}
	if key.Label != "deploy bot" || key.OrgID != ada.OrgID || key.User.ID != ada.UserID || !key.ExpiresAt.IsZero() ||
		!strings.HasPrefix(token, key.Prefix) || len(key.Prefix) >= len(token)/2 {
		t.Fatalf("key %+v for token %q", key, token)
	}
	token2, _, err := s.CreateAPIKey(ctx, ada, "second", noExpiry)
	if err != nil || token2 == token {
		t.Fatalf("second token %q (%v) repeats the first", token2, err)
	}

	raw := rawDB(t, s)
	secretPart := token[len(key.Prefix):]
	for _, table := range []string{"api_keys", "audit_events", "sessions", "meta"} {
		if tableContains(t, raw, table, []byte(secretPart)) {
			t.Errorf("table %s holds the key", table)
		}
	}
	if !tableContains(t, raw, "api_keys", []byte(key.Prefix)) {
		t.Fatal("the scan does not find the stored prefix; it cannot prove the key is absent")
	}
	s.Close()
	for _, tok := range []string{token, token2} {
		if hits := filesContaining(t, dir, []byte(tok[len(key.Prefix):])); len(hits) > 0 {
			t.Errorf("the key is in %v", hits)
		}
	}
}

func TestStore_AuthenticateAPIKey(t *testing.T) {
	t.Parallel()
	s, clock := mustOpenClock(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	token, key, err := s.CreateAPIKey(ctx, bob, "ci", clock.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.AuthenticateAPIKey(ctx, token, "10.0.0.7")
	if err != nil {
		t.Fatal(err)
	}
	if a.UserID != bob.UserID || a.OrgID != ada.OrgID || a.Role != db.OrgMember || a.APIKeyID != key.ID ||
		a.APIKeyLabel != "ci" || a.Source != "api" || a.ClientIP != "10.0.0.7" || a.Email != "bob@example.com" {
		t.Fatalf("actor %+v", a)
	}
	// The key acts with the user's current role.
	if err := s.SetMemberRole(ctx, ada, bob.UserID, db.OrgAdmin); err != nil {
		t.Fatal(err)
	}
	if a, err := s.AuthenticateAPIKey(ctx, token, ""); err != nil || !a.IsAdmin() {
		t.Fatalf("after promotion %+v %v", a, err)
	}

	// Altered tokens fail.
	for _, bad := range []string{changeChar(token, len(token)-5), changeChar(token, 3), token[:len(token)-1], token + "x", "", "kh_", strings.TrimPrefix(token, "kh_"),
		"KH_" + token[3:], strings.Repeat("k", 200), " " + token} {
		_, err := s.AuthenticateAPIKey(ctx, bad, "")
		wantCode(t, err, db.CodeUnauthorized)
	}

	// Expiry: valid until the instant it expires.
	clock.Add(24*time.Hour - time.Second)
	if _, err := s.AuthenticateAPIKey(ctx, token, ""); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	clock.Add(time.Second)
	_, err = s.AuthenticateAPIKey(ctx, token, "")
	wantCode(t, err, db.CodeUnauthorized)

	_, _, err = s.CreateAPIKey(ctx, bob, "past", clock.Now().Add(-time.Minute))
	wantCode(t, err, db.CodeInvalid)
	_, _, err = s.CreateAPIKey(ctx, bob, "now", clock.Now())
	wantCode(t, err, db.CodeInvalid)
	_, _, err = s.CreateAPIKey(ctx, bob, " ", noExpiry)
	wantCode(t, err, db.CodeInvalid)
	_, _, err = s.CreateAPIKey(ctx, db.SystemActor(ada.OrgID), "cli", noExpiry)
	wantCode(t, err, db.CodeForbidden)
}

func TestStore_APIKey_Revoked(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	token, key, err := s.CreateAPIKey(ctx, ada, "ci", noExpiry)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := s.CreateAPIKey(ctx, ada, "other", noExpiry)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, ada, key.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.AuthenticateAPIKey(ctx, token, "")
	wantCode(t, err, db.CodeUnauthorized)
	if _, err := s.AuthenticateAPIKey(ctx, other, ""); err != nil {
		t.Fatalf("revoking one key stopped another: %v", err)
	}
	wantCode(t, s.RevokeAPIKey(ctx, ada, key.ID), db.CodeNotFound)
	keys, err := s.ListAPIKeys(ctx, ada)
	if err != nil || len(keys) != 1 || keys[0].Label != "other" {
		t.Fatalf("listed %+v %v", keys, err)
	}
}

func TestStore_APIKey_MemberRemoved(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	token, _, err := s.CreateAPIKey(ctx, bob, "ci", noExpiry)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveMember(ctx, ada, bob.UserID); err != nil {
		t.Fatal(err)
	}
	_, err = s.AuthenticateAPIKey(ctx, token, "")
	wantCode(t, err, db.CodeUnauthorized)
	// Re-adding bob does not bring his old key back.
	mustJoin(t, s, ada, bob, db.OrgMember)
	_, err = s.AuthenticateAPIKey(ctx, token, "")
	wantCode(t, err, db.CodeUnauthorized)
}

func TestStore_ListAPIKeys_AndRevokeRights(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	cat := mustMember(t, s, ada, "cat@example.com")
	globex := mustOrg(t, s, "Globex", "ada@example.com")
	keys := map[string]string{} // label -> token
	ids := map[string]string{}  // label -> ID
	for _, k := range []struct {
		a     db.Actor
		label string
	}{{ada, "ada-key"}, {bob, "bob-key"}, {cat, "cat-key"}, {globex, "globex-key"}} {
		tok, key, err := s.CreateAPIKey(ctx, k.a, k.label, noExpiry)
		if err != nil {
			t.Fatal(err)
		}
		keys[k.label], ids[k.label] = tok, key.ID
	}
	labels := func(a db.Actor) []string {
		t.Helper()
		ks, err := s.ListAPIKeys(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, k := range ks {
			out = append(out, k.Label)
		}
		slices.Sort(out)
		return out
	}
	if got := labels(bob); !slices.Equal(got, []string{"bob-key"}) {
		t.Errorf("bob lists %v", got)
	}
	if got := labels(ada); !slices.Equal(got, []string{"ada-key", "bob-key", "cat-key"}) {
		t.Errorf("the admin lists %v", got)
	}
	if got := labels(globex); !slices.Equal(got, []string{"globex-key"}) {
		t.Errorf("globex lists %v", got)
	}

	// A member cannot revoke another's key, nor a key of another org; it stays working.
	wantCode(t, s.RevokeAPIKey(ctx, bob, ids["cat-key"]), db.CodeNotFound)
	wantCode(t, s.RevokeAPIKey(ctx, bob, ids["ada-key"]), db.CodeNotFound)
	wantCode(t, s.RevokeAPIKey(ctx, ada, ids["globex-key"]), db.CodeNotFound)
	for _, l := range []string{"cat-key", "ada-key", "globex-key"} {
		if _, err := s.AuthenticateAPIKey(ctx, keys[l], ""); err != nil {
			t.Errorf("%s stopped working: %v", l, err)
		}
	}
	// Its owner and an admin can.
	if err := s.RevokeAPIKey(ctx, bob, ids["bob-key"]); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, ada, ids["cat-key"]); err != nil {
		t.Fatal(err)
	}
	if got := labels(ada); !slices.Equal(got, []string{"ada-key"}) {
		t.Errorf("after revokes the admin lists %v", got)
	}
}

func TestStore_APIKey_LastUsed(t *testing.T) {
	t.Parallel()
	s, clock := mustOpenClock(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "v")
	token, _, err := s.CreateAPIKey(ctx, ada, "ci", noExpiry)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := s.ListAPIKeys(ctx, ada)
	if err != nil || !ks[0].LastUsedAt.IsZero() {
		t.Fatalf("a new key was used: %+v %v", ks, err)
	}
	clock.Add(time.Hour)
	api, err := s.APIRequestActor(ctx, token, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if mustReveal(t, s, api, sec.ID) != "v" {
		t.Fatal("wrong value")
	}
	ks, err = s.ListAPIKeys(ctx, ada)
	if err != nil || !ks[0].LastUsedAt.Equal(clock.Now()) {
		t.Fatalf("LastUsedAt=%v, want %v (%v)", ks[0].LastUsedAt, clock.Now(), err)
	}
}

// NoteAPIKeyUse refreshes a key's last-used time for calls that read no value, at most every few
// seconds. It does not wait; a later audited read (same queue) is committed after it.
func TestStore_NoteAPIKeyUse(t *testing.T) {
	t.Parallel()
	s, clock := mustOpenClock(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "v")
	token, _, err := s.CreateAPIKey(ctx, ada, "ci", noExpiry)
	if err != nil {
		t.Fatal(err)
	}
	api, err := s.AuthenticateAPIKey(ctx, token, "")
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() time.Time {
		t.Helper()
		mustReveal(t, s, ada, sec.ID) // a portal read, queued after the note: once it returns, the note is written
		ks, err := s.ListAPIKeys(ctx, ada)
		if err != nil || len(ks) != 1 {
			t.Fatalf("keys %+v %v", ks, err)
		}
		return ks[0].LastUsedAt
	}
	t1 := clock.Now()
	s.NoteAPIKeyUse(api)
	if got := lastUsed(); !got.Equal(t1) {
		t.Fatalf("LastUsedAt=%v, want %v", got, t1)
	}
	clock.Add(2 * time.Second)
	s.NoteAPIKeyUse(api) // too soon: skipped
	if got := lastUsed(); !got.Equal(t1) {
		t.Fatalf("LastUsedAt=%v after a note 2s later, want still %v", got, t1)
	}
	clock.Add(time.Minute)
	s.NoteAPIKeyUse(api)
	if got := lastUsed(); !got.Equal(clock.Now()) {
		t.Fatalf("LastUsedAt=%v, want %v", got, clock.Now())
	}
	s.NoteAPIKeyUse(ada) // a portal actor has no key: nothing to note
}
