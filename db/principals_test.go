package db_test

import (
	"slices"
	"testing"

	"github.com/keyhold/keyhold/db"
)

func refs(ps []db.Principal) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Ref()+" "+p.Name)
	}
	return out
}

func TestStore_SearchPrincipals(t *testing.T) {
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	carol := mustMember(t, s, ada, "carol_x@example.com")
	ops := mustTeam(t, s, ada, "Bobsled ops")
	zed := mustOrg(t, s, "Globex", "zed@example.com")
	mustTeam(t, s, zed, "Bob's other team")
	mustMember(t, s, zed, "bobby@example.com")
	sec := mustSecret(t, s, ada, "SHARED_HERE", "v")
	zedSec := mustSecret(t, s, zed, "GLOBEX_ONLY", "v")

	search := func(q string, exclude []string, limit int) []string {
		t.Helper()
		got, ps, err := s.SearchPrincipals(ctx, ada, sec.ID, q, exclude, limit)
		if err != nil || got.ID != sec.ID {
			t.Fatalf("search %q: secret %+v, %v", q, got, err)
		}
		return refs(ps)
	}
	// Members by name or email, then teams by name; never another organization's.
	if got, want := search("BOB", nil, 8), []string{"user:" + bob.UserID + " bob Member", "team:" + ops.ID + " Bobsled ops"}; !slices.Equal(got, want) {
		t.Errorf("bob: %q, want %q", got, want)
	}
	if got, want := search("member", nil, 8), []string{"user:" + bob.UserID + " bob Member", "user:" + carol.UserID + " carol_x Member"}; !slices.Equal(got, want) {
		t.Errorf("member: %q, want %q", got, want)
	}
	if got := search("bob", []string{"user:" + bob.UserID}, 8); !slices.Equal(got, []string{"team:" + ops.ID + " Bobsled ops"}) {
		t.Errorf("bob without Bob: %q", got)
	}
	if got := search("e", nil, 2); len(got) != 2 {
		t.Errorf("limit 2: %q", got)
	}
	// LIKE's wildcards are text in a query.
	if got := search("_x", nil, 8); !slices.Equal(got, []string{"user:" + carol.UserID + " carol_x Member"}) {
		t.Errorf("_x: %q", got)
	}
	for _, q := range []string{"%", "nobody"} {
		if got := search(q, nil, 8); len(got) != 0 {
			t.Errorf("%q: %q, want nothing", q, got)
		}
	}
	// No query: every member and team of the organization, teams first, without those excluded.
	all := []string{"team:" + ops.ID + " Bobsled ops", "user:" + ada.UserID + " Ada Admin", "user:" + bob.UserID + " bob Member",
		"user:" + carol.UserID + " carol_x Member"}
	for _, q := range []string{"", "  "} {
		if got := search(q, nil, 8); !slices.Equal(got, all) {
			t.Errorf("%q: %q, want %q", q, got, all)
		}
	}
	if got := search("", []string{"user:" + ada.UserID, "team:" + ops.ID}, 8); !slices.Equal(got, all[2:]) {
		t.Errorf("no query, without Ada and the team: %q", got)
	}
	if got := search("", nil, 2); !slices.Equal(got, all[:2]) {
		t.Errorf("no query, limit 2: %q", got)
	}

	// Only for the dialog of a secret the actor can read: bob cannot read ada's, nobody another
	// organization's.
	for _, c := range []struct {
		who db.Actor
		id  string
	}{{bob, sec.ID}, {ada, zedSec.ID}, {ada, "no-such-secret"}} {
		_, ps, err := s.SearchPrincipals(ctx, c.who, c.id, "bob", nil, 8)
		wantCode(t, err, db.CodeNotFound)
		_, byRef, err := s.PrincipalsByRef(ctx, c.who, c.id, []string{"user:" + bob.UserID})
		wantCode(t, err, db.CodeNotFound)
		if ps != nil || byRef != nil {
			t.Errorf("a refused lookup answered %v %v", ps, byRef)
		}
	}

	got, found, err := s.PrincipalsByRef(ctx, ada, sec.ID, []string{"user:" + bob.UserID, "team:" + ops.ID, "user:" + zed.UserID, "team:nope", "bogus"})
	if err != nil || got.ID != sec.ID || !got.Access.CanEdit() {
		t.Fatalf("PrincipalsByRef: secret %+v, %v", got, err)
	}
	if len(found) != 2 || found["user:"+bob.UserID].Detail != "bob@example.com" || found["team:"+ops.ID].Name != "Bobsled ops" {
		t.Errorf("PrincipalsByRef %+v, want Bob and Bobsled ops only", found)
	}
}
