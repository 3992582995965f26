package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
)

// tree lists every path under root, relative to it, to prove a command created nothing.
func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// TestCLI_NoDataNothingCreated: a command that needs an existing deployment, run where there is none,
// or a bad command line, fails with one line and creates no data directory, database or master key.
func TestCLI_NoDataNothingCreated(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "new.key")
	if err := os.WriteFile(keyFile, []byte(db.GenerateMasterKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const noData = "no keyhold data at "
	cmds := []struct {
		name  string
		stdin string
		args  []string
		msg   string // after noData, the data directory and this
	}{
		{"user add", "a long enough password\n", []string{"user", "add", "--org", "Acme", "--email", "bob@example.com"}, noData},
		{"user remove", "", []string{"user", "remove", "--org", "Acme", "--email", "bob@example.com"}, noData},
		{"user invite", "", []string{"user", "invite", "--org", "Acme", "--email", "bob@example.com"}, noData},
		{"user reset-password", "", []string{"user", "reset-password", "--email", "bob@example.com"}, noData},
		{"apikey create", "", []string{"apikey", "create", "--org", "Acme", "--email", "bob@example.com"}, noData},
		{"backup", "", []string{"backup", "--out", "OUT"}, noData},
		{"rotate-master-key", "", []string{"rotate-master-key"}, noData},
		{"rotate-master-key with a key file", "", []string{"rotate-master-key", "--new-key-file", keyFile}, noData},
		{"unknown command", "", []string{"frobnicate"}, "unknown command"},
		{"unknown flag", "", []string{"org", "create", "--bogus"}, "flag provided but not defined"},
		{"org create without a name", "a long enough password\n", []string{"org", "create", "--admin-email", "ada@example.com"}, "needs --name"},
		{"org create without a password", "", []string{"org", "create", "--name", "Acme", "--admin-email", "ada@example.com"}, "no password on stdin"},
		{"org create with a short password", "short\n", []string{"org", "create", "--name", "Acme", "--admin-email", "ada@example.com"}, "at least 12 characters"},
		{"serve with a bad flag", "", []string{"serve", "--bogus"}, "flag provided but not defined"},
		{"serve with a stray argument", "", []string{"serve", "extra"}, "unexpected argument"},
		{"serve with a public URL without a scheme", "", []string{"serve", "--public-url", "keyhold.example.com"}, "is not an http or https address with a host"},
	}
	for _, tc := range cmds {
		for _, where := range []string{"missing", "empty", "missing with KEYHOLD_MASTER_KEY"} {
			t.Run(tc.name+"/"+where, func(t *testing.T) {
				if strings.HasSuffix(where, "KEYHOLD_MASTER_KEY") {
					t.Setenv("KEYHOLD_MASTER_KEY", db.GenerateMasterKey())
				}
				root := t.TempDir()
				data := filepath.Join(root, "keyhold-data")
				if where == "empty" {
					if err := os.Mkdir(data, 0o700); err != nil {
						t.Fatal(err)
					}
				}
				outDir := t.TempDir()
				args := append([]string(nil), tc.args...)
				for i, a := range args {
					if a == "OUT" {
						args[i] = filepath.Join(outDir, "backup.db")
					}
				}
				before := tree(t, root)
				code, out, errOut := cli(t, data, tc.stdin, args...)
				msg := tc.msg
				if msg == noData {
					msg = noData + data + ": start keyhold (keyhold serve) or create an organization (keyhold org create) first, or pass --data"
				}
				if badFlag := strings.Contains(msg, "flag provided but not defined"); badFlag {
					// A flag the command does not take: exit 2, the error, then the command's usage.
					if code != 2 || !strings.HasPrefix(errOut, "keyhold: "+msg) || !strings.Contains(errOut, "\nUsage: keyhold ") {
						t.Fatalf("code=%d stderr=%q, want 2 and %q with the usage", code, errOut, msg)
					}
				} else if code != 1 {
					t.Fatalf("code=%d, want 1 (stderr %q)", code, errOut)
				} else if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, msg) {
					t.Fatalf("stderr=%q, want one line containing %q", errOut, msg)
				}
				if out != "" {
					t.Fatalf("stdout=%q, want nothing", out)
				}
				if after := tree(t, root); strings.Join(after, " ") != strings.Join(before, " ") {
					t.Fatalf("created %v (before: %v)", after, before)
				}
				if got := tree(t, outDir); len(got) != 1 {
					t.Fatalf("created %v beside the backup", got)
				}
				if _, err := os.Stat("keyhold-data"); err == nil {
					t.Fatal("created ./keyhold-data")
				}
			})
		}
	}
}
