package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyhold/keyhold/db"
)

// The seeded organization. The names are examples, not people.
const (
	orgName     = "acme"
	adaEmail    = "ada@example.com" // organization admin: creates the team-shared secrets and the teams
	bobEmail    = "bob@example.com" // the SDK's user and the portal user
	carolEmail  = "carol@example.com"
	danEmail    = "dan@example.com"
	password    = "correct horse battery staple"
	targetName  = "GCP_SERVICE_ACCOUNT_JSON" // the fetched secret: Bob reads it through a team grant only
	seedShared  = 12                         // secrets Ada creates and shares with teams
	seedWorkers = 6
)

// env is one run of the suite: its settings, its children, and what seeding produced.
type env struct {
	cfg    config
	res    *results
	kids   *children
	tmp    string
	bin    string // the keyhold binary
	data   string // the data directory of the seeded keyhold (SQLite)
	loc    string // where the seeded keyhold keeps its data: data, or the PostgreSQL database's URL
	pg     *pgServer
	master string // KEYHOLD_MASTER_KEY
	kh     *proc  // the running seeded keyhold; nil while it is stopped
	kh2    *proc  // a second instance on the same PostgreSQL database, while a phase needs one
	starts int

	adaKey, bobKey string
	teams          map[string]string // name → ID
	target         string            // value of targetName
	visible        int               // live secrets Bob can read
	nextBulk       int               // index of the next bulk secret
	historySeeded  bool              // ensureHistory has run
	seed           uint64
	api            *http.Client
}

// runSuite runs the selected phases and returns the results, also written to cfg.Out. A phase that
// fails is recorded as a failed check and the next phase still runs; only the deadline, an interrupt,
// or a failure to build or seed ends the run early.
func runSuite(parent context.Context, cfg config) (*results, error) {
	ctx, cancel := context.WithTimeout(parent, cfg.Deadline)
	defer cancel()
	if cfg.RepoRoot == "" && cfg.KeyholdBin == "" {
		root, err := findRepoRoot()
		if err != nil {
			return nil, err
		}
		cfg.RepoRoot = root
	}
	res, err := newResults(cfg.Out)
	if err != nil {
		return nil, err
	}
	defer res.close()
	tmp, err := os.MkdirTemp("", "keyhold-bench-")
	if err != nil {
		return res, err
	}
	e := &env{cfg: cfg, res: res, kids: newChildren(), tmp: tmp, data: filepath.Join(tmp, "data"), teams: map[string]string{},
		api: &http.Client{Timeout: time.Minute, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, DisableCompression: true}}}
	defer func() { // runs after killAll, below
		if cfg.Keep && e.pg != nil {
			_ = os.WriteFile(filepath.Join(tmp, "master.key"), []byte(e.master+"\n"), 0o600)
			fmt.Fprintf(os.Stderr, "kept %s (logs, and the master key in master.key: KEYHOLD_MASTER_KEY_FILE) and the database %s\n", tmp, e.pg.dbName)
			return
		}
		if cfg.Keep {
			// The master key goes where keyhold looks for it, so that "keyhold serve --data DIR" opens the data.
			_ = os.WriteFile(filepath.Join(e.data, "master.key"), []byte(e.master+"\n"), 0o600)
			fmt.Fprintf(os.Stderr, "kept %s (data in %s, with its master.key)\n", tmp, e.data)
			return
		}
		os.RemoveAll(tmp)
	}()
	defer e.kids.killAll()
	defer func() { res.Children = e.kids.started() }()
	e.loc = e.data
	// A phase stuck past the deadline is unblocked by killing the children it waits on.
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-finished:
		case <-ctx.Done():
			select {
			case <-finished:
			case <-time.After(15 * time.Second):
				e.logf("deadline passed 15s ago and the run is still busy: killing the servers")
				e.kids.killAll()
			}
		}
	}()
	key := make([]byte, 32)
	rand.Read(key)
	e.master = base64.StdEncoding.EncodeToString(key)
	var s [8]byte
	rand.Read(s[:])
	e.seed = uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24

	if err := e.build(ctx); err != nil {
		return res, err
	}
	if cfg.Database == dbPostgres {
		cleanup, err := e.setupPostgres(ctx)
		defer cleanup() // before killAll: it stops keyhold, then drops the database or stops the server
		if err != nil {
			return res, fmt.Errorf("PostgreSQL: %w", err)
		}
		e.loc = e.pg.url
	}
	e.meta()
	if err := e.seedOrg(ctx); err != nil {
		return res, fmt.Errorf("seed: %w", err)
	}
	run := func(name string, selected bool, fn func(context.Context) error) error {
		if !selected {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if e.kh == nil || e.kh.exited() {
			if err := e.restartKeyhold(ctx); err != nil {
				return fmt.Errorf("start keyhold for phase %s: %w", name, err)
			}
		}
		start := time.Now()
		e.logf("phase %s", name)
		err := fn(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("phase %s: %w", name, ctx.Err())
		}
		if err != nil {
			e.logf("phase %s failed: %v", name, err)
			res.addCheck(check{Measure: "phase " + name + " ran", Keyhold: oneLine(err), Must: "no error", Pass: false})
		}
		e.logf("phase %s done in %s", name, time.Since(start).Round(100*time.Millisecond))
		return nil
	}
	for _, p := range []struct {
		name string
		sel  bool
		fn   func(context.Context) error
	}{
		{"fetch", cfg.Only["fetch"] || cfg.Only["401"] || cfg.Only["fetch-2"], e.fetchPhase},
		{"writers", cfg.Only["writers"], e.writersPhase},
		{"propagation", cfg.Only["propagation"], e.propagationPhase},
		{"rss", cfg.Only["rss"], e.rssPhase},
		{"portal", cfg.Only["portal"], e.portalPhase},
		{"coldstart", cfg.Only["coldstart"], e.coldStartPhase},
		{"login-flood", cfg.Only["login-flood"], e.loginFloodPhase},
	} {
		if err := run(p.name, p.sel, p.fn); err != nil {
			e.stopKeyhold()
			return res, err
		}
	}
	if err := e.stopKeyhold(); err != nil {
		return res, err
	}
	return res, nil
}

func oneLine(err error) string {
	s := strings.ReplaceAll(err.Error(), "\n", " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// build compiles keyhold once, unless --keyhold-bin names a binary.
func (e *env) build(ctx context.Context) error {
	if e.cfg.KeyholdBin != "" {
		abs, err := filepath.Abs(e.cfg.KeyholdBin)
		e.bin = abs
		return err
	}
	e.bin = filepath.Join(e.tmp, "keyhold")
	if runtime.GOOS == "windows" {
		e.bin += ".exe" // Windows runs a program by its extension
	}
	e.logf("building keyhold in %s", e.cfg.RepoRoot)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", e.bin, ".")
	cmd.Dir = e.cfg.RepoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

func (e *env) meta() {
	m := map[string]string{
		"go":          runtime.Version(),
		"goos":        runtime.GOOS + "/" + runtime.GOARCH,
		"cpus":        strconv.Itoa(runtime.NumCPU()),
		"gomaxprocs":  strconv.Itoa(runtime.GOMAXPROCS(0)),
		"rounds":      strconv.Itoa(e.cfg.Rounds),
		"duration":    e.cfg.Duration.String(),
		"warmup":      e.cfg.Warmup.String(),
		"concurrency": fmt.Sprint(e.cfg.Concurrency),
		"secrets":     strconv.Itoa(e.cfg.Secrets),
		"quick":       strconv.FormatBool(e.cfg.Quick),
		"binary":      e.bin,
		"database":    e.cfg.Database,
	}
	if e.pg != nil {
		m["postgres_version"] = e.pg.version
		m["postgres_settings"] = e.pg.settingsText()
		m["postgres_server"] = "throwaway, started by the run"
		if !e.pg.own {
			m["postgres_server"] = db.RedactURL(e.pg.adminURL)
		}
		m["propagation_reps"] = strconv.Itoa(e.cfg.PropagationReps)
	}
	if e.cfg.RepoRoot != "" {
		if out, err := exec.Command("git", "-C", e.cfg.RepoRoot, "describe", "--always", "--dirty").Output(); err == nil {
			m["keyhold_version"] = strings.TrimSpace(string(out))
		}
	}
	e.res.add(Record{Kind: "meta", Measure: "run", Meta: m})
}

// storeArgs are the command-line arguments and environment that point keyhold at loc, a data
// directory or a PostgreSQL URL. The URL goes in the environment, not on the command line, where
// other users of the machine could read its password; KEYHOLD_DATABASE_URL is emptied for a data
// directory, so that one set in the suite's environment does not take its place.
func storeArgs(loc string) (args, env []string) {
	if strings.HasPrefix(loc, "postgres://") || strings.HasPrefix(loc, "postgresql://") {
		return nil, []string{"KEYHOLD_DATABASE_URL=" + loc}
	}
	return []string{"--data", loc}, []string{"KEYHOLD_DATABASE_URL="}
}

// cli runs a keyhold admin command against the seeded store and returns its stdout.
func (e *env) cli(ctx context.Context, stdin string, args ...string) (string, error) {
	sargs, senv := storeArgs(e.loc)
	cmd := exec.CommandContext(ctx, e.bin, append(args, sargs...)...)
	cmd.Env = append(os.Environ(), append(senv, "KEYHOLD_MASTER_KEY="+e.master)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("keyhold %s: %v: %s", strings.Join(args[:2], " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// startKeyhold starts keyhold on loc (a data directory or a PostgreSQL URL) with the run's master key
// and a rate limit no run reaches, and waits for /healthz. It returns the process and the time from
// exec to the first 200.
func (e *env) startKeyhold(ctx context.Context, loc string) (*proc, time.Duration, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	e.starts++
	sargs, senv := storeArgs(loc)
	p, err := startProc(e.kids, "keyhold", e.bin,
		append([]string{"serve", "--addr", addr, "--api-rate", "1e9", "--api-burst", "1000000000"}, sargs...),
		append(senv, "KEYHOLD_MASTER_KEY="+e.master), addr, filepath.Join(e.tmp, fmt.Sprintf("keyhold-%d.log", e.starts)))
	if err != nil {
		return nil, 0, err
	}
	d, err := p.waitHealthy(ctx, p.started, "/healthz", 30*time.Second)
	if err != nil {
		p.stop()
		return nil, 0, err
	}
	return p, d, nil
}

func (e *env) restartKeyhold(ctx context.Context) error {
	e.stopKeyhold()
	p, _, err := e.startKeyhold(ctx, e.loc)
	if err != nil {
		return err
	}
	e.kh = p
	return nil
}

// startSecond starts instance B: a second keyhold on the seeded PostgreSQL database.
func (e *env) startSecond(ctx context.Context) (*proc, error) {
	if e.kh2 != nil && !e.kh2.exited() {
		return e.kh2, nil
	}
	p, _, err := e.startKeyhold(ctx, e.loc)
	if err != nil {
		return nil, fmt.Errorf("start a second keyhold instance: %w", err)
	}
	e.kh2 = p
	return p, nil
}

func (e *env) stopSecond() error {
	if e.kh2 == nil {
		return nil
	}
	err := e.kh2.stop()
	e.kh2 = nil
	return err
}

func (e *env) stopKeyhold() error {
	if e.kh == nil {
		return nil
	}
	err := e.kh.stop()
	e.kh = nil
	return err
}

// apiCall sends a JSON API request with key and decodes a 200 answer into out. It returns the status.
func (e *env) apiCall(ctx context.Context, base, method, path, key string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.api.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

type apiSecret struct {
	SecretID string  `json:"secretID"`
	Name     string  `json:"name"`
	Value    *string `json:"value"`
}

type apiSecrets struct {
	Secrets []apiSecret `json:"secrets"`
}

type grantJSON struct {
	Role  string   `json:"role"`
	Users []string `json:"users"`
	Teams []string `json:"teams"`
}

// seedOrg creates the organization and its people with the CLI, starts keyhold, and creates the teams
// and the secrets through the JSON API:
//
//   - teams "platform" (Bob, Carol), "data-eng" (Bob, Dan) and "oncall" (Carol);
//   - 12 secrets of Ada's shared with the teams as Reader, 8 of them reaching Bob, among them
//     GCP_SERVICE_ACCOUNT_JSON (shared with "platform" only): Bob reads it through a team grant;
//   - Bob's own secrets up to --secrets readable by Bob, every tenth shared with "platform".
func (e *env) seedOrg(ctx context.Context) error {
	start := time.Now()
	if e.pg == nil {
		if err := os.MkdirAll(e.data, 0o700); err != nil {
			return err
		}
	}
	if _, err := e.cli(ctx, password+"\n", "org", "create", "--name", orgName, "--admin-email", adaEmail, "--first", "Ada", "--last", "Admin"); err != nil {
		return err
	}
	for _, u := range []struct{ email, first, last string }{{bobEmail, "Bob", "Builder"}, {carolEmail, "Carol", "Coder"}, {danEmail, "Dan", "Deployer"}} {
		if _, err := e.cli(ctx, password+"\n", "user", "add", "--org", orgName, "--email", u.email, "--first", u.first, "--last", u.last); err != nil {
			return err
		}
	}
	var err error
	if e.adaKey, err = e.cli(ctx, "", "apikey", "create", "--org", orgName, "--email", adaEmail, "--label", "bench-admin"); err != nil {
		return err
	}
	if e.bobKey, err = e.cli(ctx, "", "apikey", "create", "--org", orgName, "--email", bobEmail, "--label", "bench-sdk"); err != nil {
		return err
	}
	if err := e.restartKeyhold(ctx); err != nil {
		return err
	}
	base := e.kh.base
	for _, t := range []struct {
		name   string
		emails []string
	}{{"platform", []string{bobEmail, carolEmail}}, {"data-eng", []string{bobEmail, danEmail}}, {"oncall", []string{carolEmail}}} {
		var team struct {
			TeamID string `json:"teamID"`
		}
		if _, err := e.apiCall(ctx, base, http.MethodPost, "/v1/teams", e.adaKey, map[string]string{"name": t.name, "description": "bench team " + t.name}, &team); err != nil {
			return err
		}
		if _, err := e.apiCall(ctx, base, http.MethodPatch, "/v1/teams/"+team.TeamID, e.adaKey, map[string]any{"addMemberUserEmails": t.emails}, nil); err != nil {
			return err
		}
		e.teams[t.name] = team.TeamID
	}
	shareTo := []string{"platform", "data-eng", "oncall"}
	for i := range seedShared {
		name, value := seedValue(e.seed+1, i)
		name = "SHARED_" + name
		team := shareTo[i%3]
		if i == 0 {
			name, value, team = targetName, serviceAccountJSONFor(e.seed), "platform"
			e.target = value
		}
		var sec apiSecret
		if _, err := e.apiCall(ctx, base, http.MethodPost, "/v1/secrets", e.adaKey, map[string]string{"name": name, "value": value}, &sec); err != nil {
			return err
		}
		if _, err := e.apiCall(ctx, base, http.MethodPatch, "/v1/secrets/"+sec.SecretID+"/accessControls", e.adaKey,
			map[string]any{"grants": []grantJSON{{Role: "Reader", Teams: []string{e.teams[team]}, Users: []string{}}}}, nil); err != nil {
			return err
		}
		if team != "oncall" {
			e.visible++
		}
	}
	if err := e.ensureVisible(ctx, e.cfg.Secrets); err != nil {
		return err
	}
	e.logf("seeded %d secrets readable by %s in %s", e.visible, bobEmail, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// serviceAccountJSONFor is the fetched secret's value: a key file of about 2.4 KB.
func serviceAccountJSONFor(seed uint64) string {
	_, v := seedValue(seed+7, 1) // kind 1 is the service-account key file
	return v
}

// ensureVisible creates Bob's secrets through the API until Bob can read n of them.
func (e *env) ensureVisible(ctx context.Context, n int) error {
	if e.visible >= n {
		return nil
	}
	need := n - e.visible
	start := time.Now()
	base, first0 := e.kh.base, e.nextBulk
	err := inParallel(need, func(i int) error {
		idx := first0 + i
		name, value := seedValue(e.seed, idx)
		var sec apiSecret
		_, err := e.apiCall(ctx, base, http.MethodPost, "/v1/secrets", e.bobKey, map[string]string{"name": name, "value": value}, &sec)
		if err == nil && idx%10 == 0 {
			_, err = e.apiCall(ctx, base, http.MethodPatch, "/v1/secrets/"+sec.SecretID+"/accessControls", e.bobKey,
				map[string]any{"grants": []grantJSON{{Role: "Reader", Teams: []string{e.teams["platform"]}, Users: []string{}}}}, nil)
		}
		return err
	})
	if err != nil {
		return err
	}
	e.nextBulk += need
	e.visible = n
	e.logf("created %d secrets for %s in %s (%.0f/s)", need, bobEmail, time.Since(start).Round(100*time.Millisecond), float64(need)/time.Since(start).Seconds())
	// Check with the list the SDK reads that Bob really sees n secrets.
	var list apiSecrets
	if _, err := e.apiCall(ctx, base, http.MethodGet, "/v1/secrets", e.bobKey, nil, &list); err != nil {
		return err
	}
	if len(list.Secrets) != n {
		return fmt.Errorf("GET /v1/secrets lists %d secrets for %s, want %d", len(list.Secrets), bobEmail, n)
	}
	return nil
}

// inParallel runs do(0) … do(n-1) on seedWorkers goroutines, and stops at the first error, which it
// returns.
func inParallel(n int, do func(i int) error) error {
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		first  error
		failed atomic.Bool
	)
	for range seedWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := do(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// The history and the trash the Secrets tab is measured with: each bulk secret Bob sees has
// portalVersions versions, and portalTrashed more of his are deleted (in the trash).
const (
	portalVersions = 5
	portalTrashed  = 1000
)

// ensureHistory gives the bulk secrets Bob sees portalVersions versions each and puts portalTrashed
// deleted secrets in the trash, once: the Secrets tab must meet its budget with both.
func (e *env) ensureHistory(ctx context.Context) error {
	if e.historySeeded {
		return nil
	}
	start := time.Now()
	base := e.kh.base
	var list apiSecrets
	if _, err := e.apiCall(ctx, base, http.MethodGet, "/v1/secrets", e.bobKey, nil, &list); err != nil {
		return err
	}
	ids := make(map[string]string, len(list.Secrets))
	for _, s := range list.Secrets {
		ids[s.Name] = s.SecretID
	}
	bulk := make([]string, 0, e.nextBulk)
	for idx := range e.nextBulk {
		name, _ := seedValue(e.seed, idx)
		if id, ok := ids[name]; ok {
			bulk = append(bulk, id)
		}
	}
	err := inParallel(len(bulk)*(portalVersions-1), func(i int) error {
		id, v := bulk[i/(portalVersions-1)], i%(portalVersions-1)+2
		_, value := seedValue(e.seed^uint64(v), i)
		_, err := e.apiCall(ctx, base, http.MethodPatch, "/v1/secrets/"+id, e.bobKey, map[string]string{"value": value}, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("add versions: %w", err)
	}
	err = inParallel(portalTrashed, func(i int) error {
		var sec apiSecret
		_, value := seedValue(e.seed, i)
		if _, err := e.apiCall(ctx, base, http.MethodPost, "/v1/secrets", e.bobKey,
			map[string]string{"name": fmt.Sprintf("DELETED_%05d", i), "value": value}, &sec); err != nil {
			return err
		}
		_, err := e.apiCall(ctx, base, http.MethodDelete, "/v1/secrets/"+sec.SecretID, e.bobKey, nil, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("fill the trash: %w", err)
	}
	var trash apiSecrets
	if _, err := e.apiCall(ctx, base, http.MethodGet, "/v1/trash", e.bobKey, nil, &trash); err != nil {
		return err
	}
	if len(trash.Secrets) < portalTrashed {
		return fmt.Errorf("GET /v1/trash lists %d secrets for %s, want at least %d", len(trash.Secrets), bobEmail, portalTrashed)
	}
	e.historySeeded = true
	e.logf("gave %d secrets %d versions each and deleted %d more, in %s", len(bulk), portalVersions, portalTrashed, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// fetchURL is the SDK's fetch by name.
func (e *env) fetchURL(base string) string { return base + "/v1/secrets?name=" + targetName }

func bearer(key string) http.Header {
	return http.Header{"Authorization": {"Bearer " + key}, "Content-Type": {"application/json"}, "User-Agent": {"keyhold-bench"}}
}

// capture fetches url once with key and returns the status, Content-Type and body.
func capture(ctx context.Context, url string, h http.Header) (int, string, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", nil, err
	}
	req.Header = h
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}}).Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b, err
}

// wrongKey is a well-formed API key that keyhold has never issued.
func wrongKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "kh_" + base64.RawURLEncoding.EncodeToString(b)
}

func errorsOr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}
