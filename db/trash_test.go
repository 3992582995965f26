package db_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
)

func mustTrash(t testing.TB, s *db.Store, a db.Actor) []db.DeletedSecret {
	t.Helper()
	got, err := s.Trash(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func trashNames(ds []db.DeletedSecret) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.Name)
	}
	return out
}

// TestTrash_DeleteIsRecoverable: a deleted secret leaves every list and fetch at once and frees its
// name; its Owners find it in the trash and restore it, under a new name when the old one is taken,
// with its value, versions and grants. Readers, other members and other organizations cannot.
func TestTrash_DeleteIsRecoverable(t *testing.T) {
	t.Parallel()
	s, clock := mustOpenClock(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	carol := mustMember(t, s, ada, "carol@example.com")
	mallory := mustOrg(t, s, "Evil", "mallory@example.com")
	sec := mustSecret(t, s, bob, "API_TOKEN", "one")
	mustUpdate(t, s, bob, sec.ID, "two")
	mustShare(t, s, bob, sec, db.PrincipalUser, carol.UserID, db.RoleReader)
	if _, err := s.SecretByName(ctx, carol, "API_TOKEN"); err != nil { // cached
		t.Fatal(err)
	}

	_, err := s.DeleteSecret(ctx, carol, sec.ID)
	wantCode(t, err, db.CodeForbidden)
	deletedAt := clock.Now()
	if _, err := s.DeleteSecret(ctx, bob, sec.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.SecretByName(ctx, carol, "API_TOKEN")
	wantCode(t, err, db.CodeNotFound)
	if page, err := s.ListSecrets(ctx, bob, "", 0, 50); err != nil || page.Total != 0 {
		t.Fatalf("a deleted secret is listed: %+v %v", page, err)
	}

	// Only its Owner sees it in the trash: not its Reader, not the admin (an Owner is left).
	trash := mustTrash(t, s, bob)
	if len(trash) != 1 || trash[0].ID != sec.ID || trash[0].DeletedByUser.Email != "bob@example.com" ||
		!trash[0].DeletedAt.Equal(deletedAt.Truncate(time.Millisecond)) || !trash[0].PurgeAt.Equal(trash[0].DeletedAt.Add(db.DefaultTrashWindow)) || trash[0].Orphan {
		t.Fatalf("bob's trash: %+v", trash)
	}
	for _, a := range []db.Actor{carol, ada, mallory} {
		if got := mustTrash(t, s, a); len(got) != 0 {
			t.Fatalf("%s sees %v in the trash", a.Email, trashNames(got))
		}
		_, err := s.RestoreSecret(ctx, a, sec.ID, "")
		wantCode(t, err, db.CodeNotFound)
		_, err = s.DestroySecret(ctx, a, sec.ID)
		wantCode(t, err, db.CodeNotFound)
	}
	_, err = s.RestoreSecret(ctx, db.SystemActor(ada.OrgID), sec.ID, "")
	wantCode(t, err, db.CodeForbidden)

	// The name is free: someone takes it. Restoring under it is refused; under a bad name too.
	mustSecret(t, s, ada, "API_TOKEN", "new")
	_, err = s.RestoreSecret(ctx, bob, sec.ID, "")
	wantCode(t, err, db.CodeConflict)
	_, err = s.RestoreSecret(ctx, bob, sec.ID, "OLD-TOKEN")
	wantCode(t, err, db.CodeInvalid)
	if got := trashNames(mustTrash(t, s, bob)); !slices.Equal(got, []string{"API_TOKEN"}) {
		t.Fatalf("a refused restore changed the trash: %v", got)
	}

	restored, err := s.RestoreSecret(ctx, bob, sec.ID, "OLD_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	if restored.Name != "OLD_TOKEN" || restored.ID != sec.ID {
		t.Fatalf("restored: %+v", restored)
	}
	got, err := s.SecretByName(ctx, carol, "OLD_TOKEN")
	if err != nil || got.Value != "two" {
		t.Fatalf("the Reader's grant and the value came back: %+v %v", got, err)
	}
	if v := versionNumbers(mustHistory(t, s, bob, sec.ID)); !slices.Equal(v, []int64{2, 1}) {
		t.Fatalf("versions after restore: %v", v)
	}
	if len(mustTrash(t, s, bob)) != 0 {
		t.Fatal("a restored secret is still in the trash")
	}
	evs := auditActions(t, s, ada, db.ActionSecretRestore)
	if len(evs) != 1 || evs[0].ActorID != bob.UserID || evs[0].SecretName != "OLD_TOKEN" || evs[0].Detail != "from the trash, as OLD_TOKEN (deleted as API_TOKEN)" {
		t.Fatalf("restore events: %+v", evs)
	}
}

// TestTrash_LastOwnerRuleRestorableByAdmin: the secrets the last-Owner rule deletes when their last
// Owner leaves are in the admins' trash; the admin who restores one becomes its Owner, recorded.
func TestTrash_LastOwnerRuleRestorableByAdmin(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	carol := mustMember(t, s, ada, "carol@example.com")
	sec := mustSecret(t, s, bob, "DB_PASSWORD", "hunter2")
	mustShare(t, s, bob, sec, db.PrincipalUser, carol.UserID, db.RoleReader)
	removal, err := s.RemoveMember(ctx, ada, bob.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if len(removal.Deleted) != 1 {
		t.Fatalf("the last-Owner rule deleted %v", secretNames(removal.Deleted))
	}
	wantAccess(t, s, carol, sec.ID, "")
	if got := mustTrash(t, s, carol); len(got) != 0 {
		t.Fatalf("a Reader sees %v in the trash", trashNames(got))
	}
	trash := mustTrash(t, s, ada)
	if len(trash) != 1 || !trash[0].Orphan || trash[0].DeletedByUser.Email != "ada@example.com" {
		t.Fatalf("the admin's trash: %+v", trash)
	}
	// A plain member cannot restore it.
	_, err = s.RestoreSecret(ctx, carol, sec.ID, "")
	wantCode(t, err, db.CodeNotFound)

	if _, err := s.RestoreSecret(ctx, ada, sec.ID, ""); err != nil {
		t.Fatal(err)
	}
	wantAccess(t, s, ada, sec.ID, db.RoleOwner)
	wantAccess(t, s, carol, sec.ID, db.RoleReader)
	if got := mustReveal(t, s, ada, sec.ID); got != "hunter2" {
		t.Fatalf("value %q", got)
	}
	grants := auditActions(t, s, ada, db.ActionAccessGrant)
	if len(grants) == 0 || grants[0].TargetID != ada.UserID || grants[0].Role != string(db.RoleOwner) ||
		grants[0].Detail != "restored by an organization admin: no Owner was left" {
		t.Fatalf("the admin's Owner grant is not recorded: %+v", grants)
	}
}

// TestTrash_PurgeAfterTheWindow: nothing is destroyed before the window passes; after it, the secret,
// its versions and its grants are gone, and on SQLite no file holds its ciphertexts once the database
// is closed. "Delete now" destroys at once.
func TestTrash_PurgeAfterTheWindow(t *testing.T) {
	t.Parallel()
	loc := location(t)
	clock := newClock()
	s := mustOpenAt(t, loc, db.Options{Now: clock.Now, TrashWindow: 72 * time.Hour})
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	carol := mustMember(t, s, ada, "carol@example.com")
	old := mustSecret(t, s, ada, "OLD_TOKEN", canary("v1"))
	mustUpdate(t, s, ada, old.ID, canary("v2"))
	mustShare(t, s, ada, old, db.PrincipalUser, carol.UserID, db.RoleReader)
	now := mustSecret(t, s, ada, "NOW_TOKEN", canary("now"))
	keep := mustSecret(t, s, ada, "KEEP_TOKEN", canary("keep"))
	raw := rawDB(t, s)
	sealed := tableBytes(t, raw, "secret_versions")
	for _, id := range []string{old.ID, now.ID} {
		var b []byte
		if err := raw.QueryRowContext(ctx, `SELECT sealed FROM secrets WHERE id = ?`, id).Scan(&b); err != nil {
			t.Fatal(err)
		}
		sealed = append(sealed, b)
	}
	var ciphertexts [][]byte
	for _, b := range sealed {
		if len(b) > 60 {
			ciphertexts = append(ciphertexts, b[12:60])
		}
	}
	if len(ciphertexts) != 3 {
		t.Fatalf("%d ciphertexts to look for, want 3", len(ciphertexts))
	}

	for _, id := range []string{old.ID, now.ID} {
		if _, err := s.DeleteSecret(ctx, ada, id); err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.DestroySecret(ctx, carol, now.ID)
	wantCode(t, err, db.CodeNotFound)
	if _, err := s.DestroySecret(ctx, ada, now.ID); err != nil {
		t.Fatal(err)
	}
	if got := trashNames(mustTrash(t, s, ada)); !slices.Equal(got, []string{"OLD_TOKEN"}) {
		t.Fatalf("trash after Delete now: %v", got)
	}

	clock.Add(71 * time.Hour)
	if n, err := s.PurgeTrash(ctx); err != nil || n != 0 {
		t.Fatalf("purged %d before the window passed (%v)", n, err)
	}
	clock.Add(time.Hour)
	if n, err := s.PurgeTrash(ctx); err != nil || n != 1 {
		t.Fatalf("purged %d after the window, want 1 (%v)", n, err)
	}
	_, err = s.RestoreSecret(ctx, ada, old.ID, "")
	wantCode(t, err, db.CodeNotFound)
	for _, table := range []string{"secrets", "secret_versions", "grants"} {
		col := "secret_id"
		if table == "secrets" {
			col = "id"
		}
		if n := rawInt(t, raw, `SELECT COUNT(*) FROM `+table+` WHERE `+col+` IN (?, ?)`, old.ID, now.ID); n != 0 {
			t.Fatalf("%d rows of the purged secrets left in %s", n, table)
		}
	}
	if got := mustReveal(t, s, ada, keep.ID); got == "" {
		t.Fatal("the purge touched a live secret")
	}
	if evs := auditActions(t, s, ada, db.ActionSecretPurge); len(evs) != 2 {
		t.Fatalf("purge events: %+v", evs)
	}
	if onPostgres() {
		return
	}
	raw.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for i, c := range ciphertexts {
		if hits := filesContaining(t, filepath.Dir(loc), c); len(hits) > 0 {
			t.Fatalf("ciphertext %d of a purged secret is still in %v", i, hits)
		}
	}
}
