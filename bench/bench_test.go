package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the bench program when the suite starts it as the bare
// server (the suite execs os.Executable() with childEnv set).
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "bare" {
		args := os.Args[1:]
		if len(args) > 0 && args[0] == "bare" {
			args = args[1:]
		}
		os.Exit(bareMain(args))
	}
	os.Exit(m.Run())
}

// testLog sends the suite's progress lines to t.Log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestSuite_FetchSmoke runs the real orchestration end to end, cut down to one round of the fetch
// measure at one client for 300 ms: build keyhold, seed it through the CLI and the API, start the bare
// server as a child, drive both, and write the results. Every request must succeed, the results must
// be well formed, and no child may outlive the run.
func TestSuite_FetchSmoke(t *testing.T) {
	began := time.Now()
	cfg := defaultConfig()
	cfg.Rounds = 1
	cfg.Duration = 300 * time.Millisecond
	cfg.Warmup = 100 * time.Millisecond
	cfg.Concurrency = []int{1}
	cfg.Secrets = seedShared + 8
	cfg.Only = map[string]bool{"fetch": true}
	cfg.Deadline = 28 * time.Second
	cfg.Out = filepath.Join(t.TempDir(), "bench-results.jsonl")
	cfg.RepoRoot = ".."
	cfg.Log = testLog{t}

	res, err := runSuite(context.Background(), cfg)
	if err != nil {
		t.Fatalf("runSuite: %v", err)
	}
	if took := time.Since(began); took > 30*time.Second {
		t.Errorf("the smoke run took %s, want < 30s", took)
	}

	// One load record per server, each clean and self-consistent.
	loads := map[string]Record{}
	for _, r := range res.Records {
		if r.Kind == "load" {
			if _, dup := loads[r.Server]; dup {
				t.Errorf("two load records for %s", r.Server)
			}
			loads[r.Server] = r
		}
	}
	for _, server := range []string{"bare", "keyhold"} {
		r, ok := loads[server]
		if !ok {
			t.Fatalf("no load record for %s in %+v", server, res.Records)
		}
		if r.Measure != "fetch" || r.Round != 1 || r.Concurrency != 1 || r.DurationS != 0.3 {
			t.Errorf("%s: measure=%q round=%d c=%d duration=%v, want fetch, 1, 1, 0.3", server, r.Measure, r.Round, r.Concurrency, r.DurationS)
		}
		if r.Errors != 0 || r.FirstError != "" {
			t.Errorf("%s: %d errors, first %q", server, r.Errors, r.FirstError)
		}
		if r.Requests < 10 || r.RPS <= 0 {
			t.Errorf("%s: %d requests, %.1f req/s: the run did nothing", server, r.Requests, r.RPS)
		}
		if want := float64(r.Requests) / r.DurationS; r.RPS < 0.99*want || r.RPS > 1.01*want {
			t.Errorf("%s: %.1f req/s from %d requests in %vs", server, r.RPS, r.Requests, r.DurationS)
		}
		if !(0 < r.P50ms && r.P50ms <= r.P99ms && r.P99ms <= r.P999ms && r.P999ms <= r.MaxMs) {
			t.Errorf("%s: percentiles out of order: p50 %v p99 %v p99.9 %v max %v", server, r.P50ms, r.P99ms, r.P999ms, r.MaxMs)
		}
		if r.Dials != 1 {
			t.Errorf("%s: %d connections for one keep-alive client, want 1", server, r.Dials)
		}
	}

	// The medians, the ratio and the checks.
	if len(res.Loads) != 2 || res.Loads[1].Server != "keyhold" || res.Loads[1].Ratio == nil || *res.Loads[1].Ratio <= 0 {
		t.Errorf("load rows: %+v, want bare then keyhold with a ratio", res.Loads)
	}
	checks := map[string]check{}
	for _, c := range res.Checks {
		checks[c.Measure] = c
	}
	for _, name := range []string{"SDK fetch by name, c=1, req/s", "SDK fetch, c=1, p50", "SDK fetch, c=1, p99", "errors (fetch and 401 runs, all rounds)"} {
		if _, ok := checks[name]; !ok {
			t.Errorf("no check %q in %+v", name, res.Checks)
		}
	}
	if c := checks["errors (fetch and 401 runs, all rounds)"]; !c.Pass || c.Keyhold != "0" || c.Bare != "0" {
		t.Errorf("errors check: %+v", c)
	}
	if c := checks["SDK fetch by name, c=1, req/s"]; c.Ratio == nil || *c.Ratio <= 0 || c.Must != "≥ 50 % of bare" {
		t.Errorf("throughput check: %+v", c)
	}

	// The results file holds exactly the records, as JSON lines of one run.
	f, err := os.Open(cfg.Out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	kinds := map[string]int{}
	for sc.Scan() {
		var r Record
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("line %d: %v: %s", n+1, err, sc.Text())
		}
		if r.Run != res.Records[0].Run || r.Kind == "" || r.Measure == "" {
			t.Errorf("line %d: run=%q kind=%q measure=%q", n+1, r.Run, r.Kind, r.Measure)
		}
		if _, err := time.Parse(time.RFC3339Nano, r.Time); err != nil {
			t.Errorf("line %d: time %q: %v", n+1, r.Time, err)
		}
		kinds[r.Kind]++
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(res.Records) || kinds["meta"] != 1 || kinds["load"] != 2 || kinds["load_median"] != 2 || kinds["check"] != len(res.Checks) {
		t.Errorf("results file: %d lines %v; want %d records: 1 meta, 2 load, 2 load_median, %d check", n, kinds, len(res.Records), len(res.Checks))
	}

	// keyhold, the CLI runs and the bare server have all exited.
	if len(res.Children) < 2 {
		t.Errorf("children started: %v, want keyhold and bare at least", res.Children)
	}
	checkExited(t, res.Children)
}

func TestPercentileAndMedian(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 1000; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {0.999, 999 * time.Millisecond}, {1, 1000 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(lat, c.p); got != c.want {
			t.Errorf("percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median odd = %v", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median even = %v", got)
	}
}

func TestParseConfig(t *testing.T) {
	cfg, err := parseConfig([]string{"--quick", "--only", "fetch,401", "--concurrency", "1,8", "--rounds", "2"})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Quick || cfg.Rounds != 2 || cfg.Duration != time.Second || len(cfg.Concurrency) != 2 || cfg.Concurrency[1] != 8 ||
		!cfg.Only["fetch"] || !cfg.Only["401"] || cfg.Only["rss"] {
		t.Errorf("parsed %+v", cfg)
	}
	if cfg, err := parseConfig([]string{"--only", "login-flood", "--quick"}); err != nil || !cfg.Only["login-flood"] || cfg.Only["fetch"] || cfg.Rounds != 1 {
		t.Errorf("--only login-flood --quick: %v, %+v", err, cfg)
	}
	for _, bad := range [][]string{{"--only", "nope"}, {"--concurrency", "0"}, {"--secrets", "3"}, {"extra"}} {
		if _, err := parseConfig(bad); err == nil {
			t.Errorf("parseConfig(%q) accepted", bad)
		}
	}
}

func TestParseConfig_Database(t *testing.T) {
	t.Setenv(benchDatabaseURLEnv, "")
	cfg, err := parseConfig(nil)
	if err != nil || cfg.Database != dbSQLite || cfg.DatabaseURL != "" || cfg.Only["fetch-2"] || cfg.Only["propagation"] ||
		!cfg.Only["coldstart"] || !cfg.Only["login-flood"] {
		t.Errorf("default: %v, %+v", err, cfg)
	}
	cfg, err = parseConfig([]string{"--database", "postgres", "--quick"})
	if err != nil || cfg.Database != dbPostgres || cfg.DatabaseURL != "" || cfg.PropagationReps != 5 {
		t.Fatalf("--database postgres --quick: %v, %+v", err, cfg)
	}
	for _, p := range phases { // every phase runs on PostgreSQL
		if !cfg.Only[p] {
			t.Errorf("--database postgres: phase %s not selected", p)
		}
	}
	const u = "postgres://bench:secret@127.0.0.1:5432/postgres?sslmode=disable"
	if cfg, err := parseConfig([]string{"--database-url", u}); err != nil || cfg.Database != dbPostgres || cfg.DatabaseURL != u {
		t.Errorf("--database-url alone: %v, %+v", err, cfg)
	}
	if cfg, err := parseConfig([]string{"--database", "postgres", "--only", "rss,propagation", "--propagation-reps", "7"}); err != nil ||
		!cfg.Only["rss"] || !cfg.Only["propagation"] || cfg.Only["fetch"] || cfg.PropagationReps != 7 {
		t.Errorf("--only rss,propagation: %v, %+v", err, cfg)
	}
	t.Setenv(benchDatabaseURLEnv, u)
	if cfg, err := parseConfig([]string{"--database", "postgres"}); err != nil || cfg.DatabaseURL != u {
		t.Errorf("%s: %v, %+v", benchDatabaseURLEnv, err, cfg)
	}
	if cfg, err := parseConfig(nil); err != nil || cfg.Database != dbSQLite || cfg.DatabaseURL != "" {
		t.Errorf("%s without --database postgres: %v, %+v", benchDatabaseURLEnv, err, cfg)
	}
	for _, bad := range [][]string{{"--only", "fetch-2"}, {"--only", "propagation"}, {"--database", "postgres", "--only", "nope"},
		{"--database", "mysql"}, {"--database", "sqlite", "--database-url", u}, {"--database-url", "mysql://h/db"}} {
		if _, err := parseConfig(bad); err == nil {
			t.Errorf("parseConfig(%q) accepted", bad)
		}
	}
}

func TestFormField(t *testing.T) {
	for _, c := range []struct {
		name, page, want string
		ok               bool
	}{
		{"keyhold's form", `<form method="post"><input type="hidden" name="_csrf" value="abc123"/><input name="email">`, "abc123", true},
		{"value first", `<input value="tok" type="hidden" name="_csrf">`, "tok", true},
		{"single quotes, spaces, upper case", `<INPUT TYPE=hidden Name = '_csrf' VALUE='a b'>`, "a b", true},
		{"unquoted", `<input type=hidden name=_csrf value=xyz>`, "xyz", true},
		{"escaped", `<input name="_csrf" value="a&amp;b&#43;c&quot;">`, `a&b+c"`, true},
		{"a > inside another attribute", `<input data-x="1>2" name="_csrf" value="v">`, "v", true},
		{"another field first", `<input name="next" value="/secrets"><input name="_csrf" value="second">`, "second", true},
		{"a longer name is not it", `<input name="_csrf_old" value="no"><input name="_csrf" value="yes">`, "yes", true},
		{"no value", `<input name="_csrf">`, "", false},
		{"absent", `<form><input name="email" value="ada@example.com"></form>`, "", false},
		{"not an input", `<meta name="_csrf" value="no">`, "", false},
	} {
		got, ok := formField([]byte(c.page), "_csrf")
		if got != c.want || ok != c.ok {
			t.Errorf("%s: formField = %q, %v; want %q, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestFloodSources(t *testing.T) {
	seen := map[string]int{}
	for round := 1; round <= 3; round++ {
		ips := floodSources(round, loginFloodWorkers)
		if len(ips) != loginFloodWorkers {
			t.Fatalf("round %d: %d addresses, want %d", round, len(ips), loginFloodWorkers)
		}
		for _, ip := range ips {
			v4 := ip.To4()
			if v4 == nil || !ip.IsLoopback() || ip.Equal(net.IPv4(127, 0, 0, 1)) || v4[1] == 0 || v4[3] == 0 || v4[3] == 255 {
				t.Errorf("round %d: source %s is not a loopback address 127.a.b.c with a ≥ 1 and c in 1–254", round, ip)
			}
			if r, dup := seen[ip.String()]; dup {
				t.Errorf("round %d: source %s already used in round %d", round, ip, r)
			}
			seen[ip.String()] = round
		}
	}
	// Many rounds of many workers stay distinct and in range.
	big := floodSources(40, 5000)
	last := big[len(big)-1].To4()
	if last[1] == 0 || last[3] == 0 || last[3] == 255 {
		t.Errorf("source %s out of range", last)
	}
}

// TestSignInAttempt signs in against a server that names its CSRF cookie at random and checks the
// token, the form and the source address, as keyhold's would.
func TestSignInAttempt(t *testing.T) {
	cookie := fmt.Sprintf("csrf_%d", time.Now().UnixNano()%1000)
	var remote atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remote.Store(r.RemoteAddr)
		switch r.Method {
		case http.MethodGet:
			http.SetCookie(w, &http.Cookie{Name: cookie, Value: "t&k", Path: "/", HttpOnly: true})
			fmt.Fprint(w, `<form method="post" action="/login"><input type="hidden" value="t&amp;k" name="_csrf"/></form>`)
		case http.MethodPost:
			c, err := r.Cookie(cookie)
			switch {
			case err != nil || c.Value != "t&k" || r.FormValue("_csrf") != "t&k":
				w.WriteHeader(http.StatusForbidden)
			case r.FormValue("email") == "blocked@example.com":
				w.Header().Set("Retry-After", "60")
				w.WriteHeader(http.StatusTooManyRequests)
			case r.FormValue("email") != "" && r.FormValue("password") != "" && r.FormValue("next") == "/secrets":
				w.WriteHeader(http.StatusUnauthorized)
			default:
				w.WriteHeader(http.StatusBadRequest)
			}
		}
	}))
	defer srv.Close()

	var dials atomic.Int64
	src := floodSources(1, 8)[7]
	u, _ := url.Parse(srv.URL)
	if err := probeSource(context.Background(), src, u.Host); err != nil {
		t.Logf("cannot bind %s (%v): signing in from the default address", src, err)
		src = nil
	}
	client := floodClient(src, &dials)
	defer client.CloseIdleConnections()
	for i, c := range []struct {
		email  string
		status int
		retry  bool
	}{{"nobody@example.com", http.StatusUnauthorized, false}, {"blocked@example.com", http.StatusTooManyRequests, true}, {"nobody2@example.com", http.StatusUnauthorized, false}} {
		st, ra, err := signInAttempt(context.Background(), client, srv.URL, c.email, "wrong "+fmt.Sprint(i))
		if err != nil || st != c.status || ra != c.retry {
			t.Errorf("%s: status %d, Retry-After %v, err %v; want %d, %v", c.email, st, ra, err, c.status, c.retry)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d connections for one worker, want 1 kept alive", n)
	}
	if src != nil {
		if host, _, _ := net.SplitHostPort(remote.Load().(string)); host != src.String() {
			t.Errorf("the server saw the worker at %s, want %s", host, src)
		}
	}
}

// TestRunLoad_Finish checks that a run with Finish times a request that ends after the window, and
// that one without it does not.
func TestRunLoad_Finish(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	for _, finish := range []bool{false, true} {
		r, err := runLoad(context.Background(), loadSpec{URL: srv.URL, Status: http.StatusOK, BodyLen: 2, Clients: 1, Duration: 100 * time.Millisecond, Finish: finish})
		if err != nil {
			t.Fatal(err)
		}
		if finish && (r.Requests != 1 || r.P50 < 300*time.Millisecond) || !finish && r.Requests != 0 {
			t.Errorf("Finish %v: %d requests timed, p50 %s", finish, r.Requests, r.P50)
		}
	}
}

func TestInfoChecksNeverFail(t *testing.T) {
	r := &results{}
	r.addCheck(check{Measure: "sign-in answers", Keyhold: "401: 3", Info: true})
	if r.failed() {
		t.Error("an informational row failed the run")
	}
	var b strings.Builder
	r.printTable(&b)
	if !strings.Contains(b.String(), "info") || !strings.Contains(b.String(), "0 PASS, 0 FAIL") {
		t.Errorf("table:\n%s", b.String())
	}
	if r.Records[0].Pass != nil {
		t.Errorf("an informational row's record has pass=%v", *r.Records[0].Pass)
	}
	r.addCheck(check{Measure: "fetch errors during the flood", Keyhold: "2", Must: "0"})
	if !r.failed() {
		t.Error("a failed check did not fail the run")
	}
}

func TestFmtAnswers(t *testing.T) {
	got := fmtAnswers(map[int]int{401: 800, 503: 12, 403: 2, 0: 1})
	if want := "401: 800, 429: 0, 503: 12, other: 3 (transport error: 1, 403: 2)"; got != want {
		t.Errorf("fmtAnswers = %q, want %q", got, want)
	}
}
