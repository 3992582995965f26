package db_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
)

// importItems turns name, value, name, value… into items.
func importItems(pairs ...string) []db.ImportItem {
	var out []db.ImportItem
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, db.ImportItem{Name: pairs[i], Value: []byte(pairs[i+1])})
	}
	return out
}

func mustImport(t testing.TB, s *db.Store, a db.Actor, opt db.ImportOptions, items []db.ImportItem) *db.ImportResult {
	t.Helper()
	res, err := s.ImportSecrets(ctx, a, items, opt)
	if err != nil {
		t.Fatalf("ImportSecrets: %v", err)
	}
	return res
}

// outcomes describes a result: "A:create B:skip | 1 0 0 1" (created, updated, unchanged, skipped).
func outcomes(res *db.ImportResult) string {
	var b strings.Builder
	for _, it := range res.Items {
		fmt.Fprintf(&b, "%s:%s ", it.Name, it.Outcome)
	}
	fmt.Fprintf(&b, "| %d %d %d %d", res.Created, res.Updated, res.Unchanged, res.Skipped)
	return b.String()
}

func wantOutcomes(t testing.TB, res *db.ImportResult, want string) {
	t.Helper()
	if got := outcomes(res); got != want {
		t.Fatalf("outcomes %q, want %q", got, want)
	}
}

// secretValueByName is the value of the secret named name as a reads it, or "" when a cannot.
func secretValueByName(t testing.TB, s *db.Store, a db.Actor, name string) string {
	t.Helper()
	sec, err := s.SecretByName(ctx, a, name)
	if db.ErrorCode(err) == db.CodeNotFound {
		return ""
	} else if err != nil {
		t.Fatal(err)
	}
	return sec.Value
}

// changeEvents lists the secret.create and secret.update events of org: "secret.create A", "secret.update
// A version 2".
func changeEvents(t testing.TB, r *sql.DB, orgID string) []string {
	t.Helper()
	syncRaw(r)
	rows, err := r.QueryContext(ctx, `SELECT action, secret_name, detail FROM audit_events
		WHERE org_id = ? AND action IN ('secret.create', 'secret.update') ORDER BY id`, orgID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var action, name, detail string
		if err := rows.Scan(&action, &name, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSpace(action+" "+name+" "+detail))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImport_CreatesAndUpdates(t *testing.T) {
	s, clock := mustOpenClock(t)
	admin := mustOrg(t, s, "Acme", "ada@example.com")
	olive := mustMember(t, s, admin, "olive@example.com")
	old := mustSecret(t, s, olive, "DB_PASSWORD", "old")
	raw := rawDB(t, s)
	before := changeEvents(t, raw, admin.OrgID)
	clock.Add(time.Minute)

	res := mustImport(t, s, olive, db.ImportOptions{Overwrite: true}, importItems("API_TOKEN", "tok", "DB_PASSWORD", "new"))
	wantOutcomes(t, res, "API_TOKEN:create DB_PASSWORD:update | 1 1 0 0")
	// The update reports the version it replaced, who set it and when; the create reports nothing.
	if it := res.Items[1]; it.Version != 1 || it.UpdatedBy.ID != olive.UserID || !it.UpdatedAt.Equal(old.UpdatedAt) || it.Reason != "" {
		t.Fatalf("update item %+v", it)
	}
	if it := res.Items[0]; it.Version != 0 || it.UpdatedBy.ID != "" || !it.UpdatedAt.IsZero() {
		t.Fatalf("create item %+v", it)
	}
	if got := secretValueByName(t, s, olive, "API_TOKEN"); got != "tok" {
		t.Fatalf("API_TOKEN=%q", got)
	}
	sec, err := s.RevealSecret(ctx, olive, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sec.Value != "new" || sec.Version != 2 || !sec.UpdatedAt.After(old.UpdatedAt) {
		t.Fatalf("DB_PASSWORD after the import: %q v%d at %v", sec.Value, sec.Version, sec.UpdatedAt)
	}
	// The created secret is the actor's alone, as CreateSecret's are.
	created, err := s.SecretByName(ctx, olive, "API_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	grants, err := s.AccessList(ctx, olive, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(grants) != 1 || grants[0].ID != olive.UserID || grants[0].Role != db.RoleOwner {
		t.Fatalf("grants of the created secret: %+v", grants)
	}
	// One event per created or updated item, as CreateSecret and UpdateSecret record them.
	got := changeEvents(t, raw, admin.OrgID)[len(before):]
	if want := []string{"secret.create API_TOKEN", "secret.update DB_PASSWORD version 2, imported"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("events %q, want %q", got, want)
	}
}

// TestImport_AllOrNothing: one bad item refuses the whole import before anything is written, naming
// the item and never a value.
func TestImport_AllOrNothing(t *testing.T) {
	s := mustOpen(t)
	admin := mustOrg(t, s, "Acme", "ada@example.com")
	olive := mustMember(t, s, admin, "olive@example.com")
	mustSecret(t, s, olive, "EXISTING", "v1")
	raw := rawDB(t, s)
	canary := canary("import")
	big := strings.Repeat("b", db.MaxValueBytes+1)
	cases := []struct {
		name  string
		items []db.ImportItem
		want  string
	}{
		{"bad name", importItems("GOOD_1", canary, "BAD-NAME", canary, "GOOD_2", canary),
			`Item 2 ("BAD-NAME"): Name may contain only letters, digits and _ (not "-").`},
		{"empty name", importItems("GOOD_1", canary, "", canary), `Item 2: Name is required.`},
		{"empty value", importItems("GOOD_1", canary, "EMPTY", ""), `Item 2 ("EMPTY"): Value is required.`},
		{"value too large", importItems("GOOD_1", canary, "BIG", big), `Item 2 ("BIG"): Value is 5,242,881 bytes`},
		{"value not UTF-8", importItems("GOOD_1", canary, "BIN", "\xff"+canary), `Item 2 ("BIN"): Value must be UTF-8 text.`},
		{"a name twice", importItems("GOOD_1", canary, "EXISTING", canary, "GOOD_1", canary),
			`Item 3 ("GOOD_1"): the name is also item 1's`},
		{"too many", func() []db.ImportItem {
			items := make([]db.ImportItem, db.MaxImportItems+1)
			for i := range items {
				items[i] = db.ImportItem{Name: fmt.Sprintf("N%d", i), Value: []byte(canary)}
			}
			return items
		}(), "An import takes at most 10,000 secrets; this one has 10,001"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := changeEvents(t, raw, admin.OrgID)
			for _, opt := range []db.ImportOptions{{}, {Overwrite: true}, {DryRun: true}} {
				res, err := s.ImportSecrets(ctx, olive, tc.items, opt)
				wantCode(t, err, db.CodeInvalid)
				if res != nil {
					t.Fatalf("a result beside the error: %s", outcomes(res))
				}
				msg := db.ErrorMessage(err)
				if !strings.Contains(msg, tc.want) || strings.Contains(msg, canary) || strings.Contains(msg, big[:32]) {
					t.Fatalf("message %q, want it to contain %q and no value", msg, tc.want)
				}
			}
			page, err := s.ListSecrets(ctx, olive, "", 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if names := secretNames(page.Secrets); strings.Join(names, ",") != "EXISTING" {
				t.Fatalf("secrets after a refused import: %v", names)
			}
			if after := changeEvents(t, raw, admin.OrgID); len(after) != len(before) {
				t.Fatalf("a refused import recorded %q", after[len(before):])
			}
		})
	}
	if tableContains(t, raw, "secrets", []byte(canary)) || tableContains(t, raw, "audit_events", []byte(canary)) {
		t.Fatal("a refused import left its value behind")
	}
}

// TestImport_OverwriteOnlyWhereOwnerAndAsked: an existing secret is replaced only when the actor is
// one of its Owners (directly or through a team) and asked to overwrite.
func TestImport_OverwriteOnlyWhereOwnerAndAsked(t *testing.T) {
	s := mustOpen(t)
	admin := mustOrg(t, s, "Acme", "ada@example.com")
	olive := mustMember(t, s, admin, "olive@example.com")
	rita := mustMember(t, s, admin, "rita@example.com")
	tom := mustMember(t, s, admin, "tom@example.com")
	sec := mustSecret(t, s, olive, "SHARED", "v1")
	mustShare(t, s, olive, sec, db.PrincipalUser, rita.UserID, db.RoleReader)
	owners := mustTeam(t, s, admin, "owners", tom)
	mustShare(t, s, olive, sec, db.PrincipalTeam, owners.ID, db.RoleOwner)

	// A Reader is skipped, overwrite or not, and learns the version but is told nothing of the value.
	for _, overwrite := range []bool{false, true} {
		res := mustImport(t, s, rita, db.ImportOptions{Overwrite: overwrite}, importItems("SHARED", "rita's"))
		wantOutcomes(t, res, "SHARED:skip | 0 0 0 1")
		if it := res.Items[0]; it.Reason != "You are a Reader of this secret: only its Owners can change it." || it.Version != 1 || it.UpdatedBy.ID != olive.UserID {
			t.Fatalf("reader's item %+v", it)
		}
	}
	// Even with the very value: a Reader's import compares nothing.
	wantOutcomes(t, mustImport(t, s, rita, db.ImportOptions{}, importItems("SHARED", "v1")), "SHARED:skip | 0 0 0 1")

	// An Owner who did not ask to overwrite is skipped, and told why.
	res := mustImport(t, s, olive, db.ImportOptions{}, importItems("SHARED", "olive's"))
	wantOutcomes(t, res, "SHARED:skip | 0 0 0 1")
	if it := res.Items[0]; !strings.Contains(it.Reason, "ask to overwrite") || it.Version != 1 {
		t.Fatalf("owner's item %+v", it)
	}
	if got := mustReveal(t, s, olive, sec.ID); got != "v1" {
		t.Fatalf("value %q after skipped imports", got)
	}

	// An Owner through a team who asked: replaced.
	wantOutcomes(t, mustImport(t, s, tom, db.ImportOptions{Overwrite: true}, importItems("SHARED", "tom's")), "SHARED:update | 0 1 0 0")
	if got := mustReveal(t, s, olive, sec.ID); got != "tom's" {
		t.Fatalf("value %q, want tom's", got)
	}
}

// TestImport_NotSharedName: a name taken by a secret the actor cannot see is skipped, and the result
// says no more of it than CreateSecret's conflict does: that the name is taken. No version, no
// author, and never whether the value matches.
func TestImport_NotSharedName(t *testing.T) {
	s := mustOpen(t)
	admin := mustOrg(t, s, "Acme", "ada@example.com")
	olive := mustMember(t, s, admin, "olive@example.com")
	nina := mustMember(t, s, admin, "nina@example.com")
	sec := mustSecret(t, s, olive, "HIDDEN", "olive's value")

	wantHidden := func(res *db.ImportResult) {
		t.Helper()
		wantOutcomes(t, res, "HIDDEN:skip NINAS:create | 1 0 0 1")
		it := res.Items[0]
		if it.Reason != "A secret with this name already exists in this organization and is not shared with you." {
			t.Fatalf("reason %q", it.Reason)
		}
		if it.Version != 0 || it.UpdatedBy != (db.UserRef{}) || !it.UpdatedAt.IsZero() {
			t.Fatalf("the result tells of a secret nina cannot see: %+v", it)
		}
	}
	// The same answer whether nina's value is the secret's or not, overwrite or not.
	for _, overwrite := range []bool{false, true} {
		for _, value := range []string{"olive's value", "nina's value"} {
			wantHidden(mustImport(t, s, nina, db.ImportOptions{Overwrite: overwrite, DryRun: true}, importItems("HIDDEN", value, "NINAS", "n")))
		}
	}
	wantHidden(mustImport(t, s, nina, db.ImportOptions{Overwrite: true}, importItems("HIDDEN", "olive's value", "NINAS", "n")))
	// What CreateSecret says of the same name, for comparison: it is taken.
	_, err := s.CreateSecret(ctx, nina, "HIDDEN", []byte("x"))
	wantCode(t, err, db.CodeConflict)
	if got := mustReveal(t, s, olive, sec.ID); got != "olive's value" {
		t.Fatalf("HIDDEN=%q", got)
	}
	wantAccess(t, s, nina, sec.ID, "")
}

func TestImport_Unchanged(t *testing.T) {
	s := mustOpen(t)
	admin := mustOrg(t, s, "Acme", "ada@example.com")
	olive := mustMember(t, s, admin, "olive@example.com")
	a := mustSecret(t, s, olive, "A", "same")
	mustSecret(t, s, olive, "B", "abcd")
	raw := rawDB(t, s)
	before := changeEvents(t, raw, admin.OrgID)

	// The same value is unchanged, overwrite or not; one of the same length that differs is not.
	for _, overwrite := range []bool{false, true} {
		res := mustImport(t, s, olive, db.ImportOptions{Overwrite: overwrite, DryRun: true}, importItems("A", "same", "B", "abce"))
		want := "A:unchanged B:skip | 0 0 1 1"
		if overwrite {
			want = "A:unchanged B:update | 0 1 1 0"
		}
		wantOutcomes(t, res, want)
		if it := res.Items[0]; it.Version != 1 || it.UpdatedBy.ID != olive.UserID || it.Reason != "" {
			t.Fatalf("unchanged item %+v", it)
		}
	}
	wantOutcomes(t, mustImport(t, s, olive, db.ImportOptions{Overwrite: true}, importItems("A", "same")), "A:unchanged | 0 0 1 0")
	after, err := s.SecretByID(ctx, olive, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != 1 || !after.UpdatedAt.Equal(a.UpdatedAt) {
		t.Fatalf("an unchanged secret was written: v%d at %v", after.Version, after.UpdatedAt)
	}
	if got := changeEvents(t, raw, admin.OrgID); len(got) != len(before) {
		t.Fatalf("an unchanged secret was audited: %q", got[len(before):])
	}
}

// TestImport_DryRun changes nothing, not even the caller's items, and says what the import then does.
func TestImport_DryRun(t *testing.T) {
	s := mustOpen(t)
	admin := mustOrg(t, s, "Acme", "ada@example.com")
	olive := mustMember(t, s, admin, "olive@example.com")
	a := mustSecret(t, s, olive, "A", "v1")
	raw := rawDB(t, s)
	events := changeEvents(t, raw, admin.OrgID)
	// Values with room to be sealed in place: the import must seal copies.
	items := importItems("A", "v2", "B", "b", "C", "same")
	for i := range items {
		items[i].Value = append(make([]byte, 0, 1024), items[i].Value...)
	}
	mustSecret(t, s, olive, "C", "same")
	events = append(events, "secret.create C")
	opt := db.ImportOptions{Overwrite: true}

	preview := mustImport(t, s, olive, db.ImportOptions{Overwrite: true, DryRun: true}, items)
	wantOutcomes(t, preview, "A:update B:create C:unchanged | 1 1 1 0")
	if got := strings.Join(changeEvents(t, raw, admin.OrgID), "|"); got != strings.Join(events, "|") {
		t.Fatalf("a dry run recorded events: %s", got)
	}
	if got := secretValueByName(t, s, olive, "B"); got != "" {
		t.Fatal("a dry run created B")
	}
	if got := mustReveal(t, s, olive, a.ID); got != "v1" {
		t.Fatalf("a dry run changed A to %q", got)
	}
	for i, want := range []string{"v2", "b", "same"} {
		if !bytes.Equal(items[i].Value, []byte(want)) {
			t.Fatalf("item %d's value is now %q", i, items[i].Value)
		}
	}
	// The same items, for real: what the preview said.
	res := mustImport(t, s, olive, opt, items)
	if outcomes(res) != outcomes(preview) {
		t.Fatalf("import %q, preview %q", outcomes(res), outcomes(preview))
	}
	if got := secretValueByName(t, s, olive, "A") + "," + secretValueByName(t, s, olive, "B"); got != "v2,b" {
		t.Fatalf("values after the import: %s", got)
	}
}

// TestImport_Caches: answers cached before the import (a value, a name not found) are not served
// after it.
func TestImport_Caches(t *testing.T) {
	s := mustOpen(t)
	admin := mustOrg(t, s, "Acme", "ada@example.com")
	olive := mustMember(t, s, admin, "olive@example.com")
	mustSecret(t, s, olive, "A", "old")
	for range 2 { // the second is served from the cache
		if got := secretValueByName(t, s, olive, "A") + "|" + secretValueByName(t, s, olive, "B"); got != "old|" {
			t.Fatalf("before: %s", got)
		}
	}
	// A dry run is rolled back: what was cached still holds.
	mustImport(t, s, olive, db.ImportOptions{Overwrite: true, DryRun: true}, importItems("A", "new", "B", "b"))
	if got := secretValueByName(t, s, olive, "A") + "|" + secretValueByName(t, s, olive, "B"); got != "old|" {
		t.Fatalf("after a dry run: %s", got)
	}
	mustImport(t, s, olive, db.ImportOptions{Overwrite: true}, importItems("A", "new", "B", "b"))
	if got := secretValueByName(t, s, olive, "A") + "|" + secretValueByName(t, s, olive, "B"); got != "new|b" {
		t.Fatalf("after the import: %s", got)
	}
}

// TestImport_OtherOrganizationUntouched: names are the actor's organization's; another organization's
// secrets of the same names are neither seen nor changed.
func TestImport_OtherOrganizationUntouched(t *testing.T) {
	s := mustOpen(t)
	acme := mustOrg(t, s, "Acme", "ada@example.com")
	globex := mustOrg(t, s, "Globex", "grace@example.com")
	theirs := mustSecret(t, s, globex, "A", "globex's")
	raw := rawDB(t, s)
	events := changeEvents(t, raw, globex.OrgID)

	wantOutcomes(t, mustImport(t, s, acme, db.ImportOptions{Overwrite: true}, importItems("A", "acme's")), "A:create | 1 0 0 0")
	if got := mustReveal(t, s, globex, theirs.ID); got != "globex's" {
		t.Fatalf("Globex's A is %q", got)
	}
	if got := secretValueByName(t, s, acme, "A"); got != "acme's" {
		t.Fatalf("Acme's A is %q", got)
	}
	if got := changeEvents(t, raw, globex.OrgID); len(got) != len(events) {
		t.Fatalf("Globex got events %q", got[len(events):])
	}
	// The same user in both organizations acts in the one its actor names.
	grace := mustJoin(t, s, acme, globex, db.OrgMember)
	wantOutcomes(t, mustImport(t, s, grace, db.ImportOptions{Overwrite: true}, importItems("A", "x")), "A:skip | 0 0 0 1")
	if got := mustReveal(t, s, globex, theirs.ID); got != "globex's" {
		t.Fatalf("Globex's A is %q", got)
	}
}

func TestImport_NotAUser(t *testing.T) {
	s := mustOpen(t)
	admin := mustOrg(t, s, "Acme", "ada@example.com")
	_, err := s.ImportSecrets(ctx, db.SystemActor(admin.OrgID), importItems("A", "v"), db.ImportOptions{})
	wantCode(t, err, db.CodeForbidden)
}

func TestImport_Empty(t *testing.T) {
	s := mustOpen(t)
	admin := mustOrg(t, s, "Acme", "ada@example.com")
	res := mustImport(t, s, admin, db.ImportOptions{}, nil)
	if res.Items == nil || len(res.Items) != 0 || res.Created+res.Updated+res.Unchanged+res.Skipped != 0 {
		t.Fatalf("empty import: %+v", res)
	}
}

// TestImport_ConflictAtCommit: a secret of one of the names that changes between the import's look
// and its write refuses the whole import with CodeConflict, nothing written. The store's clock,
// read once by ImportSecrets between the two, makes the change at that moment.
func TestImport_ConflictAtCommit(t *testing.T) {
	var (
		s      *db.Store
		during atomic.Pointer[func()]
	)
	now := func() time.Time {
		if f := during.Load(); f != nil && strings.Contains(string(debug.Stack()), "ImportSecrets") && during.CompareAndSwap(f, nil) {
			(*f)()
		}
		return time.Now()
	}
	s = mustOpenAt(t, location(t), db.Options{Now: now})
	admin := mustOrg(t, s, "Acme", "ada@example.com")
	olive := mustMember(t, s, admin, "olive@example.com")
	nina := mustMember(t, s, admin, "nina@example.com")
	mine := mustSecret(t, s, olive, "MINE", "v1")
	raw := rawDB(t, s)

	cases := []struct {
		name    string
		during  func(t *testing.T)
		changed string
	}{
		{"a name taken meanwhile", func(t *testing.T) { mustSecret(t, s, nina, "TAKEN", "nina's") }, "TAKEN"},
		{"a value changed meanwhile", func(t *testing.T) {
			if _, err := s.UpdateSecret(ctx, olive, mine.ID, []byte("v2"), 0); err != nil {
				t.Fatal(err)
			}
		}, "MINE"},
		{"access changed meanwhile", func(t *testing.T) {
			mustShare(t, s, olive, mine, db.PrincipalUser, nina.UserID, db.RoleOwner)
			mustShare(t, s, nina, mine, db.PrincipalUser, olive.UserID, db.RoleReader)
		}, "MINE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			events := changeEvents(t, raw, admin.OrgID)
			f := func() { tc.during(t) }
			during.Store(&f)
			_, err := s.ImportSecrets(ctx, olive, importItems("NEW_1", "n1", "MINE", "v3", "TAKEN", "olive's"), db.ImportOptions{Overwrite: true})
			if during.Load() != nil {
				t.Fatal("the change meant to race the import did not run")
			}
			wantCode(t, err, db.CodeConflict)
			if msg := db.ErrorMessage(err); !strings.Contains(msg, tc.changed) || !strings.Contains(msg, "nothing was imported") {
				t.Fatalf("message %q", msg)
			}
			if got := secretValueByName(t, s, olive, "NEW_1"); got != "" {
				t.Fatal("NEW_1 was created")
			}
			for _, ev := range changeEvents(t, raw, admin.OrgID)[len(events):] {
				if strings.Contains(ev, "NEW_1") || strings.Contains(ev, "MINE version 3") || strings.Contains(ev, "TAKEN") && !strings.Contains(ev, "create TAKEN") {
					t.Fatalf("the refused import recorded %q", ev)
				}
			}
		})
	}
}

// TestImport_Thousand: 1,000 secrets in one import, then again unchanged, then all overwritten,
// timed; each is one transaction.
func TestImport_Thousand(t *testing.T) {
	s := mustOpen(t)
	admin := mustOrg(t, s, "Acme", "ada@example.com")
	olive := mustMember(t, s, admin, "olive@example.com")
	const n = 1000
	items := make([]db.ImportItem, n)
	for i := range items {
		items[i] = db.ImportItem{Name: fmt.Sprintf("SECRET_%04d", i), Value: []byte(fmt.Sprintf("value-%04d-%s", i, strings.Repeat("x", 40)))}
	}
	run := func(what string, opt db.ImportOptions, want string) {
		t.Helper()
		start := time.Now()
		res := mustImport(t, s, olive, opt, items)
		t.Logf("%s: %d items in %v", what, n, time.Since(start).Round(time.Millisecond))
		if got := fmt.Sprintf("%d %d %d %d", res.Created, res.Updated, res.Unchanged, res.Skipped); got != want {
			t.Fatalf("%s: %s, want %s", what, got, want)
		}
	}
	run("dry run", db.ImportOptions{DryRun: true}, "1000 0 0 0")
	run("create", db.ImportOptions{}, "1000 0 0 0")
	run("again", db.ImportOptions{Overwrite: true}, "0 0 1000 0")
	for i := range items {
		items[i].Value = append(items[i].Value, '!')
	}
	run("overwrite", db.ImportOptions{Overwrite: true}, "0 1000 0 0")
	if got := secretValueByName(t, s, olive, "SECRET_0999"); !strings.HasSuffix(got, "x!") {
		t.Fatalf("SECRET_0999=%q", got)
	}
	page, err := s.ListSecrets(ctx, olive, "", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != n {
		t.Fatalf("%d secrets, want %d", page.Total, n)
	}
}

// With Expect, an import happens only as previewed: a name taken, or a secret changed, since the
// preview refuses it all.
func TestImport_ExpectWhatWasPreviewed(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	mustSecret(t, s, ada, "EXISTING", "old")
	items := []db.ImportItem{{Name: "NEW_ONE", Value: []byte("a")}, {Name: "EXISTING", Value: []byte("new")}}
	prev, err := s.ImportSecrets(ctx, ada, items, db.ImportOptions{Overwrite: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	expect := make([]db.ImportExpectation, len(prev.Items))
	for i, it := range prev.Items {
		expect[i] = db.ImportExpectation{Outcome: it.Outcome, Version: it.Version}
	}
	// Bob takes the new name meanwhile: nothing of the import happens.
	mustSecret(t, s, bob, "NEW_ONE", "bob's")
	_, err = s.ImportSecrets(ctx, ada, items, db.ImportOptions{Overwrite: true, Expect: expect})
	wantCode(t, err, db.CodeConflict)
	if got := mustReveal(t, s, ada, mustByName(t, s, ada, "EXISTING")); got != "old" {
		t.Fatalf("EXISTING holds %q after a refused import", got)
	}
	// As previewed: imported.
	items[0].Name = "OTHER_NEW"
	prev, err = s.ImportSecrets(ctx, ada, items, db.ImportOptions{Overwrite: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range prev.Items {
		expect[i] = db.ImportExpectation{Outcome: it.Outcome, Version: it.Version}
	}
	res, err := s.ImportSecrets(ctx, ada, items, db.ImportOptions{Overwrite: true, Expect: expect})
	if err != nil || res.Created != 1 || res.Updated != 1 {
		t.Fatalf("the import as previewed: %+v, %v", res, err)
	}
}

func mustByName(t *testing.T, s *db.Store, a db.Actor, name string) string {
	t.Helper()
	sec, err := s.SecretByName(ctx, a, name)
	if err != nil {
		t.Fatal(err)
	}
	return sec.ID
}
