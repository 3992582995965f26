package db_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keyhold/keyhold/db"
)

var validName = regexp.MustCompile(`^[A-Za-z0-9_]{1,256}$`)

// FuzzValidateSecretName checks the name rule against an independent statement of it: never a panic,
// acceptance exactly when the name matches, and a rejection that is CodeInvalid with a message that
// never echoes more than the offending characters.
func FuzzValidateSecretName(f *testing.F) {
	for _, seed := range []string{"", "A", "API_TOKEN", "bad-name", "with space", "é", "\x00", "a\nb", strings.Repeat("x", 256),
		strings.Repeat("x", 257), "\xff\xfe", "🔑", "DROP TABLE secrets;--", "<script>"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := db.ValidateSecretName(name)
		if ok := validName.MatchString(name); ok != (err == nil) {
			t.Fatalf("ValidateSecretName(%q) = %v, want ok=%v", name, err, ok)
		}
		if err != nil {
			if db.ErrorCode(err) != db.CodeInvalid {
				t.Fatalf("code %q for %q", db.ErrorCode(err), name)
			}
			if msg := db.ErrorMessage(err); !utf8.ValidString(msg) || len(msg) > 200 {
				t.Fatalf("message %q for %q", msg, name)
			}
		}
	})
}

// FuzzSessionByToken feeds arbitrary cookie values to the session lookup: never a panic, never a
// session for anything but the real token.
func FuzzSessionByToken(f *testing.F) {
	s := mustOpen(f)
	admin := mustOrg(f, s, "Acme", "ada@example.com")
	token, err := s.CreateSession(ctx, admin.UserID, admin.OrgID)
	if err != nil {
		f.Fatal(err)
	}
	lim := db.SessionLimits{Idle: 1 << 40, Absolute: 1 << 40}
	for _, seed := range []string{"", token, token[:len(token)-1], token + "x", strings.ToUpper(token), "%00", "'; DROP TABLE sessions;--",
		strings.Repeat("A", 4096), "\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, cookie string) {
		sess, err := s.SessionByToken(ctx, cookie, lim)
		if cookie == token {
			if err != nil || sess.UserID != admin.UserID {
				t.Fatalf("real token: %v", err)
			}
			return
		}
		if err == nil || db.ErrorCode(err) != db.CodeNotFound {
			t.Fatalf("SessionByToken(%q) = %v, %v; want CodeNotFound", cookie, sess, err)
		}
	})
}
