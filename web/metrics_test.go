package web_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/metrics"
	"github.com/keyhold/keyhold/web/webtest"
)

// metricsEnv is a test server with metrics, and its metrics served apart, as --metrics-addr serves
// them.
type metricsEnv struct {
	*webtest.Server
	metrics *httptest.Server
}

// storeStats reads the counters of a store set once the server is up: the metrics are made before it.
type storeStats struct{ store atomic.Pointer[db.Store] }

func (s *storeStats) Stats() db.Stats { return s.store.Load().Stats() }

func newMetricsEnv(t *testing.T, cfg web.Config, opt db.Options) *metricsEnv {
	t.Helper()
	stats := &storeStats{}
	cfg.Metrics = metrics.New(stats)
	ts := webtest.NewWith(t, cfg, opt)
	stats.store.Store(ts.Store)
	ms := httptest.NewServer(cfg.Metrics.Handler())
	t.Cleanup(ms.Close)
	return &metricsEnv{Server: ts, metrics: ms}
}

// scrape is one reading of the metrics: each series ("name{label="value",...}") with its value.
type scrape struct {
	text   string
	series map[string]float64
}

func (env *metricsEnv) scrape(t *testing.T) scrape {
	t.Helper()
	resp, err := http.Get(env.metrics.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	s := scrape{text: string(b), series: map[string]float64{}}
	sc := bufio.NewScanner(strings.NewReader(s.text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape: line %q: %v", line, err)
		}
		s.series[line[:i]] = v
	}
	return s
}

// delta is how much series grew from s to later; a series missing from both fails the test.
func (s scrape) delta(t *testing.T, later scrape, series string) float64 {
	t.Helper()
	v, ok := later.series[series]
	if !ok {
		t.Fatalf("no series %s in the metrics:\n%s", series, later.text)
	}
	return v - s.series[series]
}

// apiKey makes an API key for a.
func apiKey(t *testing.T, s *db.Store, a db.Actor) string {
	t.Helper()
	token, _, err := s.CreateAPIKey(context.Background(), a, "metrics test", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// apiGet sends GET path with the API key and returns the status.
func apiGet(t *testing.T, base, key, path string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestMetrics_CountRequestsReadsAuditAndRefusals: after fetches, a rate-limited request and a failed
// sign-in, the metrics listener shows each in the metrics named for it, requests under their route
// patterns, and no ID, name or value of a secret anywhere.
func TestMetrics_CountRequestsReadsAuditAndRefusals(t *testing.T) {
	// The journal moves events only when a listing asks: the pending count is the test's to see.
	env := newMetricsEnv(t, web.Config{APIRate: 0.001, APIBurst: 3}, db.Options{Tuning: db.Tuning{JournalApplyInterval: -1}})
	admin := env.SeedOrg(t, "Acme", "ada@example.com")
	sec := env.SeedSecret(t, admin, "DB_PASSWORD", "s3cret-value")
	fetchKey, busyKey := apiKey(t, env.Store, admin), apiKey(t, env.Store, admin)
	before := env.scrape(t)

	for _, path := range []string{"/v1/secrets?name=DB_PASSWORD", "/v1/secrets?name=DB_PASSWORD", "/v1/secrets/" + sec.ID} {
		if status := apiGet(t, env.URL, fetchKey, path); status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, status)
		}
	}
	for i := range 4 { // a burst of 3, then refused
		want := http.StatusOK
		if i == 3 {
			want = http.StatusTooManyRequests
		}
		if status := apiGet(t, env.URL, busyKey, "/v1/organizations/current"); status != want {
			t.Fatalf("request %d with the busy key: %d, want %d", i+1, status, want)
		}
	}
	c := env.NewClient(t)
	if r := c.PostForm("/login", url.Values{"email": {"ada@example.com"}, "password": {"not the password"}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("failed sign-in: %d", r.Status)
	}
	// A path of no route, signed out: sent to sign in first, as any.
	if r := c.Get("/no/such/page/" + sec.ID); r.Status != http.StatusSeeOther {
		t.Fatalf("GET of no route: %d", r.Status)
	}
	after := env.scrape(t)

	for series, want := range map[string]float64{
		`keyhold_http_requests_total{method="GET",route="/v1/secrets",status="200"}`:               2,
		`keyhold_http_requests_total{method="GET",route="/v1/secrets/:secretID",status="200"}`:     1,
		`keyhold_http_requests_total{method="GET",route="/v1/organizations/current",status="200"}`: 3,
		`keyhold_http_requests_total{method="GET",route="/v1/organizations/current",status="429"}`: 1,
		`keyhold_http_requests_total{method="POST",route="/login",status="401"}`:                   1,
		`keyhold_http_requests_total{method="GET",route="unmatched",status="303"}`:                 1,
		`keyhold_http_request_duration_seconds_count{method="GET",route="/v1/secrets/:secretID"}`:  1,
		`keyhold_http_rate_limited_total{route="/v1/organizations/current"}`:                       1,
		`keyhold_secret_reads_total`:    3,
		`keyhold_signin_failures_total`: 1,
	} {
		if got := before.delta(t, after, series); got != want {
			t.Errorf("%s grew by %v, want %v", series, got, want)
		}
	}
	// The three reads are recorded: in the journal on SQLite, in audit_events on PostgreSQL.
	written, pending := `keyhold_audit_events_written_total`, `keyhold_audit_events_pending`
	if got := before.delta(t, after, written) + before.delta(t, after, pending); got != 3 {
		t.Errorf("audit events written and pending grew by %v, want 3", got)
	}
	// A listing moves them all into audit_events.
	if _, err := env.Store.ListAudit(context.Background(), admin, db.AuditFilter{}); err != nil {
		t.Fatal(err)
	}
	listed := env.scrape(t)
	if got, pend := before.delta(t, listed, written), listed.series[pending]; got != 3 || pend != 0 {
		t.Errorf("after a listing: written grew by %v, pending is %v; want 3 and 0", got, pend)
	}
	// Two fetches by name looked in the fetch cache (the first missed); seven requests looked their
	// key up (each key's first missed).
	fetchHits, fetchMisses := before.delta(t, after, `keyhold_cache_hits_total{cache="fetch"}`), before.delta(t, after, `keyhold_cache_misses_total{cache="fetch"}`)
	if fetchHits+fetchMisses != 2 || fetchMisses < 1 {
		t.Errorf("fetch cache: %v hits and %v misses, want 2 lookups, at least one missed", fetchHits, fetchMisses)
	}
	keyHits, keyMisses := before.delta(t, after, `keyhold_cache_hits_total{cache="api_key"}`), before.delta(t, after, `keyhold_cache_misses_total{cache="api_key"}`)
	if keyHits+keyMisses != 7 || keyMisses < 2 {
		t.Errorf("API key cache: %v hits and %v misses, want 7 lookups, at least two missed", keyHits, keyMisses)
	}
	if commits, changes := after.series["keyhold_commits_total"], after.series["keyhold_commit_changes_total"]; commits < 1 || changes < commits {
		t.Errorf("commits %v holding %v changes: want some, each holding at least one", commits, changes)
	}
	// Keyhold's own registry still has the runtime's and the process's metrics.
	want := []string{"go_goroutines", "go_gc_duration_seconds"}
	if runtime.GOOS == "linux" {
		want = append(want, "process_cpu_seconds_total", "process_open_fds")
	}
	for _, name := range want {
		if !strings.Contains(after.text, "\n"+name) {
			t.Errorf("no %s in the metrics", name)
		}
	}
	// Routes are patterns: no ID, name or value became a label.
	for _, s := range []string{sec.ID, "DB_PASSWORD", "s3cret-value", "/no/such/page"} {
		if strings.Contains(after.text, s) {
			t.Errorf("the metrics hold %q", s)
		}
	}
}

// TestMetrics_NotOnThePublicListener: /metrics is no route of the public server, with metrics on or
// off: signed in it answers 404, signed out it sends to the sign-in page as any path of no route does,
// and it never shows a metric.
func TestMetrics_NotOnThePublicListener(t *testing.T) {
	on := newMetricsEnv(t, web.Config{}, db.Options{})
	off := webtest.New(t)
	for name, ts := range map[string]*webtest.Server{"metrics on": on.Server, "metrics off": off} {
		admin := ts.SeedOrg(t, "Acme", "ada@example.com")
		c := webtest.SignedInClient(t, ts, "ada@example.com")
		for _, path := range []string{"/metrics", "/metrics/"} {
			if r := c.Get(path); r.Status != http.StatusNotFound || strings.Contains(r.Body, "keyhold_") {
				t.Errorf("%s: GET %s signed in: %d, want 404", name, path, r.Status)
			}
		}
		if r := ts.NewClient(t).Get("/metrics"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Location(), "/login") {
			t.Errorf("%s: GET /metrics signed out: %d to %q, want 303 to the sign-in page", name, r.Status, r.Location())
		}
		if status := apiGet(t, ts.URL, apiKey(t, ts.Store, admin), "/v1/metrics"); status != http.StatusNotFound {
			t.Errorf("%s: GET /v1/metrics with an API key: %d, want 404", name, status)
		}
	}
	if s := on.scrape(t); !strings.Contains(s.text, `keyhold_http_requests_total{method="GET",route="unmatched",status="404"} 3`) {
		t.Errorf("the public server's requests for metrics are not counted as unmatched 404s:\n%s", s.text)
	}
}
