package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
	for _, pid := range res.Children {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("child %d is still alive after the run (kill 0: %v)", pid, err)
		}
	}
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
	for _, bad := range [][]string{{"--only", "nope"}, {"--concurrency", "0"}, {"--secrets", "3"}, {"extra"}} {
		if _, err := parseConfig(bad); err == nil {
			t.Errorf("parseConfig(%q) accepted", bad)
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
