package db_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/keyhold/keyhold/db"
)

// mustUpdate sets a new value on a secret as a, from whatever version it is at.
func mustUpdate(t testing.TB, s *db.Store, a db.Actor, id, value string) *db.Secret {
	t.Helper()
	sec, err := s.UpdateSecret(ctx, a, id, []byte(value), 0)
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

// versionNumbers lists a history's version numbers, newest first.
func versionNumbers(h *db.SecretHistory) []int64 {
	var out []int64
	for _, v := range h.Versions {
		out = append(out, v.Number)
	}
	return out
}

func mustHistory(t testing.TB, s *db.Store, a db.Actor, id string) *db.SecretHistory {
	t.Helper()
	h, err := s.SecretHistory(ctx, a, id)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestHistory_EveryValueIsAVersion: each value change keeps the one it replaces as a numbered
// version, with who set it; an Owner reads any of them (audited as a read of that version), a Reader
// sees the list and the current value only, and nobody else sees anything.
func TestHistory_EveryValueIsAVersion(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	carol := mustMember(t, s, ada, "carol@example.com")
	mallory := mustOrg(t, s, "Evil", "mallory@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "one")
	mustShare(t, s, ada, sec, db.PrincipalUser, bob.UserID, db.RoleOwner)
	mustShare(t, s, ada, sec, db.PrincipalUser, carol.UserID, db.RoleReader)
	mustUpdate(t, s, bob, sec.ID, "two")
	mustUpdate(t, s, ada, sec.ID, "three")

	h := mustHistory(t, s, ada, sec.ID)
	if got := versionNumbers(h); !slices.Equal(got, []int64{3, 2, 1}) {
		t.Fatalf("versions %v, want [3 2 1]", got)
	}
	if !h.Versions[0].Current || h.Versions[1].Current || h.Versions[1].SetBy.Email != "bob@example.com" ||
		h.Versions[2].SetBy.Email != "ada@example.com" || h.Versions[1].Size != 3 || h.Versions[0].Size != 5 || h.Kept != db.DefaultMaxVersions {
		t.Fatalf("history: %+v", h)
	}
	for n, want := range map[int64]string{1: "one", 2: "two", 3: "three"} {
		_, v, err := s.RevealVersion(ctx, ada, sec.ID, n)
		if err != nil || v.Value != want || v.Number != n || v.Current != (n == 3) {
			t.Fatalf("version %d: %+v, %v", n, v, err)
		}
	}
	var details []string
	for _, ev := range auditActions(t, s, ada, db.ActionSecretRead) {
		details = append(details, ev.Detail)
	}
	slices.Sort(details)
	if !slices.Equal(details, []string{"version 1", "version 2", "version 3"}) {
		t.Fatalf("reads of versions recorded as %q", details)
	}

	// The Reader: the list, and the current value.
	if got := versionNumbers(mustHistory(t, s, carol, sec.ID)); !slices.Equal(got, []int64{3, 2, 1}) {
		t.Fatalf("the Reader's list: %v", got)
	}
	if _, v, err := s.RevealVersion(ctx, carol, sec.ID, 3); err != nil || v.Value != "three" {
		t.Fatalf("the Reader reads the current version: %+v %v", v, err)
	}
	_, _, err := s.RevealVersion(ctx, carol, sec.ID, 1)
	wantCode(t, err, db.CodeForbidden)

	// Nobody else: not shared, another organization, no such version.
	dave := mustMember(t, s, ada, "dave@example.com")
	for _, a := range []db.Actor{dave, mallory} {
		_, err := s.SecretHistory(ctx, a, sec.ID)
		wantCode(t, err, db.CodeNotFound)
		_, _, err = s.RevealVersion(ctx, a, sec.ID, 1)
		wantCode(t, err, db.CodeNotFound)
		_, err = s.RestoreVersion(ctx, a, sec.ID, 1, 0)
		wantCode(t, err, db.CodeNotFound)
	}
	_, _, err = s.RevealVersion(ctx, ada, sec.ID, 9)
	wantCode(t, err, db.CodeNotFound)
	if got, want := db.ErrorMessage(err), "API_TOKEN has no version 9: its history holds versions 1 to 3."; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}

// TestHistory_RestoreWritesANewVersion: restoring version 1 writes its value as version 4; the
// history keeps all four. Readers, stale copies and the current version are refused, changing nothing.
func TestHistory_RestoreWritesANewVersion(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	carol := mustMember(t, s, ada, "carol@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "one")
	mustShare(t, s, ada, sec, db.PrincipalUser, carol.UserID, db.RoleReader)
	mustUpdate(t, s, ada, sec.ID, "two")
	mustUpdate(t, s, ada, sec.ID, "three")

	_, err := s.RestoreVersion(ctx, carol, sec.ID, 1, 3)
	wantCode(t, err, db.CodeForbidden)
	_, err = s.RestoreVersion(ctx, ada, sec.ID, 1, 2) // a stale copy
	wantCode(t, err, db.CodeConflict)
	_, err = s.RestoreVersion(ctx, ada, sec.ID, 3, 3)
	wantCode(t, err, db.CodeInvalid)
	_, err = s.RestoreVersion(ctx, ada, sec.ID, 0, 3)
	wantCode(t, err, db.CodeNotFound)
	if got := versionNumbers(mustHistory(t, s, ada, sec.ID)); !slices.Equal(got, []int64{3, 2, 1}) {
		t.Fatalf("a refused restore changed the history: %v", got)
	}

	restored, err := s.RestoreVersion(ctx, ada, sec.ID, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if restored.Version != 4 {
		t.Fatalf("restored as version %d, want 4", restored.Version)
	}
	if got := mustReveal(t, s, carol, sec.ID); got != "one" {
		t.Fatalf("current value %q after restoring version 1", got)
	}
	if got := versionNumbers(mustHistory(t, s, ada, sec.ID)); !slices.Equal(got, []int64{4, 3, 2, 1}) {
		t.Fatalf("versions %v", got)
	}
	if _, v, err := s.RevealVersion(ctx, ada, sec.ID, 3); err != nil || v.Value != "three" {
		t.Fatalf("version 3 after the restore: %+v %v", v, err)
	}
	ups := auditActions(t, s, ada, db.ActionSecretUpdate)
	if len(ups) == 0 || ups[0].Detail != "version 4, restored from version 1" {
		t.Fatalf("the restore's event: %+v", ups)
	}
	// The fetch by name sees the restored value at once.
	if got, err := s.SecretByName(ctx, carol, "API_TOKEN"); err != nil || got.Value != "one" || got.Version != 4 {
		t.Fatalf("fetch after restore: %+v %v", got, err)
	}
}

// TestHistory_CapDestroysTheOldest: with MaxVersions 3, a fifth value leaves versions 3 to 5; the
// older versions' ciphertexts are gone from the table and, on SQLite, from every file once the
// database is closed.
func TestHistory_CapDestroysTheOldest(t *testing.T) {
	t.Parallel()
	loc := location(t)
	s := mustOpenAt(t, loc, db.Options{MaxVersions: 3})
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", canary("v1"))
	raw := rawDB(t, s)
	var first []byte
	if err := raw.QueryRowContext(ctx, `SELECT sealed FROM secrets WHERE id = ?`, sec.ID).Scan(&first); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 5; i++ {
		mustUpdate(t, s, ada, sec.ID, canary(fmt.Sprint("v", i)))
	}
	if got := versionNumbers(mustHistory(t, s, ada, sec.ID)); !slices.Equal(got, []int64{5, 4, 3}) {
		t.Fatalf("versions %v, want [5 4 3]", got)
	}
	if n := rawInt(t, raw, `SELECT COUNT(*) FROM secret_versions WHERE secret_id = ?`, sec.ID); n != 2 {
		t.Fatalf("%d earlier versions stored, want 2", n)
	}
	_, _, err := s.RevealVersion(ctx, ada, sec.ID, 2)
	wantCode(t, err, db.CodeNotFound)
	if tableContains(t, raw, "secret_versions", first[12:60]) {
		t.Fatal("version 1's ciphertext is still in secret_versions")
	}
	if onPostgres() {
		return
	}
	raw.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if hits := filesContaining(t, filepath.Dir(loc), first[12:60]); len(hits) > 0 {
		t.Fatalf("version 1's ciphertext is still in %v", hits)
	}
}

// TestHistory_CiphertextBoundToItsVersion: an earlier version's ciphertext put back as the current
// value (a rollback by someone who can write the database) does not open.
func TestHistory_CiphertextBoundToItsVersion(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "revoked-token")
	mustUpdate(t, s, ada, sec.ID, "current-token")
	raw := rawDB(t, s)
	rawExec(t, raw, `UPDATE secrets SET sealed = (SELECT sealed FROM secret_versions WHERE secret_id = ?1 AND version = 1) WHERE id = ?1`, sec.ID)
	if got, err := s.RevealSecret(ctx, ada, sec.ID); err == nil {
		t.Fatalf("version 1's ciphertext opened as version 2: %q", got.Value)
	}
}

// TestHistory_LegacyValuesResealed: a value sealed before version history (its associated data
// without the version) is sealed again when the database is opened, once, and reads as before.
func TestHistory_LegacyValuesResealed(t *testing.T) {
	t.Parallel()
	loc := location(t)
	s := mustOpenAt(t, loc, db.Options{})
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "placeholder")
	keyID, legacy, err := s.SealLegacy(ctx, ada.OrgID, sec.ID, []byte("from an older keyhold"))
	if err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, s)
	rawExec(t, raw, `UPDATE secrets SET sealed = ?, data_key_id = ? WHERE id = ?`, legacy, keyID, sec.ID)
	rawExec(t, raw, `DELETE FROM meta WHERE key = 'value_ad'`)
	if _, err := s.RevealSecret(ctx, ada, sec.ID); err == nil {
		t.Fatal("a legacy ciphertext opened without being resealed")
	}
	raw.Close()
	s.Close()

	s = mustOpenAt(t, loc, db.Options{})
	if got := mustReveal(t, s, ada, sec.ID); got != "from an older keyhold" {
		t.Fatalf("after resealing: %q", got)
	}
	raw = rawDB(t, s)
	var now []byte
	if err := raw.QueryRowContext(ctx, `SELECT sealed FROM secrets WHERE id = ?`, sec.ID).Scan(&now); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(now, legacy) {
		t.Fatal("the legacy ciphertext was not sealed again")
	}
	if n := rawInt(t, raw, `SELECT COUNT(*) FROM meta WHERE key = 'value_ad'`); n != 1 {
		t.Fatalf("meta value_ad rows: %d", n)
	}
}

// TestHistory_UpdateWithoutVersionRacesAnother: updates that name no version (the API without
// If-Match) are sealed for the version they will be, even when another update lands in between.
func TestHistory_UpdateWithoutVersionRacesAnother(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "v1")
	done := make(chan error, 8)
	for i := range 8 {
		go func() {
			_, err := s.UpdateSecret(context.Background(), ada, sec.ID, []byte(fmt.Sprint("value-", i)), 0)
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	h := mustHistory(t, s, ada, sec.ID)
	if h.Versions[0].Number != 9 || len(h.Versions) != 9 {
		t.Fatalf("versions %v", versionNumbers(h))
	}
	for _, v := range h.Versions {
		if _, got, err := s.RevealVersion(ctx, ada, sec.ID, v.Number); err != nil || got.Size == 0 {
			t.Fatalf("version %d does not open: %v", v.Number, err)
		}
	}
}
