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
)

// target is a server the load generator drives.
type target struct {
	name string // "bare" or "keyhold"
	base string
	pid  int
}

// runStats collects one measure's runs over the rounds, per server.
type runStats struct {
	rps, p50, p99, p999 []float64
	cpu                 []float64 // server CPU µs per request
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
	s.loadAvg = max(s.loadAvg, r.LoadAvg)
	s.errors += r.Errors + r.WarmupErrors
	if s.firstError == "" {
		s.firstError = r.FirstError
	}
}

// fetchPhase compares keyhold with the bare server on the SDK's fetch by name (200) and on a wrong key
// (401): bare, keyhold, bare, keyhold, … for each concurrency in each round.
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

	servers := []target{{"bare", bare.base, bare.pid}, {"keyhold", e.kh.base, e.kh.pid}}
	type key struct {
		measure string
		clients int
		server  string
	}
	stats := map[key]*runStats{}
	drive := func(round int, measure string, clients int, h http.Header, status, bodyLen int) error {
		for _, s := range servers {
			spec := loadSpec{URL: e.fetchURL(s.base), Header: h, Status: status, BodyLen: bodyLen, Clients: clients,
				Warmup: e.cfg.Warmup, Duration: e.cfg.Duration, ServerPID: s.pid}
			r, err := runLoad(ctx, spec)
			if err != nil {
				return err
			}
			if e.kh.exited() {
				return fmt.Errorf("keyhold exited during the %s run: %s", measure, e.kh.tail())
			}
			e.res.add(loadRecord(measure, s.name, round, spec, r))
			k := key{measure, clients, s.name}
			if stats[k] == nil {
				stats[k] = &runStats{}
			}
			stats[k].add(r)
			if e.cfg.Verbose || r.Errors > 0 {
				e.logf("round %d %-6s c=%-3d %-7s %8.0f req/s  p50 %s  p99 %s  p99.9 %s  errors %d  dials %d  CPU %.0f µs/req  load %.1f %s", round, measure, clients, s.name,
					r.RPS, fmtMS(ms(r.P50)), fmtMS(ms(r.P99)), fmtMS(ms(r.P999)), r.Errors+r.WarmupErrors, r.Dials, cpuPerReq(r), r.LoadAvg, r.FirstError)
			}
		}
		return nil
	}
	for round := 1; round <= e.cfg.Rounds; round++ {
		if e.cfg.Only["fetch"] {
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
	errKeyhold, errBare := 0, 0
	first := ""
	var measures []key
	if e.cfg.Only["fetch"] {
		for _, c := range e.cfg.Concurrency {
			measures = append(measures, key{"fetch", c, ""})
		}
	}
	if e.cfg.Only["401"] {
		measures = append(measures, key{"401", e.cfg.Concurrency401, ""})
	}
	for _, m := range measures {
		k, b := stats[key{m.measure, m.clients, "keyhold"}], stats[key{m.measure, m.clients, "bare"}]
		kr, br := median(k.rps), median(b.rps)
		ratio := ratioOf(kr, br)
		for _, s := range []struct {
			name string
			st   *runStats
		}{{"bare", b}, {"keyhold", k}} {
			row := loadRow{Measure: m.measure, Clients: m.clients, Server: s.name, Rounds: len(s.st.rps), RPS: median(s.st.rps),
				P50: median(s.st.p50), P99: median(s.st.p99), P999: median(s.st.p999), Errors: s.st.errors,
				CPUus: median(s.st.cpu), LoadAvg: s.st.loadAvg}
			if s.name == "keyhold" {
				row.Ratio = ratio
			}
			e.res.addLoadRow(row)
		}
		errKeyhold += k.errors
		errBare += b.errors
		if first == "" {
			first = k.firstError + b.firstError
		}
		name := fmt.Sprintf("SDK fetch by name, c=%d, req/s", m.clients)
		must := 0.30
		if m.clients == 1 {
			must = 0.50
		}
		if m.measure == "401" {
			name = fmt.Sprintf("wrong key (401), c=%d, req/s", m.clients)
			must = 0.30
		}
		e.res.addCheck(check{Measure: name, Keyhold: fmtRPSCPU(kr, median(k.cpu)), Bare: fmtRPSCPU(br, median(b.cpu)), Ratio: ratio,
			Must: fmt.Sprintf("≥ %.0f %% of bare", must*100), Pass: ratio != nil && *ratio >= must})
		if m.measure == "fetch" && m.clients == 1 {
			kp50, kp99 := median(k.p50), median(k.p99)
			e.res.addCheck(check{Measure: "SDK fetch, c=1, p50", Keyhold: fmtMS(kp50), Bare: fmtMS(median(b.p50)), Budget: "budget 0.25 ms",
				Must: "≤ 0.25 ms", Pass: kp50 > 0 && kp50 <= 0.25})
			e.res.addCheck(check{Measure: "SDK fetch, c=1, p99", Keyhold: fmtMS(kp99), Bare: fmtMS(median(b.p99)), Budget: "budget 1 ms",
				Must: "≤ 1 ms", Pass: kp99 > 0 && kp99 <= 1})
		}
		if m.measure == "fetch" && m.clients == 64 {
			kp99, bp99 := median(k.p99), median(b.p99)
			r := ratioOf(kp99, bp99)
			e.res.addCheck(check{Measure: "SDK fetch, c=64, p99", Keyhold: fmtMS(kp99), Bare: fmtMS(bp99), Ratio: r, Times: true,
				Must: "≤ 3× bare's p99", Pass: r != nil && *r <= 3})
		}
	}
	e.res.addCheck(check{Measure: "errors (fetch and 401 runs, all rounds)", Keyhold: fmt.Sprint(errKeyhold), Bare: fmt.Sprint(errBare),
		Budget: first, Must: "0", Pass: errKeyhold == 0 && errBare == 0})
	return nil
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
