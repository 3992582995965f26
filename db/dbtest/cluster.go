package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a PostgreSQL server of one test's own, which the test may stop and start again: a test
// that stopped the shared KEYHOLD_TEST_DATABASE_URL server would break every other package's tests
// running at the same time. It is started as scripts/pg-test-server.sh starts the shared one: initdb
// and pg_ctl from PATH or /usr/lib/postgresql/*/bin, as the postgres user when the test runs as root,
// in a directory under /tmp, on a free port of 127.0.0.1, its superuser keyhold with a random password
// over TCP.
type Cluster struct {
	bin      string // the directory of initdb and pg_ctl
	user     string // the OS user the server runs as; "": this process's
	dir      string // the server's directory: data, socket, log
	port     int
	password string
}

// NewCluster starts a private PostgreSQL server for t; it is stopped (immediately: nothing of it is
// kept) and removed when the test ends. Without PostgreSQL's binaries, or as root without a postgres
// user to run them as, the test is skipped, or fails when $CI is set.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	bin, err := BinDir()
	if err != nil {
		clusterUnavailable(t, err.Error())
	}
	c := &Cluster{bin: bin}
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			clusterUnavailable(t, "running as root, and there is no postgres user to run PostgreSQL as: "+err.Error())
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			clusterUnavailable(t, "running as root, and there is no runuser to run PostgreSQL as postgres")
		}
		c.user = u.Username
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	// Under /tmp: the server's user must be able to reach it, which t.TempDir() does not allow, and
	// the socket's path must be short.
	if c.dir, err = os.MkdirTemp("/tmp", "kh-cluster-"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.pgCtl("stop", "-m", "immediate")
		os.RemoveAll(c.dir)
	})
	if uid >= 0 {
		if err := os.Chown(c.dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}

	// Over TCP the superuser needs its password: other users of the machine could otherwise connect
	// as a superuser. The socket's directory is the server user's alone.
	var random [16]byte
	rand.Read(random[:])
	c.password = hex.EncodeToString(random[:])
	pwfile := filepath.Join(c.dir, "password")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if uid >= 0 {
		if err := os.Chown(pwfile, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.run(filepath.Join(c.bin, "initdb"), "-D", c.data(), "-U", "keyhold", "--pwfile="+pwfile,
		"--auth-host=scram-sha-256", "--auth-local=trust", "--no-locale", "-E", "UTF8")
	os.Remove(pwfile)
	if err != nil {
		t.Fatalf("dbtest: initdb: %v\n%s", err, out)
	}

	// A free port, which another process may still take before the server binds it: then another.
	for attempt := 0; ; attempt++ {
		if c.port, err = freePort(); err != nil {
			t.Fatal(err)
		}
		err := c.start()
		if err == nil {
			break
		}
		log, _ := os.ReadFile(c.logFile())
		if attempt == 4 || !strings.Contains(string(log), "could not bind") && !strings.Contains(string(log), "could not create any TCP/IP sockets") {
			t.Fatalf("dbtest: the test's PostgreSQL server did not start: %v\n%s", err, log)
		}
	}
	return c
}

// URL is the server's postgres database, as its superuser keyhold.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://keyhold:%s@127.0.0.1:%d/postgres?sslmode=disable", c.password, c.port)
}

// Database creates a fresh, empty database on the server (named as Location names them) and returns
// its URL. It goes when the cluster does.
func (c *Cluster) Database(t testing.TB) string {
	t.Helper()
	dbURL, name, err := databaseURL(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := adminExec(ctx, c.URL(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0"); err != nil {
		t.Fatalf("dbtest: creating the database %s: %v", name, err)
	}
	return dbURL
}

// Stop stops the server as an operator's restart does (pg_ctl stop -m fast): the clients'
// connections are closed, transactions in flight are rolled back, what committed is kept. It returns
// once the server is down.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if out, err := c.pgCtl("stop", "-m", "fast"); err != nil {
		t.Fatalf("dbtest: stopping the test's PostgreSQL server: %v\n%s", err, out)
	}
}

// Start starts the stopped server again, on the same port, and returns once it accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	if err := c.start(); err != nil {
		log, _ := os.ReadFile(c.logFile())
		t.Fatalf("dbtest: starting the test's PostgreSQL server again: %v\n%s", err, log)
	}
}

func (c *Cluster) data() string    { return filepath.Join(c.dir, "data") }
func (c *Cluster) logFile() string { return filepath.Join(c.dir, "log") }

// start starts the server on c.port (pg_ctl -w: it returns once the server accepts connections).
func (c *Cluster) start() error {
	opts := fmt.Sprintf("-p %d -k '%s' -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", c.port, c.dir)
	out, err := c.pgCtl("start", "-l", c.logFile(), "-o", opts)
	if err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// pgCtl runs pg_ctl on the server's data directory, waiting (30 s at most) for what it does.
func (c *Cluster) pgCtl(args ...string) ([]byte, error) {
	return c.run(filepath.Join(c.bin, "pg_ctl"), append([]string{"-D", c.data(), "-w", "-t", "30"}, args...)...)
}

// run runs a program as the server's user, from the server's directory: that user may not be allowed
// into the current one.
func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	if c.user != "" {
		args = append([]string{"-u", c.user, "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = c.dir
	return cmd.CombinedOutput()
}

// BinDir is the directory of the system's PostgreSQL server programs (initdb, pg_ctl, postgres):
// that of pg_ctl or initdb on PATH, after symbolic links (Debian links them from /usr/local/bin or
// /usr/bin), else the highest version under /usr/lib/postgresql (where Debian installs them, off
// PATH). The tests' clusters and the benchmark suite's server start from it.
func BinDir() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if !isExecutable(filepath.Join(dir, b)) {
				return false
			}
		}
		return true
	}
	for _, name := range []string{"pg_ctl", "initdb"} {
		if p, err := exec.LookPath(name); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(real)) {
				return filepath.Dir(real), nil
			}
			if has(filepath.Dir(p)) {
				return filepath.Dir(p), nil
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
		return n
	}
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server programs (initdb, pg_ctl, postgres) on PATH or under /usr/lib/postgresql (install the postgresql package)")
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// clusterUnavailable skips the test for want of a PostgreSQL server of its own, or fails it on CI
// ($CI set), where that half of the tests must not be lost silently.
func clusterUnavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal("dbtest: CI is set, but the test cannot start a PostgreSQL server of its own: " + why)
	}
	t.Skip("dbtest: no PostgreSQL server of the test's own: " + why)
}

// freePort is a TCP port of 127.0.0.1 that nothing listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
