package db_test

import (
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
)

// liveNames lists the names of the live secrets of org, straight from the table.
func liveNames(t testing.TB, raw *sql.DB, orgID string) []string {
	t.Helper()
	rows, err := raw.QueryContext(ctx, `SELECT name FROM secrets WHERE org_id = ? AND deleted_at IS NULL ORDER BY name`, orgID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func auditCount(t testing.TB, raw *sql.DB) int {
	t.Helper()
	return rawInt(t, raw, `SELECT COUNT(*) FROM audit_events`)
}

// grantKey renders an access list compactly: "user:<id>:owner".
func grantKeys(t testing.TB, s *db.Store, a db.Actor, secretID string) []string {
	t.Helper()
	grants, err := s.AccessList(ctx, a, secretID)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, g := range grants {
		out = append(out, g.Kind+":"+g.ID+":"+string(g.Role))
	}
	return out
}

func TestStore_EffectiveAccess_StrongestGrant(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	ops := mustTeam(t, s, ada, "Ops", bob)
	sec := mustSecret(t, s, ada, "API_TOKEN", "v1")

	mustShare(t, s, ada, sec, db.PrincipalUser, bob.UserID, db.RoleReader)
	wantAccess(t, s, bob, sec.ID, db.RoleReader)
	mustShare(t, s, ada, sec, db.PrincipalTeam, ops.ID, db.RoleOwner)
	wantAccess(t, s, bob, sec.ID, db.RoleOwner) // Reader direct + Owner via team
	if _, err := s.UpdateSecret(ctx, bob, sec.ID, []byte("v2"), 0); err != nil {
		t.Fatalf("Owner via team cannot update: %v", err)
	}
	page, err := s.ListSecrets(ctx, bob, "", 0, 10)
	if err != nil || len(page.Secrets) != 1 || page.Secrets[0].Access != db.RoleOwner {
		t.Fatalf("list %+v %v", page, err)
	}
	got := grantKeys(t, s, ada, sec.ID)
	want := []string{"user:" + ada.UserID + ":owner", "team:" + ops.ID + ":owner", "user:" + bob.UserID + ":reader"}
	if !slices.Equal(got, want) {
		t.Errorf("access list %v, want %v (Owners first, teams before users)", got, want)
	}

	// Leaving the team drops bob to his direct Reader grant at once.
	view, err := s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{RemoveUserIDs: []string{bob.UserID}})
	if err != nil || len(view.Deleted) != 0 {
		t.Fatalf("remove from team: %+v %v", view, err)
	}
	wantAccess(t, s, bob, sec.ID, db.RoleReader)
	_, err = s.UpdateSecret(ctx, bob, sec.ID, []byte("v3"), 0)
	wantCode(t, err, db.CodeForbidden)

	// The other way round: Owner direct + Reader via team is Owner.
	sec2 := mustSecret(t, s, ada, "DB_PASSWORD", "v1")
	if _, err := s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{AddUserIDs: []string{bob.UserID}}); err != nil {
		t.Fatal(err)
	}
	mustShare(t, s, ada, sec2, db.PrincipalTeam, ops.ID, db.RoleReader)
	wantAccess(t, s, bob, sec2.ID, db.RoleReader)
	mustShare(t, s, ada, sec2, db.PrincipalUser, bob.UserID, db.RoleOwner)
	wantAccess(t, s, bob, sec2.ID, db.RoleOwner)
	mustRevoke(t, s, ada, sec2, db.PrincipalUser, bob.UserID)
	wantAccess(t, s, bob, sec2.ID, db.RoleReader)
	mustRevoke(t, s, ada, sec2, db.PrincipalTeam, ops.ID)
	wantAccess(t, s, bob, sec2.ID, "")
}

func TestStore_ChangeAccess_LastOwnerRefused(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	empty := mustTeam(t, s, ada, "Empty") // a team with no members is no Owner user
	sec := mustSecret(t, s, ada, "API_TOKEN", "v1")
	mustShare(t, s, ada, sec, db.PrincipalUser, bob.UserID, db.RoleReader)
	mustShare(t, s, ada, sec, db.PrincipalTeam, empty.ID, db.RoleOwner)
	raw := rawDB(t, s)
	before, events := grantKeys(t, s, ada, sec.ID), auditCount(t, raw)

	tests := []struct {
		name    string
		changes []db.AccessChange
	}{
		{"revoke the last Owner", []db.AccessChange{{Kind: db.PrincipalUser, ID: ada.UserID, Revoke: true}}},
		{"revoke the last Owner by role", []db.AccessChange{{Kind: db.PrincipalUser, ID: ada.UserID, Role: db.RoleOwner, Revoke: true}}},
		{"downgrade the last Owner", []db.AccessChange{{Kind: db.PrincipalUser, ID: ada.UserID, Role: db.RoleReader}}},
		{"revoke the Owner and the Reader", []db.AccessChange{
			{Kind: db.PrincipalUser, ID: bob.UserID, Revoke: true},
			{Kind: db.PrincipalUser, ID: ada.UserID, Revoke: true},
		}},
		{"a grant to bob as Reader does not save it", []db.AccessChange{
			{Kind: db.PrincipalUser, ID: bob.UserID, Role: db.RoleReader},
			{Kind: db.PrincipalUser, ID: ada.UserID, Revoke: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.ChangeAccess(ctx, ada, sec.ID, tt.changes)
			wantCode(t, err, db.CodeConflict)
			if !strings.Contains(db.ErrorMessage(err), "API_TOKEN") {
				t.Errorf("message %q does not name the secret", db.ErrorMessage(err))
			}
			if got := grantKeys(t, s, ada, sec.ID); !slices.Equal(got, before) {
				t.Fatalf("access changed to %v, was %v", got, before)
			}
			if n := auditCount(t, raw); n != events {
				t.Fatalf("a refused change recorded %d events", n-events)
			}
		})
	}

	// Handing over ownership in one batch is fine: revokes run first, then grants.
	err := s.ChangeAccess(ctx, ada, sec.ID, []db.AccessChange{
		{Kind: db.PrincipalUser, ID: bob.UserID, Role: db.RoleOwner},
		{Kind: db.PrincipalUser, ID: ada.UserID, Revoke: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantAccess(t, s, bob, sec.ID, db.RoleOwner)
	wantAccess(t, s, ada, sec.ID, "")
}

func TestStore_ChangeAccess_RevokeDirectOwnerWhenTeamOwns(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	ops := mustTeam(t, s, ada, "Ops", bob)
	sec := mustSecret(t, s, ada, "API_TOKEN", "v1")
	mustShare(t, s, ada, sec, db.PrincipalTeam, ops.ID, db.RoleOwner)

	mustRevoke(t, s, ada, sec, db.PrincipalUser, ada.UserID)
	wantAccess(t, s, ada, sec.ID, "")
	wantAccess(t, s, bob, sec.ID, db.RoleOwner)

	// Now the team is the only Owner: taking it away, or making it Reader, is refused.
	err := s.ChangeAccess(ctx, bob, sec.ID, []db.AccessChange{{Kind: db.PrincipalTeam, ID: ops.ID, Revoke: true}})
	wantCode(t, err, db.CodeConflict)
	err = s.ChangeAccess(ctx, bob, sec.ID, []db.AccessChange{{Kind: db.PrincipalTeam, ID: ops.ID, Role: db.RoleReader}})
	wantCode(t, err, db.CodeConflict)
	wantAccess(t, s, bob, sec.ID, db.RoleOwner)
}

func TestStore_ChangeAccess_Atomic(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	zed := mustOrg(t, s, "Globex", "zed@example.com")
	globexTeam := mustTeam(t, s, zed, "Ops")
	sec := mustSecret(t, s, ada, "API_TOKEN", "v1")
	raw := rawDB(t, s)
	before, events := grantKeys(t, s, ada, sec.ID), auditCount(t, raw)

	good := db.AccessChange{Kind: db.PrincipalUser, ID: bob.UserID, Role: db.RoleReader}
	tests := []struct {
		name string
		bad  db.AccessChange
	}{
		{"user of another org", db.AccessChange{Kind: db.PrincipalUser, ID: zed.UserID, Role: db.RoleReader}},
		{"team of another org", db.AccessChange{Kind: db.PrincipalTeam, ID: globexTeam.ID, Role: db.RoleReader}},
		{"revoke for a user of another org", db.AccessChange{Kind: db.PrincipalUser, ID: zed.UserID, Revoke: true}},
		{"unknown user ID", db.AccessChange{Kind: db.PrincipalUser, ID: "00000000-0000-0000-0000-000000000000", Role: db.RoleReader}},
		{"a user ID as a team", db.AccessChange{Kind: db.PrincipalTeam, ID: bob.UserID, Role: db.RoleReader}},
		{"unknown kind", db.AccessChange{Kind: "group", ID: bob.UserID, Role: db.RoleReader}},
		{"role admin", db.AccessChange{Kind: db.PrincipalUser, ID: bob.UserID, Role: "admin"}},
		{"empty role", db.AccessChange{Kind: db.PrincipalUser, ID: bob.UserID, Role: ""}},
		{"title-case role", db.AccessChange{Kind: db.PrincipalUser, ID: bob.UserID, Role: "Owner"}},
	}
	for _, tt := range tests {
		for _, order := range []string{"good first", "bad first"} {
			t.Run(tt.name+"/"+order, func(t *testing.T) {
				batch := []db.AccessChange{good, tt.bad}
				if order == "bad first" {
					batch = []db.AccessChange{tt.bad, good}
				}
				wantCode(t, s.ChangeAccess(ctx, ada, sec.ID, batch), db.CodeInvalid)
				if got := grantKeys(t, s, ada, sec.ID); !slices.Equal(got, before) {
					t.Fatalf("access changed to %v", got)
				}
				wantAccess(t, s, bob, sec.ID, "")
				if n := auditCount(t, raw); n != events {
					t.Fatalf("a refused batch recorded %d events", n-events)
				}
			})
		}
	}
	// The good change alone works.
	if err := s.ChangeAccess(ctx, ada, sec.ID, []db.AccessChange{good}); err != nil {
		t.Fatal(err)
	}
	wantAccess(t, s, bob, sec.ID, db.RoleReader)
	// Granting the role a principal already holds changes nothing and records nothing.
	n := auditCount(t, raw)
	if err := s.ChangeAccess(ctx, ada, sec.ID, []db.AccessChange{good}); err != nil {
		t.Fatal(err)
	}
	if got := auditCount(t, raw); got != n {
		t.Errorf("a no-op grant recorded %d events", got-n)
	}
}

// removalFixture is an org where bob is the last Owner of some secrets and not of others.
type removalFixture struct {
	s             *db.Store
	raw           *sql.DB
	ada, bob, cat db.Actor
	ops, ops2     *db.Team
	secrets       map[string]*db.Secret
	bobKey        string
	bobSession    string
}

func newRemovalFixture(t *testing.T) *removalFixture {
	s := mustOpen(t)
	f := &removalFixture{s: s, raw: rawDB(t, s), secrets: map[string]*db.Secret{}}
	f.ada = mustOrg(t, s, "Acme", "ada@example.com")
	f.bob = mustMember(t, s, f.ada, "bob@example.com")
	f.cat = mustMember(t, s, f.ada, "cat@example.com")
	f.ops = mustTeam(t, s, f.ada, "Ops", f.bob)
	f.ops2 = mustTeam(t, s, f.ada, "Ops2", f.bob, f.cat)
	add := func(owner db.Actor, name string) *db.Secret {
		sec := mustSecret(t, s, owner, name, "value of "+name)
		f.secrets[name] = sec
		return sec
	}
	add(f.bob, "S1_BOB_ONLY")
	mustShare(t, s, f.bob, add(f.bob, "S2_BOB_AND_CAT"), db.PrincipalUser, f.cat.UserID, db.RoleOwner)
	mustShare(t, s, f.bob, add(f.bob, "S3_BOB_ADA_READS"), db.PrincipalUser, f.ada.UserID, db.RoleReader)
	s4 := add(f.ada, "S4_OPS_ONLY") // Owner only through Ops, whose only member is bob
	mustShare(t, s, f.ada, s4, db.PrincipalTeam, f.ops.ID, db.RoleOwner)
	mustRevoke(t, s, f.ada, s4, db.PrincipalUser, f.ada.UserID)
	s5 := add(f.ada, "S5_OPS2") // Owner through Ops2, which keeps cat
	mustShare(t, s, f.ada, s5, db.PrincipalTeam, f.ops2.ID, db.RoleOwner)
	mustRevoke(t, s, f.ada, s5, db.PrincipalUser, f.ada.UserID)
	mustShare(t, s, f.ada, add(f.ada, "S6_ADA_BOB_READS"), db.PrincipalUser, f.bob.UserID, db.RoleReader)
	mustShare(t, s, f.bob, add(f.bob, "S7_BOB_AND_OPS"), db.PrincipalTeam, f.ops.ID, db.RoleOwner)
	gone := add(f.bob, "S8_ALREADY_DELETED")
	if _, err := s.DeleteSecret(ctx, f.bob, gone.ID); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.bobKey, _, err = s.CreateAPIKey(ctx, f.bob, "ci", noExpiry); err != nil {
		t.Fatal(err)
	}
	if f.bobSession, err = s.CreateSession(ctx, f.bob.UserID, f.ada.OrgID); err != nil {
		t.Fatal(err)
	}
	return f
}

var bobOrphans = []string{"S1_BOB_ONLY", "S3_BOB_ADA_READS", "S4_OPS_ONLY", "S7_BOB_AND_OPS"}

func teamMemberEmails(t testing.TB, s *db.Store, a db.Actor, teamID string) []string {
	t.Helper()
	team, err := s.TeamByID(ctx, a, teamID)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, m := range team.Members {
		out = append(out, m.Email)
	}
	return out
}

func TestStore_RemoveMember_Preview(t *testing.T) {
	t.Parallel()
	f := newRemovalFixture(t)
	live, events := liveNames(t, f.raw, f.ada.OrgID), auditCount(t, f.raw)

	got, err := f.s.PreviewRemoveMember(ctx, f.ada, f.bob.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if names := secretNames(got.Deleted); !slices.Equal(names, bobOrphans) || got.Member.ID != f.bob.UserID {
		t.Fatalf("preview = %v of %+v, want %v of bob", names, got.Member, bobOrphans)
	}
	// Nothing changed.
	if now := liveNames(t, f.raw, f.ada.OrgID); !slices.Equal(now, live) {
		t.Errorf("live secrets %v, were %v", now, live)
	}
	if n := auditCount(t, f.raw); n != events {
		t.Errorf("the preview recorded %d events", n-events)
	}
	if _, err := f.s.ActorFor(ctx, f.bob.UserID, f.ada.OrgID, "portal", ""); err != nil {
		t.Errorf("bob is no longer a member: %v", err)
	}
	if _, err := f.s.AuthenticateAPIKey(ctx, f.bobKey, ""); err != nil {
		t.Errorf("bob's key stopped working: %v", err)
	}
	if _, err := f.s.SessionByToken(ctx, f.bobSession, longSession); err != nil {
		t.Errorf("bob's session ended: %v", err)
	}
	if m := teamMemberEmails(t, f.s, f.ada, f.ops.ID); !slices.Equal(m, []string{"bob@example.com"}) {
		t.Errorf("Ops members %v", m)
	}
	wantAccess(t, f.s, f.bob, f.secrets["S1_BOB_ONLY"].ID, db.RoleOwner)
	wantAccess(t, f.s, f.bob, f.secrets["S6_ADA_BOB_READS"].ID, db.RoleReader)
}

func TestStore_RemoveMember_DeletesOrphans(t *testing.T) {
	t.Parallel()
	f := newRemovalFixture(t)
	got, err := f.s.RemoveMember(ctx, f.ada, f.bob.UserID)
	if err != nil {
		t.Fatal(err)
	}
	if names := secretNames(got.Deleted); !slices.Equal(names, bobOrphans) {
		t.Fatalf("deleted %v, want %v", names, bobOrphans)
	}
	wantLive := []string{"S2_BOB_AND_CAT", "S5_OPS2", "S6_ADA_BOB_READS"}
	if live := liveNames(t, f.raw, f.ada.OrgID); !slices.Equal(live, wantLive) {
		t.Fatalf("live secrets %v, want %v", live, wantLive)
	}
	wantAccess(t, f.s, f.cat, f.secrets["S2_BOB_AND_CAT"].ID, db.RoleOwner)
	wantAccess(t, f.s, f.cat, f.secrets["S5_OPS2"].ID, db.RoleOwner)
	wantAccess(t, f.s, f.ada, f.secrets["S6_ADA_BOB_READS"].ID, db.RoleOwner)
	wantAccess(t, f.s, f.ada, f.secrets["S3_BOB_ADA_READS"].ID, "") // deleted, though ada could read it

	// One delete event per orphan, by the admin, naming the cause.
	syncRaw(f.raw)
	rows, err := f.raw.QueryContext(ctx, `SELECT secret_name, actor_id, detail FROM audit_events
		WHERE action = 'secret.delete' AND secret_name <> 'S8_ALREADY_DELETED' ORDER BY secret_name`)
	if err != nil {
		t.Fatal(err)
	}
	var evNames []string
	for rows.Next() {
		var name, actor, detail string
		if err := rows.Scan(&name, &actor, &detail); err != nil {
			t.Fatal(err)
		}
		evNames = append(evNames, name)
		if actor != f.ada.UserID {
			t.Errorf("%s: delete recorded for actor %s", name, actor)
		}
		if !strings.Contains(detail, "bob@example.com") || !strings.Contains(detail, "left the organization") {
			t.Errorf("%s: detail %q does not name the cause", name, detail)
		}
	}
	rows.Close()
	if !slices.Equal(evNames, bobOrphans) {
		t.Errorf("delete events for %v, want %v", evNames, bobOrphans)
	}
	if n := rawInt(t, f.raw, `SELECT COUNT(*) FROM audit_events WHERE action = 'member.remove' AND target_id = ?`, f.bob.UserID); n != 1 {
		t.Errorf("%d member.remove events", n)
	}

	// Bob is gone, with his key, his session, his team places and his grants.
	_, err = f.s.ActorFor(ctx, f.bob.UserID, f.ada.OrgID, "portal", "")
	wantCode(t, err, db.CodeForbidden)
	_, err = f.s.AuthenticateAPIKey(ctx, f.bobKey, "")
	wantCode(t, err, db.CodeUnauthorized)
	_, err = f.s.SessionByToken(ctx, f.bobSession, longSession)
	wantCode(t, err, db.CodeNotFound)
	if m := teamMemberEmails(t, f.s, f.ada, f.ops.ID); len(m) != 0 {
		t.Errorf("Ops members %v", m)
	}
	if m := teamMemberEmails(t, f.s, f.ada, f.ops2.ID); !slices.Equal(m, []string{"cat@example.com"}) {
		t.Errorf("Ops2 members %v", m)
	}
	if g := grantKeys(t, f.s, f.ada, f.secrets["S6_ADA_BOB_READS"].ID); len(g) != 1 {
		t.Errorf("S6 grants %v, want ada's only", g)
	}
	if n := rawInt(t, f.raw, `SELECT COUNT(*) FROM grants WHERE principal_id = ?`, f.bob.UserID); n != 0 {
		t.Errorf("%d grants to bob remain", n)
	}
	// Bob's stale actor reaches nothing.
	page, err := f.s.ListSecrets(ctx, f.bob, "", 0, 50)
	if err != nil || page.Total != 0 {
		t.Errorf("bob still lists %+v %v", page, err)
	}
	_, err = f.s.RemoveMember(ctx, f.ada, f.bob.UserID)
	wantCode(t, err, db.CodeNotFound)
}

func TestStore_UpdateTeam_RemovingMembersDeletesOrphans(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	raw := rawDB(t, s)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	cat := mustMember(t, s, ada, "cat@example.com")
	ops := mustTeam(t, s, ada, "Ops", bob, cat)
	orphan := mustSecret(t, s, ada, "VIA_OPS", "v")
	mustShare(t, s, ada, orphan, db.PrincipalTeam, ops.ID, db.RoleOwner)
	mustRevoke(t, s, ada, orphan, db.PrincipalUser, ada.UserID)
	kept := mustSecret(t, s, ada, "OPS_AND_ADA", "v")
	mustShare(t, s, ada, kept, db.PrincipalTeam, ops.ID, db.RoleOwner)

	// Bob leaves: cat still owns VIA_OPS through the team.
	got, err := s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{RemoveUserIDs: []string{bob.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Deleted) != 0 {
		t.Fatalf("removing bob deleted %v", secretNames(got.Deleted))
	}

	events := auditCount(t, raw)
	got, err = s.PreviewUpdateTeam(ctx, ada, ops.ID, db.TeamChange{RemoveEmails: []string{"cat@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if names := secretNames(got.Deleted); !slices.Equal(names, []string{"VIA_OPS"}) {
		t.Fatalf("preview = %v", names)
	}
	if n := auditCount(t, raw); n != events {
		t.Errorf("the preview recorded %d events", n-events)
	}
	if m := teamMemberEmails(t, s, ada, ops.ID); !slices.Equal(m, []string{"cat@example.com"}) {
		t.Errorf("the preview changed members: %v", m)
	}
	wantAccess(t, s, cat, orphan.ID, db.RoleOwner)

	got, err = s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{RemoveEmails: []string{"cat@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if names := secretNames(got.Deleted); !slices.Equal(names, []string{"VIA_OPS"}) {
		t.Fatalf("deleted %v", names)
	}
	if live := liveNames(t, raw, ada.OrgID); !slices.Equal(live, []string{"OPS_AND_ADA"}) {
		t.Fatalf("live %v", live)
	}
	var detail string
	syncRaw(raw)
	if err := raw.QueryRowContext(ctx, `SELECT detail FROM audit_events WHERE action = 'secret.delete' AND secret_id = ?`, orphan.ID).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, "Ops") || !strings.Contains(detail, "no Owner") {
		t.Errorf("detail %q does not name the cause", detail)
	}
	// Adding and removing in one change: the added member keeps the secret.
	keep := mustSecret(t, s, ada, "SWAP", "v")
	if _, err := s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{AddUserIDs: []string{bob.UserID}}); err != nil {
		t.Fatal(err)
	}
	mustShare(t, s, ada, keep, db.PrincipalTeam, ops.ID, db.RoleOwner)
	mustRevoke(t, s, ada, keep, db.PrincipalUser, ada.UserID)
	got, err = s.UpdateTeam(ctx, ada, ops.ID, db.TeamChange{AddUserIDs: []string{cat.UserID}, RemoveUserIDs: []string{bob.UserID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Deleted) != 0 {
		t.Fatalf("swap deleted %v", secretNames(got.Deleted))
	}
	wantAccess(t, s, cat, keep.ID, db.RoleOwner)
}

func TestStore_DeleteTeam_DeletesOrphans(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	raw := rawDB(t, s)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	dev := mustTeam(t, s, ada, "Dev", bob)
	orphan := mustSecret(t, s, ada, "DEV_ONLY", "v")
	mustShare(t, s, ada, orphan, db.PrincipalTeam, dev.ID, db.RoleOwner)
	mustRevoke(t, s, ada, orphan, db.PrincipalUser, ada.UserID)
	both := mustSecret(t, s, ada, "DEV_AND_ADA", "v")
	mustShare(t, s, ada, both, db.PrincipalTeam, dev.ID, db.RoleOwner)
	readers := mustSecret(t, s, ada, "DEV_READS", "v")
	mustShare(t, s, ada, readers, db.PrincipalTeam, dev.ID, db.RoleReader)

	events := auditCount(t, raw)
	got, err := s.PreviewDeleteTeam(ctx, ada, dev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if names := secretNames(got.Deleted); !slices.Equal(names, []string{"DEV_ONLY"}) {
		t.Fatalf("preview = %v", names)
	}
	if n := auditCount(t, raw); n != events {
		t.Errorf("the preview recorded %d events", n-events)
	}
	if _, err := s.TeamByID(ctx, ada, dev.ID); err != nil {
		t.Fatalf("the preview deleted the team: %v", err)
	}
	wantAccess(t, s, bob, orphan.ID, db.RoleOwner)

	got, err = s.DeleteTeam(ctx, ada, dev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if names := secretNames(got.Deleted); !slices.Equal(names, []string{"DEV_ONLY"}) {
		t.Fatalf("deleted %v", names)
	}
	if live := liveNames(t, raw, ada.OrgID); !slices.Equal(live, []string{"DEV_AND_ADA", "DEV_READS"}) {
		t.Fatalf("live %v", live)
	}
	_, err = s.TeamByID(ctx, ada, dev.ID)
	wantCode(t, err, db.CodeNotFound)
	wantAccess(t, s, bob, both.ID, "")
	wantAccess(t, s, bob, readers.ID, "")
	if g := grantKeys(t, s, ada, both.ID); !slices.Equal(g, []string{"user:" + ada.UserID + ":owner"}) {
		t.Errorf("DEV_AND_ADA grants %v", g)
	}
	var detail string
	syncRaw(raw)
	if err := raw.QueryRowContext(ctx, `SELECT detail FROM audit_events WHERE action = 'secret.delete' AND secret_id = ?`, orphan.ID).Scan(&detail); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, "Dev") || !strings.Contains(detail, "deleted") {
		t.Errorf("detail %q does not name the cause", detail)
	}
	_, err = s.DeleteTeam(ctx, ada, dev.ID)
	wantCode(t, err, db.CodeNotFound)
}
