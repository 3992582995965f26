package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
)

// target is a server the load generator drives: one process, or several instances of keyhold on one
// database that the clients are spread over.
type target struct {
	name  string // "bare", "keyhold", or "keyhold-2": two instances on one PostgreSQL database
	bases []string
	pids  []int
}

// twoInstances is the target name of the fetch runs spread over two instances (fetch-2).
const twoInstances = "keyhold-2"

// runStats collects one measure's runs over the rounds, per server.
type runStats struct {
	rps, p50, p99, p999 []float64
	cpu                 []float64 // server CPU µs per request
	dbcpu               []float64 // PostgreSQL's CPU µs per request
	loadAvg             float64
	errors              int
	firstError          string
}

func (s *runStats) add(r loadResult) {
	s.rps = append(s.rps, r.RPS)
	s.p50 = append(s.p50, ms(r.P50))
	s.p99 = append(s.p99, ms(r.P99))
	s.p999 = append(s.p999, ms(r.P999))
	if c := cpuPerReq(r); c > 0 {
		s.cpu = append(s.cpu, c)
	}
	if c := dbCPUPerReq(r); c > 0 {
		s.dbcpu = append(s.dbcpu, c)
	}
	s.loadAvg = max(s.loadAvg, r.LoadAvg)
	s.errors += r.Errors + r.WarmupErrors
	if s.firstError == "" {
		s.firstError = r.FirstError
	}
}

// dbPID is the throwaway PostgreSQL server's postmaster, whose CPU the load runs measure (0: none).
func (e *env) dbPID() int {
	if e.pg != nil && e.pg.own && e.pg.proc != nil {
		return e.pg.proc.pid
	}
	return 0
}

// The musts of the fetch runs on PostgreSQL, where every read's audit event is committed (with fsync)
// before its value is returned: c=64 at ≥ 20 % of the bare server, 35 % the goal.
const (
	pgFetchMustClients = 64
	pgFetchMust        = 0.20
	pgFetchGoal        = 0.35
)

// fetchPhase compares keyhold with the bare server on the SDK's fetch by name (200) and on a wrong key
// (401): bare, keyhold, bare, keyhold, … for each concurrency in each round. With fetch-2 (PostgreSQL)
// a third server joins the rotation of the fetch runs: two keyhold instances on the one database,
// the clients split evenly between them (client i on instance i mod 2; at c=1, instance A alone).
func (e *env) fetchPhase(ctx context.Context) error {
	url := e.fetchURL(e.kh.base)
	status, ct, body, err := capture(ctx, url, bearer(e.bobKey))
	if err != nil || status != http.StatusOK {
		return errorsOr(err, fmt.Sprintf("fetch %s as %s: status %d: %s", targetName, bobEmail, status, body))
	}
	var got apiSecrets
	if err := json.Unmarshal(body, &got); err != nil || len(got.Secrets) != 1 || got.Secrets[0].Value == nil || *got.Secrets[0].Value != e.target {
		return fmt.Errorf("fetch %s: the response does not hold the seeded value (%v): %.200s", targetName, err, body)
	}
	bad := wrongKey()
	status401, ct401, body401, err := capture(ctx, url, bearer(bad))
	if err != nil || status401 != http.StatusUnauthorized {
		return errorsOr(err, fmt.Sprintf("fetch with a wrong key: status %d, want 401", status401))
	}
	e.logf("captured keyhold's fetch response: %d bytes of %s (value %d bytes); 401 response: %d bytes", len(body), ct, len(e.target), len(body401))

	spec := bareSpec{Key: e.bobKey, ContentType: ct, Body: body, UnauthorizedContentType: ct401, UnauthorizedBody: body401}
	bare, err := e.startBare(ctx, spec)
	if err != nil {
		return err
	}
	defer bare.stop()
	for _, c := range []struct {
		h      http.Header
		status int
		want   []byte
	}{{bearer(e.bobKey), http.StatusOK, body}, {bearer(bad), http.StatusUnauthorized, body401}} {
		st, _, b, err := capture(ctx, e.fetchURL(bare.base), c.h)
		if err != nil || st != c.status || !bytes.Equal(b, c.want) {
			return errorsOr(err, fmt.Sprintf("the bare server answered %d with %d bytes, not keyhold's %d with %d bytes", st, len(b), c.status, len(c.want)))
		}
	}

	servers := []target{{"bare", []string{bare.base}, []int{bare.pid}}}
	if e.cfg.Only["fetch"] || e.cfg.Only["401"] {
		servers = append(servers, target{"keyhold", []string{e.kh.base}, []int{e.kh.pid}})
	}
	if e.cfg.Only["fetch-2"] {
		b, err := e.startSecond(ctx)
		if err != nil {
			return err
		}
		defer e.stopSecond()
		st, _, bb, err := capture(ctx, e.fetchURL(b.base), bearer(e.bobKey))
		if err != nil || st != http.StatusOK || len(bb) != len(body) {
			return errorsOr(err, fmt.Sprintf("instance B answered the fetch with %d and %d bytes, not 200 with instance A's %d", st, len(bb), len(body)))
		}
		e.logf("instance B at %s answers the fetch as A does", b.base)
		servers = append(servers, target{twoInstances, []string{e.kh.base, b.base}, []int{e.kh.pid, b.pid}})
	}
	// On PostgreSQL, every read's audit event must be committed before its value is returned: checked
	// one fetch at a time before the runs, and by count after them.
	var audit *pgx.Conn
	var probed int
	var reads0 int64
	if e.pg != nil {
		if audit, err = pgx.Connect(ctx, e.pg.url); err != nil {
			return fmt.Errorf("connect to the run's database: %w", err)
		}
		defer audit.Close(context.Background())
		bases := servers[len(servers)-1].bases // instance A, and B when it runs
		if probed, err = e.auditProbe(ctx, audit, bases, got.Secrets[0].SecretID); err != nil {
			return err
		}
		if reads0, err = countReads(ctx, audit, got.Secrets[0].SecretID); err != nil {
			return err
		}
	}
	answered := 0 // fetches keyhold answered with the value, in every run
	exited := func() error {
		for _, p := range []*proc{e.kh, e.kh2} {
			if p != nil && p.exited() {
				return fmt.Errorf("keyhold exited: %s", p.tail())
			}
		}
		return nil
	}
	type key struct {
		measure string
		clients int
		server  string
	}
	stats := map[key]*runStats{}
	drive := func(round int, measure string, clients int, h http.Header, status, bodyLen int) error {
		for _, s := range servers {
			if s.name == "keyhold" && measure == "fetch" && !e.cfg.Only["fetch"] || s.name == twoInstances && measure != "fetch" {
				continue
			}
			spec := loadSpec{URL: e.fetchURL(s.bases[0]), Header: h, Status: status, BodyLen: bodyLen, Clients: clients,
				Warmup: e.cfg.Warmup, Duration: e.cfg.Duration, ServerPID: s.pids[0], OtherPIDs: s.pids[1:]}
			if len(s.bases) > 1 {
				for _, b := range s.bases {
					spec.URLs = append(spec.URLs, e.fetchURL(b))
				}
			}
			if s.name != "bare" {
				spec.DBPID = e.dbPID()
			}
			r, err := runLoad(ctx, spec)
			if err != nil {
				return err
			}
			if err := exited(); err != nil {
				return fmt.Errorf("during the %s run: %w", measure, err)
			}
			e.res.add(loadRecord(measure, s.name, round, spec, r))
			if s.name != "bare" && measure == "fetch" {
				answered += r.Answered
			}
			k := key{measure, clients, s.name}
			if stats[k] == nil {
				stats[k] = &runStats{}
			}
			stats[k].add(r)
			if e.cfg.Verbose || r.Errors > 0 {
				dbCPU := ""
				if c := dbCPUPerReq(r); c > 0 {
					dbCPU = fmt.Sprintf(" + PostgreSQL %.0f µs/req", c)
				}
				e.logf("round %d %-6s c=%-3d %-9s %8.0f req/s  p50 %s  p99 %s  p99.9 %s  errors %d  dials %d  CPU %.0f µs/req%s  load %.1f %s", round, measure, clients, s.name,
					r.RPS, fmtMS(ms(r.P50)), fmtMS(ms(r.P99)), fmtMS(ms(r.P999)), r.Errors+r.WarmupErrors, r.Dials, cpuPerReq(r), dbCPU, r.LoadAvg, r.FirstError)
			}
		}
		return nil
	}
	fetchRuns := e.cfg.Only["fetch"] || e.cfg.Only["fetch-2"]
	for round := 1; round <= e.cfg.Rounds; round++ {
		if fetchRuns {
			for _, c := range e.cfg.Concurrency {
				if err := drive(round, "fetch", c, bearer(e.bobKey), http.StatusOK, len(body)); err != nil {
					return err
				}
			}
		}
		if e.cfg.Only["401"] {
			if err := drive(round, "401", e.cfg.Concurrency401, bearer(bad), http.StatusUnauthorized, len(body401)); err != nil {
				return err
			}
		}
		e.logf("round %d of %d done", round, e.cfg.Rounds)
	}

	// Medians over rounds, and the checks.
	pg := e.pg != nil
	errKeyhold, errBare := 0, 0
	first := ""
	var measures []key
	if fetchRuns {
		for _, c := range e.cfg.Concurrency {
			measures = append(measures, key{"fetch", c, ""})
		}
	}
	if e.cfg.Only["401"] {
		measures = append(measures, key{"401", e.cfg.Concurrency401, ""})
	}
	for _, m := range measures {
		b := stats[key{m.measure, m.clients, "bare"}]
		br := median(b.rps)
		errBare += b.errors
		if first == "" {
			first = b.firstError
		}
		e.res.addLoadRow(e.loadRow(m.measure, m.clients, "bare", b, nil))
		for _, server := range []string{"keyhold", twoInstances} {
			k := stats[key{m.measure, m.clients, server}]
			if k == nil {
				continue
			}
			kr := median(k.rps)
			ratio := ratioOf(kr, br)
			e.res.addLoadRow(e.loadRow(m.measure, m.clients, server, k, ratio))
			errKeyhold += k.errors
			if first == "" {
				first = k.firstError
			}
			if pg {
				e.pgFetchChecks(m.measure, m.clients, server, k, b, ratio)
			} else {
				e.fetchChecks(m.measure, m.clients, k, b, ratio)
			}
		}
	}
	e.res.addCheck(check{Measure: "errors (fetch and 401 runs, all rounds)", Keyhold: fmt.Sprint(errKeyhold), Bare: fmt.Sprint(errBare),
		Budget: first, Must: "0", Pass: errKeyhold == 0 && errBare == 0})
	if audit != nil {
		reads1, err := countReads(ctx, audit, got.Secrets[0].SecretID)
		if err != nil {
			return err
		}
		who := "instance A"
		if len(servers[len(servers)-1].bases) > 1 {
			who = "instances A and B in turn"
		}
		e.res.addCheck(check{Measure: "read event in PostgreSQL before the answer (fetches one at a time)", Keyhold: fmt.Sprintf("%d of %d", probed, auditProbes),
			Budget: who, Must: "all", Pass: probed == auditProbes})
		audited := reads1 - reads0
		if fetchRuns {
			e.res.addCheck(check{Measure: "read events in PostgreSQL vs values answered (fetch runs)", Keyhold: fmt.Sprintf("%d events", audited),
				Budget: fmt.Sprintf("%d answers", answered), Must: "events ≥ answers", Pass: answered > 0 && audited >= int64(answered)})
		}
		e.logf("audit: %d of %d probe fetches found their event committed before the answer; %d read events for %d answers in the fetch runs",
			probed, auditProbes, audited, answered)
	}
	return nil
}

// loadRow is the row of the load table of one server's runs of one measure.
func (e *env) loadRow(measure string, clients int, server string, st *runStats, ratio *float64) loadRow {
	return loadRow{Measure: measure, Clients: clients, Server: server, Rounds: len(st.rps), RPS: median(st.rps),
		P50: median(st.p50), P99: median(st.p99), P999: median(st.p999), Errors: st.errors,
		CPUus: median(st.cpu), DBCPUus: median(st.dbcpu), LoadAvg: st.loadAvg, Ratio: ratio}
}

// fetchChecks are the checks of one measure on SQLite.
func (e *env) fetchChecks(measure string, clients int, k, b *runStats, ratio *float64) {
	kr, br := median(k.rps), median(b.rps)
	name := fmt.Sprintf("SDK fetch by name, c=%d, req/s", clients)
	must := 0.30
	if clients == 1 {
		must = 0.50
	}
	if measure == "401" {
		name = fmt.Sprintf("wrong key (401), c=%d, req/s", clients)
		must = 0.30
	}
	e.res.addCheck(check{Measure: name, Keyhold: fmtRPSCPU(kr, median(k.cpu)), Bare: fmtRPSCPU(br, median(b.cpu)), Ratio: ratio,
		Must: fmt.Sprintf("≥ %.0f %% of bare", must*100), Pass: ratio != nil && *ratio >= must})
	if measure == "fetch" && clients == 1 {
		kp50, kp99 := median(k.p50), median(k.p99)
		e.res.addCheck(check{Measure: "SDK fetch, c=1, p50", Keyhold: fmtMS(kp50), Bare: fmtMS(median(b.p50)), Budget: "budget 0.25 ms",
			Must: "≤ 0.25 ms", Pass: kp50 > 0 && kp50 <= 0.25})
		e.res.addCheck(check{Measure: "SDK fetch, c=1, p99", Keyhold: fmtMS(kp99), Bare: fmtMS(median(b.p99)), Budget: "budget 1 ms",
			Must: "≤ 1 ms", Pass: kp99 > 0 && kp99 <= 1})
	}
	if measure == "fetch" && clients == 64 {
		kp99, bp99 := median(k.p99), median(b.p99)
		r := ratioOf(kp99, bp99)
		e.res.addCheck(check{Measure: "SDK fetch, c=64, p99", Keyhold: fmtMS(kp99), Bare: fmtMS(bp99), Ratio: r, Times: true,
			Must: "≤ 3× bare's p99", Pass: r != nil && *r <= 3})
	}
}

// pgFetchChecks are the checks of one measure of one server (an instance, or two) on PostgreSQL. The
// one must is one instance's c=64 rate (pgFetchMust; pgFetchGoal is shown beside it); the other
// rates and latencies are shown for the README, as info: the SQLite budgets (a c=1 p50 of 0.25 ms)
// cannot hold where each read waits for a commit to disk.
func (e *env) pgFetchChecks(measure string, clients int, server string, k, b *runStats, ratio *float64) {
	kr, br := median(k.rps), median(b.rps)
	cpu := fmtRPSCPU(kr, median(k.cpu))
	if d := median(k.dbcpu); d > 0 {
		cpu = fmt.Sprintf("%.0f req/s (%.0f+%.0f µs CPU/req)", kr, median(k.cpu), d)
	}
	who := "one instance"
	if server == twoInstances {
		who = "two instances"
	}
	if measure == "401" {
		e.res.addCheck(check{Measure: fmt.Sprintf("wrong key (401), %s, c=%d, req/s", who, clients), Keyhold: cpu, Bare: fmtRPSCPU(br, median(b.cpu)),
			Ratio: ratio, Info: true})
		return
	}
	c := check{Measure: fmt.Sprintf("SDK fetch by name, %s, c=%d, req/s", who, clients), Keyhold: cpu, Bare: fmtRPSCPU(br, median(b.cpu)),
		Ratio: ratio, Info: true}
	if server == "keyhold" && clients == pgFetchMustClients {
		c.Info = false
		c.Must = fmt.Sprintf("≥ %.0f %% of bare (goal %.0f %%)", pgFetchMust*100, pgFetchGoal*100)
		c.Pass = ratio != nil && *ratio >= pgFetchMust
	}
	e.res.addCheck(c)
	if server == "keyhold" && clients == pgFetchMustClients {
		met := "not met"
		if ratio != nil && *ratio >= pgFetchGoal {
			met = "met"
		}
		e.res.addCheck(check{Measure: fmt.Sprintf("  goal: c=%d ≥ %.0f %% of bare", clients, pgFetchGoal*100), Keyhold: met, Ratio: ratio, Info: true})
	}
	if clients == 1 || clients == pgFetchMustClients {
		e.res.addCheck(check{Measure: fmt.Sprintf("SDK fetch, %s, c=%d, p50 / p99", who, clients),
			Keyhold: fmtMS(median(k.p50)) + " / " + fmtMS(median(k.p99)), Bare: fmtMS(median(b.p50)) + " / " + fmtMS(median(b.p99)),
			Ratio: ratioOf(median(k.p99), median(b.p99)), Times: true, Info: true})
	}
}

// startBare writes spec and starts the bare server as a child process: this same program with the
// "bare" subcommand (a test binary finds it through childEnv).
func (e *env) startBare(ctx context.Context, spec bareSpec) (*proc, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	specFile := filepath.Join(e.tmp, "bare-spec.json")
	if err := os.WriteFile(specFile, raw, 0o600); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p, err := startProc(e.kids, "bare", self, []string{"bare", "--addr", addr, "--spec", specFile},
		[]string{childEnv + "=bare"}, addr, filepath.Join(e.tmp, "bare.log"))
	if err != nil {
		return nil, err
	}
	if _, err := p.waitHealthy(ctx, time.Now(), "/healthz", 20*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}
