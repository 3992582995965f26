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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
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
			if code != 1 {
				t.Fatalf("code=%d, want 1 (stderr %q)", code, errOut)
			}
			if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.msg) {
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
