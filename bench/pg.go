package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/db/dbtest"
)

// The PostgreSQL half of the suite (--database postgres). keyhold's instances share one database on
// a PostgreSQL server: the one --database-url (or KEYHOLD_BENCH_DATABASE_URL) names, on which the
// suite creates a fresh database kh_bench_<random> and drops it afterwards; or, without one, a
// throwaway server of its own, as scripts/pg-test-server.sh starts for the tests (initdb from PATH or
// /usr/lib/postgresql/*/bin, a directory under /tmp, a free port, as the postgres user when the suite
// runs as root), but with a production's durability: fsync, synchronous_commit and full_page_writes
// on, so that every commit, and every read's audit event, waits for the disk.

// benchDatabaseURLEnv names the PostgreSQL server to use instead of a throwaway one.
const benchDatabaseURLEnv = "KEYHOLD_BENCH_DATABASE_URL"

// pgServerSettings are the throwaway server's settings: a production's durability (the defaults,
// stated so that no postgresql.conf can change them), the default shared_buffers, and room for the
// connections of two keyhold instances and the suite.
var pgServerSettings = []string{
	"listen_addresses=127.0.0.1",
	"max_connections=200",
	"shared_buffers=128MB",
	"fsync=on",
	"synchronous_commit=on",
	"full_page_writes=on",
}

// pgShownSettings are the settings the run prints and records, read back from the server.
var pgShownSettings = []string{"fsync", "synchronous_commit", "full_page_writes", "wal_sync_method", "shared_buffers",
	"max_connections", "wal_level", "max_wal_size", "checkpoint_timeout", "commit_delay"}

// pgServer is the PostgreSQL server of a run and the database created on it for the run.
type pgServer struct {
	own      bool     // a throwaway server the suite started
	dir      string   // its directory under /tmp: data, socket, logs
	bin      string   // the directory of its initdb and postgres
	proc     *proc    // its postmaster, one of the suite's children
	adminURL string   // the server's maintenance database, as a user who may create databases
	dbName   string   // the run's database
	extraDBs []string // more databases the run created (empty ones, for the cold starts)
	url      string   // the run's database, as keyhold is given it
	version  string
	settings [][2]string // pgShownSettings and their values
}

func (s *pgServer) settingsText() string {
	var parts []string
	for _, kv := range s.settings {
		parts = append(parts, kv[0]+"="+kv[1])
	}
	return strings.Join(parts, " ")
}

// setupPostgres gets the run's PostgreSQL database: on the server of cfg.DatabaseURL, else on a
// throwaway server it starts. The returned cleanup, safe to call on any path (and whatever setup
// returned), drops the database or stops and removes the server; keep leaves them for a look.
func (e *env) setupPostgres(ctx context.Context) (cleanup func(), err error) {
	s := &pgServer{}
	e.pg = s
	var stopServer func()
	cleanup = func() {
		// keyhold's instances go first: they would otherwise see their database vanish.
		e.stopKeyhold()
		e.stopSecond()
		if s.dbName != "" && !e.cfg.Keep && s.adminURL != "" && (!s.own || s.proc != nil && !s.proc.exited()) {
			dctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			for _, name := range append([]string{s.dbName}, s.extraDBs...) {
				if err := dropDatabase(dctx, s.adminURL, name); err != nil {
					e.logf("could not drop database %s: %v", name, err)
				}
			}
			cancel()
		}
		if stopServer != nil {
			stopServer()
		}
	}
	if e.cfg.DatabaseURL != "" {
		s.adminURL = e.cfg.DatabaseURL
	} else {
		if stopServer, err = e.startPostgres(ctx, s); err != nil {
			return cleanup, err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, s.adminURL)
	if err != nil {
		return cleanup, fmt.Errorf("connect to PostgreSQL at %s: %w", db.RedactURL(s.adminURL), err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(cctx, "SELECT version()").Scan(&s.version); err != nil {
		return cleanup, fmt.Errorf("PostgreSQL at %s: %w", db.RedactURL(s.adminURL), err)
	}
	for _, name := range pgShownSettings {
		var v string
		if err := conn.QueryRow(cctx, "SELECT current_setting($1)", name).Scan(&v); err == nil {
			s.settings = append(s.settings, [2]string{name, v})
		}
	}
	b := make([]byte, 5)
	rand.Read(b)
	name := "kh_bench_" + hex.EncodeToString(b)
	s.dbName = name // dropped by cleanup from now on (IF EXISTS)
	if s.url, err = s.createDatabase(cctx, name); err != nil {
		return cleanup, err
	}
	where := "the server of " + benchDatabaseURLEnv + "/--database-url"
	if s.own {
		where = fmt.Sprintf("a throwaway server at %s (in %s)", strings.TrimPrefix(strings.TrimSuffix(s.proc.base, "/"), "http://"), s.dir)
	}
	e.logf("PostgreSQL: %s", s.version)
	e.logf("PostgreSQL: database %s on %s; settings: %s", name, where, s.settingsText())
	server := "a throwaway server started by the run"
	if !s.own {
		server = db.RedactURL(s.adminURL)
	}
	e.res.note("PostgreSQL: %s", s.version)
	e.res.note("  server: %s; database %s", server, name)
	e.res.note("  settings: %s", s.settingsText())
	return cleanup, nil
}

// createDatabase creates an empty database on the server and returns its URL. The run drops it at
// the end (the run's own database is recorded by the caller).
func (s *pgServer) createDatabase(ctx context.Context, name string) (string, error) {
	conn, err := pgx.Connect(ctx, s.adminURL)
	if err != nil {
		return "", fmt.Errorf("connect to PostgreSQL at %s: %w", db.RedactURL(s.adminURL), err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database %s on %s: %w", name, db.RedactURL(s.adminURL), err)
	}
	u, err := url.Parse(s.adminURL)
	if err != nil {
		return "", fmt.Errorf("the database URL does not parse")
	}
	u.Path, u.RawPath = "/"+name, ""
	return u.String(), nil
}

// emptyDatabase creates one more empty database for the run, dropped with the run's.
func (s *pgServer) emptyDatabase(ctx context.Context, suffix string) (string, error) {
	name := s.dbName + "_" + suffix
	s.extraDBs = append(s.extraDBs, name)
	return s.createDatabase(ctx, name)
}

// dropDatabase drops the run's database, ending the sessions still on it.
func dropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err == nil {
		return nil
	}
	// Before PostgreSQL 13 there is no WITH (FORCE).
	_, _ = conn.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
	return err
}

// pgUser is the user the throwaway server runs as: PostgreSQL refuses root, so as root it is the
// postgres user the Debian package creates, or keyhold-pg (created when missing, as
// scripts/pg-test-server.sh does); otherwise the suite's own user (nil).
func pgUser(logf func(string, ...any)) (*user.User, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	if u, err := user.Lookup("postgres"); err == nil {
		return u, nil
	}
	if u, err := user.Lookup("keyhold-pg"); err == nil {
		return u, nil
	}
	logf("creating the system user keyhold-pg to run PostgreSQL as (it refuses to run as root)")
	out, err := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "keyhold-pg").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("useradd keyhold-pg: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return user.Lookup("keyhold-pg")
}

// startPostgres initializes and starts the throwaway server and returns what stops and removes it.
// The postmaster runs in the foreground as one of the suite's children (not daemonized by pg_ctl):
// in its own process group, killed with the suite's other children and, on Linux, by the kernel if
// the suite dies.
func (e *env) startPostgres(ctx context.Context, s *pgServer) (stop func(), err error) {
	s.own = true
	if s.bin, err = dbtest.BinDir(); err != nil {
		return nil, fmt.Errorf("%w, or name a server with --database-url or %s", err, benchDatabaseURLEnv)
	}
	u, err := pgUser(e.logf)
	if err != nil {
		return nil, err
	}
	uid, gid := -1, -1
	if u != nil {
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	// Under /tmp: the server's user must reach it, which the suite's temporary directory (0700, and
	// root's TMPDIR) may not allow.
	if s.dir, err = os.MkdirTemp("/tmp", "keyhold-bench-pg-"); err != nil {
		return nil, err
	}
	stop = func() {
		if s.proc != nil {
			stopPostgres(s.proc, e.cfg.Keep)
		}
		if e.cfg.Keep {
			fmt.Fprintf(os.Stderr, "kept PostgreSQL's directory %s (start it again with: %s -D %s -k %s -p PORT, as %s)\n",
				s.dir, filepath.Join(s.bin, "postgres"), filepath.Join(s.dir, "data"), s.dir, userName(u))
			return
		}
		os.RemoveAll(s.dir)
	}
	if uid >= 0 {
		if err := os.Chown(s.dir, uid, gid); err != nil {
			return stop, err
		}
	}
	password := make([]byte, 16)
	rand.Read(password)
	pw := hex.EncodeToString(password)
	pwFile := filepath.Join(s.dir, "password")
	if err := os.WriteFile(pwFile, []byte(pw+"\n"), 0o600); err != nil {
		return stop, err
	}
	if uid >= 0 {
		if err := os.Chown(pwFile, uid, gid); err != nil {
			return stop, err
		}
	}
	e.logf("initializing a throwaway PostgreSQL server in %s (%s, as %s)", s.dir, s.bin, userName(u))
	initdb := exec.CommandContext(ctx, filepath.Join(s.bin, "initdb"), "-D", filepath.Join(s.dir, "data"), "-U", "keyhold",
		"--pwfile="+pwFile, "--auth-host=scram-sha-256", "--auth-local=trust", "--no-locale", "-E", "UTF8")
	initdb.Dir = s.dir
	initdb.Env = pgEnv()
	initdb.SysProcAttr = pgAttr(uid, gid)
	out, err := initdb.CombinedOutput()
	os.Remove(pwFile)
	if err != nil {
		return stop, fmt.Errorf("initdb: %v: %s", err, lastLines(string(out), 10))
	}
	// A free port; another process may take it before the server binds it, so a failed start is
	// retried on another.
	var lastErr error
	for attempt := 1; attempt <= 10; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			return stop, err
		}
		_, port, _ := net.SplitHostPort(addr)
		args := []string{"-D", filepath.Join(s.dir, "data"), "-p", port, "-k", s.dir}
		for _, kv := range pgServerSettings {
			args = append(args, "-c", kv)
		}
		logFile := filepath.Join(e.tmp, fmt.Sprintf("postgres-%d.log", attempt))
		p, err := startProcAttr(e.kids, "postgres", filepath.Join(s.bin, "postgres"), args, pgEnv(), addr, logFile, pgAttr(uid, gid), s.dir)
		if err != nil {
			return stop, err
		}
		s.proc = p
		s.adminURL = (&url.URL{Scheme: "postgres", User: url.UserPassword("keyhold", pw), Host: addr, Path: "/postgres",
			RawQuery: "sslmode=disable"}).String()
		if lastErr = waitPostgres(ctx, p, s.adminURL, 60*time.Second); lastErr == nil {
			return stop, nil
		}
		stopPostgres(p, false)
		s.proc = nil
		if ctx.Err() != nil || !strings.Contains(lastErr.Error(), "ddress already in use") && !strings.Contains(lastErr.Error(), "could not bind") &&
			!strings.Contains(lastErr.Error(), "could not create any TCP/IP sockets") {
			break
		}
	}
	return stop, fmt.Errorf("the throwaway PostgreSQL server did not start: %w", lastErr)
}

func userName(u *user.User) string {
	if u == nil {
		if me, err := user.Current(); err == nil {
			return me.Username
		}
		return "this user"
	}
	return u.Username
}

// pgEnv is the suite's environment without PG* variables, which would otherwise steer initdb and
// the server (PGDATA, PGPORT, …).
func pgEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// waitPostgres waits until the server accepts a connection to adminURL.
func waitPostgres(ctx context.Context, p *proc, adminURL string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, adminURL)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		if p.exited() {
			return fmt.Errorf("postgres exited (%v): %s", p.err, p.tail())
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within %s: %v: %s", limit, err, p.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopPostgres stops the throwaway server at once (an immediate shutdown: nothing of it is kept;
// with clean, a fast shutdown that leaves its data ready to start again), and kills it and its
// backends if it has not exited within 10 s.
func stopPostgres(p *proc, clean bool) {
	if p.exited() {
		return
	}
	quitPostgres(p.cmd.Process, clean)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.kill()
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// auditProbes is how many fetches the audit probe makes, one at a time.
const auditProbes = 20

// auditProbe fetches the target secret auditProbes times, one at a time and in turn from each of
// bases, and after each answer counts, on the suite's own connection to the database, the secret's
// read events: each answer's event must be there already, committed before the value was returned.
// It returns how many were.
func (e *env) auditProbe(ctx context.Context, conn *pgx.Conn, bases []string, secretID string) (int, error) {
	before, err := countReads(ctx, conn, secretID)
	if err != nil {
		return 0, err
	}
	ok := 0
	for i := range auditProbes {
		st, _, body, err := capture(ctx, e.fetchURL(bases[i%len(bases)]), bearer(e.bobKey))
		if err != nil || st != http.StatusOK {
			return ok, errorsOr(err, fmt.Sprintf("audit probe: fetch answered %d: %.200s", st, body))
		}
		after, err := countReads(ctx, conn, secretID)
		if err != nil {
			return ok, err
		}
		if after >= before+1 {
			ok++
		}
		before = after
	}
	return ok, nil
}

// countReads counts a secret's read events in audit_events.
func countReads(ctx context.Context, conn *pgx.Conn, secretID string) (int64, error) {
	var n int64
	err := conn.QueryRow(ctx, "SELECT count(*) FROM audit_events WHERE secret_id = $1 AND action = 'secret.read'", secretID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count the read events in audit_events: %w", err)
	}
	return n, nil
}
