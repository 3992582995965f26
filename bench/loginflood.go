package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loginFloodWorkers are the closed-loop attackers of the login-flood phase, each from its own address.
const loginFloodWorkers = 200

// loginFloodClients are the fetch concurrencies measured idle and during the flood: c=16 is the
// suite's representative load (its idle p50 is the trust issue's 1.3 ms) and carries the must; c=1,
// a lone SDK client, is shown beside it.
var loginFloodClients = []int{1, 16}

// loginFloodMustClients is the concurrency whose p50 the must compares.
const loginFloodMustClients = 16

// loginFloodDrain bounds the wait, once the flood stops, for the sign-ins still in flight to be
// answered. Those still waiting after it are cancelled, and keyhold, which would go on working on
// them (and would not stop on SIGTERM before it had answered them), is killed.
const loginFloodDrain = 10 * time.Second

// loginFloodRSSBudget is the RSS growth the flood may cause.
const loginFloodRSSBudget = 150_000_000

// loginFloodPhase measures the SDK fetch by name and keyhold's RSS while 200 failed sign-ins are
// always in flight. Each round starts a fresh keyhold on the seeded data and measures fetch at c=1 and
// c=16 idle (--warmup, then --duration); then 200 workers, each from its own loopback address, sign
// in over and over with a fresh unknown email and a wrong password as a browser does (GET /login,
// POST /login); after --warmup of flood, fetch is measured at c=1 and c=16 again for --duration each,
// while keyhold's RSS is sampled every 5 ms; then the flood stops and the sign-ins in flight are
// answered, for up to loginFloodDrain.
//
// Every fetch that starts in a window is timed until it is answered, however late: under the flood
// answers can take longer than the window. The flood runs have no warm-up of their own, so that the
// fetches timed are all those that start while the flood goes on. keyhold is stopped at the end of
// each round (killed when sign-ins were left unanswered), so that nothing of a flood reaches the next
// round or phase.
func (e *env) loginFloodPhase(ctx context.Context) error {
	defer e.stopKeyhold()
	type key struct {
		flood   bool
		clients int
	}
	stats := map[key]*runStats{}
	emptyRuns := 0 // flood runs in which no fetch was answered
	var (
		growth, idleRSS, peakRSS int64
		rates, allRates          []float64
		cancelled                int
		statuses                 = map[int]int{}
		retryAfter               int
		signInFirstErr, note     string
	)
	for round := 1; round <= max(e.cfg.Rounds, 1); round++ {
		if err := e.restartKeyhold(ctx); err != nil {
			return err
		}
		fetchURL := e.fetchURL(e.kh.base)
		status, _, body, err := capture(ctx, fetchURL, bearer(e.bobKey))
		if err != nil || status != http.StatusOK {
			return errorsOr(err, fmt.Sprintf("fetch %s as %s: status %d", targetName, bobEmail, status))
		}
		measure := func(flood bool, clients int) error {
			spec := loadSpec{URL: fetchURL, Header: bearer(e.bobKey), Status: http.StatusOK, BodyLen: len(body), Clients: clients,
				Warmup: e.cfg.Warmup, Duration: e.cfg.Duration, ServerPID: e.kh.pid, Finish: true}
			if flood {
				spec.Warmup = 0
			}
			r, err := runLoad(ctx, spec)
			if err != nil {
				return err
			}
			if e.kh.exited() {
				return fmt.Errorf("keyhold exited during the login-flood phase: %s", e.kh.tail())
			}
			name, label := "login_flood_idle", "idle"
			if flood {
				name, label = "login_flood_fetch", "flood"
				if r.Requests == r.Errors {
					emptyRuns++
				}
			}
			e.res.add(loadRecord(name, "keyhold", round, spec, r))
			k := key{flood, clients}
			if stats[k] == nil {
				stats[k] = &runStats{}
			}
			stats[k].add(r)
			e.logf("round %d %-5s fetch c=%-2d %7.0f req/s  p50 %s  p99 %s  max %s  errors %d %s", round, label, clients,
				r.RPS, fmtMS(ms(r.P50)), fmtMS(ms(r.P99)), fmtMS(ms(r.Max)), r.Errors+r.WarmupErrors, r.FirstError)
			return nil
		}
		for _, c := range loginFloodClients {
			if err := measure(false, c); err != nil {
				return err
			}
		}

		mem, err := watchMem(e.kh.pid)
		if err != nil {
			return err
		}
		fl := startLoginFlood(ctx, e.kh.base, round, loginFloodWorkers)
		e.logf("round %d: flood of %d failed sign-ins started; %s", round, loginFloodWorkers, fl.note)
		err = sleepCtx(ctx, e.cfg.Warmup)
		for _, c := range loginFloodClients {
			if err != nil {
				break
			}
			err = measure(true, c)
		}
		fr := fl.finish()
		peak, samples, after, merr := mem.finish()
		if err != nil {
			if fr.cancelled > 0 {
				e.killKeyhold(round, fr.cancelled)
			}
			return err
		}
		if merr != nil {
			return merr
		}
		before, reset := mem.before, mem.reset
		g := peak - before.RSS
		rate := float64(fr.inWindow) / fr.flood.Seconds()
		allRate := float64(fr.answered()) / (fr.flood + fr.drain).Seconds()
		rec := Record{Kind: "login_flood", Measure: "failed sign-ins", Server: "keyhold", Round: round, Concurrency: loginFloodWorkers,
			DurationS: fr.flood.Seconds(), Requests: fr.answered(), Errors: fr.statuses[0], FirstError: fr.firstErr, RPS: rate,
			BaselineRSS: before.RSS, PeakRSS: peak, GrowthBytes: g, HWMBefore: before.HWM, HWMAfter: after.HWM, PeakReset: reset,
			Samples: samples, Dials: fr.dials, Statuses: map[string]int{}, Meta: map[string]string{"sources": fr.note,
				"retry_after": strconv.Itoa(fr.retryAfter), "answered_in_flood": strconv.Itoa(fr.inWindow), "drain_ms": fmt.Sprintf("%.0f", ms(fr.drain)),
				"cancelled_after_drain": strconv.Itoa(fr.cancelled), "answered_per_s_with_drain": fmt.Sprintf("%.1f", allRate)}}
		for st, n := range fr.statuses {
			rec.Statuses[strconv.Itoa(st)] = n
		}
		e.res.add(rec)
		e.logf("round %d: %d sign-ins answered in %s of flood (%.1f/s), %d more in the %s drain (%.1f/s overall), %d cancelled; %s; %d with Retry-After; %d dials; RSS %s → peak %s (+%s, VmHWM reset %v, %d samples)",
			round, fr.inWindow, fr.flood.Round(time.Millisecond), rate, fr.answered()-fr.inWindow, fr.drain.Round(time.Millisecond), allRate,
			fr.cancelled, fmtAnswers(fr.statuses), fr.retryAfter, fr.dials, fmtMB(before.RSS), fmtMB(peak), fmtMB(g), reset, samples)

		if g >= growth {
			growth, idleRSS, peakRSS = g, before.RSS, peak
		}
		rates, allRates = append(rates, rate), append(allRates, allRate)
		cancelled += fr.cancelled
		for st, n := range fr.statuses {
			statuses[st] += n
		}
		retryAfter += fr.retryAfter
		if signInFirstErr == "" {
			signInFirstErr = fr.firstErr
		}
		note = fr.note
		if e.kh.exited() {
			return fmt.Errorf("keyhold exited during the login flood: %s", e.kh.tail())
		}
		// keyhold goes on with the sign-ins whose clients gave up, and would not stop on SIGTERM before
		// it had answered them.
		if fr.cancelled > 0 {
			e.killKeyhold(round, fr.cancelled)
		} else if err := e.stopKeyhold(); err != nil {
			return err
		}
	}

	// Medians over rounds, and the checks.
	rounds := max(e.cfg.Rounds, 1)
	floodErrs, idleErrs, first := 0, 0, ""
	for _, c := range loginFloodClients {
		idle, flood := stats[key{false, c}], stats[key{true, c}]
		for _, s := range []struct {
			name string
			st   *runStats
		}{{"fetch idle", idle}, {"fetch, login flood", flood}} {
			e.res.addLoadRow(loadRow{Measure: s.name, Clients: c, Server: "keyhold", Rounds: len(s.st.rps), RPS: median(s.st.rps),
				P50: median(s.st.p50), P99: median(s.st.p99), P999: median(s.st.p999), Errors: s.st.errors, CPUus: median(s.st.cpu), LoadAvg: s.st.loadAvg})
		}
		floodErrs += flood.errors
		idleErrs += idle.errors
		if first == "" {
			first = flood.firstError + idle.firstError
		}
		ip50, fp50 := median(idle.p50), median(flood.p50)
		r := ratioOf(fp50, ip50)
		ok := r != nil && fp50 > 0 && emptyRuns == 0 && *r <= 5
		got := fmt.Sprintf("%s (p99 %s)", fmtMS(fp50), fmtMS(median(flood.p99)))
		if fp50 == 0 {
			got = "no fetch answered"
		}
		ch := check{Measure: fmt.Sprintf("fetch p50 during a flood of %d failed sign-ins, c=%d (median of %d)", loginFloodWorkers, c, rounds),
			Keyhold: got, Bare: fmt.Sprintf("idle %s (p99 %s)", fmtMS(ip50), fmtMS(median(idle.p99))),
			Ratio: r, Times: true, Must: "≤ 5× idle p50", Pass: ok}
		if c != loginFloodMustClients {
			ch.Must, ch.Info = "", true
		}
		e.res.addCheck(ch)
	}
	if emptyRuns > 0 {
		first = fmt.Sprintf("%d flood runs answered no fetch; %s", emptyRuns, first)
	}
	e.res.addCheck(check{Measure: "fetch errors during the flood", Keyhold: fmt.Sprintf("%d (idle %d)", floodErrs, idleErrs), Budget: first,
		Must: "0", Pass: floodErrs == 0 && idleErrs == 0 && emptyRuns == 0})
	e.res.addCheck(check{Measure: fmt.Sprintf("keyhold RSS growth during the flood (worst of %d)", rounds),
		Keyhold: fmt.Sprintf("+%s (idle %s, peak %s)", fmtMB(growth), fmtMB(idleRSS), fmtMB(peakRSS)), Budget: "budget " + fmtMB(loginFloodRSSBudget),
		Must: "< " + fmtMB(loginFloodRSSBudget), Pass: growth < loginFloodRSSBudget})
	e.res.addCheck(check{Measure: fmt.Sprintf("sign-in answers during the flood (%d rounds, with the drain)", rounds), Keyhold: fmtAnswers(statuses),
		Budget: fmt.Sprintf("%d with Retry-After, %d unanswered after the drain; %s", retryAfter, cancelled, dash(signInFirstErr)), Info: true})
	e.res.addCheck(check{Measure: fmt.Sprintf("failed sign-ins answered per second (median of %d)", rounds),
		Keyhold: fmt.Sprintf("%.1f/s in the flood, %.1f/s with the drain", median(rates), median(allRates)), Budget: note, Info: true})
	return nil
}

// killKeyhold kills the running keyhold without waiting for the requests it is working on.
func (e *env) killKeyhold(round, unanswered int) {
	if e.kh == nil {
		return
	}
	e.logf("round %d: keyhold is still working on %d sign-ins: killing it", round, unanswered)
	e.kh.kill()
	e.kh = nil
}

// fmtAnswers shows sign-in answers by status: "401: 812, 429: 0, 503: 0, other: 3 (403: 3)".
func fmtAnswers(m map[int]int) string {
	var others []string
	n := 0
	for _, st := range slices.Sorted(maps.Keys(m)) {
		switch st {
		case http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusServiceUnavailable:
			continue
		}
		n += m[st]
		name := strconv.Itoa(st)
		if st == 0 {
			name = "transport error"
		}
		others = append(others, fmt.Sprintf("%s: %d", name, m[st]))
	}
	s := fmt.Sprintf("401: %d, 429: %d, 503: %d, other: %d", m[http.StatusUnauthorized], m[http.StatusTooManyRequests], m[http.StatusServiceUnavailable], n)
	if len(others) > 0 {
		s += " (" + strings.Join(others, ", ") + ")"
	}
	return s
}

// loginFlood is a running flood of failed sign-ins.
type loginFlood struct {
	stop   chan struct{} // closed: start no new attempt
	cancel context.CancelFunc
	wg     sync.WaitGroup
	outs   []floodOut
	began  time.Time
	note   string // where the workers sign in from
	dials  atomic.Int64
}

// floodOut is what one worker saw.
type floodOut struct {
	statuses   map[int]int // by the final status of each attempt; 0 for a transport error
	inWindow   int         // attempts answered before the flood stopped
	retryAfter int
	cancelled  int // attempts still unanswered after the drain
	firstErr   string
}

// floodResult is a flood's answers, summed over its workers.
type floodResult struct {
	statuses   map[int]int
	inWindow   int
	retryAfter int
	cancelled  int
	firstErr   string
	dials      int64
	flood      time.Duration // from the start to the stop
	drain      time.Duration // from the stop until every worker had its last answer
	note       string
}

func (r floodResult) answered() int {
	n := 0
	for _, v := range r.statuses {
		n += v
	}
	return n
}

// startLoginFlood starts workers that sign in to base with unknown emails and wrong passwords until
// finish is called, each over one keep-alive connection from its own loopback address
// (floodSources). Where such an address cannot be bound, every worker dials from the default address
// and the note says so.
func startLoginFlood(ctx context.Context, base string, round, workers int) *loginFlood {
	ctx, cancel := context.WithCancel(ctx)
	fl := &loginFlood{stop: make(chan struct{}), cancel: cancel, outs: make([]floodOut, workers), began: time.Now()}
	sources := floodSources(round, workers)
	u, _ := url.Parse(base)
	if err := probeSource(ctx, sources[0], u.Host); err != nil {
		fl.note = fmt.Sprintf("NOTE: cannot bind a loopback source address (%v): all %d workers sign in from the default address, so keyhold's per-address throttle shields it and the numbers are not comparable with Linux runs", err, workers)
		sources = nil
	} else {
		fl.note = fmt.Sprintf("%d workers from %d addresses %s–%s", workers, workers, sources[0], sources[workers-1])
	}
	for w := range workers {
		var src net.IP
		if sources != nil {
			src = sources[w]
		}
		client := floodClient(src, &fl.dials)
		fl.wg.Add(1)
		go func(o *floodOut) {
			defer fl.wg.Done()
			defer client.CloseIdleConnections()
			o.statuses = map[int]int{}
			for i := 0; ; i++ {
				select {
				case <-fl.stop:
					return
				default:
				}
				email := fmt.Sprintf("flood-r%d-w%03d-%06d@example.com", round, w, i)
				st, ra, err := signInAttempt(ctx, client, base, email, "not the password "+strconv.Itoa(i))
				if ctx.Err() != nil {
					o.cancelled++ // unanswered when the drain ended
					return
				}
				o.statuses[st]++
				if err != nil && o.firstErr == "" {
					o.firstErr = oneLine(err)
				}
				if ra {
					o.retryAfter++
				}
				select {
				case <-fl.stop:
				default:
					o.inWindow++
				}
			}
		}(&fl.outs[w])
	}
	return fl
}

// finish stops the flood: no worker starts another attempt, the attempts in flight are answered (or,
// after loginFloodDrain, cancelled), and every connection is closed before it returns.
func (fl *loginFlood) finish() floodResult {
	stopped := time.Now()
	close(fl.stop)
	done := make(chan struct{})
	go func() { fl.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(loginFloodDrain):
		fl.cancel()
		<-done
	}
	fl.cancel()
	r := floodResult{statuses: map[int]int{}, dials: fl.dials.Load(), flood: stopped.Sub(fl.began), drain: time.Since(stopped), note: fl.note}
	for _, o := range fl.outs {
		for st, n := range o.statuses {
			r.statuses[st] += n
		}
		r.inWindow += o.inWindow
		r.retryAfter += o.retryAfter
		r.cancelled += o.cancelled
		if r.firstErr == "" {
			r.firstErr = o.firstErr
		}
	}
	return r
}

// floodClient is one attacker's browser: a cookie jar and one keep-alive connection from src (nil:
// the default address). It follows no redirect: a failed sign-in answers with the form.
func floodClient(src net.IP, dials *atomic.Int64) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Transport:     newTransport(src, 1, dials),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// probeSource connects to hostport from src once, to learn whether the system lets us bind it
// (Linux routes all of 127.0.0.0/8 to lo; other systems often have only 127.0.0.1).
func probeSource(ctx context.Context, src net.IP, hostport string) error {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: src}}
	c, err := d.DialContext(ctx, "tcp", hostport)
	if err != nil {
		return err
	}
	return c.Close()
}

// floodSources returns the source addresses of round's workers (rounds count from 1): distinct
// loopback addresses 127.a.b.c with a ≥ 1 (never 127.0.0.1, the fetch clients' address) and c in
// 1–254, none shared with another round, so that one round's failures do not throttle the next.
func floodSources(round, workers int) []net.IP {
	ips := make([]net.IP, workers)
	for i := range workers {
		k := (round-1)*workers + i
		host := k / 254
		ips[i] = net.IPv4(127, byte(1+host/256), byte(host%256), byte(1+k%254))
	}
	return ips
}

// signInAttempt is one failed sign-in as a browser makes it: GET /login for the form (the jar keeps
// the CSRF cookie, whatever its name), then POST /login with the form's _csrf field. It returns the
// POST's status, or the GET's when /login gave no form, and whether that answer carried Retry-After.
// A transport error, or a form without _csrf, is status 0 with the error.
func signInAttempt(ctx context.Context, client *http.Client, base, email, pw string) (int, bool, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/login", nil)
	resp, err := client.Do(req)
	if err != nil {
		return 0, false, err
	}
	page, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return 0, false, fmt.Errorf("GET /login: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, resp.Header.Get("Retry-After") != "", nil
	}
	token, ok := formField(page, "_csrf")
	if !ok {
		return 0, false, errors.New("GET /login: 200 without a _csrf field")
	}
	form := url.Values{"email": {email}, "password": {pw}, "_csrf": {token}, "next": {"/secrets"}}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = client.Do(req)
	if err != nil {
		return 0, false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, false, fmt.Errorf("POST /login: %w", err)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After") != "", nil
}

var (
	inputTag  = regexp.MustCompile(`(?i)<input\b(?:[^>"']|"[^"]*"|'[^']*')*>`)
	inputAttr = regexp.MustCompile(`(?i)([a-z_:][-a-z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+))`)
)

// formField returns the value of the first <input> named name in page, HTML-unescaped, whatever the
// order and quoting of its attributes.
func formField(page []byte, name string) (string, bool) {
	for _, tag := range inputTag.FindAll(page, -1) {
		var n, v string
		hasValue := false
		for _, a := range inputAttr.FindAllSubmatch(tag[len("<input"):], -1) {
			val := string(a[2]) + string(a[3]) + string(a[4]) // only one alternative matched
			switch strings.ToLower(string(a[1])) {
			case "name":
				n = html.UnescapeString(val)
			case "value":
				v, hasValue = html.UnescapeString(val), true
			}
		}
		if n == name {
			return v, hasValue
		}
	}
	return "", false
}

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
