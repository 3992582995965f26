package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/db/dbtest"
	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/webtest"
)

// clientFixture is a real keyhold over loopback with an organization whose admin, Ada, holds an API
// key, and the environment the client commands read pointing at it.
type clientFixture struct {
	ts  *webtest.Server
	ada db.Actor
	key string
}

// eachBackend runs body as a subtest against a fixture on each database backend: SQLite, and
// PostgreSQL when KEYHOLD_TEST_DATABASE_URL names a server (scripts/pg-test-server.sh). The root
// package's tests run once, on SQLite, otherwise.
func eachBackend(t *testing.T, body func(t *testing.T, f *clientFixture)) {
	eachBackendWith(t, web.Config{}, body)
}

// eachBackendWith is eachBackend with the server configured by cfg.
func eachBackendWith(t *testing.T, cfg web.Config, body func(t *testing.T, f *clientFixture)) {
	for _, b := range dbtest.Backends() {
		t.Run(string(b), func(t *testing.T) {
			loc := filepath.Join(t.TempDir(), db.FileName)
			if b == dbtest.Postgres {
				loc = dbtest.PostgresDatabase(t)
			}
			body(t, newClientFixtureOn(t, webtest.NewAt(t, loc, cfg, db.Options{})))
		})
	}
}

func newClientFixtureOn(t *testing.T, ts *webtest.Server) *clientFixture {
	t.Helper()
	f := &clientFixture{ts: ts, ada: ts.SeedOrg(t, "Acme", "ada@example.com")}
	f.key = f.apiKey(t, f.ada)
	f.use(t, ts.URL, f.key)
	clientRetryBase = time.Millisecond
	t.Cleanup(func() { clientRetryBase = 250 * time.Millisecond })
	t.Setenv("KEYHOLD_TEST_HELPER", "1") // the commands run starts may be this test binary
	return f
}

// apiKey creates an API key for a.
func (f *clientFixture) apiKey(t *testing.T, a db.Actor) string {
	t.Helper()
	key, _, err := f.ts.Store.CreateAPIKey(context.Background(), a, "cli test", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// use points the client commands at base with key, given in a KEYHOLD_API_KEY_FILE.
func (f *clientFixture) use(t *testing.T, base, key string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "api-key")
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unsetenv(t, "KEYHOLD_API_KEY", "KEYHOLD_URL_FILE")
	t.Setenv("KEYHOLD_URL", base)
	t.Setenv("KEYHOLD_API_KEY_FILE", file)
}

// unsetenv unsets the variables for the test (restored after it).
func unsetenv(t *testing.T, names ...string) {
	for _, n := range names {
		t.Setenv(n, "")
		os.Unsetenv(n)
	}
}

// kh runs one keyhold command line in-process and returns its exit code and output.
func kh(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// helper is the command line that runs this test binary as the helper process in mode.
func helper(mode ...string) []string {
	return append([]string{os.Args[0], "-test.run=^TestClientHelperProcess$", "--"}, mode...)
}

// TestClientHelperProcess is not a test: it is the process the tests start, with KEYHOLD_TEST_HELPER
// set, to act as keyhold itself or as the command keyhold run starts. The mode follows "--".
func TestClientHelperProcess(t *testing.T) {
	args := flag.Args()
	if os.Getenv("KEYHOLD_TEST_HELPER") != "1" || len(args) == 0 {
		return
	}
	switch args[0] {
	case "keyhold": // as main does
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	case "env": // print a variable's value exactly; exit 3 when it is not set
		v, ok := os.LookupEnv(args[1])
		if !ok {
			os.Exit(3)
		}
		fmt.Print(v)
	case "exit":
		n, _ := strconv.Atoi(args[1])
		os.Exit(n)
	case "cat":
		io.Copy(os.Stdout, os.Stdin)
	case "signals": // report SIGINT and SIGTERM; exit 42 on SIGTERM
		c := make(chan os.Signal, 4)
		signal.Notify(c, os.Interrupt, syscall.SIGTERM)
		fmt.Println("ready")
		for {
			select {
			case sig := <-c:
				if sig == os.Interrupt {
					fmt.Println("SIGINT")
					continue
				}
				fmt.Println("SIGTERM")
				os.Exit(42)
			case <-time.After(20 * time.Second):
				os.Exit(99)
			}
		}
	case "sleep": // no handler: SIGTERM ends it
		fmt.Println("ready")
		time.Sleep(20 * time.Second)
		os.Exit(99)
	case "sdk": // get_secret(args[1]) as the singlestoredb SDK does it from its two variables
		v, err := sdkGetSecret(args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(4)
		}
		fmt.Print(v)
	default:
		fmt.Fprintln(os.Stderr, "unknown helper mode", args[0])
		os.Exit(5)
	}
	os.Exit(0)
}

// sdkGetSecret reads a secret as the SDK's Manager does: the API at urljoin(BASE_URL, "v1") + "/",
// then urljoin(that, "secrets") with ?name=, with the token as a bearer. (Python's urljoin and
// ResolveReference agree for these references: RFC 3986.)
func sdkGetSecret(name string) (string, error) {
	base, err := url.Parse(os.Getenv(sdkBaseURLEnv))
	if err != nil {
		return "", err
	}
	api, err := url.Parse(base.ResolveReference(&url.URL{Path: "v1"}).String() + "/")
	if err != nil {
		return "", err
	}
	u := api.ResolveReference(&url.URL{Path: "secrets", RawQuery: url.Values{"name": {name}}.Encode()})
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	req.Header.Set("Authorization", "Bearer "+os.Getenv(sdkTokenEnv))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Secrets []struct {
			Value string `json:"value"`
		} `json:"secrets"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || len(out.Secrets) != 1 {
		return "", fmt.Errorf("GET %s: %s %v", u, resp.Status, err)
	}
	return out.Secrets[0].Value, nil
}

// wantOneLine fails unless stderr is one line holding want and none of the values.
func wantOneLine(t *testing.T, stderr, want string, values ...string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "keyhold: ") || !strings.Contains(stderr, want) {
		t.Fatalf("stderr=%q, want one line containing %q", stderr, want)
	}
	for _, v := range values {
		if strings.Contains(stderr, v) {
			t.Fatalf("stderr %q holds a value", stderr)
		}
	}
}

// multiLine is a value with everything that could go wrong on its way through a terminal or a file.
const multiLine = "-----BEGIN KEY-----\nline two with 'quotes' and \"doubles\" \\ and a tab\t\r\n  indented <&> é ✓\n\n-----END KEY-----\n"

func TestClient_Get(t *testing.T) {
	eachBackendWith(t, web.Config{}, func(t *testing.T, f *clientFixture) {
		f.ts.SeedSecret(t, f.ada, "PEM", multiLine)
		f.ts.SeedSecret(t, f.ada, "API_TOKEN", "s3cr3t")

		code, out, errOut := kh(t, "", "get", "PEM")
		if code != 0 || out != multiLine || errOut != "" {
			t.Fatalf("get: code=%d out=%q err=%q", code, out, errOut)
		}
		if code, out, _ := kh(t, "", "get", "API_TOKEN"); code != 0 || out != "s3cr3t" {
			t.Fatalf("get: %d %q, want the value without a newline", code, out)
		}
		if code, out, _ := kh(t, "", "get", "API_TOKEN", "--newline"); code != 0 || out != "s3cr3t\n" {
			t.Fatalf("get --newline after the name: %d %q", code, out)
		}
		code, out, _ = kh(t, "", "get", "--json", "PEM")
		var obj map[string]any
		if err := json.Unmarshal([]byte(out), &obj); code != 0 || err != nil || obj["name"] != "PEM" || obj["value"] != multiLine || obj["secretID"] == "" || !strings.HasSuffix(out, "}\n") {
			t.Fatalf("get --json: %d %q (%v)", code, out, err)
		}

		// Missing, and not shared: the same clear line, exit 1, nothing on stdout.
		bob := f.ts.SeedMember(t, f.ada, "bob@example.com", "Bob", "Builder")
		f.ts.SeedSecret(t, bob, "BOBS", "bobs-value")
		for _, name := range []string{"NOPE", "BOBS", "not a name"} {
			code, out, errOut := kh(t, "", "get", name)
			if code != 1 || out != "" {
				t.Fatalf("get %s: code=%d out=%q", name, code, out)
			}
			wantOneLine(t, errOut, "secret "+name+": no such secret, or it is not shared with this key's user", "bobs-value")
		}
		if code, _, errOut := kh(t, "", "get"); code != 1 || !strings.Contains(errOut, "get needs one secret name") {
			t.Fatalf("get without a name: %d %q", code, errOut)
		}
	})
}

// TestClient_Configuration: where the address and the key come from, and how each mistake reads.
func TestClient_Configuration(t *testing.T) {
	eachBackendWith(t, web.Config{}, func(t *testing.T, f *clientFixture) {
		f.ts.SeedSecret(t, f.ada, "API_TOKEN", "s3cr3t")

		t.Run("key in KEYHOLD_API_KEY", func(t *testing.T) {
			unsetenv(t, "KEYHOLD_API_KEY_FILE")
			t.Setenv("KEYHOLD_API_KEY", f.key)
			if code, out, errOut := kh(t, "", "get", "API_TOKEN"); code != 0 || out != "s3cr3t" {
				t.Fatalf("%d %q %q", code, out, errOut)
			}
		})
		t.Run("flags win", func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "key")
			os.WriteFile(file, []byte(f.key), 0o600)
			t.Setenv("KEYHOLD_URL", "http://127.0.0.1:1")
			t.Setenv("KEYHOLD_API_KEY_FILE", "/nonexistent")
			if code, out, errOut := kh(t, "", "get", "--url", f.ts.URL+"/", "--api-key-file", file, "API_TOKEN"); code != 0 || out != "s3cr3t" {
				t.Fatalf("%d %q %q", code, out, errOut)
			}
		})
		t.Run("--api-key warns", func(t *testing.T) {
			code, out, errOut := kh(t, "", "get", "--api-key", f.key, "API_TOKEN")
			if code != 0 || out != "s3cr3t" || !strings.Contains(errOut, "shell's history") || strings.Contains(errOut, f.key) {
				t.Fatalf("%d %q %q", code, out, errOut)
			}
		})

		bad := []struct {
			name string
			env  map[string]string
			args []string
			want string
		}{
			{"no address", map[string]string{"KEYHOLD_URL": ""}, nil, "Set KEYHOLD_URL"},
			{"address with /v1", map[string]string{"KEYHOLD_URL": f.ts.URL + "/v1"}, nil, "KEYHOLD_URL " + strconv.Quote(f.ts.URL+"/v1") + " ends in /v1"},
			{"not an address", nil, []string{"--url", "keyhold.example.com"}, "--url \"keyhold.example.com\" is not an http or https address"},
			{"no key", map[string]string{"KEYHOLD_API_KEY_FILE": ""}, nil, "no API key: set KEYHOLD_API_KEY_FILE"},
			{"unreadable key file", map[string]string{"KEYHOLD_API_KEY_FILE": "/nonexistent/key"}, nil, "KEYHOLD_API_KEY_FILE: open /nonexistent/key"},
			{"both key flags", nil, []string{"--api-key", "kh_x", "--api-key-file", "/x"}, "not both"},
			{"unreachable", map[string]string{"KEYHOLD_URL": "http://127.0.0.1:" + closedPort(t)}, nil, "cannot reach keyhold at http://127.0.0.1:"},
			{"not keyhold", map[string]string{"KEYHOLD_URL": notKeyhold(t)}, nil, "is it keyhold's address?"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				for k, v := range tc.env {
					if v == "" {
						unsetenv(t, k)
					} else {
						t.Setenv(k, v)
					}
				}
				code, out, errOut := kh(t, "", append([]string{"get"}, append(tc.args, "API_TOKEN")...)...)
				if code != 1 || out != "" {
					t.Fatalf("code=%d out=%q err=%q", code, out, errOut)
				}
				lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
				last := lines[len(lines)-1]
				if !strings.Contains(last, tc.want) || strings.Contains(errOut, "s3cr3t") {
					t.Fatalf("stderr=%q, want its last line to hold %q", errOut, tc.want)
				}
			})
		}
		// A refused key names where it came from and why.
		file := tempFile(t, "kh_not_a_key")
		_, _, errOut := kh(t, "", "get", "--api-key-file", file, "API_TOKEN")
		wantOneLine(t, errOut, "secret API_TOKEN: the API key from "+file+" was refused: it is unknown, revoked or expired")
		t.Setenv("KEYHOLD_API_KEY_FILE", file)
		_, _, errOut = kh(t, "", "get", "API_TOKEN")
		wantOneLine(t, errOut, "the API key from KEYHOLD_API_KEY_FILE ("+file+") was refused")
	})
}

func tempFile(t *testing.T, content string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	return port
}

// notKeyhold is a web server that answers everything with an HTML page.
func notKeyhold(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html>hello</html>")
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestClient_GetRetriesRateLimit: a 429 is waited out as Retry-After says, and the wait is said on
// stderr; a connection refused is retried, then reported.
func TestClient_GetRetriesRateLimit(t *testing.T) {
	eachBackendWith(t, web.Config{APIRate: 2, APIBurst: 1}, func(t *testing.T, f *clientFixture) {
		f.ts.SeedSecret(t, f.ada, "API_TOKEN", "s3cr3t")
		if code, out, errOut := kh(t, "", "get", "API_TOKEN"); code != 0 || out != "s3cr3t" || errOut != "" { // the bucket's one token
			t.Fatalf("%d %q %q", code, out, errOut)
		}
		start := time.Now()
		code, out, errOut := kh(t, "", "get", "API_TOKEN")
		if code != 0 || out != "s3cr3t" || !strings.Contains(errOut, "keyhold: rate limited by "+f.ts.URL+": retrying in 1s (attempt 2 of 5)\n") {
			t.Fatalf("after a 429: %d %q %q", code, out, errOut)
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Fatalf("retried after %s, before Retry-After", d)
		}
	})
}

// TestClient_Ls: the names the key can read, each with the key's role: Owner directly or through a
// team, Reader otherwise; nothing it cannot read.
func TestClient_Ls(t *testing.T) {
	eachBackendWith(t, web.Config{}, func(t *testing.T, f *clientFixture) {
		ctx := context.Background()
		bob := f.ts.SeedMember(t, f.ada, "bob@example.com", "Bob", "Builder")
		f.ts.SeedSecret(t, f.ada, "ADAS", "v")
		read := f.ts.SeedSecret(t, bob, "SHARED_READ", "v")
		f.ts.SeedShare(t, bob, read, f.ada, db.RoleReader)
		viaTeam := f.ts.SeedSecret(t, bob, "TEAM_OWNED", "v")
		f.ts.SeedSecret(t, bob, "BOBS_ONLY", "v")
		team, err := f.ts.Store.CreateTeam(ctx, f.ada, "Platform", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.ts.Store.UpdateTeam(ctx, f.ada, team.ID, db.TeamChange{AddUserIDs: []string{f.ada.UserID, bob.UserID}}); err != nil {
			t.Fatal(err)
		}
		if err := f.ts.Store.ChangeAccess(ctx, bob, viaTeam.ID, []db.AccessChange{{Kind: db.PrincipalTeam, ID: team.ID, Role: db.RoleOwner}}); err != nil {
			t.Fatal(err)
		}

		code, out, errOut := kh(t, "", "ls")
		want := "ADAS         Owner\nSHARED_READ  Reader\nTEAM_OWNED   Owner\n"
		if code != 0 || out != want {
			t.Fatalf("ls: %d %q %q, want %q", code, out, errOut, want)
		}
		code, out, _ = kh(t, "", "ls", "--json")
		var got struct {
			Secrets []lsEntry `json:"secrets"`
		}
		if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil || len(got.Secrets) != 3 ||
			got.Secrets[1] != (lsEntry{SecretID: read.ID, Name: "SHARED_READ", Role: "Reader"}) {
			t.Fatalf("ls --json: %d %q %v", code, out, err)
		}
		// Bob's key: he owns his three, and reads none of Ada's.
		f.use(t, f.ts.URL, f.apiKey(t, bob))
		if code, out, _ := kh(t, "", "ls"); code != 0 || out != "BOBS_ONLY    Owner\nSHARED_READ  Owner\nTEAM_OWNED   Owner\n" {
			t.Fatalf("ls as Bob: %d %q", code, out)
		}
	})
}

func TestRun_PassesSecretsAndExitCode(t *testing.T) {
	eachBackendWith(t, web.Config{}, func(t *testing.T, f *clientFixture) {
		f.ts.SeedSecret(t, f.ada, "PEM", multiLine)
		f.ts.SeedSecret(t, f.ada, "API_TOKEN", "s3cr3t")
		t.Setenv("API_TOKEN", "stale")   // the secret wins
		t.Setenv("KEEP_ME", "inherited") // the rest of the environment passes

		for _, tc := range []struct {
			args     []string
			stdin    string
			code     int
			out      string
			noStderr bool
		}{
			{helper("env", "PEM"), "", 0, multiLine, true},
			{helper("env", "API_TOKEN"), "", 0, "s3cr3t", true},
			{helper("env", "KEEP_ME"), "", 0, "inherited", true},
			{helper("exit", "7"), "", 7, "", true},
			{helper("cat"), "stdin passes through\n", 0, "stdin passes through\n", true},
			{append([]string{"--only", "API_TOKEN", "--"}, helper("env", "PEM")...), "", 3, "", true},
			{append([]string{"--prefix", "APP_", "--"}, helper("env", "APP_PEM")...), "", 0, multiLine, true},
			{helper("env", "APP_PEM"), "", 3, "", true},
			{append([]string{"--only", "API_TOKEN"}, helper("env", "API_TOKEN")...), "", 0, "s3cr3t", true}, // no "--" needed
			{[]string{"/nonexistent/command"}, "", 127, "", false},
			{[]string{"no-such-command-anywhere"}, "", 127, "", false},
		} {
			args := tc.args
			if !slices.Contains(args, "--only") && !slices.Contains(args, "--prefix") {
				args = append([]string{"--"}, args...)
			}
			code, out, errOut := kh(t, tc.stdin, append([]string{"run"}, args...)...)
			if code != tc.code || out != tc.out || tc.noStderr && errOut != "" {
				t.Errorf("run %q: code=%d out=%q err=%q, want %d %q", tc.args, code, out, errOut, tc.code, tc.out)
			}
			if strings.Contains(errOut, "s3cr3t") {
				t.Errorf("a value on stderr: %q", errOut)
			}
		}
		if _, _, errOut := kh(t, "", "run", "no-such-command-anywhere"); errOut != "keyhold: no-such-command-anywhere: command not found\n" {
			t.Errorf("not found: %q", errOut)
		}
		if code, _, errOut := kh(t, "", "run", "--only", "API_TOKEN,NOPE", "--", "true"); code != 1 {
			t.Errorf("--only with a missing secret: %d", code)
		} else {
			wantOneLine(t, errOut, "secret NOPE: no such secret, or it is not shared")
		}
		if code, _, errOut := kh(t, "", "run"); code != 1 || !strings.Contains(errOut, "run needs a command") {
			t.Errorf("run without a command: %d %q", code, errOut)
		}
	})
}

// TestRun_RefusesWhatTheEnvironmentCannotCarry: a name that is not a variable name, a value over
// the size of one variable, secrets over the total: each refused, naming the secret and the size,
// before anything starts.
func TestRun_RefusesWhatTheEnvironmentCannotCarry(t *testing.T) {
	eachBackendWith(t, web.Config{}, func(t *testing.T, f *clientFixture) {
		f.ts.SeedSecret(t, f.ada, "OK", "fine")
		f.ts.SeedSecret(t, f.ada, "1PASSWORD", "digit-first")
		big := strings.Repeat("b", maxEnvString)
		f.ts.SeedSecret(t, f.ada, "BIG", big)
		var many []string
		for i := range 9 {
			name := fmt.Sprintf("PART_%d", i)
			f.ts.SeedSecret(t, f.ada, name, strings.Repeat("p", 120<<10))
			many = append(many, name)
		}
		marker := filepath.Join(t.TempDir(), "started")
		cmd := []string{"--", "/bin/sh", "-c", "touch " + marker}
		for _, tc := range []struct {
			flags []string
			want  string
		}{
			{nil, "secret 1PASSWORD cannot be an environment variable: 1PASSWORD is not a variable name"},
			{[]string{"--only", "1PASSWORD"}, "add a --prefix"},
			{[]string{"--only", "BIG"}, fmt.Sprintf("secret BIG is %d bytes: too large for an environment variable, which holds at most %d bytes with its name (BIG)", maxEnvString, maxEnvString-5)},
			{[]string{"--only", strings.Join(many, ",")}, fmt.Sprintf("the 9 secrets come to %d bytes of environment, over the 1048576 keyhold passes to a command (the largest: PART_", 9*(6+120<<10+2))},
			{[]string{"--prefix", "9"}, `--prefix "9": use letters, digits and _`},
		} {
			code, out, errOut := kh(t, "", append(append([]string{"run"}, tc.flags...), cmd...)...)
			if code != 1 || out != "" {
				t.Fatalf("run %q: code=%d out=%q", tc.flags, code, out)
			}
			wantOneLine(t, errOut, tc.want, "digit-first", "bbbb", "pppp")
			if _, err := os.Stat(marker); err == nil {
				t.Fatalf("run %q started the command", tc.flags)
			}
		}
		// With a prefix the digit-first name is a variable name.
		if code, out, errOut := kh(t, "", "run", "--only", "1PASSWORD,OK", "--prefix", "S_", "--", "/bin/sh", "-c", `printf %s "$S_1PASSWORD"`); code != 0 || out != "digit-first" {
			t.Fatalf("--prefix S_: %d %q %q", code, out, errOut)
		}
	})
}

// TestRun_SDKEnv: with --sdk-env the command reads a secret as the SDK's get_secret does, from
// SINGLESTOREDB_MANAGEMENT_TOKEN and SINGLESTOREDB_MANAGEMENT_BASE_URL, also through a proxy that
// serves keyhold under a path.
func TestRun_SDKEnv(t *testing.T) {
	eachBackendWith(t, web.Config{}, func(t *testing.T, f *clientFixture) {
		f.ts.SeedSecret(t, f.ada, "PEM", multiLine)
		t.Setenv(sdkOrgEnv, "someone-elses-org") // would make keyhold refuse the SDK's requests

		target, _ := url.Parse(f.ts.URL)
		proxy := httptest.NewServer(http.StripPrefix("/keyhold", httputil.NewSingleHostReverseProxy(target)))
		t.Cleanup(proxy.Close)

		for _, base := range []string{f.ts.URL, f.ts.URL + "/", proxy.URL + "/keyhold", proxy.URL + "/keyhold/"} {
			f.use(t, base, f.key)
			want := strings.TrimSuffix(base, "/") + "/"
			if code, out, errOut := kh(t, "", "run", "--sdk-env", "--", "/bin/sh", "-c", `printf '%s|%s' "$SINGLESTOREDB_MANAGEMENT_BASE_URL" "$SINGLESTOREDB_MANAGEMENT_TOKEN"`); code != 0 || out != want+"|"+f.key {
				t.Fatalf("KEYHOLD_URL=%s: %d %q %q, want base %q", base, code, out, errOut, want)
			}
			if code, out, errOut := kh(t, "", append([]string{"run", "--sdk-env", "--only", "PEM", "--"}, helper("sdk", "PEM")...)...); code != 0 || out != multiLine {
				t.Fatalf("KEYHOLD_URL=%s: get_secret as the SDK does: %d %q %q", base, code, out, errOut)
			}
		}
		if code, _, _ := kh(t, "", append([]string{"run", "--sdk-env", "--"}, helper("env", sdkOrgEnv)...)...); code != 3 {
			t.Fatalf("%s passed with --sdk-env: %d", sdkOrgEnv, code)
		}
		// Without --sdk-env the command gets no key.
		if code, _, _ := kh(t, "", append([]string{"run", "--"}, helper("env", sdkTokenEnv)...)...); code != 3 {
			t.Fatalf("%s set without --sdk-env: %d", sdkTokenEnv, code)
		}
	})
}

// TestRun_ForwardsSIGTERM: keyhold run as its own process, its command this test binary: SIGTERM sent
// to keyhold reaches the command, and keyhold exits with the command's code, or 128+15 when the
// signal ended it.
func TestRun_ForwardsSIGTERM(t *testing.T) {
	eachBackendWith(t, web.Config{}, func(t *testing.T, f *clientFixture) {
		f.ts.SeedSecret(t, f.ada, "API_TOKEN", "s3cr3t")
		for _, tc := range []struct {
			mode string
			code int
			out  string
		}{
			{"signals", 42, "ready\nSIGTERM\n"},
			{"sleep", 128 + int(syscall.SIGTERM), "ready\n"},
		} {
			t.Run(tc.mode, func(t *testing.T) {
				cmd := exec.Command(os.Args[0], helper(append([]string{"keyhold", "run", "--"}, helper(tc.mode)...)...)[1:]...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				stdout, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				defer cmd.Process.Kill()
				r := bufio.NewReader(stdout)
				if line, err := r.ReadString('\n'); line != "ready\n" {
					t.Fatalf("%q %v; stderr %s", line, err, stderr.String())
				}
				if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
				rest, _ := io.ReadAll(r)
				cmd.Wait()
				if got := cmd.ProcessState.ExitCode(); got != tc.code || "ready\n"+string(rest) != tc.out {
					t.Fatalf("exit %d, stdout %q, want %d %q; stderr %s", got, "ready\n"+string(rest), tc.code, tc.out, stderr.String())
				}
			})
		}
	})
}

// TestRun_CtrlCFromTheTerminalIsNotDoubled: a SIGINT that the terminal sent the command's process
// group too is not passed on again; one aimed at keyhold is.
func TestRun_CtrlCFromTheTerminalIsNotDoubled(t *testing.T) {
	eachBackendWith(t, web.Config{}, func(t *testing.T, f *clientFixture) {
		f.ts.SeedSecret(t, f.ada, "API_TOKEN", "s3cr3t")
		sigs := make(chan os.Signal)
		defer func(old func(chan<- os.Signal) func()) { notifyRun = old }(notifyRun)
		notifyRun = func(c chan<- os.Signal) func() {
			done := make(chan struct{})
			go func() {
				for {
					select {
					case s := <-sigs:
						c <- s
					case <-done:
						return
					}
				}
			}()
			return func() { close(done) }
		}
		defer func(old func(os.Signal, int) bool) { signaledByTerminal = old }(signaledByTerminal)
		for _, fromTerminal := range []bool{true, false} {
			signaledByTerminal = func(sig os.Signal, pid int) bool { return fromTerminal && sig == os.Interrupt }
			pr, pw := io.Pipe()
			lines := make(chan string, 8)
			go func() {
				s := bufio.NewScanner(pr)
				for s.Scan() {
					lines <- s.Text()
				}
				close(lines)
			}()
			codec := make(chan int, 1)
			go func() {
				codec <- run(context.Background(), append([]string{"run", "--"}, helper("signals")...), strings.NewReader(""), pw, io.Discard)
				pw.Close()
			}()
			if l := <-lines; l != "ready" {
				t.Fatalf("%q", l)
			}
			sigs <- os.Interrupt
			if !fromTerminal {
				if l := <-lines; l != "SIGINT" {
					t.Fatalf("SIGINT aimed at keyhold: the command printed %q", l)
				}
			}
			sigs <- syscall.SIGTERM
			if l := <-lines; l != "SIGTERM" {
				t.Fatalf("fromTerminal=%v: the command printed %q, want SIGTERM", fromTerminal, l)
			}
			if code := <-codec; code != 42 {
				t.Fatalf("exit %d", code)
			}
		}
	})
}

// TestExportImport_RoundTrip: export writes a .env file that import reads back into another
// organization byte for byte, multi-line values and all; import is all or nothing, and --dry-run
// changes nothing.
func TestExportImport_RoundTrip(t *testing.T) {
	eachBackendWith(t, web.Config{}, func(t *testing.T, f *clientFixture) {
		values := map[string]string{
			"PEM":     multiLine,
			"PLAIN":   "abc-123.def/ghi@example.com",
			"SPACES":  "  padded  ",
			"HASH":    "a #b",
			"QUOTES":  `it's "both"`,
			"CRLF":    "x\r\ny\r\n",
			"UNICODE": "héllo ✓ 🔑",
			"HTML":    "<a href='x'>&amp;</a>",
		}
		for name, v := range values {
			f.ts.SeedSecret(t, f.ada, name, v)
		}
		code, exported, errOut := kh(t, "", "export")
		if code != 0 || errOut != "" {
			t.Fatalf("export: %d %q", code, errOut)
		}
		code, asJSON, _ := kh(t, "", "export", "--format", "json")
		var got map[string]string
		if err := json.Unmarshal([]byte(asJSON), &got); code != 0 || err != nil || fmt.Sprint(got) != fmt.Sprint(values) || !strings.Contains(asJSON, "<a href") {
			t.Fatalf("export --format json: %d %q %v", code, asJSON, err)
		}
		if code, out, _ := kh(t, "", "export", "--only", "PLAIN,HASH"); code != 0 || !strings.HasPrefix(out, "HASH=") || strings.Count(out, "\n") != 2 {
			t.Fatalf("export --only: %d %q", code, out)
		}

		// Into another organization, through a file.
		carl := f.ts.SeedOrg(t, "Globex", "carl@example.com")
		f.use(t, f.ts.URL, f.apiKey(t, carl))
		file := tempFile(t, exported)
		code, out, errOut := kh(t, "", "import", file)
		if code != 0 || !strings.HasSuffix(out, "created 8, updated 0, unchanged 0, skipped 0\n") {
			t.Fatalf("import: %d %q %q", code, out, errOut)
		}
		if code, again, _ := kh(t, "", "export"); code != 0 || again != exported {
			t.Fatalf("exported again:\n%q\nwant\n%q", again, exported)
		}
		for name, v := range values {
			if code, out, _ := kh(t, "", "get", name); code != 0 || out != v {
				t.Fatalf("get %s: %q, want %q", name, out, v)
			}
		}
		if code, out, _ := kh(t, exported, "import", "-"); code != 0 || !strings.HasSuffix(out, "created 0, updated 0, unchanged 8, skipped 0\n") {
			t.Fatalf("import from stdin again: %d %q", code, out)
		}

		// --dry-run shows, changes nothing.
		changed := "PLAIN=new-value\nNEW_ONE=x\n"
		code, out, _ = kh(t, changed, "import", "--overwrite", "--dry-run", "-")
		if code != 0 || !strings.Contains(out, "dry run, nothing changed: would create 1, update 1, leave 0 unchanged, skip 0\n") {
			t.Fatalf("dry run: %d %q", code, out)
		}
		if _, out, _ := kh(t, "", "get", "PLAIN"); out != values["PLAIN"] {
			t.Fatalf("dry run changed PLAIN to %q", out)
		}
		if code, _, errOut := kh(t, "", "get", "NEW_ONE"); code != 1 || !strings.Contains(errOut, "no such secret") {
			t.Fatalf("dry run created NEW_ONE: %d", code)
		}
		// Without --overwrite an existing secret is skipped, and said so.
		code, out, _ = kh(t, changed, "import", "-")
		if code != 0 || !strings.Contains(out, "created 1, updated 0, unchanged 0, skipped 1 (--overwrite") {
			t.Fatalf("import without --overwrite: %d %q", code, out)
		}

		// A file with a problem is refused whole, naming the line; nothing is sent.
		broken := "GOOD=1\nBAD NAME=2\nEMPTY=\n"
		code, out, errOut = kh(t, broken, "import", "-")
		if code != 1 || out != "" || !strings.Contains(errOut, "keyhold: stdin:2: BAD NAME: ") || !strings.Contains(errOut, "keyhold: stdin:3: EMPTY: ") ||
			!strings.HasSuffix(errOut, "keyhold: stdin: 2 problems (above): nothing was imported\n") {
			t.Fatalf("import of a broken file: %d %q %q", code, out, errOut)
		}
		if code, _, _ := kh(t, "", "get", "GOOD"); code != 1 {
			t.Fatal("a refused import created GOOD")
		}
		code, _, errOut = kh(t, "A='never closed\n", "import", "-")
		wantOneLine(t, errOut, "stdin: Unterminated quote on line 1")
		if code != 1 {
			t.Fatalf("unterminated quote: %d", code)
		}
		// An entry set twice: the later wins, and the earlier is reported.
		code, out, _ = kh(t, "TWICE=first\nTWICE=second\n", "import", "-")
		if code != 0 || !strings.HasPrefix(out, "stdin:1: TWICE is set again on line 2, which wins\n") {
			t.Fatalf("overridden: %d %q", code, out)
		}
		if _, out, _ := kh(t, "", "get", "TWICE"); out != "second" {
			t.Fatalf("TWICE=%q", out)
		}
	})
}

func TestClient_HelpNamesTheCommands(t *testing.T) {
	code, out, _ := kh(t, "", "help")
	for _, want := range []string{"keyhold get NAME", "keyhold ls", "keyhold run [--only A,B] [--prefix P_] [--sdk-env] -- CMD", "keyhold export [--format env|json]", "keyhold import FILE.env", "KEYHOLD_API_KEY_FILE"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestClient_ParseURL(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"https://keyhold.example.com/", "https://keyhold.example.com", ""},
		{" https://proxy.example.com/keyhold/ ", "https://proxy.example.com/keyhold", ""},
		{"https://keyhold.example.com/v1/", "", "ends in /v1"},
		{"keyhold.example.com", "", "not an http or https address"},
		{"ftp://keyhold.example.com", "", "not an http or https address"},
		{"https://user:pw@keyhold.example.com", "", "a user"},
		{"https://keyhold.example.com/?x=1", "", "a query"},
	} {
		got, err := parseClientURL(tc.in)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("parseClientURL(%q) = %q, %v; want %q, %q", tc.in, got, err, tc.want, tc.err)
		}
	}
	for h, want := range map[string]time.Duration{"": 0, "3": 3 * time.Second, "soon": 0, "-1": 0,
		time.Now().Add(time.Hour).UTC().Format(http.TimeFormat): time.Hour} {
		if got := retryAfter(h); got < want-2*time.Second || got > want {
			t.Errorf("retryAfter(%q) = %s, want %s", h, got, want)
		}
	}
}

func TestRun_ChildEnv(t *testing.T) {
	got := childEnv([]string{"PATH=/bin", "API_TOKEN=stale", "SINGLESTOREDB_ORGANIZATION=x", "EQ=a=b"},
		[]envVar{{name: "API_TOKEN", value: "new=value"}, {name: "PEM", value: "a\nb"}}, []string{"SINGLESTOREDB_ORGANIZATION"})
	want := []string{"PATH=/bin", "EQ=a=b", "API_TOKEN=new=value", "PEM=a\nb"}
	if !slices.Equal(got, want) {
		t.Fatalf("childEnv = %q, want %q", got, want)
	}
	for name, ok := range map[string]bool{"A": true, "_x9": true, "a_B_1": true, "": false, "1A": false, "A-B": false, "A.B": false, "É": false} {
		if validEnvName(name) != ok {
			t.Errorf("validEnvName(%q) = %v", name, !ok)
		}
	}
}

// TestClient_History: get --version N, history and history restore against a real server: an
// Owner reads and restores earlier versions, a Reader sees the list and the current value only,
// another organization's key sees nothing; every refusal is one line without a value, exit 1.
func TestClient_History(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *clientFixture) {
		ctx := context.Background()
		sec := f.ts.SeedSecret(t, f.ada, "API_TOKEN", "first-value")
		for _, v := range []string{"second-value", multiLine} {
			if _, err := f.ts.Store.UpdateSecret(ctx, f.ada, sec.ID, []byte(v), 0); err != nil {
				t.Fatal(err)
			}
		}
		values := []string{"first-value", "second-value", multiLine}

		for n, want := range values {
			if code, out, errOut := kh(t, "", "get", "API_TOKEN", "--version", strconv.Itoa(n+1)); code != 0 || out != want || errOut != "" {
				t.Fatalf("get --version %d: %d %q %q", n+1, code, out, errOut)
			}
		}
		if code, out, _ := kh(t, "", "get", "--version", "2", "API_TOKEN", "--newline"); code != 0 || out != "second-value\n" {
			t.Fatalf("get --version 2 --newline: %d %q", code, out)
		}
		code, out, _ := kh(t, "", "get", "API_TOKEN", "--version", "1", "--json")
		var obj map[string]any
		if err := json.Unmarshal([]byte(out), &obj); code != 0 || err != nil || obj["value"] != "first-value" || obj["secretID"] != sec.ID || obj["lastUpdatedBy"] != f.ada.UserID {
			t.Fatalf("get --version 1 --json: %d %q (%v)", code, out, err)
		}

		// The table: newest first, the current one marked, who by email, when, the size; no value.
		code, out, errOut := kh(t, "", "history", "API_TOKEN")
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		row := func(version string, size int) *regexp.Regexp {
			return regexp.MustCompile(`^` + regexp.QuoteMeta(version) + ` +ada@example\.com +\d{4}-\d\d-\d\d \d\d:\d\d UTC +` + strconv.Itoa(size) + ` B$`)
		}
		if code != 0 || errOut != "" || len(lines) != 4 || !regexp.MustCompile(`^VERSION +SET BY +SET AT +SIZE$`).MatchString(lines[0]) ||
			!row("3 (current)", len(multiLine)).MatchString(lines[1]) || !row("2", len("second-value")).MatchString(lines[2]) || !row("1", len("first-value")).MatchString(lines[3]) {
			t.Fatalf("history: %d %q %q", code, out, errOut)
		}
		for _, v := range values {
			if strings.Contains(out, v) {
				t.Fatalf("history shows a value: %q", out)
			}
		}
		code, out, _ = kh(t, "", "history", "--json", "API_TOKEN")
		var h apiVersions
		if err := json.Unmarshal([]byte(out), &h); code != 0 || err != nil || h.SecretID != sec.ID || len(h.Versions) != 3 || !h.Versions[0].Current || h.Versions[2].Version != 1 || h.Versions[2].CreatedBy != f.ada.UserID {
			t.Fatalf("history --json: %d %q (%v)", code, out, err)
		}

		// Restore: version 1's value becomes version 4.
		if code, out, errOut := kh(t, "", "history", "restore", "API_TOKEN", "1"); code != 0 || out != "API_TOKEN: version 1 restored as version 4\n" || errOut != "" {
			t.Fatalf("history restore: %d %q %q", code, out, errOut)
		}
		if code, out, _ := kh(t, "", "get", "API_TOKEN"); code != 0 || out != "first-value" {
			t.Fatalf("after the restore get reads %d %q", code, out)
		}
		if _, out, _ := kh(t, "", "history", "API_TOKEN"); !strings.Contains(out, "\n4 (current) ") || strings.Count(out, "\n") != 5 {
			t.Fatalf("history after the restore: %q", out)
		}

		// Bad input: one line naming the problem, exit 1, no value.
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"get", "API_TOKEN", "--version", "0"}, `"0" is not a version number`},
			{[]string{"get", "API_TOKEN", "--version", "x"}, `"x" is not a version number`},
			{[]string{"get", "API_TOKEN", "--version", "9"}, "secret API_TOKEN: API_TOKEN has no version 9: its history holds versions 1 to 4"},
			{[]string{"get", "NOPE", "--version", "1"}, "secret NOPE: no such secret, or it is not shared with this key's user"},
			{[]string{"history", "NOPE"}, "secret NOPE: no such secret, or it is not shared with this key's user"},
			{[]string{"history", "restore", "API_TOKEN", "zero"}, `"zero" is not a version number`},
			{[]string{"history", "restore", "API_TOKEN", "1.5"}, `"1.5" is not a version number`},
			{[]string{"history", "restore", "API_TOKEN"}, "history restore needs a secret name and a version"},
			{[]string{"history", "restore", "API_TOKEN", "4"}, "secret API_TOKEN: Version 4 is the current value of API_TOKEN already."},
			{[]string{"history", "restore", "API_TOKEN", "9"}, "API_TOKEN has no version 9"},
			{[]string{"history", "restore", "NOPE", "1"}, "secret NOPE: no such secret"},
		} {
			code, out, errOut := kh(t, "", tc.args...)
			if code != 1 || out != "" {
				t.Fatalf("%q: code=%d out=%q err=%q", tc.args, code, out, errOut)
			}
			wantOneLine(t, errOut, tc.want, values...)
		}
		if _, out, _ := kh(t, "", "get", "API_TOKEN", "--version", "4"); out != "first-value" {
			t.Fatalf("a refused restore changed the value: %q", out)
		}

		// A Reader: the list and the current version, not the earlier ones, and no restore.
		bob := f.ts.SeedMember(t, f.ada, "bob@example.com", "Bob", "Builder")
		f.ts.SeedShare(t, f.ada, sec, bob, db.RoleReader)
		f.use(t, f.ts.URL, f.apiKey(t, bob))
		if code, out, _ := kh(t, "", "get", "API_TOKEN", "--version", "4"); code != 0 || out != "first-value" {
			t.Fatalf("the Reader's current version: %d %q", code, out)
		}
		if code, out, _ := kh(t, "", "history", "API_TOKEN"); code != 0 || strings.Count(out, "\n") != 5 {
			t.Fatalf("the Reader's history: %d %q", code, out)
		}
		code, out, errOut = kh(t, "", "get", "API_TOKEN", "--version", "2")
		if code != 1 || out != "" {
			t.Fatalf("the Reader's version 2: %d %q", code, out)
		}
		wantOneLine(t, errOut, "secret API_TOKEN: not allowed: Only Owners of API_TOKEN can see its earlier versions.", values...)
		code, _, errOut = kh(t, "", "history", "restore", "API_TOKEN", "2")
		if code != 1 {
			t.Fatalf("the Reader's restore: %d", code)
		}
		wantOneLine(t, errOut, "secret API_TOKEN: not allowed: Only Owners", values...)

		// Another organization's key finds nothing.
		carl := f.ts.SeedOrg(t, "Globex", "carl@example.com")
		f.use(t, f.ts.URL, f.apiKey(t, carl))
		for _, args := range [][]string{{"get", "API_TOKEN", "--version", "1"}, {"history", "API_TOKEN"}, {"history", "restore", "API_TOKEN", "1"}} {
			code, out, errOut := kh(t, "", args...)
			if code != 1 || out != "" {
				t.Fatalf("%q as another organization: %d %q", args, code, out)
			}
			wantOneLine(t, errOut, "secret API_TOKEN: no such secret, or it is not shared with this key's user", values...)
		}
		if v := f.ts.SecretValue(t, f.ada, sec.ID); v != "first-value" {
			t.Fatalf("the value is %q after the refused restores", v)
		}
	})
}

// TestClient_Trash: trash lists the deleted secrets with who deleted them, when, and when they are
// destroyed; trash restore brings one back by name or ID, under another name with --as when its own is
// taken (the API's 409 shown), and asks for the ID when a name is ambiguous; trash rm destroys with
// --yes only. Others' keys see and touch nothing.
func TestClient_Trash(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *clientFixture) {
		ctx := context.Background()
		del := func(name, value string) *db.Secret {
			t.Helper()
			s := f.ts.SeedSecret(t, f.ada, name, value)
			if _, err := f.ts.Store.DeleteSecret(ctx, f.ada, s.ID); err != nil {
				t.Fatal(err)
			}
			return s
		}
		old := del("OLD_KEY", "old-value")
		dup1 := del("DUP", "dup-one")
		dup2 := del("DUP", "dup-two")
		keep := del("KEEP", "kept-value")
		f.ts.SeedSecret(t, f.ada, "KEEP", "the-new-keep")
		values := []string{"old-value", "dup-one", "dup-two", "kept-value", "the-new-keep"}
		if code, out, errOut := kh(t, "", "get", "OLD_KEY"); code != 1 || out != "" || !strings.Contains(errOut, "no such secret") {
			t.Fatalf("a deleted secret is fetched: %d %q %q", code, out, errOut)
		}

		code, out, errOut := kh(t, "", "trash")
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if code != 0 || errOut != "" || len(lines) != 5 || !regexp.MustCompile(`^NAME +DELETED BY +DELETED AT +DESTROYED ON +ID$`).MatchString(lines[0]) {
			t.Fatalf("trash: %d %q %q", code, out, errOut)
		}
		var trash apiTrash
		if code, out, _ := kh(t, "", "trash", "--json"); code != 0 || json.Unmarshal([]byte(out), &trash) != nil || len(trash.Secrets) != 4 {
			t.Fatalf("trash --json: %d %q", code, out)
		}
		for _, s := range []*db.Secret{old, dup1, dup2, keep} {
			i := slices.IndexFunc(trash.Secrets, func(d apiDeleted) bool { return d.SecretID == s.ID })
			if i < 0 {
				t.Fatalf("trash --json lacks %s: %q", s.Name, out)
			}
			deletedAt, err1 := time.Parse(time.RFC3339, trash.Secrets[i].DeletedAt)
			purgeAt, err2 := time.Parse(time.RFC3339, trash.Secrets[i].PurgeAt)
			if err1 != nil || err2 != nil || purgeAt.Sub(deletedAt) != db.DefaultTrashWindow || trash.Secrets[i].DeletedBy != f.ada.UserID {
				t.Fatalf("%s in the trash: %+v", s.Name, trash.Secrets[i])
			}
			want := regexp.MustCompile(`^` + s.Name + ` +ada@example\.com +` + regexp.QuoteMeta(deletedAt.UTC().Format("2006-01-02 15:04")) + ` UTC +` +
				purgeAt.UTC().Format("2006-01-02") + ` +` + s.ID + `$`)
			if !want.MatchString(lines[1+i]) {
				t.Fatalf("trash line %d %q, want %s", 1+i, lines[1+i], want)
			}
		}
		for _, v := range values {
			if strings.Contains(out, v) {
				t.Fatalf("trash shows a value: %q", out)
			}
		}

		// Restore by name.
		if code, out, errOut := kh(t, "", "trash", "restore", "OLD_KEY"); code != 0 || out != "OLD_KEY restored\n" || errOut != "" {
			t.Fatalf("trash restore OLD_KEY: %d %q %q", code, out, errOut)
		}
		if code, out, _ := kh(t, "", "get", "OLD_KEY"); code != 0 || out != "old-value" {
			t.Fatalf("the restored OLD_KEY: %d %q", code, out)
		}

		// Refusals: one line, exit 1, no value; nothing changes.
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"trash", "restore", "DUP"}, "DUP: 2 deleted secrets have this name: give the ID of one of them: "},
			{[]string{"trash", "restore", "KEEP"}, "KEEP: A secret named KEEP exists now: restore this one under another name. (--as NEW_NAME restores it under another name)"},
			{[]string{"trash", "restore", "KEEP", "--as", "not a name"}, "KEEP: Name may contain only letters, digits and _"},
			{[]string{"trash", "restore", "KEEP", "--as", ""}, "--as needs a name"},
			{[]string{"trash", "restore", "OLD_KEY"}, "OLD_KEY: no such deleted secret"},
			{[]string{"trash", "restore", "NOPE"}, "NOPE: no such deleted secret"},
			{[]string{"trash", "restore"}, "trash restore needs one deleted secret"},
			{[]string{"trash", "rm", dup1.ID}, "trash rm destroys " + dup1.ID + " for good: it cannot be restored after. Add --yes to destroy it"},
			{[]string{"trash", "rm", "DUP", "--yes"}, "DUP: 2 deleted secrets have this name"},
			{[]string{"trash", "rm", "NOPE", "--yes"}, "NOPE: no such deleted secret"},
		} {
			code, out, errOut := kh(t, "", tc.args...)
			if code != 1 || out != "" {
				t.Fatalf("%q: code=%d out=%q err=%q", tc.args, code, out, errOut)
			}
			wantOneLine(t, errOut, tc.want, values...)
			if len(tc.args) > 2 && tc.args[2] == "DUP" && (!strings.Contains(errOut, dup1.ID+" (deleted ") || !strings.Contains(errOut, dup2.ID+" (deleted ") || !strings.Contains(errOut, " by ada@example.com")) {
				t.Fatalf("the ambiguous name does not list the candidates: %q", errOut)
			}
		}
		if _, out, _ := kh(t, "", "trash", "--json"); strings.Count(out, `"secretID"`) != 3 {
			t.Fatalf("a refusal changed the trash: %q", out)
		}

		// Restore by ID, and under a new name.
		if code, out, errOut := kh(t, "", "trash", "restore", dup1.ID); code != 0 || out != "DUP restored\n" {
			t.Fatalf("trash restore ID: %d %q %q", code, out, errOut)
		}
		if _, out, _ := kh(t, "", "get", "DUP"); out != "dup-one" {
			t.Fatalf("the restored DUP reads %q", out)
		}
		if code, out, errOut := kh(t, "", "trash", "restore", "KEEP", "--as", "KEEP_OLD"); code != 0 || out != "KEEP restored as KEEP_OLD\n" {
			t.Fatalf("trash restore --as: %d %q %q", code, out, errOut)
		}
		if _, out, _ := kh(t, "", "get", "KEEP_OLD"); out != "kept-value" {
			t.Fatalf("KEEP_OLD reads %q", out)
		}
		if _, out, _ := kh(t, "", "get", "KEEP"); out != "the-new-keep" {
			t.Fatalf("KEEP reads %q", out)
		}

		// Another organization's key, and a member who owned none of them: an empty trash, and no
		// restore or destroy of Ada's.
		carl := f.ts.SeedOrg(t, "Globex", "carl@example.com")
		bob := f.ts.SeedMember(t, f.ada, "bob@example.com", "Bob", "Builder")
		for _, a := range []db.Actor{carl, bob} {
			f.use(t, f.ts.URL, f.apiKey(t, a))
			if code, out, errOut := kh(t, "", "trash"); code != 0 || out != "" || errOut != "" {
				t.Fatalf("%s's trash: %d %q %q", a.Email, code, out, errOut)
			}
			for _, args := range [][]string{{"trash", "restore", dup2.ID}, {"trash", "rm", dup2.ID, "--yes"}} {
				code, out, errOut := kh(t, "", args...)
				if code != 1 || out != "" {
					t.Fatalf("%q as %s: %d %q", args, a.Email, code, out)
				}
				wantOneLine(t, errOut, dup2.ID+": no such deleted secret", values...)
			}
		}
		f.use(t, f.ts.URL, f.key)

		// Destroyed with --yes: gone from the trash for good.
		if code, out, errOut := kh(t, "", "trash", "rm", "DUP", "--yes"); code != 0 || out != "DUP ("+dup2.ID+") destroyed\n" || errOut != "" {
			t.Fatalf("trash rm --yes: %d %q %q", code, out, errOut)
		}
		if code, out, _ := kh(t, "", "trash"); code != 0 || out != "" {
			t.Fatalf("the trash after the last one went: %d %q", code, out)
		}
		if code, _, errOut := kh(t, "", "trash", "restore", dup2.ID); code != 1 || !strings.Contains(errOut, "no such deleted secret") {
			t.Fatalf("a destroyed secret restored: %d %q", code, errOut)
		}
	})
}
