package db_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
)

// auditValuesAbsent checks that no column of audit_events holds any of values.
func auditValuesAbsent(t *testing.T, raw *sql.DB, values ...string) {
	t.Helper()
	if !tableContains(t, raw, "audit_events", []byte("secret.")) {
		t.Fatal("the scan does not see the audit trail")
	}
	for _, v := range values {
		if tableContains(t, raw, "audit_events", []byte(v)) {
			t.Errorf("the audit trail holds the value %q", v)
		}
	}
}

func TestStore_Audit_EveryChangeAndRead(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	raw := rawDB(t, s)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	v1, v2 := canary("v1"), canary("v2")

	sec := mustSecret(t, s, ada, "API_TOKEN", v1)
	if _, err := s.UpdateSecret(ctx, ada, sec.ID, []byte(v2), 0); err != nil {
		t.Fatal(err)
	}
	mustReveal(t, s, ada, sec.ID)
	if _, err := s.SecretByName(ctx, ada, "API_TOKEN"); err != nil {
		t.Fatal(err)
	}
	mustShare(t, s, ada, sec, db.PrincipalUser, bob.UserID, db.RoleReader)
	mustShare(t, s, ada, sec, db.PrincipalUser, bob.UserID, db.RoleOwner)
	mustRevoke(t, s, ada, sec, db.PrincipalUser, bob.UserID)
	if _, err := s.DeleteSecret(ctx, ada, sec.ID); err != nil {
		t.Fatal(err)
	}

	events, err := s.ListAudit(ctx, ada, db.AuditFilter{Secret: sec.ID})
	if err != nil {
		t.Fatal(err)
	}
	type want struct{ action, targetID, role, detail string }
	wants := []want{ // newest first
		{db.ActionSecretDelete, "", "", ""},
		{db.ActionAccessRevoke, bob.UserID, "", ""},
		{db.ActionAccessGrant, bob.UserID, "owner", "was Reader"},
		{db.ActionAccessGrant, bob.UserID, "reader", ""},
		{db.ActionSecretRead, "", "", ""},
		{db.ActionSecretRead, "", "", ""},
		{db.ActionSecretUpdate, "", "", "version 2"},
		{db.ActionSecretCreate, "", "", ""},
	}
	if len(events) != len(wants) {
		var got []string
		for _, e := range events {
			got = append(got, e.Action)
		}
		t.Fatalf("events %v, want %d", got, len(wants))
	}
	for i, w := range wants {
		e := events[i]
		if e.Action != w.action || e.TargetID != w.targetID || e.Role != w.role || e.Detail != w.detail {
			t.Errorf("event %d = %s target=%q role=%q detail=%q; want %+v", i, e.Action, e.TargetID, e.Role, e.Detail, w)
		}
		if e.ActorID != ada.UserID || e.ActorEmail != "ada@example.com" || e.OrgID != ada.OrgID ||
			e.SecretID != sec.ID || e.SecretName != "API_TOKEN" || e.Source != "portal" || e.ClientIP != "127.0.0.1" || e.At.IsZero() {
			t.Errorf("event %d (%s) = %+v", i, e.Action, e)
		}
		if w.targetID != "" && (e.TargetKind != db.PrincipalUser || e.TargetName != bob.Name) {
			t.Errorf("event %d (%s) target %s %q, want user %q", i, e.Action, e.TargetKind, e.TargetName, bob.Name)
		}
		if i > 0 && e.ID >= events[i-1].ID {
			t.Errorf("events are not newest first")
		}
	}
	auditValuesAbsent(t, raw, v1, v2)
}

// Reads return only after their event is committed: a value is never handed out unrecorded.
func TestStore_Audit_ReadRecordedBeforeReturn(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	raw := rawDB(t, s)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "v")
	api := ada
	api.Source, api.APIKeyID, api.APIKeyLabel, api.ClientIP = "api", "key-1", "ci", "10.0.0.9"
	for i := 1; i <= 20; i++ {
		if i%2 == 0 {
			if _, err := s.SecretByName(ctx, api, "API_TOKEN"); err != nil {
				t.Fatal(err)
			}
		} else {
			mustReveal(t, s, ada, sec.ID)
		}
		if n := rawInt(t, raw, `SELECT COUNT(*) FROM audit_events WHERE action = 'secret.read' AND secret_id = ?`, sec.ID); n != i {
			t.Fatalf("after read %d, %d read events are committed", i, n)
		}
	}
	if n := rawInt(t, raw, `SELECT COUNT(*) FROM audit_events WHERE action = 'secret.read' AND source = 'api'
		AND api_key_id = 'key-1' AND api_key_label = 'ci' AND client_ip = '10.0.0.9'`); n != 10 {
		t.Errorf("%d API reads recorded with their key and address, want 10", n)
	}
}

func TestStore_Audit_FailsClosed(t *testing.T) {
	t.Parallel()
	sqliteOnly(t) // reads journaled while the table refuses; PostgreSQL's: TestStore_Audit_ChangesFailClosed
	s := mustOpen(t)
	raw := rawDB(t, s)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	value := canary("kept")
	sec := mustSecret(t, s, ada, "API_TOKEN", value)
	newValue, rejected := canary("rejected-create"), canary("rejected-update")
	// Both audit tables refuse: the trail (where reads and, from the outbox, changes arrive) and the
	// outbox (where a change's event commits with it).
	rawExec(t, raw, `CREATE TRIGGER audit_fail BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit down'); END`)
	rawExec(t, raw, `CREATE TRIGGER outbox_fail BEFORE INSERT ON audit_outbox BEGIN SELECT RAISE(ABORT, 'audit down'); END`)

	// Reads are journaled first: while the table refuses, they are still recorded, and they arrive
	// once it accepts again (checked below).
	for range 3 {
		if got := mustReveal(t, s, ada, sec.ID); got != value {
			t.Fatalf("reveal while the table refuses: %q", got)
		}
	}

	if _, err := s.CreateSecret(ctx, ada, "NEW_SECRET", []byte(newValue)); err == nil {
		t.Error("CreateSecret succeeded without its audit event")
	}
	if _, err := s.UpdateSecret(ctx, ada, sec.ID, []byte(rejected), 0); err == nil {
		t.Error("UpdateSecret succeeded without its audit event")
	}
	if err := s.ChangeAccess(ctx, ada, sec.ID, []db.AccessChange{{Kind: db.PrincipalUser, ID: bob.UserID, Role: db.RoleReader}}); err == nil {
		t.Error("ChangeAccess succeeded without its audit event")
	}
	if _, err := s.DeleteSecret(ctx, ada, sec.ID); err == nil {
		t.Error("DeleteSecret succeeded without its audit event")
	}
	if n := rawInt(t, raw, `SELECT COUNT(*) FROM secrets WHERE name = 'NEW_SECRET'`); n != 0 {
		t.Errorf("the failed create stored %d rows", n)
	}
	if n := rawInt(t, raw, `SELECT COUNT(*) FROM secrets WHERE id = ? AND version = 1 AND deleted_at IS NULL`, sec.ID); n != 1 {
		t.Error("the failed update or delete changed the secret")
	}
	wantAccess(t, s, bob, sec.ID, "")

	rawExec(t, raw, `DROP TRIGGER audit_fail`)
	rawExec(t, raw, `DROP TRIGGER outbox_fail`)
	if n := rawInt(t, raw, `SELECT COUNT(*) FROM audit_events WHERE action = 'secret.read' AND secret_id = ?`, sec.ID); n != 3 {
		t.Fatalf("%d of the 3 journaled reads reached the table after recovery", n)
	}
	if got := mustReveal(t, s, ada, sec.ID); got != value {
		t.Fatalf("after recovery value=%q", got)
	}
	if _, err := s.SecretByName(ctx, ada, "API_TOKEN"); err != nil {
		t.Fatal(err)
	}
	mustSecret(t, s, ada, "NEW_SECRET", newValue)
	accepted := canary("accepted-update")
	if _, err := s.UpdateSecret(ctx, ada, sec.ID, []byte(accepted), 1); err != nil {
		t.Fatal(err)
	}
	auditValuesAbsent(t, raw, value, newValue, rejected, accepted)
}

// TestStore_Audit_ReadsFailClosed breaks the journal under the writer: a read that cannot be recorded
// is refused with CodeUnavailable and no value.
func TestStore_Audit_ReadsFailClosed(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	value := canary("withheld")
	sec := mustSecret(t, s, ada, "API_TOKEN", value)
	s.BreakAuditJournal()
	got, err := s.RevealSecret(ctx, ada, sec.ID)
	wantCode(t, err, db.CodeUnavailable)
	if got != nil {
		t.Errorf("RevealSecret returned %+v with its error", got)
	}
	got, err = s.SecretByName(ctx, ada, "API_TOKEN")
	wantCode(t, err, db.CodeUnavailable)
	if got != nil {
		t.Errorf("SecretByName returned %+v with its error", got)
	}
	if strings.Contains(err.Error(), value) {
		t.Errorf("the error carries the value")
	}
}

// TestStore_Audit_JournalReplay reopens a database whose journal still holds read events, as after
// a crash between the append and the move into the table: each arrives exactly once, also when the
// journal is replayed twice.
func TestStore_Audit_JournalReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, db.FileName)
	s := mustOpenAt(t, path, db.Options{MasterKey: testMasterKey})
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "v")
	// While the table refuses events they stay in the journal: that is the state a crash leaves.
	raw := rawDB(t, s)
	rawExec(t, raw, `CREATE TRIGGER audit_fail BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit down'); END`)
	for range 5 {
		mustReveal(t, s, ada, sec.ID)
	}
	files := s.AuditJournalFiles()
	var journaled []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		journaled = append(journaled, b...)
	}
	if n := bytes.Count(journaled, []byte(sec.ID)); n != 5 {
		t.Fatalf("the journal holds %d of the 5 reads", n)
	}
	rawExec(t, raw, `DROP TRIGGER audit_fail`)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	reads := func() int {
		s := mustOpenAt(t, path, db.Options{MasterKey: testMasterKey})
		defer s.Close()
		return rawInt(t, rawDB(t, s), `SELECT COUNT(*) FROM audit_events WHERE action = 'secret.read'`)
	}
	if n := reads(); n != 5 {
		t.Fatalf("%d read events after a clean close, want 5", n)
	}
	// Put back what the journal held, plus a line torn by the crash: replaying must neither duplicate
	// the events nor choke on the torn line.
	journaled = append(journaled, []byte(`{"JID":42,"At":`)...)
	for range 2 {
		if err := os.WriteFile(files[0], journaled, 0o600); err != nil {
			t.Fatal(err)
		}
		if n := reads(); n != 5 {
			t.Fatalf("%d read events after replaying the journal, want 5", n)
		}
	}
}

func TestStore_ListAudit_Filters(t *testing.T) {
	t.Parallel()
	s, clock := mustOpenClock(t)
	t0 := clock.Now()
	// At t0: org.create, member.add, secret.create S1.
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	s1 := mustSecret(t, s, ada, "S1", "v")
	// At t0+1h: access.grant.
	clock.Add(time.Hour)
	mustShare(t, s, ada, s1, db.PrincipalUser, bob.UserID, db.RoleOwner)
	// At t0+2h: bob's secret.update S1 and secret.create S2.
	clock.Add(time.Hour)
	if _, err := s.UpdateSecret(ctx, bob, s1.ID, []byte("v2"), 0); err != nil {
		t.Fatal(err)
	}
	s2 := mustSecret(t, s, bob, "S2", "v")
	// At t0+3h: secret.read S1.
	clock.Add(time.Hour)
	mustReveal(t, s, ada, s1.ID)
	globex := mustOrg(t, s, "Globex", "ada@example.com")
	mustSecret(t, s, globex, "G1", "v")

	type ev struct{ action, secret string }
	list := func(f db.AuditFilter) []ev {
		t.Helper()
		es, err := s.ListAudit(ctx, ada, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []ev{}
		for _, e := range es {
			if e.OrgID != ada.OrgID {
				t.Errorf("event of org %s listed", e.OrgID)
			}
			out = append(out, ev{e.Action, e.SecretName})
		}
		return out
	}
	all := []ev{
		{"secret.read", "S1"}, {"secret.create", "S2"}, {"secret.update", "S1"}, {"access.grant", "S1"},
		{"secret.create", "S1"}, {"member.add", ""}, {"org.create", ""},
	}
	tests := []struct {
		name string
		f    db.AuditFilter
		want []ev
	}{
		{"all", db.AuditFilter{}, all},
		{"actor", db.AuditFilter{ActorID: bob.UserID}, []ev{{"secret.create", "S2"}, {"secret.update", "S1"}}},
		{"secret", db.AuditFilter{Secret: s1.ID}, []ev{{"secret.read", "S1"}, {"secret.update", "S1"}, {"access.grant", "S1"}, {"secret.create", "S1"}}},
		{"action", db.AuditFilter{Action: db.ActionSecretCreate}, []ev{{"secret.create", "S2"}, {"secret.create", "S1"}}},
		{"actor and secret", db.AuditFilter{ActorID: bob.UserID, Secret: s2.ID}, []ev{{"secret.create", "S2"}}},
		{"from is inclusive", db.AuditFilter{From: t0.Add(2 * time.Hour)}, all[:3]},
		{"to is exclusive", db.AuditFilter{To: t0.Add(time.Hour)}, all[4:]},
		{"one hour", db.AuditFilter{From: t0.Add(time.Hour), To: t0.Add(2 * time.Hour)}, []ev{{"access.grant", "S1"}}},
		{"nothing", db.AuditFilter{Action: "no.such"}, []ev{}},
		{"limit", db.AuditFilter{Limit: 2}, all[:2]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := list(tt.f); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	// Paging backwards with Before walks the whole trail once.
	var paged []ev
	var before int64
	for pages := 0; ; pages++ {
		es, err := s.ListAudit(ctx, ada, db.AuditFilter{Before: before, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 || pages > 10 {
			break
		}
		for _, e := range es {
			paged = append(paged, ev{e.Action, e.SecretName})
		}
		before = es[len(es)-1].ID
	}
	if !slices.Equal(paged, all) {
		t.Errorf("paged %v, want %v", paged, all)
	}

	// Admins only; the other org sees only its own.
	_, err := s.ListAudit(ctx, bob, db.AuditFilter{})
	wantCode(t, err, db.CodeForbidden)
	es, err := s.ListAudit(ctx, globex, db.AuditFilter{})
	if err != nil || len(es) != 2 || es[0].SecretName != "G1" || es[1].Action != db.ActionOrgCreate {
		t.Fatalf("globex lists %+v %v", es, err)
	}
	// With People, the log names the organization's members (its own only) for the person filter.
	l, err := s.AuditLog(ctx, globex, db.AuditFilter{People: true, Limit: 1})
	if err != nil || len(l.Events) != 1 || len(l.People) != 1 || l.People[0].ID != globex.UserID {
		t.Fatalf("globex's log with people: %+v %v", l, err)
	}
	if l, err := s.AuditLog(ctx, globex, db.AuditFilter{}); err != nil || l.People != nil {
		t.Fatalf("the log lists people %+v (%v) without People", l.People, err)
	}
	_, err = s.AuditLog(ctx, bob, db.AuditFilter{People: true})
	wantCode(t, err, db.CodeForbidden)
	// SecretActivity: Owners only.
	act, err := s.SecretActivity(ctx, bob, s1.ID, 0)
	if err != nil || len(act) != 4 {
		t.Fatalf("activity %d events, %v", len(act), err)
	}
	mustShare(t, s, bob, s2, db.PrincipalUser, ada.UserID, db.RoleReader)
	_, err = s.SecretActivity(ctx, ada, s2.ID, 0)
	wantCode(t, err, db.CodeForbidden)
}

// TestStore_Audit_OutboxReplay leaves changes' events in the outbox and reads in the journal, as a
// crash between a commit and the next move would, and reopens: every event arrives once, reads and
// changes in the order they happened, also when the database is opened again.
func TestStore_Audit_OutboxReplay(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), db.FileName)
	s := mustOpenAt(t, path, db.Options{MasterKey: testMasterKey})
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "v1")
	raw := rawDB(t, s)
	rawExec(t, raw, `CREATE TRIGGER audit_fail BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit down'); END`)
	mustReveal(t, s, ada, sec.ID)
	if _, err := s.UpdateSecret(ctx, ada, sec.ID, []byte("v2"), 0); err != nil {
		t.Fatal(err)
	}
	mustReveal(t, s, ada, sec.ID)
	mustReveal(t, s, ada, sec.ID)
	if _, err := s.UpdateSecret(ctx, ada, sec.ID, []byte("v3"), 0); err != nil {
		t.Fatal(err)
	}
	mustReveal(t, s, ada, sec.ID)
	if n := rawInt(t, raw, `SELECT COUNT(*) FROM audit_outbox WHERE action = 'secret.update'`); n != 2 {
		t.Fatalf("%d update events wait in the outbox, want 2", n)
	}
	if _, err := s.ListAudit(ctx, ada, db.AuditFilter{}); err == nil {
		t.Error("ListAudit succeeded while the trail refuses events")
	}
	if err := s.Close(); err != nil { // the last move fails too: the state a crash leaves
		t.Fatal(err)
	}
	rawExec(t, raw, `DROP TRIGGER audit_fail`)

	want := []string{"org.create", "secret.create", "secret.read", "secret.update", "secret.read", "secret.read", "secret.update", "secret.read"}
	for range 2 {
		s := mustOpenAt(t, path, db.Options{MasterKey: testMasterKey})
		es, err := s.ListAudit(ctx, ada, db.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i := len(es) - 1; i >= 0; i-- {
			got = append(got, es[i].Action)
		}
		if !slices.Equal(got, want) {
			t.Errorf("trail after reopening, oldest first:\n got %v\nwant %v", got, want)
		}
		if n := rawInt(t, rawDB(t, s), `SELECT COUNT(*) FROM audit_outbox`); n != 0 {
			t.Errorf("%d events left in the outbox", n)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A move of more events than one transaction takes still lists reads and changes in the order they
// happened, each once.
func TestStore_Audit_LargeMoveKeepsOrder(t *testing.T) {
	t.Parallel()
	sqliteOnly(t) // the move from journal and outbox into audit_events
	s := mustOpen(t)
	raw := rawDB(t, s)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "v")
	if err := s.SyncAudit(); err != nil {
		t.Fatal(err)
	}
	start := rawInt(t, raw, `SELECT COALESCE(MAX(id), 0) FROM audit_events`)
	// While the trail refuses events, everything waits for one move.
	rawExec(t, raw, `CREATE TRIGGER audit_fail BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit down'); END`)
	var want []string
	for i := range 1500 {
		if i%250 == 249 {
			if _, err := s.UpdateSecret(ctx, ada, sec.ID, []byte(fmt.Sprint("v", i)), 0); err != nil {
				t.Fatal(err)
			}
			want = append(want, "secret.update")
			continue
		}
		if _, err := s.SecretByName(ctx, ada, "API_TOKEN"); err != nil {
			t.Fatal(err)
		}
		want = append(want, "secret.read")
	}
	rawExec(t, raw, `DROP TRIGGER audit_fail`)
	if err := s.SyncAudit(); err != nil {
		t.Fatal(err)
	}
	rows, err := raw.QueryContext(ctx, `SELECT action FROM audit_events WHERE id > ? ORDER BY id`, start)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("%d events moved, want %d; the first difference is at %d: %s, want %s", len(got), len(want), i, got[i], want[i])
			}
		}
		t.Fatalf("%d events moved, want %d", len(got), len(want))
	}
	if n := rawInt(t, raw, `SELECT COUNT(*) FROM audit_outbox`); n != 0 {
		t.Errorf("%d events left in the outbox", n)
	}
}

// The audit log's secret filter takes an ID or an exact name: a name finds the events of every secret
// of the organization that had it, deleted ones included, and never another organization's.
// The secret filter takes an ID, or a part of a name in any case: LIKE's wildcards in it are plain
// characters, and another organization's events never match.
func TestStore_ListAudit_SecretSearch(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	zed := mustOrg(t, s, "Globex", "zed@example.com")
	old := mustSecret(t, s, ada, "DB_PASSWORD", "v1")
	if _, err := s.DeleteSecret(ctx, ada, old.ID); err != nil {
		t.Fatal(err)
	}
	cur := mustSecret(t, s, ada, "DB_PASSWORD", "v2")
	under := mustSecret(t, s, ada, "A_B", "v")
	axb := mustSecret(t, s, ada, "AXB", "v")
	other := mustSecret(t, s, ada, "OTHER", "v")
	theirs := mustSecret(t, s, zed, "DB_PASSWORD", "globex's")
	mustReveal(t, s, zed, theirs.ID)
	count := func(f db.AuditFilter) map[string]int {
		t.Helper()
		evs, err := s.ListAudit(ctx, ada, f)
		if err != nil {
			t.Fatal(err)
		}
		by := map[string]int{}
		for _, e := range evs {
			if e.OrgID != ada.OrgID {
				t.Errorf("%+v: event %d of org %s listed", f, e.ID, e.OrgID)
			}
			by[e.SecretID]++
		}
		return by
	}
	db2 := map[string]int{old.ID: 2, cur.ID: 1} // the deleted secret's create and delete, the new one's create
	tests := []struct {
		q    string
		want map[string]int
	}{
		{"DB_PASSWORD", db2},
		{"db_password", db2},
		{"_pass", db2},
		{"Word", db2},
		{cur.ID, map[string]int{cur.ID: 1}},
		{theirs.ID, map[string]int{}}, // another organization's secret, by its ID
		{"A_B", map[string]int{under.ID: 1}},
		{"a_", map[string]int{under.ID: 1}}, // "_" is a plain character, not any one
		{"x", map[string]int{axb.ID: 1}},
		{"%", map[string]int{}},
		{`\`, map[string]int{}},
		{"-", map[string]int{}},
		{"NOPE", map[string]int{}},
		{"OTHER", map[string]int{other.ID: 1}},
	}
	for _, tt := range tests {
		if got := count(db.AuditFilter{Secret: tt.q}); !maps.Equal(got, tt.want) {
			t.Errorf("secret %q: %v, want %v", tt.q, got, tt.want)
		}
	}
	// With the other filters.
	if got := count(db.AuditFilter{Secret: "password", Action: db.ActionSecretDelete}); !maps.Equal(got, map[string]int{old.ID: 1}) {
		t.Errorf("deletions of *password*: %v", got)
	}
	// A secret restored under a new name: its earlier events are found by the new name too.
	if _, err := s.DeleteSecret(ctx, ada, other.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RestoreSecret(ctx, ada, other.ID, "RENAMED_KEY"); err != nil {
		t.Fatal(err)
	}
	if got := count(db.AuditFilter{Secret: "renamed"}); got[other.ID] != 3 || len(got) != 1 {
		t.Errorf("renamed: %v, want OTHER's create and delete and the restore", got)
	}
	if got := count(db.AuditFilter{Secret: "other"}); got[other.ID] < 2 || len(got) != 1 {
		t.Errorf("other: %v, want the events recorded under that name", got)
	}
}

// Events carry their actor's name as it is now, beside the email they recorded; the command line's
// and the system's have none.
func TestStore_ListAudit_ActorNames(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com") // Ada Admin
	bob := mustMember(t, s, ada, "bob@example.com") // bob Member, added by the system
	mustSecret(t, s, bob, "BOBS", "v")
	es, err := s.ListAudit(ctx, ada, db.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range es {
		got[e.Action] = e.ActorEmail + "|" + e.ActorName
	}
	want := map[string]string{
		db.ActionSecretCreate: "bob@example.com|bob Member",
		db.ActionMemberAdd:    "|",
		db.ActionOrgCreate:    "ada@example.com|Ada Admin",
	}
	if !maps.Equal(got, want) {
		t.Errorf("actors %v, want %v", got, want)
	}
}

// Paging by event ID is stable while events are written: the next page starts right after the last
// event shown, whatever was recorded since, and the pages of a search walk all its events once.
func TestStore_ListAudit_PagingStableUnderInserts(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	for i := range 8 {
		mustSecret(t, s, ada, fmt.Sprintf("KEEP_%d", i), "v")
		mustSecret(t, s, ada, fmt.Sprintf("SKIP_%d", i), "v")
	}
	ids := func(es []db.AuditEvent) []int64 {
		var out []int64
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	list := func(f db.AuditFilter) []db.AuditEvent {
		t.Helper()
		es, err := s.ListAudit(ctx, ada, f)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	before := list(db.AuditFilter{Secret: "keep"})
	if len(before) != 8 {
		t.Fatalf("%d events of KEEP_*, want 8", len(before))
	}
	var paged []db.AuditEvent
	f := db.AuditFilter{Secret: "keep", Limit: 3}
	for page := 0; page < 10; page++ {
		es := list(f)
		if len(es) == 0 {
			break
		}
		paged = append(paged, es...)
		f.Before = es[len(es)-1].ID
		// New events between two pages, of the search and not.
		mustSecret(t, s, ada, fmt.Sprintf("KEEP_NEW_%d", page), "v")
		mustSecret(t, s, ada, fmt.Sprintf("SKIP_NEW_%d", page), "v")
	}
	if !slices.Equal(ids(paged), ids(before)) {
		t.Errorf("paged %v, want %v", ids(paged), ids(before))
	}
	for _, e := range paged {
		if !strings.HasPrefix(e.SecretName, "KEEP_") || strings.HasPrefix(e.SecretName, "KEEP_NEW") {
			t.Errorf("page holds %s", e.SecretName)
		}
	}
	// The newest page shows what was written since.
	if es := list(db.AuditFilter{Secret: "keep", Limit: 1}); len(es) != 1 || !strings.HasPrefix(es[0].SecretName, "KEEP_NEW_") {
		t.Errorf("newest event %+v, want a KEEP_NEW_", es)
	}
}

// On PostgreSQL a change's event is inserted into audit_events in the change's transaction, and a
// read's before its value is returned: while the table refuses inserts, every change and every read
// is refused, and nothing changes. (SQLite journals reads: TestStore_Audit_FailsClosed.)
func TestStore_Audit_ChangesFailClosed(t *testing.T) {
	t.Parallel()
	if !onPostgres() {
		t.Skip("PostgreSQL's audit path: tested on the PostgreSQL run")
	}
	s := mustOpen(t)
	raw := rawDB(t, s)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	value := canary("kept")
	sec := mustSecret(t, s, ada, "API_TOKEN", value)
	events := rawInt(t, raw, `SELECT COUNT(*) FROM audit_events`)
	s.BreakAuditJournal()
	if _, err := s.CreateSecret(ctx, ada, "NEW_SECRET", []byte(canary("rejected-create"))); err == nil {
		t.Error("CreateSecret succeeded without its audit event")
	}
	if _, err := s.UpdateSecret(ctx, ada, sec.ID, []byte(canary("rejected-update")), 0); err == nil {
		t.Error("UpdateSecret succeeded without its audit event")
	}
	_, err := s.RevealSecret(ctx, ada, sec.ID)
	wantCode(t, err, db.CodeUnavailable)
	if n := rawInt(t, raw, `SELECT COUNT(*) FROM secrets`); n != 1 {
		t.Errorf("%d secrets, want the one made before", n)
	}
	if n := rawInt(t, raw, `SELECT COUNT(*) FROM audit_events`); n != events {
		t.Errorf("%d events, were %d", n, events)
	}
	rawExec(t, raw, `DROP TRIGGER audit_fail ON audit_events`)
	if got := mustReveal(t, s, ada, sec.ID); got != value {
		t.Errorf("after the table accepts again the value is %q", got)
	}
}
