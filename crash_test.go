package main

// The crash test: keyhold runs as a child process under concurrent API writes and is killed with
// SIGKILL at a random moment, again and again; after every kill the database file must pass SQLite's
// integrity check and keyhold's own invariants, and after every restart every acknowledged write must
// be there, exactly, and no unacknowledged one half-there.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/keyhold/keyhold/db"
)

// buildKeyhold builds the keyhold command into a temporary directory and returns its path.
func buildKeyhold(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "keyhold")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// lockedBuffer collects a child's stderr; the test reads it while the child writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// child is `keyhold serve` running as a child process.
type child struct {
	cmd    *exec.Cmd
	addr   string
	stderr *lockedBuffer
	exited chan struct{}
}

// startServer runs `keyhold serve --addr addr --data data args...` with env added to the environment,
// and returns once /healthz answers 200. The child is killed when the test ends.
func startServer(t *testing.T, bin, data, addr string, env []string, args ...string) *child {
	t.Helper()
	c := &child{addr: addr, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	c.cmd = exec.Command(bin, append([]string{"serve", "--addr", addr, "--data", data}, args...)...)
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.cmd.Wait() //nolint:errcheck // killed on purpose
		close(c.exited)
	}()
	t.Cleanup(c.kill)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		select {
		case <-c.exited:
			t.Fatalf("keyhold exited before answering /healthz:\n%s", c.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no /healthz from keyhold on %s: %v\n%s", addr, err, c.stderr.String())
		}
	}
}

// kill sends SIGKILL and waits until the process is gone: nothing it had not yet written survives.
func (c *child) kill() {
	c.cmd.Process.Kill() //nolint:errcheck // may be gone already
	<-c.exited
}

// crashAPI is a JSON API client of one key.
type crashAPI struct {
	base string
	key  string
	hc   *http.Client
}

func (c crashAPI) do(method, path string, in any) (int, []byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err // the status line came, the body did not: still unknown
	}
	return resp.StatusCode, b, nil
}

// crashSecret is what the test knows about one secret: the acknowledged state, plus the writes whose
// outcome is unknown because the server was killed while they were in flight.
type crashSecret struct {
	name   string
	id     string
	exists bool // its create was acknowledged, or it was seen after a restart
	value  string
	shared bool // bob holds Reader: acknowledged, or seen
	// maybe are the values of unacknowledged creates and updates: any one of them may have landed.
	maybe       []string
	maybeShared bool
	touched     bool // written since the last verification
}

// crashWorker drives one goroutine's share of the load. A secret belongs to the worker that created it,
// so each secret's writes are sequential and the last acknowledged one is well defined.
type crashWorker struct {
	id      int
	rng     *rand.Rand
	secrets []*crashSecret
	seq     int
}

// crashRound counts one round's requests.
type crashRound struct {
	acked    atomic.Int64 // answered 200
	inFlight atomic.Int64 // sent, and cut off by the kill
	refused  atomic.Int64 // never reached the server (it was already dead)
}

func crashValue(rng *rand.Rand, tag string) string {
	n := 16 + rng.IntN(200)
	switch p := rng.IntN(100); {
	case p < 5:
		n = 64<<10 + rng.IntN(192<<10) // spans many database pages
	case p < 30:
		n = 1<<10 + rng.IntN(15<<10)
	}
	raw := make([]byte, n*3/4+3)
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	return tag + ":" + base64.StdEncoding.EncodeToString(raw)[:n]
}

// run sends one request at a time until stop is set or a request fails (the kill). A refusal of any
// other kind fails the test.
func (w *crashWorker) run(t *testing.T, api crashAPI, bobID string, round int, stop *atomic.Bool, st *crashRound) {
	for !stop.Load() {
		var live []*crashSecret
		for _, s := range w.secrets {
			if s.exists && len(s.maybe) == 0 {
				live = append(live, s)
			}
		}
		var (
			s            *crashSecret
			method, path string
			body         any
			apply        func(resp []byte) error
			value        string
		)
		p := w.rng.IntN(100)
		switch {
		case len(live) == 0 || p < 40:
			w.seq++
			s = &crashSecret{name: fmt.Sprintf("CRASH_W%d_R%d_N%d", w.id, round, w.seq)}
			w.secrets = append(w.secrets, s)
			value = crashValue(w.rng, s.name)
			method, path, body = http.MethodPost, "/v1/secrets", map[string]string{"name": s.name, "value": value}
			apply = func(resp []byte) error {
				var out struct{ SecretID string }
				if err := json.Unmarshal(resp, &out); err != nil || out.SecretID == "" {
					return fmt.Errorf("create answer %q: %v", resp, err)
				}
				s.id, s.exists, s.value, s.maybe = out.SecretID, true, value, nil
				return nil
			}
		case p < 75 || !hasUnshared(live):
			s = live[w.rng.IntN(len(live))]
			value = crashValue(w.rng, fmt.Sprintf("%s/R%d/U%d", s.name, round, w.rng.Uint32()))
			method, path, body = http.MethodPatch, "/v1/secrets/"+s.id, map[string]string{"value": value}
			apply = func([]byte) error { s.value, s.maybe = value, nil; return nil }
		default:
			for s = live[w.rng.IntN(len(live))]; s.shared; s = live[w.rng.IntN(len(live))] {
			}
			method, path = http.MethodPatch, "/v1/secrets/"+s.id+"/accessControls"
			body = map[string]any{"grants": []map[string]any{{"role": "Reader", "users": []string{bobID}}}}
			apply = func([]byte) error { s.shared, s.maybeShared = true, false; return nil }
		}
		s.touched = true
		if value != "" {
			s.maybe = append(s.maybe, value)
		} else {
			s.maybeShared = true
		}
		status, resp, err := api.do(method, path, body)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				st.refused.Add(1)
			} else {
				st.inFlight.Add(1)
			}
			return // unknown outcome: s keeps it in maybe
		}
		if status != http.StatusOK {
			t.Errorf("%s %s: status %d %s", method, path, status, resp)
			return
		}
		if err := apply(resp); err != nil {
			t.Error(err)
			return
		}
		st.acked.Add(1)
	}
}

func hasUnshared(ss []*crashSecret) bool {
	for _, s := range ss {
		if !s.shared {
			return true
		}
	}
	return false
}

// TestCrash_KillMidLoad kills keyhold with SIGKILL in the middle of concurrent creates, updates and
// shares, KEYHOLD_CRASH_ROUNDS times (default 20), and checks after every kill that SQLite and keyhold
// lost nothing that was acknowledged and kept nothing half-done. With WAL and synchronous=NORMAL a
// process crash must keep every committed transaction. (A power loss may lose the last ones, never
// consistency; this test does not simulate one.)
func TestCrash_KillMidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	rounds := 20
	if v := os.Getenv("KEYHOLD_CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("KEYHOLD_CRASH_ROUNDS=%q: want a positive number", v)
		}
		rounds = n
	}
	bin := buildKeyhold(t)
	data := t.TempDir()
	masterKey := db.GenerateMasterKey()
	t.Setenv("KEYHOLD_MASTER_KEY", masterKey)
	env := []string{"KEYHOLD_MASTER_KEY=" + masterKey}

	// Seed with the CLI, in-process, before any server runs.
	mustCLI := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := cli(t, data, stdin, args...)
		if code != 0 {
			t.Fatalf("keyhold %s: %s", strings.Join(args, " "), errOut)
		}
		return strings.TrimSpace(out)
	}
	mustCLI("correct horse battery\n", "org", "create", "--name", "Acme", "--admin-email", "ada@example.com")
	bobID := mustCLI("another good password\n", "user", "add", "--org", "Acme", "--email", "bob@example.com")
	adaKey := mustCLI("", "apikey", "create", "--org", "Acme", "--email", "ada@example.com", "--label", "crash")
	bobKey := mustCLI("", "apikey", "create", "--org", "Acme", "--email", "bob@example.com", "--label", "crash")

	const workers = 8
	seed := rand.Uint64()
	t.Logf("seed %d, %d rounds", seed, rounds)
	ws := make([]*crashWorker, workers)
	for i := range ws {
		ws[i] = &crashWorker{id: i, rng: rand.New(rand.NewPCG(seed, uint64(i)))}
	}
	killRNG := rand.New(rand.NewPCG(seed, workers))
	addr := freeAddr(t)
	dbPath := filepath.Join(data, db.FileName)
	var withAcks, withInFlight int
	var totalAcked, totalInFlight int64
	var outcomes crashOutcomes

	for round := 1; round <= rounds && !t.Failed(); round++ {
		srv := startServer(t, bin, data, addr, env, "--api-rate", "1000000", "--api-burst", "1000000")
		hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
		ada := crashAPI{base: "http://" + addr, key: adaKey, hc: hc}
		bob := crashAPI{base: "http://" + addr, key: bobKey, hc: hc}
		o := verifyCrashState(t, ada, bob, ws)
		outcomes.landed, outcomes.lost = outcomes.landed+o.landed, outcomes.lost+o.lost
		if t.Failed() {
			t.Logf("round %d, keyhold's log:\n%s", round, srv.stderr.String())
			break
		}

		var stop atomic.Bool
		var st crashRound
		var wg sync.WaitGroup
		for _, w := range ws {
			wg.Go(func() { w.run(t, ada, bobID, round, &stop, &st) })
		}
		time.Sleep(20*time.Millisecond + time.Duration(killRNG.Int64N(int64(280*time.Millisecond))))
		srv.kill() // first, and only then tell the workers: whatever they had in flight is cut off
		stop.Store(true)
		wg.Wait()
		hc.CloseIdleConnections()

		acked, inFlight := st.acked.Load(), st.inFlight.Load()
		t.Logf("round %d: %d acknowledged, %d in flight at the kill, %d refused after it", round, acked, inFlight, st.refused.Load())
		totalAcked += acked
		totalInFlight += inFlight
		if acked > 0 {
			withAcks++
		}
		if inFlight > 0 {
			withInFlight++
		}
		checkCrashedFile(t, dbPath)
	}
	if t.Failed() {
		return
	}

	// One last restart: the state left by the last kill, through the API, then every value through
	// db.Open.
	srv := startServer(t, bin, data, addr, env, "--api-rate", "1000000", "--api-burst", "1000000")
	hc := &http.Client{Timeout: 20 * time.Second}
	o := verifyCrashState(t, crashAPI{base: "http://" + addr, key: adaKey, hc: hc}, crashAPI{base: "http://" + addr, key: bobKey, hc: hc}, ws)
	outcomes.landed, outcomes.lost = outcomes.landed+o.landed, outcomes.lost+o.lost
	srv.kill()
	checkCrashedFile(t, dbPath)
	n := verifyCrashValues(t, dbPath, masterKey, ws)
	t.Logf("%d secrets after %d kills: %d writes acknowledged, %d cut off in flight; of the unacknowledged writes %d had landed, %d had not",
		n, rounds, totalAcked, totalInFlight, outcomes.landed, outcomes.lost)

	// The kills must have come in the middle of the load, not before or after it.
	if withAcks < rounds-rounds/4 {
		t.Errorf("only %d of %d rounds had acknowledged writes before the kill", withAcks, rounds)
	}
	if withInFlight < (rounds+1)/2 {
		t.Errorf("only %d of %d rounds had requests in flight at the kill", withInFlight, rounds)
	}
}

// crashOutcomes counts how the writes cut off by a kill turned out.
type crashOutcomes struct{ landed, lost int }

// verifyCrashState checks, through the API of a restarted server, that every acknowledged create,
// update and grant is there, that every unacknowledged one either landed whole or not at all, and
// that nothing else is there. Then it settles what was unknown to what is seen.
func verifyCrashState(t *testing.T, ada, bob crashAPI, ws []*crashWorker) crashOutcomes {
	t.Helper()
	var outcomes crashOutcomes
	list := func(api crashAPI) map[string]string {
		status, body, err := api.do(http.MethodGet, "/v1/secrets", nil)
		if err != nil || status != http.StatusOK {
			t.Fatalf("GET /v1/secrets: %d %s %v", status, body, err)
		}
		var out struct {
			Secrets []struct{ SecretID, Name string }
		}
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, s := range out.Secrets {
			m[s.Name] = s.SecretID
		}
		return m
	}
	seen, bobSees := list(ada), list(bob)
	known := map[string]bool{}
	var toRead []*crashSecret
	for _, w := range ws {
		kept := w.secrets[:0]
		for _, s := range w.secrets {
			id, ok := seen[s.name]
			switch {
			case s.exists && !ok:
				t.Errorf("%s: acknowledged create lost", s.name)
				continue
			case s.exists && id != s.id:
				t.Errorf("%s: id %s, acknowledged as %s", s.name, id, s.id)
			case !s.exists && !ok:
				outcomes.lost++ // an unacknowledged create that did not land
				continue
			case !s.exists:
				s.id, s.exists = id, true // an unacknowledged create that landed
				outcomes.landed++
			}
			known[s.name] = true
			_, shared := bobSees[s.name]
			if s.shared && !shared {
				t.Errorf("%s: acknowledged Reader grant to bob lost", s.name)
			}
			if shared && !s.shared && !s.maybeShared {
				t.Errorf("%s: bob can read it, but it was never shared with him", s.name)
			}
			if s.maybeShared && shared {
				outcomes.landed++
			} else if s.maybeShared {
				outcomes.lost++
			}
			s.shared, s.maybeShared = shared, false
			if s.touched || len(s.maybe) > 0 {
				toRead = append(toRead, s)
			}
			kept = append(kept, s)
		}
		w.secrets = kept
	}
	for name := range seen {
		if !known[name] {
			t.Errorf("%s: exists, but no create of it was ever sent", name)
		}
	}
	for name := range bobSees {
		if !known[name] {
			t.Errorf("%s: bob sees a secret nobody created", name)
		}
	}

	// Every value written since the last check reads back as exactly one of the values sent.
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan *crashSecret)
	for range 8 {
		wg.Go(func() {
			for s := range work {
				status, body, err := ada.do(http.MethodGet, "/v1/secrets/"+s.id, nil)
				var out struct{ Value *string }
				if err == nil && status == http.StatusOK {
					err = json.Unmarshal(body, &out)
				}
				mu.Lock()
				switch {
				case err != nil || status != http.StatusOK || out.Value == nil:
					t.Errorf("GET %s: %d %.200s %v", s.name, status, body, err)
				case !s.canHold(*out.Value):
					t.Errorf("%s: value %.40q… (%d bytes) is neither the acknowledged value nor one in flight", s.name, *out.Value, len(*out.Value))
				default:
					if len(s.maybe) > 0 && s.exists && s.value != "" {
						if *out.Value == s.value {
							outcomes.lost++ // an unacknowledged update that did not land
						} else {
							outcomes.landed++
						}
					}
					s.value, s.maybe, s.touched = *out.Value, nil, false
				}
				mu.Unlock()
			}
		})
	}
	for _, s := range toRead {
		work <- s
	}
	close(work)
	wg.Wait()
	return outcomes
}

// canHold reports whether v is a value s may hold: the acknowledged one, or one whose write was cut off.
func (s *crashSecret) canHold(v string) bool {
	if s.value != "" && v == s.value {
		return true
	}
	for _, m := range s.maybe {
		if v == m {
			return true
		}
	}
	return false
}

// checkCrashedFile opens the database file as the kill left it, read-only and with no keyhold code in
// the way, and checks SQLite's integrity and keyhold's invariants: nothing half-done.
func checkCrashedFile(t *testing.T, path string) {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	ctx := context.Background()
	rows, err := conn.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		t.Fatal(err)
	}
	var results []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
	}
	rows.Close()
	if len(results) != 1 || results[0] != "ok" {
		t.Fatalf("integrity_check: %q", results)
	}
	rows, err = conn.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign_key_check found dangling references")
	}
	rows.Close()

	// A change's event is in audit_events, or still in the outbox it committed into.
	const events = `WITH events AS (SELECT secret_id, action, target_id FROM audit_events
		UNION ALL SELECT secret_id, action, target_id FROM audit_outbox) `
	checks := []struct{ what, query string }{
		{"secrets without an Owner user", `SELECT count(*) FROM secrets s WHERE NOT EXISTS (SELECT 1 FROM grants g
			WHERE g.secret_id = s.id AND g.principal_kind = 'user' AND g.role = 'owner')`},
		{"secrets without exactly one create event", `SELECT count(*) FROM secrets s WHERE (SELECT count(*) FROM events e
			WHERE e.secret_id = s.id AND e.action = 'secret.create') <> 1`},
		{"create events without their secret", `SELECT count(*) FROM events e WHERE e.action = 'secret.create'
			AND NOT EXISTS (SELECT 1 FROM secrets s WHERE s.id = e.secret_id)`},
		{"secrets whose version does not match their update events", `SELECT count(*) FROM secrets s WHERE (SELECT count(*)
			FROM events e WHERE e.secret_id = s.id AND e.action = 'secret.update') <> s.version - 1`},
		{"Reader grants without their grant event", `SELECT count(*) FROM grants g WHERE g.role = 'reader' AND NOT EXISTS
			(SELECT 1 FROM events e WHERE e.secret_id = g.secret_id AND e.action = 'access.grant' AND e.target_id = g.principal_id)`},
		{"grant events without their grant", `SELECT count(*) FROM events e WHERE e.action = 'access.grant' AND NOT EXISTS
			(SELECT 1 FROM grants g WHERE g.secret_id = e.secret_id AND g.principal_id = e.target_id)`},
		// nonce (12 bytes) || ciphertext || tag (16 bytes): the size column and the sealed value agree.
		{"secrets whose sealed length does not match value_size", `SELECT count(*) FROM secrets WHERE length(sealed) <> value_size + 28`},
	}
	for _, c := range checks {
		var n int
		if err := conn.QueryRowContext(ctx, events+c.query).Scan(&n); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if n != 0 {
			t.Errorf("%d %s", n, c.what)
		}
	}
}

// verifyCrashValues opens the database with db.Open, as the next keyhold would, and reads every
// secret: each must decrypt to the value last seen through the API.
func verifyCrashValues(t *testing.T, path, masterKey string, ws []*crashWorker) int {
	t.Helper()
	ctx := context.Background()
	key, err := base64.StdEncoding.DecodeString(masterKey)
	if err != nil {
		t.Fatal(err)
	}
	s, err := db.Open(ctx, path, db.Options{MasterKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	org, err := s.OrgByName(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.MemberByEmail(ctx, db.SystemActor(org.ID), "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	ada, err := s.ActorFor(ctx, m.ID, org.ID, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	var all []*crashSecret
	for _, w := range ws {
		all = append(all, w.secrets...)
	}
	page, err := s.ListSecrets(ctx, ada, "", 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != len(all) {
		t.Errorf("%d secrets in the database, want %d", page.Total, len(all))
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan *crashSecret)
	for range 8 {
		wg.Go(func() {
			for c := range work {
				sec, err := s.RevealSecret(ctx, ada, c.id)
				mu.Lock()
				if err != nil {
					t.Errorf("%s: %v", c.name, err)
				} else if sec.Value != c.value {
					t.Errorf("%s: db.Open reads %d bytes, the API read %d", c.name, len(sec.Value), len(c.value))
				}
				mu.Unlock()
			}
		})
	}
	for _, c := range all {
		work <- c
	}
	close(work)
	wg.Wait()
	return len(all)
}
