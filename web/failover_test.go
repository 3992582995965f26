package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/db/dbtest"
	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/webtest"
)

// TestFailover_PostgresStoppedUnderLoad: PostgreSQL stopped for 5 s and started again while clients
// fetch and create secrets through the JSON API. While it is down every answer is a clear 503 (JSON,
// Retry-After) and /readyz fails; once it is back keyhold serves again by itself, nothing it
// acknowledged is lost, every value it handed out is the one written, and every read it answered is
// in the audit trail.
func TestFailover_PostgresStoppedUnderLoad(t *testing.T) {
	if dbtest.Current() != dbtest.Postgres {
		t.Skip("stops a PostgreSQL server under keyhold: runs on the suite's PostgreSQL run")
	}
	cluster := dbtest.NewCluster(t) // a server of its own: stopping the shared one would break other tests
	logs := &syncBuffer{}           // portal_admin_test.go's
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := newFailoverServer(t, cluster.Database(t), logger)

	admin := ts.SeedOrg(t, "Acme", "ada@example.com")
	token, apiKey, err := ts.Store.CreateAPIKey(context.Background(), admin, "failover", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// Every secret's value is valueOf its name: a fetch knows what it must get.
	valueOf := func(name string) string { return "value of " + name }
	seeded := []string{"DB_PASSWORD", "API_TOKEN", "TLS_KEY", "SMTP_PASSWORD", "SIGNING_KEY"}
	for _, name := range seeded {
		ts.SeedSecret(t, admin, name, valueOf(name))
	}

	client := &http.Client{Timeout: 15 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer client.CloseIdleConnections()
	rec := &failoverLog{names: slices.Clone(seeded), acked: map[string]bool{}}
	send := func(kind, name, method, path string, body []byte) failoverResult {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, ts.URL+path, rd)
		if err != nil {
			t.Error(err)
			return failoverResult{}
		}
		if kind != "readyz" {
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
		}
		r := failoverResult{kind: kind, name: name, start: time.Now()}
		res, err := client.Do(req)
		if err == nil {
			r.body, err = io.ReadAll(res.Body)
			res.Body.Close()
			r.status, r.retryAfter = res.StatusCode, res.Header.Get("Retry-After")
		}
		r.end, r.err = time.Now(), err
		return r
	}

	ctx, stopLoad := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { // also when the test stops early
		stopLoad()
		wg.Wait()
	}()
	loop := func(pause time.Duration, one func(i int)) {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				one(i)
				select {
				case <-ctx.Done():
				case <-time.After(pause):
				}
			}
		})
	}
	for range 4 {
		loop(5*time.Millisecond, func(int) {
			name := rec.pick()
			r := send("fetch", name, http.MethodGet, "/v1/secrets?name="+name, nil)
			if r.status == http.StatusOK {
				var out struct {
					Secrets []struct{ Name, Value string }
				}
				if err := json.Unmarshal(r.body, &out); err != nil || len(out.Secrets) != 1 || out.Secrets[0].Name != name {
					r.wrong = fmt.Sprintf("200 with %.200s: want the one secret %s", r.body, name)
				} else if out.Secrets[0].Value != valueOf(name) {
					r.wrong = fmt.Sprintf("%s read %q, want %q", name, out.Secrets[0].Value, valueOf(name))
				}
			}
			rec.add(r)
		})
	}
	for w := range 2 {
		loop(10*time.Millisecond, func(i int) {
			name := fmt.Sprintf("FAILOVER_W%d_%05d", w, i)
			body, _ := json.Marshal(map[string]string{"name": name, "value": valueOf(name)})
			rec.add(send("create", name, http.MethodPost, "/v1/secrets", body))
		})
	}
	loop(100*time.Millisecond, func(int) { rec.add(send("readyz", "", http.MethodGet, "/readyz", nil)) })

	// Load for a second, PostgreSQL stopped for 5 s, then load until keyhold has served every kind of
	// request again and for 3 s at least (8 s at most).
	time.Sleep(time.Second)
	stopCalled := time.Now()
	cluster.Stop(t)
	stopped := time.Now()
	time.Sleep(5 * time.Second)
	startCalled := time.Now()
	cluster.Start(t)
	started := time.Now()
	for time.Since(started) < 3*time.Second || !rec.recovered(started) && time.Since(started) < 8*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	stopLoad()
	wg.Wait()
	t.Logf("PostgreSQL stopped %v after Stop was called, started %v after Start was called",
		stopped.Sub(stopCalled).Round(time.Millisecond), started.Sub(startCalled).Round(time.Millisecond))

	// Each answer by phase: before the stop, during the stop, down, restarting, after the start.
	results := rec.all()
	phase := func(r failoverResult) string {
		switch {
		case r.end.Before(stopCalled):
			return "1 before"
		case r.start.Before(stopped):
			return "2 stopping"
		case r.end.Before(startCalled):
			return "3 down"
		case r.start.Before(started):
			return "4 starting"
		}
		return "5 after"
	}
	counts := map[string]int{}
	var problems []string
	problem := func(r failoverResult, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s %s %s (+%v, %v): ", phase(r), r.kind, r.name,
			r.start.Sub(stopCalled).Round(time.Millisecond), r.end.Sub(r.start).Round(time.Millisecond))+fmt.Sprintf(format, args...))
	}
	okFetches := map[string]int{}
	for _, r := range results {
		p := phase(r)
		if r.err != nil {
			// keyhold itself stays up: every request gets an answer.
			counts[p+" "+r.kind+" client error"]++
			problem(r, "no answer: %v", r.err)
			continue
		}
		counts[fmt.Sprintf("%s %s %d", p, r.kind, r.status)]++
		switch {
		case r.wrong != "":
			problem(r, "%s", r.wrong)
		case r.status == http.StatusOK:
			if r.kind == "fetch" {
				okFetches[r.name]++
			}
			if p == "3 down" {
				problem(r, "200 while PostgreSQL was down: %.200s", r.body)
			}
		case r.status == http.StatusServiceUnavailable:
			if p == "1 before" {
				problem(r, "503 before PostgreSQL was stopped: %.200s", r.body)
			}
			if r.kind == "readyz" {
				if !strings.HasPrefix(string(r.body), "not ready: ") {
					problem(r, "503 with %q", r.body)
				}
				continue
			}
			var e struct {
				Code    int
				Message string
			}
			if err := json.Unmarshal(r.body, &e); err != nil || e.Code != http.StatusServiceUnavailable || e.Message == "" {
				problem(r, "503 without the JSON error {code: 503, message}: %.200s", r.body)
			}
			if r.retryAfter == "" {
				problem(r, "503 %q without Retry-After", e.Message)
			}
			counts[fmt.Sprintf("%s %s 503 %q", p, r.kind, e.Message)]++
		default:
			problem(r, "status %d: %.200s", r.status, r.body)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		t.Logf("%5d %s", counts[k], k)
	}
	for _, kind := range []string{"fetch", "create", "readyz"} {
		if counts["3 down "+kind+" 503"] == 0 {
			t.Errorf("no %s was answered while PostgreSQL was down: the test did not test it", kind)
		}
		if counts["1 before "+kind+" 200"] == 0 {
			t.Errorf("no %s succeeded before PostgreSQL was stopped", kind)
		}
	}
	// Recovery: keyhold serves again by itself within a few seconds, and then keeps serving.
	recoveredAt := started
	for _, kind := range []string{"fetch", "create", "readyz"} {
		first := time.Time{}
		for _, r := range results {
			if r.kind == kind && r.status == http.StatusOK && !r.start.Before(started) && (first.IsZero() || r.end.Before(first)) {
				first = r.end
			}
		}
		if first.IsZero() {
			t.Errorf("no %s succeeded in the %v after PostgreSQL was back", kind, time.Since(started).Round(time.Second))
			continue
		}
		t.Logf("%s recovered %v after PostgreSQL was back", kind, first.Sub(started).Round(time.Millisecond))
		if d := first.Sub(started); d > 5*time.Second {
			t.Errorf("%s took %v to recover after PostgreSQL was back, want 5 s at most", kind, d.Round(time.Millisecond))
		}
		recoveredAt = later(recoveredAt, first)
	}
	for _, r := range results {
		if r.start.After(recoveredAt) && r.err == nil && r.status != http.StatusOK {
			problem(r, "status %d after keyhold had recovered (%v after PostgreSQL was back): %.200s",
				r.status, recoveredAt.Sub(started).Round(time.Millisecond), r.body)
		}
	}
	for i, p := range problems {
		if i == 40 {
			t.Errorf("… and %d more", len(problems)-i)
			break
		}
		t.Error(p)
	}

	// Nothing acknowledged is lost: every create answered 200 is there, with its value and its event;
	// every fetch answered 200 has its read event.
	raw := ts.RawDB(t)
	events := func(action string) map[string]int {
		rows, err := raw.Query(`SELECT secret_name, count(*) FROM audit_events WHERE action = ? AND api_key_id = ? GROUP BY secret_name`, action, apiKey.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := map[string]int{}
		for rows.Next() {
			var name string
			var c int
			if err := rows.Scan(&name, &c); err != nil {
				t.Fatal(err)
			}
			n[name] = c
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return n
	}
	creates, reads := events(db.ActionSecretCreate), events(db.ActionSecretRead)
	acked := rec.ackedNames()
	lost := 0
	for _, name := range acked {
		sec, err := ts.Store.SecretByName(context.Background(), admin, name)
		switch {
		case err != nil:
			lost++
			t.Errorf("acknowledged create of %s: %v", name, err)
		case sec.Value != valueOf(name):
			t.Errorf("acknowledged create of %s: reads %q, want %q", name, sec.Value, valueOf(name))
		}
		if creates[name] != 1 {
			t.Errorf("acknowledged create of %s: %d %s events, want 1", name, creates[name], db.ActionSecretCreate)
		}
	}
	okTotal, readTotal := 0, 0
	for _, name := range slices.Sorted(maps.Keys(okFetches)) {
		okTotal += okFetches[name]
		readTotal += reads[name]
		if reads[name] < okFetches[name] {
			t.Errorf("%s: %d fetches answered 200, %d %s events", name, okFetches[name], reads[name], db.ActionSecretRead)
		}
	}
	t.Logf("%d creates acknowledged, %d lost; %d fetches answered 200, %d %s events of the key",
		len(acked), lost, okTotal, readTotal, db.ActionSecretRead)

	// What keyhold logged (500s log their error; the store logs losing and regaining PostgreSQL).
	if t.Failed() || testing.Verbose() {
		t.Logf("keyhold's log, repeated lines counted:\n%s", summarizeLog(logs.String()))
	}
}

// newFailoverServer serves keyhold on the PostgreSQL database at loc, logging to logger, without the
// API's rate limit.
func newFailoverServer(t *testing.T, loc string, logger *slog.Logger) *webtest.Server {
	t.Helper()
	return webtest.NewAt(t, loc, web.Config{Logger: logger, APIRate: 1e6, APIBurst: 1e6}, db.Options{Logger: logger})
}

// failoverResult is one request of the load and its answer.
type failoverResult struct {
	kind, name string // fetch, create or readyz; the secret's name
	start, end time.Time
	status     int
	retryAfter string
	body       []byte
	err        error  // no answer
	wrong      string // a 200 that answered something else than the secret's one value
}

// failoverLog gathers the load's results, and the names a fetch may ask for: the seeded secrets and
// the creates acknowledged so far.
type failoverLog struct {
	mu      sync.Mutex
	results []failoverResult
	names   []string
	acked   map[string]bool
}

func (l *failoverLog) add(r failoverResult) {
	if r.start.IsZero() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.results = append(l.results, r)
	if r.kind == "create" && r.err == nil && r.status == http.StatusOK {
		l.acked[r.name] = true
		l.names = append(l.names, r.name)
	}
}

// pick is a name to fetch: one of the seeded secrets or of the acknowledged creates.
func (l *failoverLog) pick() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(l.names))))
	return l.names[n.Int64()]
}

func (l *failoverLog) all() []failoverResult {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.results)
}

func (l *failoverLog) ackedNames() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Sorted(maps.Keys(l.acked))
}

// recovered reports whether a request of every kind started after since and succeeded.
func (l *failoverLog) recovered(since time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	ok := map[string]bool{}
	for _, r := range l.results {
		if r.status == http.StatusOK && !r.start.Before(since) {
			ok[r.kind] = true
		}
	}
	return ok["fetch"] && ok["create"] && ok["readyz"]
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// summarizeLog is a slog text log without its times, each distinct line once with its count, in the
// order of first appearance.
func summarizeLog(log string) string {
	var order []string
	n := map[string]int{}
	for line := range strings.Lines(log) {
		line = strings.TrimSpace(line)
		if _, rest, ok := strings.Cut(line, " "); ok && strings.HasPrefix(line, "time=") {
			line = rest
		}
		if n[line] == 0 {
			order = append(order, line)
		}
		n[line]++
	}
	var b strings.Builder
	for _, line := range order {
		fmt.Fprintf(&b, "%5d× %s\n", n[line], line)
	}
	return b.String()
}
