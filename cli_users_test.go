package main

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
)

// openData opens the data directory's database with its generated master key, for a look behind the
// commands.
func openData(t *testing.T, data string) *db.Store {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	s, err := db.Open(context.Background(), filepath.Join(data, db.FileName), db.Options{MasterKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// keyhold user invite prints an invitation link and only the link; the person joins with it.
func TestCLI_UserInvite(t *testing.T) {
	data := t.TempDir()
	if code, _, errOut := cli(t, data, "correct horse battery\n", "org", "create", "--name", "Acme", "--admin-email", "ada@example.com"); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := cli(t, data, "", "user", "invite", "--org", "Acme", "--email", "bob@example.com", "--admin", "--url", "https://keyhold.example.com/")
	if code != 0 || errOut != "" {
		t.Fatalf("user invite: %d %q", code, errOut)
	}
	link := strings.TrimSpace(out)
	token, ok := strings.CutPrefix(link, "https://keyhold.example.com/invite/")
	if !ok || strings.Count(out, "\n") != 1 || len(token) < 40 {
		t.Fatalf("printed %q, want one invitation link", out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "invite", "--org", "Acme", "--email", "ada@example.com"}, "already a member"},
		{[]string{"user", "invite", "--org", "Acme", "--email", "not an email"}, "is not a valid email address"},
		{[]string{"user", "invite", "--org", "Acme", "--email", "cat@example.com", "--team", "Nope"}, `no team named "Nope"`},
		{[]string{"user", "invite", "--org", "Nope", "--email", "cat@example.com"}, "No organization named"},
		{[]string{"user", "invite", "--org", "Acme"}, "needs --org and --email"},
		{[]string{"user", "invite", "--org", "Acme", "--email", "cat@example.com", "--url", "keyhold.example.com"}, "is not an http or https address with a host"},
		{[]string{"user", "invite", "--org", "Acme", "--email", "cat@example.com", "--url", "https://"}, "is not an http or https address with a host"},
		{[]string{"user", "invite", "--org", "Acme", "--email", "cat@example.com", "--url", "https://keyhold.example.com/keyhold"}, "keyhold serves from the root"},
	} {
		code, out, errOut := cli(t, data, "", tc.args...)
		if code == 0 || out != "" || !strings.Contains(errOut, tc.want) || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%v: code %d out %q err %q, want one line with %q", tc.args, code, out, errOut, tc.want)
		}
	}
	// The link's address defaults to KEYHOLD_PUBLIC_URL, checked, else the listen address, where a
	// wildcard host is read as localhost.
	t.Setenv("KEYHOLD_PUBLIC_URL", "keyhold.example.com")
	if code, out, errOut := cli(t, data, "", "user", "invite", "--org", "Acme", "--email", "cat@example.com"); code != 1 || out != "" || !strings.Contains(errOut, "KEYHOLD_PUBLIC_URL") {
		t.Errorf("a bad KEYHOLD_PUBLIC_URL: code %d out %q err %q", code, out, errOut)
	}
	t.Setenv("KEYHOLD_PUBLIC_URL", "")
	t.Setenv("KEYHOLD_ADDR", "0.0.0.0:9090")
	if code, out, errOut := cli(t, data, "", "user", "invite", "--org", "Acme", "--email", "cat@example.com"); code != 0 || !strings.HasPrefix(out, "http://localhost:9090/invite/") {
		t.Errorf("with KEYHOLD_ADDR=0.0.0.0:9090: code %d out %q err %q", code, out, errOut)
	}
	s := openData(t, data)
	inv, err := s.InvitationByToken(context.Background(), token)
	if err != nil || inv.Email != "bob@example.com" || inv.Role != db.OrgAdmin || inv.CreatedBy.ID != "" {
		t.Fatalf("the printed link: %+v %v", inv, err)
	}
	if _, _, err := s.AcceptInvitationNewAccount(context.Background(), token, db.NewAccount{Password: "bob's own password"}); err != nil {
		t.Fatal(err)
	}
}

// keyhold user reset-password prints a one-time link; the old password, the sessions and the API keys
// stop working at once.
func TestCLI_UserResetPassword(t *testing.T) {
	data := t.TempDir()
	if code, _, errOut := cli(t, data, "correct horse battery\n", "org", "create", "--name", "Acme", "--admin-email", "ada@example.com"); code != 0 {
		t.Fatal(errOut)
	}
	code, key, errOut := cli(t, data, "", "apikey", "create", "--org", "Acme", "--email", "ada@example.com")
	if code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := cli(t, data, "", "user", "reset-password", "--email", "ADA@example.com")
	if code != 0 || errOut != "" {
		t.Fatalf("reset-password: %d %q", code, errOut)
	}
	token, ok := strings.CutPrefix(strings.TrimSpace(out), "http://127.0.0.1:8080/reset/")
	if !ok || strings.Count(out, "\n") != 1 {
		t.Fatalf("printed %q, want one reset link", out)
	}
	if code, _, errOut := cli(t, data, "", "user", "reset-password", "--email", "nobody@example.com"); code == 0 || !strings.Contains(errOut, "No user with that email.") {
		t.Errorf("unknown email: %d %q", code, errOut)
	}
	s := openData(t, data)
	ctx := context.Background()
	if _, _, err := s.SignIn(ctx, "ada@example.com", "correct horse battery", "192.0.2.1"); db.ErrorCode(err) != db.CodeUnauthorized {
		t.Errorf("the old password after the reset: %v", err)
	}
	if _, err := s.AuthenticateAPIKey(ctx, strings.TrimSpace(key), ""); db.ErrorCode(err) != db.CodeUnauthorized {
		t.Errorf("the API key after the reset: %v", err)
	}
	if _, _, err := s.CompletePasswordReset(ctx, token, "ada's new password", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SignIn(ctx, "ada@example.com", "ada's new password", "192.0.2.1"); err != nil {
		t.Errorf("the new password: %v", err)
	}
}
