package db_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
)

func TestStore_CreateSecret_NameUniquePerOrg(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	acme := mustOrg(t, s, "Acme", "ada@example.com")
	globex := mustOrg(t, s, "Globex", "ada@example.com") // the same user, admin of a second org

	a := mustSecret(t, s, acme, "API_TOKEN", "acme")
	g := mustSecret(t, s, globex, "API_TOKEN", "globex")
	if a.ID == g.ID || a.OrgID == g.OrgID {
		t.Fatalf("secrets share an ID or org: %+v %+v", a, g)
	}

	_, err := s.CreateSecret(ctx, acme, "API_TOKEN", []byte("again"))
	wantCode(t, err, db.CodeConflict)
	if got, want := db.ErrorMessage(err), "A secret named API_TOKEN already exists in this organization."; got != want {
		t.Errorf("message=%q, want %q", got, want)
	}
	if got := mustReveal(t, s, acme, a.ID); got != "acme" {
		t.Errorf("the duplicate changed the original: %q", got)
	}
	if got := mustReveal(t, s, globex, g.ID); got != "globex" {
		t.Errorf("globex value=%q", got)
	}
}

func TestStore_CreateSecret_Invalid(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	_, err := s.CreateSecret(ctx, ada, "API-TOKEN", []byte("v"))
	wantCode(t, err, db.CodeInvalid)
	_, err = s.CreateSecret(ctx, ada, "API_TOKEN", []byte(""))
	wantCode(t, err, db.CodeInvalid)
	_, err = s.CreateSecret(ctx, ada, "API_TOKEN", []byte(strings.Repeat("v", db.MaxValueBytes+1)))
	wantCode(t, err, db.CodeTooLarge)
	_, err = s.CreateSecret(ctx, db.SystemActor(ada.OrgID), "API_TOKEN", []byte("v"))
	wantCode(t, err, db.CodeForbidden)
	page, err := s.ListSecrets(ctx, ada, "", 0, 50)
	if err != nil || page.Total != 0 {
		t.Fatalf("failed creates stored something: %+v %v", page, err)
	}
}

func TestStore_CreateSecret_Fields(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "héllo")
	if sec.Name != "API_TOKEN" || sec.OrgID != ada.OrgID || sec.Version != 1 || sec.Size != len("héllo") ||
		sec.Access != db.RoleOwner || sec.CreatedBy.ID != ada.UserID || sec.UpdatedBy.ID != ada.UserID ||
		sec.CreatedBy.Name != "Ada Admin" || sec.CreatedAt.IsZero() {
		t.Fatalf("created %+v", sec)
	}
	if sec.Value != "" {
		t.Errorf("CreateSecret returned the value")
	}
	got, err := s.SecretByID(ctx, ada, sec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Value != "" {
		t.Errorf("SecretByID returned the value")
	}
	grants, err := s.AccessList(ctx, ada, sec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(grants) != 1 || grants[0].ID != ada.UserID || grants[0].Role != db.RoleOwner || grants[0].Kind != db.PrincipalUser {
		t.Fatalf("grants %+v, want the creator as only Owner", grants)
	}
}

func TestStore_DeleteSecret_FreesName(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	old := mustSecret(t, s, ada, "API_TOKEN", "old")
	deleted, err := s.DeleteSecret(ctx, ada, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if deleted.ID != old.ID || deleted.DeletedAt.IsZero() || deleted.DeletedBy != ada.UserID {
		t.Errorf("deleted %+v", deleted)
	}
	_, err = s.SecretByID(ctx, ada, old.ID)
	wantCode(t, err, db.CodeNotFound)
	_, err = s.SecretByName(ctx, ada, "API_TOKEN")
	wantCode(t, err, db.CodeNotFound)
	_, err = s.DeleteSecret(ctx, ada, old.ID)
	wantCode(t, err, db.CodeNotFound)

	fresh := mustSecret(t, s, ada, "API_TOKEN", "new")
	if fresh.ID == old.ID {
		t.Fatal("the new secret reuses the deleted one's ID")
	}
	got, err := s.SecretByName(ctx, ada, "API_TOKEN")
	if err != nil || got.ID != fresh.ID || got.Value != "new" {
		t.Fatalf("SecretByName = %+v, %v", got, err)
	}
	page, err := s.ListSecrets(ctx, ada, "", 0, 50)
	if err != nil || page.Total != 1 || page.Secrets[0].ID != fresh.ID {
		t.Fatalf("list %+v %v", page, err)
	}
}

// roundTripValues are values that must come back byte for byte.
var roundTripValues = []struct{ name, value string }{
	{"one char", "x"},
	{"multi-line", "line one\nline two\nline three"},
	{"trailing newline", "token\n"},
	{"trailing newlines", "token\n\n\n"},
	{"leading and trailing spaces", "  padded  "},
	{"CRLF", "a\r\nb\r\n"},
	{"lone CR", "a\rb"},
	{"tabs", "\tkey\t=\tvalue\t"},
	{"PEM", "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"},
	{"JSON", `{"user":"svc","pass":"p@ss\"w0rd\\"}`},
	{"NUL byte", "a\x00b"},
	{"accents", "crème brûlée"},
	{"CJK", "秘密の値"},
	{"emoji", "🔑🔒 keys & locks 👩‍💻"},
	{"RTL", "שלום עולם مرحبا"},
	{"bidi controls", "abc\u202edcba\u202c"},
	{"BOM", "\ufeffvalue"},
	{"combining", "e\u0301"},
	{"only whitespace", " \n\t "},
	{"SQL-ish", "'; DROP TABLE secrets; --"},
	{"percent", "100%_done"},
}

func TestStore_SecretValue_RoundTrip(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	for i, tt := range roundTripValues {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("V_%d", i)
			sec := mustSecret(t, s, ada, name, tt.value)
			if sec.Size != len(tt.value) {
				t.Errorf("Size=%d, want %d", sec.Size, len(tt.value))
			}
			byName, err := s.SecretByName(ctx, ada, name)
			if err != nil {
				t.Fatal(err)
			}
			if byName.Value != tt.value {
				t.Errorf("SecretByName value=%q, want %q", byName.Value, tt.value)
			}
			if got := mustReveal(t, s, ada, sec.ID); got != tt.value {
				t.Errorf("RevealSecret value=%q, want %q", got, tt.value)
			}
			// And through an update.
			updated := tt.value + "\n" + tt.value
			if _, err := s.UpdateSecret(ctx, ada, sec.ID, []byte(updated), sec.Version); err != nil {
				t.Fatal(err)
			}
			if got := mustReveal(t, s, ada, sec.ID); got != updated {
				t.Errorf("after update value=%q, want %q", got, updated)
			}
		})
	}
}

func TestStore_SecretValue_RoundTrip5MiB(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	// Every line differs, so a shifted or truncated chunk cannot pass.
	var b strings.Builder
	for i := 0; b.Len() < db.MaxValueBytes-100; i++ {
		fmt.Fprintf(&b, "line %08d: é🔑\r\n", i)
	}
	b.WriteString(strings.Repeat("x", db.MaxValueBytes-b.Len()-1) + "\n")
	value := b.String()
	if len(value) != db.MaxValueBytes {
		t.Fatalf("test value is %d bytes", len(value))
	}
	sec := mustSecret(t, s, ada, "BIG", value)
	if sec.Size != db.MaxValueBytes {
		t.Errorf("Size=%d", sec.Size)
	}
	byName, err := s.SecretByName(ctx, ada, "BIG")
	if err != nil {
		t.Fatal(err)
	}
	if byName.Value != value {
		t.Fatalf("5 MiB value differs after SecretByName (len %d)", len(byName.Value))
	}
	if mustReveal(t, s, ada, sec.ID) != value {
		t.Fatal("5 MiB value differs after RevealSecret")
	}
}

func TestStore_UpdateSecret_Versions(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "v1")
	mustShare(t, s, ada, sec, db.PrincipalUser, bob.UserID, db.RoleOwner)

	v2, err := s.UpdateSecret(ctx, bob, sec.ID, []byte("v2"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || v2.UpdatedBy.ID != bob.UserID || v2.CreatedBy.ID != ada.UserID || v2.Size != 2 {
		t.Fatalf("after update %+v", v2)
	}

	// Ada edits from her stale copy (version 1).
	_, err = s.UpdateSecret(ctx, ada, sec.ID, []byte("stale"), 1)
	wantCode(t, err, db.CodeConflict)
	msg := db.ErrorMessage(err)
	for _, want := range []string{bob.Name, "reload to see the latest", "API_TOKEN"} {
		if !strings.Contains(msg, want) {
			t.Errorf("conflict message %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "stale") || strings.Contains(msg, "v2") {
		t.Errorf("conflict message %q contains a value", msg)
	}
	if got := mustReveal(t, s, ada, sec.ID); got != "v2" {
		t.Fatalf("stale update changed the value to %q", got)
	}
	// A version from the future is stale too.
	_, err = s.UpdateSecret(ctx, ada, sec.ID, []byte("future"), 9)
	wantCode(t, err, db.CodeConflict)

	// Version 0 skips the check.
	v3, err := s.UpdateSecret(ctx, ada, sec.ID, []byte("v3"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if v3.Version != 3 || v3.UpdatedBy.ID != ada.UserID {
		t.Fatalf("after unchecked update %+v", v3)
	}
	v4, err := s.UpdateSecret(ctx, bob, sec.ID, []byte("v4"), 3)
	if err != nil || v4.Version != 4 {
		t.Fatalf("update at current version: %+v %v", v4, err)
	}
	if got := mustReveal(t, s, bob, sec.ID); got != "v4" {
		t.Fatalf("value=%q", got)
	}

	_, err = s.UpdateSecret(ctx, ada, sec.ID, []byte(""), 0)
	wantCode(t, err, db.CodeInvalid)
	_, err = s.UpdateSecret(ctx, ada, sec.ID, []byte(strings.Repeat("v", db.MaxValueBytes+1)), 0)
	wantCode(t, err, db.CodeTooLarge)
	if got, err := s.SecretByID(ctx, ada, sec.ID); err != nil || got.Version != 4 {
		t.Fatalf("invalid updates changed the secret: %+v %v", got, err)
	}
}

func TestStore_Secret_ReaderCannotChange(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "v1")
	mustShare(t, s, ada, sec, db.PrincipalUser, bob.UserID, db.RoleReader)

	_, err := s.UpdateSecret(ctx, bob, sec.ID, []byte("v2"), sec.Version)
	wantCode(t, err, db.CodeForbidden)
	_, err = s.UpdateSecret(ctx, bob, sec.ID, []byte("v2"), 0)
	wantCode(t, err, db.CodeForbidden)
	_, err = s.DeleteSecret(ctx, bob, sec.ID)
	wantCode(t, err, db.CodeForbidden)
	err = s.ChangeAccess(ctx, bob, sec.ID, []db.AccessChange{{Kind: db.PrincipalUser, ID: bob.UserID, Role: db.RoleOwner}})
	wantCode(t, err, db.CodeForbidden)

	// The reader can still read, and nothing changed.
	got, err := s.RevealSecret(ctx, bob, sec.ID)
	if err != nil || got.Value != "v1" || got.Version != 1 || got.Access != db.RoleReader {
		t.Fatalf("reveal %+v %v", got, err)
	}
	if _, err := s.AccessList(ctx, bob, sec.ID); err != nil {
		t.Fatalf("a Reader may see the access list: %v", err)
	}
	wantAccess(t, s, bob, sec.ID, db.RoleReader)
}

// notFoundCalls are every way to reach one secret; an actor without access gets CodeNotFound from each.
func notFoundCalls(s *db.Store, sec *db.Secret, name string) map[string]func(a db.Actor) error {
	return map[string]func(a db.Actor) error{
		"SecretByID": func(a db.Actor) error {
			_, err := s.SecretByID(ctx, a, sec.ID)
			return err
		},
		"RevealSecret": func(a db.Actor) error {
			_, err := s.RevealSecret(ctx, a, sec.ID)
			return err
		},
		"SecretByName": func(a db.Actor) error {
			_, err := s.SecretByName(ctx, a, name)
			return err
		},
		"UpdateSecret": func(a db.Actor) error {
			_, err := s.UpdateSecret(ctx, a, sec.ID, []byte("changed"), 0)
			return err
		},
		"DeleteSecret": func(a db.Actor) error {
			_, err := s.DeleteSecret(ctx, a, sec.ID)
			return err
		},
		"AccessList": func(a db.Actor) error {
			_, err := s.AccessList(ctx, a, sec.ID)
			return err
		},
		"ChangeAccess": func(a db.Actor) error {
			return s.ChangeAccess(ctx, a, sec.ID, []db.AccessChange{{Kind: db.PrincipalUser, ID: a.UserID, Role: db.RoleOwner}})
		},
		"SecretActivity": func(a db.Actor) error {
			_, err := s.SecretActivity(ctx, a, sec.ID, 10)
			return err
		},
	}
}

func TestStore_Secret_NoAccessIsNotFound(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	sec := mustSecret(t, s, bob, "API_TOKEN", "v1")

	// Ada is an admin with no grant: admins get no implicit access.
	for _, who := range []struct {
		label string
		a     db.Actor
	}{{"member ada", ada}, {"system actor", db.SystemActor(ada.OrgID)}} {
		for call, fn := range notFoundCalls(s, sec, "API_TOKEN") {
			t.Run(who.label+"/"+call, func(t *testing.T) {
				wantCode(t, fn(who.a), db.CodeNotFound)
			})
		}
	}
	if got := mustReveal(t, s, bob, sec.ID); got != "v1" {
		t.Fatalf("value changed to %q", got)
	}
	grants, err := s.AccessList(ctx, bob, sec.ID)
	if err != nil || len(grants) != 1 || grants[0].ID != bob.UserID {
		t.Fatalf("access changed: %+v %v", grants, err)
	}
}

func TestStore_Secret_OtherOrgIsNotFound(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	acme := mustOrg(t, s, "Acme", "ada@example.com")
	// The same user, in another org: her Owner grant on the Acme secret must not carry over.
	globex := mustOrg(t, s, "Globex", "ada@example.com")
	sec := mustSecret(t, s, acme, "API_TOKEN", "acme-value")

	for call, fn := range notFoundCalls(s, sec, "API_TOKEN") {
		t.Run(call, func(t *testing.T) {
			wantCode(t, fn(globex), db.CodeNotFound)
		})
	}
	page, err := s.ListSecrets(ctx, globex, "", 0, 50)
	if err != nil || page.Total != 0 || len(page.Secrets) != 0 {
		t.Fatalf("globex lists %+v %v", page, err)
	}
	if got := mustReveal(t, s, acme, sec.ID); got != "acme-value" {
		t.Fatalf("value=%q", got)
	}
}

func TestStore_ListSecrets_Paging(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	var want []string
	for i := 7; i >= 1; i-- { // created out of order; listed by name
		name := fmt.Sprintf("S_%02d", i)
		mustSecret(t, s, ada, name, "v")
		want = append(want, name)
	}
	slices.Sort(want)

	var got []string
	for off := 0; off < 7; off += 3 {
		page, err := s.ListSecrets(ctx, ada, "", off, 3)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 7 {
			t.Errorf("offset %d: Total=%d, want 7", off, page.Total)
		}
		if wantLen := min(3, 7-off); len(page.Secrets) != wantLen {
			t.Errorf("offset %d: %d secrets, want %d", off, len(page.Secrets), wantLen)
		}
		for _, sec := range page.Secrets {
			if sec.Value != "" || sec.Access != db.RoleOwner {
				t.Errorf("listed %+v", sec)
			}
		}
		got = append(got, secretNames(page.Secrets)...)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages = %v, want %v", got, want)
	}

	// Past the end: no rows, but the total is still the total.
	page, err := s.ListSecrets(ctx, ada, "", 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Secrets) != 0 || page.Total != 7 {
		t.Errorf("past the end: %d secrets, Total=%d; want 0, 7", len(page.Secrets), page.Total)
	}
	// Defaults: a zero or negative limit and a negative offset still list.
	page, err = s.ListSecrets(ctx, ada, "", -5, 0)
	if err != nil || len(page.Secrets) != 7 || page.Total != 7 {
		t.Fatalf("defaults: %+v %v", page, err)
	}
}

func TestStore_ListSecrets_Search(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	for _, n := range []string{"API_TOKEN", "APIXTOKEN", "DB_PASSWORD", "DBXPASS", "STRIPE_KEY"} {
		mustSecret(t, s, ada, n, "v")
	}
	deleted := mustSecret(t, s, ada, "OLD_TOKEN", "v")
	if _, err := s.DeleteSecret(ctx, ada, deleted.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"APIXTOKEN", "API_TOKEN", "DBXPASS", "DB_PASSWORD", "STRIPE_KEY"}},
		{"TOKEN", []string{"APIXTOKEN", "API_TOKEN"}},
		{"I_T", []string{"API_TOKEN"}},   // _ is literal, not "any one character"
		{"B_P", []string{"DB_PASSWORD"}}, // not DBXPASS
		{"_", []string{"API_TOKEN", "DB_PASSWORD", "STRIPE_KEY"}},
		{"%", []string{}},         // % is literal: no name holds one
		{"API%TOKEN", []string{}}, // not a wildcard between API and TOKEN
		{`\`, []string{}},
		{"NOPE", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			page, err := s.ListSecrets(ctx, ada, tt.query, 0, 50)
			if err != nil {
				t.Fatal(err)
			}
			if got := secretNames(page.Secrets); !slices.Equal(got, tt.want) {
				t.Errorf("ListSecrets(%q) = %v, want %v", tt.query, got, tt.want)
			}
			if page.Total != len(tt.want) {
				t.Errorf("Total=%d, want %d", page.Total, len(tt.want))
			}
		})
	}
}

func TestStore_ListSecrets_OnlyWhatTheActorCanRead(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	mustSecret(t, s, bob, "BOB_OWN", "v")
	shared := mustSecret(t, s, bob, "BOB_SHARED", "v")
	mustSecret(t, s, bob, "BOB_PRIVATE", "v")
	mustShare(t, s, bob, shared, db.PrincipalUser, ada.UserID, db.RoleReader)

	// The admin sees only what was shared with her.
	page, err := s.ListSecrets(ctx, ada, "", 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	if got := secretNames(page.Secrets); !slices.Equal(got, []string{"BOB_SHARED"}) || page.Total != 1 {
		t.Fatalf("admin lists %v (Total %d), want [BOB_SHARED]", got, page.Total)
	}
	if page.Secrets[0].Access != db.RoleReader {
		t.Errorf("access=%q", page.Secrets[0].Access)
	}
	page, err = s.ListSecrets(ctx, db.SystemActor(ada.OrgID), "", 0, 50)
	if err != nil || page.Total != 0 {
		t.Fatalf("the system actor lists %+v %v", page, err)
	}
	page, err = s.ListSecrets(ctx, bob, "", 0, 50)
	if err != nil || page.Total != 3 {
		t.Fatalf("bob lists %+v %v", page, err)
	}
}

// A value with SealOverhead bytes of spare capacity is sealed in place: the caller's buffer no longer
// holds the plaintext, and the stored value reads back exactly.
func TestStore_SecretValue_SealedInPlace(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "acme", "ada@example.com")
	want := strings.Repeat("in-place sealing ", 4096)
	for _, update := range []bool{false, true} {
		buf := make([]byte, len(want), len(want)+db.SealOverhead)
		copy(buf, want)
		var (
			sec *db.Secret
			err error
		)
		if update {
			old := mustSecret(t, s, ada, "UPDATED_IN_PLACE", "old")
			sec, err = s.UpdateSecret(ctx, ada, old.ID, buf, 0)
		} else {
			sec, err = s.CreateSecret(ctx, ada, "CREATED_IN_PLACE", buf)
		}
		if err != nil {
			t.Fatal(err)
		}
		if sec.Size != len(want) {
			t.Fatalf("update=%v: size %d, want %d", update, sec.Size, len(want))
		}
		if strings.Contains(string(buf[:cap(buf)]), "in-place sealing") {
			t.Fatalf("update=%v: the plaintext is still in the caller's buffer", update)
		}
		if got := mustReveal(t, s, ada, sec.ID); got != want {
			t.Fatalf("update=%v: value read back differs (%d bytes, want %d)", update, len(got), len(want))
		}
	}
}

// TestStore_ListSecrets_OnlyAndSharing: the list filtered to the secrets the actor owns or only reads,
// with counts that match, and each row saying who it is shared with.
func TestStore_ListSecrets_OnlyAndSharing(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	bob := mustMember(t, s, ada, "bob@example.com")
	carol := mustMember(t, s, ada, "carol@example.com")
	team := mustTeam(t, s, ada, "Platform", bob)
	mine := mustSecret(t, s, bob, "BOB_OWN", "1")
	mustShare(t, s, bob, mine, db.PrincipalUser, carol.UserID, db.RoleReader)
	mustShare(t, s, bob, mine, db.PrincipalTeam, team.ID, db.RoleReader)
	read := mustSecret(t, s, ada, "ADA_SHARED", "2")
	mustShare(t, s, ada, read, db.PrincipalTeam, team.ID, db.RoleReader)
	owned := mustSecret(t, s, ada, "ADA_OWNED_BY_BOB", "3")
	mustShare(t, s, ada, owned, db.PrincipalUser, bob.UserID, db.RoleOwner)
	mustSecret(t, s, ada, "ADA_ALONE", "4")

	for _, tc := range []struct {
		only []db.Role
		want []string
	}{
		{nil, []string{"ADA_OWNED_BY_BOB", "ADA_SHARED", "BOB_OWN"}},
		{[]db.Role{db.RoleOwner}, []string{"ADA_OWNED_BY_BOB", "BOB_OWN"}},
		{[]db.Role{db.RoleReader}, []string{"ADA_SHARED"}},
	} {
		page, err := s.ListSecrets(ctx, bob, "", 0, 50, tc.only...)
		if err != nil {
			t.Fatal(err)
		}
		if got := secretNames(page.Secrets); !slices.Equal(got, tc.want) || page.Total != len(tc.want) {
			t.Fatalf("only %v: %v (total %d), want %v", tc.only, got, page.Total, tc.want)
		}
	}
	page, err := s.ListSecrets(ctx, bob, "", 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]db.Sharing{
		"ADA_OWNED_BY_BOB": {You: true, People: 1},            // Bob, Ada
		"ADA_SHARED":       {You: false, People: 1, Teams: 1}, // Ada, Platform
		"BOB_OWN":          {You: true, People: 1, Teams: 1},  // Bob, Carol, Platform
	}
	for _, sec := range page.Secrets {
		if sec.Sharing != want[sec.Name] {
			t.Errorf("%s shared %+v, want %+v", sec.Name, sec.Sharing, want[sec.Name])
		}
	}
	// A search and a filter together.
	page, err = s.ListSecrets(ctx, bob, "ada", 0, 50, db.RoleOwner)
	if err != nil || !slices.Equal(secretNames(page.Secrets), []string{"ADA_OWNED_BY_BOB"}) || page.Total != 1 {
		t.Fatalf("search and filter: %+v %v", page, err)
	}
}
