package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/db/dbtest"
)

// cli runs one keyhold command in-process against data and returns its exit code and output.
func cli(t *testing.T, data, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append(args, "--data", data)
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// snapshot lists the organizations and members of data, to prove a failed command changed nothing.
func snapshot(t *testing.T, data string) string {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(data, "master.key"))
	if err != nil {
		return "no data"
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(key)))
	s, err := db.Open(context.Background(), filepath.Join(data, db.FileName), db.Options{MasterKey: raw})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var b strings.Builder
	for _, name := range []string{"Acme", "Globex"} {
		org, err := s.OrgByName(context.Background(), name)
		if err != nil {
			continue
		}
		ms, err := s.ListMembers(context.Background(), db.SystemActor(org.ID), "")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			fmt.Fprintf(&b, "%s %s %s\n", name, m.Email, m.Role)
		}
	}
	return b.String()
}

func TestCLI_OrgAndUsers(t *testing.T) {
	data := t.TempDir()
	code, out, errOut := cli(t, data, "correct horse battery\n", "org", "create", "--name", "Acme", "--admin-email", "ada@example.com", "--first", "Ada", "--last", "Admin")
	if code != 0 || len(strings.TrimSpace(out)) != 36 {
		t.Fatalf("org create: code=%d out=%q err=%q", code, out, errOut)
	}
	if fi, err := os.Stat(filepath.Join(data, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master.key: %v %v", fi, err)
	}
	if code, _, errOut := cli(t, data, "another good password\n", "user", "add", "--org", "Acme", "--email", "bob@example.com"); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	// An existing user joins another organization without a password.
	if code, _, errOut := cli(t, data, "third good password!\n", "org", "create", "--name", "Globex", "--admin-email", "bob@example.com"); code != 0 {
		t.Fatalf("org create for existing user: %s", errOut)
	}
	// The operator does not attach an existing account to an organization: its holder accepts an
	// invitation with it.
	if code, _, errOut := cli(t, data, "", "user", "add", "--org", "Globex", "--email", "ada@example.com", "--admin"); code != 1 || !strings.Contains(errOut, "already has a keyhold account: invite them") {
		t.Fatalf("user add existing: code %d, %s", code, errOut)
	}
	want := "Acme ada@example.com admin\nAcme bob@example.com member\nGlobex bob@example.com admin\n"
	if got := snapshot(t, data); got != want {
		t.Fatalf("members:\n%s\nwant:\n%s", got, want)
	}

	bad := []struct {
		name  string
		stdin string
		args  []string
		msg   string
	}{
		{"unknown org", "a long enough password\n", []string{"user", "add", "--org", "Nope", "--email", "carl@example.com"}, `No organization named "Nope".`},
		{"duplicate org", "a long enough password\n", []string{"org", "create", "--name", "acme", "--admin-email", "carl@example.com"}, "already exists"},
		{"already a member", "", []string{"user", "add", "--org", "Acme", "--email", "BOB@example.com"}, "already a member"},
		{"short password", "short\n", []string{"user", "add", "--org", "Acme", "--email", "carl@example.com"}, "at least 12 characters"},
		{"empty stdin", "", []string{"user", "add", "--org", "Acme", "--email", "carl@example.com"}, "no password on stdin"},
		{"empty stdin org", "", []string{"org", "create", "--name", "Initech", "--admin-email", "carl@example.com"}, "no password on stdin"},
		{"bad email", "a long enough password\n", []string{"user", "add", "--org", "Acme", "--email", "not-an-email"}, "not a valid email"},
		{"missing flags", "", []string{"user", "add", "--org", "Acme"}, "needs --org and --email"},
		{"unknown flag", "", []string{"user", "add", "--bogus"}, "flag provided but not defined"},
		{"unknown command", "", []string{"frobnicate"}, "unknown command"},
		{"remove stranger", "", []string{"user", "remove", "--org", "Acme", "--email", "carl@example.com"}, "not a member"},
		{"remove last admin", "", []string{"user", "remove", "--org", "Acme", "--email", "ada@example.com"}, "last admin"},
		{"bad expiry", "", []string{"apikey", "create", "--org", "Acme", "--email", "bob@example.com", "--expires", "soon"}, "--expires"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := cli(t, data, tc.stdin, tc.args...)
			if strings.Contains(tc.msg, "flag provided but not defined") {
				// A flag the command does not take: exit 2, the error, then the command's usage.
				if code != 2 || !strings.HasPrefix(errOut, "keyhold: "+tc.msg) || !strings.Contains(errOut, "\nUsage: keyhold ") {
					t.Fatalf("code=%d stderr=%q, want 2 and %q with the usage", code, errOut, tc.msg)
				}
			} else if code != 1 {
				t.Fatalf("code=%d, want 1 (stderr %q)", code, errOut)
			} else if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.msg) {
				t.Fatalf("stderr=%q, want one line containing %q", errOut, tc.msg)
			}
			if out != "" {
				t.Fatalf("stdout=%q, want nothing", out)
			}
			if got := snapshot(t, data); got != want {
				t.Fatalf("data changed:\n%s", got)
			}
		})
	}
}

func TestCLI_APIKeyAndUserRemove(t *testing.T) {
	data := t.TempDir()
	if code, _, errOut := cli(t, data, "correct horse battery\n", "org", "create", "--name", "Acme", "--admin-email", "ada@example.com"); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := cli(t, data, "another good password\n", "user", "add", "--org", "Acme", "--email", "bob@example.com"); code != 0 {
		t.Fatal(errOut)
	}
	code, out, errOut := cli(t, data, "", "apikey", "create", "--org", "Acme", "--email", "bob@example.com", "--label", "ci", "--expires", "30d")
	key := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(key, "kh_") || strings.Count(out, "\n") != 1 {
		t.Fatalf("apikey create: code=%d out=%q err=%q", code, out, errOut)
	}

	raw, _ := os.ReadFile(filepath.Join(data, "master.key"))
	mk, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	s, err := db.Open(context.Background(), filepath.Join(data, db.FileName), db.Options{MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	bob, err := s.AuthenticateAPIKey(ctx, key, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ONLY_BOB", "ALSO_BOB"} {
		if _, err := s.CreateSecret(ctx, bob, name, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	code, out, errOut = cli(t, data, "", "user", "remove", "--org", "Acme", "--email", "bob@example.com")
	if code != 0 || out != "ALSO_BOB\nONLY_BOB\n" {
		t.Fatalf("user remove: code=%d out=%q err=%q", code, out, errOut)
	}
	s, err = db.Open(ctx, filepath.Join(data, db.FileName), db.Options{MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.AuthenticateAPIKey(ctx, key, ""); db.ErrorCode(err) != db.CodeUnauthorized {
		t.Fatalf("key of removed user: %v", err)
	}
}

func TestMasterKey(t *testing.T) {
	data := t.TempDir()
	if code, _, errOut := cli(t, data, "correct horse battery\n", "org", "create", "--name", "Acme", "--admin-email", "ada@example.com"); code != 0 {
		t.Fatal(errOut)
	}
	t.Run("wrong key refused", func(t *testing.T) {
		t.Setenv("KEYHOLD_MASTER_KEY", db.GenerateMasterKey())
		code, _, errOut := cli(t, data, "", "user", "remove", "--org", "Acme", "--email", "x@example.com")
		if code != 1 || !strings.Contains(errOut, "master key does not match") {
			t.Fatalf("code=%d err=%q", code, errOut)
		}
	})
	t.Run("key from file", func(t *testing.T) {
		t.Setenv("KEYHOLD_MASTER_KEY_FILE", filepath.Join(data, "master.key"))
		if code, _, errOut := cli(t, data, "", "user", "add", "--org", "Acme", "--email", "ada@example.com"); code != 1 || !strings.Contains(errOut, "already a member") {
			t.Fatalf("code=%d err=%q", code, errOut)
		}
	})
	t.Run("missing key for existing data", func(t *testing.T) {
		moved := filepath.Join(t.TempDir(), "master.key")
		if err := os.Rename(filepath.Join(data, "master.key"), moved); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(moved, filepath.Join(data, "master.key"))
		code, _, errOut := cli(t, data, "", "user", "add", "--org", "Acme", "--email", "ada@example.com")
		if code != 1 || !strings.Contains(errOut, "no master key") {
			t.Fatalf("code=%d err=%q", code, errOut)
		}
	})
	t.Run("malformed key", func(t *testing.T) {
		t.Setenv("KEYHOLD_MASTER_KEY", "dG9vIHNob3J0")
		code, _, errOut := cli(t, data, "", "user", "add", "--org", "Acme", "--email", "ada@example.com")
		if code != 1 || !strings.Contains(errOut, "base64 encoding of 32 random bytes") {
			t.Fatalf("code=%d err=%q", code, errOut)
		}
	})
}

// TestServe_HealthzAndGracefulShutdown runs the real binary: /healthz answers once the database is
// open, flags win over the environment, and SIGTERM finishes in-flight requests and exits 0.
func TestServe_HealthzAndGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "keyhold")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := t.TempDir()
	cmd := exec.Command(bin, "--addr", addr, "--data", data)
	cmd.Env = append(os.Environ(), "KEYHOLD_ADDR=127.0.0.1:1", "KEYHOLD_DATA=/nonexistent")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no /healthz: %v\n%s", err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(data, db.FileName)); err != nil {
		t.Fatalf("--data flag not used: %v", err)
	}
	if !strings.Contains(stderr.String(), "back it up") || strings.Contains(stderr.String(), readKey(t, data)) {
		t.Fatalf("master key log line missing or leaking the key:\n%s", stderr.String())
	}
	// A request in flight when SIGTERM arrives still completes: hold one open by sending its body slowly.
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/login", pr)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	pw.Write([]byte("email=a"))
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	pw.Write([]byte("&password=b"))
	pw.Close()
	if status := <-done; status <= 0 {
		t.Fatalf("in-flight request was cut off: %d", status)
	}
	werr := make(chan error, 1)
	go func() { werr <- cmd.Wait() }()
	select {
	case err := <-werr:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if cmd.ProcessState.ExitCode() != 0 {
			t.Fatalf("exit code %d\n%s", cmd.ProcessState.ExitCode(), stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop after SIGTERM")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
}

func readKey(t *testing.T, data string) string {
	b, err := os.ReadFile(filepath.Join(data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// testDBPassword is the password in the PostgreSQL URLs of the tests below: no message may hold it.
const testDBPassword = "s3cr3t-Pa55w0rd"

// unreachableDB is a well-formed PostgreSQL URL, with a password, where no server answers.
const unreachableDB = "postgres://keyhold:" + testDBPassword + "@127.0.0.1:1/keyhold?sslmode=disable"

// storeCommands are the command lines of every command that opens the store, each with what it needs
// to get that far (org create reads a password from stdin first). OUT is replaced by a file to write.
var storeCommands = []struct {
	name  string
	stdin string
	args  []string
}{
	{"serve", "", []string{"serve", "--addr", "127.0.0.1:0"}},
	{"org create", "a long enough password\n", []string{"org", "create", "--name", "Acme", "--admin-email", "ada@example.com"}},
	{"user add", "a long enough password\n", []string{"user", "add", "--org", "Acme", "--email", "bob@example.com"}},
	{"user remove", "", []string{"user", "remove", "--org", "Acme", "--email", "bob@example.com"}},
	{"user invite", "", []string{"user", "invite", "--org", "Acme", "--email", "bob@example.com"}},
	{"user reset-password", "", []string{"user", "reset-password", "--email", "bob@example.com"}},
	{"apikey create", "", []string{"apikey", "create", "--org", "Acme", "--email", "bob@example.com"}},
	{"backup", "", []string{"backup", "--out", "OUT"}},
	{"rotate-master-key", "", []string{"rotate-master-key"}},
}

// withDatabase runs a command line in-process with the database URL given the way how says: the
// --database flag, KEYHOLD_DATABASE_URL, or KEYHOLD_DATABASE_URL_FILE. The data directory is data.
func withDatabase(t *testing.T, how, dbURL, data, stdin string, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("KEYHOLD_DATABASE_URL", "")
	os.Unsetenv("KEYHOLD_DATABASE_URL")
	t.Setenv("KEYHOLD_DATABASE_URL_FILE", "")
	os.Unsetenv("KEYHOLD_DATABASE_URL_FILE")
	args = append([]string(nil), args...)
	for i, a := range args {
		if a == "OUT" {
			args[i] = filepath.Join(t.TempDir(), "backup.db")
		}
	}
	switch how {
	case "--database":
		args = append(args, "--database", dbURL)
	case "KEYHOLD_DATABASE_URL":
		t.Setenv("KEYHOLD_DATABASE_URL", dbURL)
	case "KEYHOLD_DATABASE_URL_FILE":
		file := filepath.Join(t.TempDir(), "database-url")
		if err := os.WriteFile(file, []byte(dbURL+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("KEYHOLD_DATABASE_URL_FILE", file)
	default:
		t.Fatalf("withDatabase: %q", how)
	}
	return cli(t, data, stdin, args...)
}

var databaseSources = []string{"--database", "KEYHOLD_DATABASE_URL", "KEYHOLD_DATABASE_URL_FILE"}

// TestDatabase_BadURLRefused: a --database (or KEYHOLD_DATABASE_URL, or the file of
// KEYHOLD_DATABASE_URL_FILE) that is not a PostgreSQL URL that parses stops every command with one
// line naming the setting, before anything is opened or created, and the line never holds the
// password.
func TestDatabase_BadURLRefused(t *testing.T) {
	pw := testDBPassword
	bad := []struct{ name, url, msg string }{
		{"another scheme", "mysql://keyhold:" + pw + "@db.example/keyhold", `"mysql://keyhold:xxxxx@db.example/keyhold" is not a PostgreSQL URL`},
		{"key=value", "host=db.example user=keyhold password=" + pw + " dbname=keyhold", "is a key=value connection string: give it as a URL"},
		{"a SQLite file", "./keyhold-data/keyhold.db", "is not a PostgreSQL URL"},
		{"a bad escape", "postgres://keyhold:" + pw + "%zz@db.example/keyhold", "is not a URL that parses"},
		{"a space in the password", "postgresql://keyhold:" + pw + " x@db.example/keyhold", "is not a URL that parses"},
		{"a bad port", "postgres://keyhold:" + pw + "@db.example:99999/keyhold", `"postgres://keyhold:xxxxx@db.example:99999/keyhold": invalid port`},
		{"a bad sslmode", "postgres://keyhold@db.example/keyhold?password=" + pw + "&sslmode=sometimes", `"postgres://keyhold@db.example/keyhold?password=xxxxx&sslmode=sometimes": failed to configure TLS (sslmode is invalid)`},
	}
	cmds := append(storeCommands[:len(storeCommands):len(storeCommands)], struct {
		name  string
		stdin string
		args  []string
	}{"healthcheck", "", []string{"healthcheck"}})
	for _, b := range bad {
		for _, how := range databaseSources {
			for _, c := range cmds {
				t.Run(b.name+"/"+how+"/"+c.name, func(t *testing.T) {
					t.Setenv("KEYHOLD_MASTER_KEY", db.GenerateMasterKey())
					root := t.TempDir()
					data := filepath.Join(root, "keyhold-data")
					code, out, errOut := withDatabase(t, how, b.url, data, c.stdin, c.args...)
					if code != 1 || out != "" {
						t.Fatalf("code %d, stdout %q, stderr %q: want 1 and nothing", code, out, errOut)
					}
					if want := "keyhold: " + how + " "; !strings.HasPrefix(errOut, want) || !strings.Contains(errOut, b.msg) || strings.Count(errOut, "\n") != 1 {
						t.Fatalf("stderr %q, want one line starting %q with %q", errOut, want, b.msg)
					}
					if strings.Contains(errOut, pw) {
						t.Fatalf("stderr %q holds the password", errOut)
					}
					if got := tree(t, root); len(got) != 1 {
						t.Fatalf("created %v", got)
					}
				})
			}
		}
	}
	t.Run("an unreadable KEYHOLD_DATABASE_URL_FILE", func(t *testing.T) {
		t.Setenv("KEYHOLD_DATABASE_URL_FILE", filepath.Join(t.TempDir(), "missing"))
		root := t.TempDir()
		code, _, errOut := cli(t, filepath.Join(root, "keyhold-data"), "", "user", "remove", "--org", "Acme", "--email", "bob@example.com")
		if code != 1 || !strings.HasPrefix(errOut, "keyhold: KEYHOLD_DATABASE_URL_FILE: open ") || strings.Count(errOut, "\n") != 1 {
			t.Fatalf("code %d, stderr %q: want the file's error, not SQLite in --data", code, errOut)
		}
		if got := tree(t, root); len(got) != 1 {
			t.Fatalf("created %v", got)
		}
	})
}

// TestDatabase_PostgresNeedsNoDataDirectory: with a PostgreSQL URL, every command that opens the store
// takes the master key from the environment alone (never from, or into, a data directory), refuses
// with how to make one when there is none, creates no data directory, and tries PostgreSQL; backup
// and rotate-master-key refuse. The URL names a port where nothing listens.
func TestDatabase_PostgresNeedsNoDataDirectory(t *testing.T) {
	// A SQLite deployment, with its generated master.key, that the PostgreSQL runs must leave alone.
	sqliteData := t.TempDir()
	if code, _, errOut := cli(t, sqliteData, "correct horse battery\n", "org", "create", "--name", "Acme", "--admin-email", "ada@example.com"); code != 0 {
		t.Fatal(errOut)
	}
	for _, c := range storeCommands {
		for _, how := range databaseSources {
			for _, where := range []string{"no data directory", "a SQLite deployment"} {
				for _, key := range []string{"no master key", "KEYHOLD_MASTER_KEY", "KEYHOLD_MASTER_KEY_FILE"} {
					t.Run(c.name+"/"+how+"/"+where+"/"+key, func(t *testing.T) {
						t.Setenv("KEYHOLD_MASTER_KEY", "")
						os.Unsetenv("KEYHOLD_MASTER_KEY")
						t.Setenv("KEYHOLD_MASTER_KEY_FILE", "")
						os.Unsetenv("KEYHOLD_MASTER_KEY_FILE")
						switch key {
						case "KEYHOLD_MASTER_KEY":
							t.Setenv(key, db.GenerateMasterKey())
						case "KEYHOLD_MASTER_KEY_FILE":
							file := filepath.Join(t.TempDir(), "master.key")
							if err := os.WriteFile(file, []byte(db.GenerateMasterKey()+"\n"), 0o600); err != nil {
								t.Fatal(err)
							}
							t.Setenv(key, file)
						}
						root := t.TempDir()
						data := filepath.Join(root, "keyhold-data")
						if where == "a SQLite deployment" {
							root, data = sqliteData, sqliteData
						}
						before := tree(t, root)
						code, out, errOut := withDatabase(t, how, unreachableDB, data, c.stdin, c.args...)
						if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 {
							t.Fatalf("code %d, stdout %q, stderr %q: want 1 and one line", code, out, errOut)
						}
						var want []string
						switch {
						case c.name == "backup":
							want = []string{"on PostgreSQL, back up with pg_dump"}
						case c.name == "rotate-master-key":
							want = []string{"rotate-master-key is not supported on PostgreSQL yet"}
						case key == "no master key":
							want = []string{"keyhold on PostgreSQL needs the master key in KEYHOLD_MASTER_KEY or KEYHOLD_MASTER_KEY_FILE",
								"the same on every instance", "head -c 32 /dev/urandom | base64"}
						default: // it went for PostgreSQL, which does not answer
							want = []string{"The database cannot be reached"}
						}
						for _, w := range want {
							if !strings.Contains(errOut, w) {
								t.Fatalf("stderr %q, want %q", errOut, w)
							}
						}
						if strings.Contains(errOut, testDBPassword) {
							t.Fatalf("stderr %q holds the password", errOut)
						}
						if after := tree(t, root); strings.Join(after, " ") != strings.Join(before, " ") {
							t.Fatalf("created %v (before: %v)", after, before)
						}
					})
				}
			}
		}
	}
	if got := snapshot(t, sqliteData); got != "Acme ada@example.com admin\n" {
		t.Fatalf("the SQLite deployment changed: %q", got)
	}
}

// TestDatabase_FlagWins: --database wins over KEYHOLD_DATABASE_URL(_FILE), which is then not even
// read; an empty --database keeps the data in SQLite in --data.
func TestDatabase_FlagWins(t *testing.T) {
	t.Setenv("KEYHOLD_MASTER_KEY", "")
	t.Run("over a bad KEYHOLD_DATABASE_URL", func(t *testing.T) {
		t.Setenv("KEYHOLD_DATABASE_URL", "mysql://db.example/keyhold")
		code, _, errOut := cli(t, t.TempDir(), "", "backup", "--out", "x", "--database", unreachableDB)
		if code != 1 || !strings.Contains(errOut, "pg_dump") {
			t.Fatalf("code %d, stderr %q: want the PostgreSQL refusal", code, errOut)
		}
	})
	t.Run("over an unreadable KEYHOLD_DATABASE_URL_FILE", func(t *testing.T) {
		t.Setenv("KEYHOLD_DATABASE_URL_FILE", filepath.Join(t.TempDir(), "missing"))
		code, _, errOut := cli(t, t.TempDir(), "", "rotate-master-key", "--database", unreachableDB)
		if code != 1 || !strings.Contains(errOut, "not supported on PostgreSQL") {
			t.Fatalf("code %d, stderr %q: want the PostgreSQL refusal", code, errOut)
		}
	})
	t.Run("empty: SQLite", func(t *testing.T) {
		t.Setenv("KEYHOLD_DATABASE_URL", unreachableDB)
		data := t.TempDir()
		code, _, errOut := cli(t, data, "correct horse battery\n", "org", "create", "--name", "Acme", "--admin-email", "ada@example.com", "--database", "")
		if code != 0 {
			t.Fatalf("code %d, stderr %q", code, errOut)
		}
		if got := snapshot(t, data); got != "Acme ada@example.com admin\n" {
			t.Fatalf("SQLite in --data: %q", got)
		}
	})
}

// syncBuffer is a bytes.Buffer a server may write its log to while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestServe_Postgres runs two servers on one PostgreSQL database (no data directory, no lock between
// them), creates an organization and an API key with the CLI, and checks that both servers serve
// them: a secret created through one is read through the other. It needs KEYHOLD_TEST_DATABASE_URL.
func TestServe_Postgres(t *testing.T) {
	dbURL := dbtest.PostgresDatabase(t)
	t.Setenv("KEYHOLD_MASTER_KEY", db.GenerateMasterKey())
	t.Setenv("KEYHOLD_DATABASE_URL", "")
	// The servers' --data holds a SQLite database: they serve PostgreSQL, touch nothing there, and
	// say that it is there while PostgreSQL is empty.
	leftBehind := t.TempDir()
	if err := os.WriteFile(filepath.Join(leftBehind, db.FileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A command that acts on a deployment refuses a database keyhold has not set up (a mistyped name
	// must not become a new, empty keyhold), and sets nothing up.
	var refused syncBuffer
	if code := run(ctx, []string{"user", "add", "--database", dbURL, "--org", "Acme", "--email", "nia@example.com"}, strings.NewReader("a long enough password\n"), io.Discard, &refused); code == 0 ||
		!strings.Contains(refused.String(), "This database holds no keyhold data") {
		t.Fatalf("user add on an empty database: exit %d, %q", code, refused.String())
	}
	type server struct {
		addr string
		log  *syncBuffer
		done chan int
	}
	var servers []*server
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := &server{addr: ln.Addr().String(), log: &syncBuffer{}, done: make(chan int, 1)}
		ln.Close()
		go func() {
			s.done <- run(ctx, []string{"serve", "--addr", s.addr, "--database", dbURL, "--data", leftBehind}, strings.NewReader(""), io.Discard, s.log)
		}()
		servers = append(servers, s)
	}
	for _, s := range servers {
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get("http://" + s.addr + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case code := <-s.done:
				t.Fatalf("the server on %s exited with %d:\n%s", s.addr, code, s.log)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no /healthz on %s: %v\n%s", s.addr, err, s.log)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	nowhere := filepath.Join(t.TempDir(), "keyhold-data")
	if code, _, errOut := cli(t, nowhere, "correct horse battery\n", "org", "create", "--name", "Acme", "--admin-email", "ada@example.com", "--database", dbURL); code != 0 {
		t.Fatalf("org create: %s", errOut)
	}
	t.Setenv("KEYHOLD_DATABASE_URL", dbURL) // the environment variable works as the flag does
	code, out, errOut := cli(t, nowhere, "", "apikey", "create", "--org", "Acme", "--email", "ada@example.com")
	if code != 0 {
		t.Fatalf("apikey create: %s", errOut)
	}
	key := strings.TrimSpace(out)
	if _, err := os.Stat(nowhere); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the CLI created a data directory on PostgreSQL: %v", err)
	}

	call := func(s *server, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := call(servers[0], http.MethodPost, "/v1/secrets", `{"name":"API_TOKEN","value":"from the CLI's org"}`); status != http.StatusOK && status != http.StatusCreated {
		t.Fatalf("create through the first server: %d %s", status, body)
	}
	if status, body := call(servers[1], http.MethodGet, "/v1/secrets?name=API_TOKEN", ""); status != http.StatusOK || !strings.Contains(body, `"value":"from the CLI's org"`) {
		t.Fatalf("read through the second server: %d %s", status, body)
	}

	cancel()
	for _, s := range servers {
		select {
		case code := <-s.done:
			if code != 0 {
				t.Fatalf("the server on %s exited with %d:\n%s", s.addr, code, s.log)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("the server on %s did not stop", s.addr)
		}
		log := s.log.String()
		host, name := postgresTarget(dbURL)
		if !strings.Contains(log, "database=postgres host="+host+" dbname="+name) || strings.Contains(log, " data=") {
			t.Errorf("the serving line does not name the database alone:\n%s", log)
		}
		if strings.Contains(log, dbURL) {
			t.Errorf("the log holds the database URL:\n%s", log)
		}
		if u, _ := url.Parse(dbURL); u != nil {
			if p, ok := u.User.Password(); ok && strings.Contains(log, p) {
				t.Errorf("the log holds the database password:\n%s", log)
			}
		}
	}
	// Both servers started on an empty database beside the SQLite file (the org came afterwards):
	// at least the first to open it said so.
	warned := 0
	for _, s := range servers {
		if strings.Contains(s.log.String(), "there is a SQLite database in the data directory") {
			warned++
		}
	}
	if warned == 0 {
		t.Errorf("no server warned of the SQLite database in --data:\n%s\n%s", servers[0].log, servers[1].log)
	}
	if got := tree(t, leftBehind); strings.Join(got, " ") != ". "+db.FileName {
		t.Errorf("the servers wrote into --data: %v", got)
	}
}

// TestUsage_DatabaseAndMigrate: keyhold help names --database, its environment variables and
// migrate, and migrate is a command.
func TestUsage_DatabaseAndMigrate(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"help"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("help: %d %s", code, errOut.String())
	}
	for _, want := range []string{"--database URL", "KEYHOLD_DATABASE_URL or KEYHOLD_DATABASE_URL_FILE", "keyhold migrate --from-data"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	errOut.Reset()
	if code := run(context.Background(), []string{"migrate"}, strings.NewReader(""), &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "migrate needs --from-data") {
		t.Fatalf("migrate without flags: %d %q, want its usage error", code, errOut.String())
	}
}
