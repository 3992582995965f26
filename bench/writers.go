package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// writersPhase runs --writers API writers (a create, then updates of the writer's newest secret, a new
// secret every fourth write) for --writer-duration while 16 SDK clients fetch, and compares that fetch
// rate with a solo fetch run of the same length just before.
func (e *env) writersPhase(ctx context.Context) error {
	const fetchClients = 16
	fetch := loadSpec{URL: e.fetchURL(e.kh.base), Header: bearer(e.bobKey), Status: http.StatusOK, BodyLen: -1, Clients: fetchClients,
		Warmup: e.cfg.Warmup, Duration: e.cfg.WriterDuration, ServerPID: e.kh.pid}
	solo, err := runLoad(ctx, fetch)
	if err != nil {
		return err
	}
	e.res.add(loadRecord("fetch_solo", "keyhold", 0, fetch, solo))
	e.logf("solo fetch c=%d: %.0f req/s, p99 %s", fetchClients, solo.RPS, fmtMS(ms(solo.P99)))

	start := time.Now()
	t0 := start.Add(e.cfg.Warmup)
	t1 := t0.Add(e.cfg.WriterDuration)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		commits  atomic.Int64
		werrs    atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
		firstErr string
	)
	for w := range e.cfg.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1, DisableCompression: true}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
			r := rand.New(rand.NewPCG(e.seed, uint64(1000+w)))
			// The values, JSON-quoted, are made before the phase and used in turn, and the header
			// and read buffer are reused, so that the generator spends its CPU on requests, not on
			// making them: it shares the two cores with keyhold.
			var values [][]byte
			var stems []string
			for range 32 {
				kind := secretKinds[r.IntN(len(secretKinds))]
				q, _ := json.Marshal(kind.value(r))
				values = append(values, q)
				stems = append(stems, kind.stem)
			}
			header := bearer(e.adaKey)
			buf := make([]byte, 0, 4<<10)
			var respBuf bytes.Buffer
			var mine []string // IDs of this writer's secrets
			var local []time.Duration
			for i := 0; ; i++ {
				begin := time.Now()
				if !begin.Before(t1) || wctx.Err() != nil {
					break
				}
				value := values[i%len(values)]
				var req *http.Request
				create := len(mine) == 0 || i%4 == 0
				if create {
					buf = fmt.Appendf(buf[:0], `{"name":"WRITER_%02d_%s_%06d","value":%s}`, w, stems[i%len(stems)], i, value)
					req, _ = http.NewRequestWithContext(wctx, http.MethodPost, e.kh.base+"/v1/secrets", bytes.NewReader(buf))
				} else {
					buf = fmt.Appendf(buf[:0], `{"value":%s}`, value)
					req, _ = http.NewRequestWithContext(wctx, http.MethodPatch, e.kh.base+"/v1/secrets/"+mine[len(mine)-1], bytes.NewReader(buf))
				}
				req.Header = header
				problem := ""
				resp, err := client.Do(req)
				var sec apiSecret
				if err != nil {
					problem = err.Error()
				} else {
					raw, rerr := readAllInto(resp.Body, &respBuf)
					resp.Body.Close()
					switch {
					case rerr != nil:
						problem = rerr.Error()
					case resp.StatusCode != http.StatusOK:
						problem = fmt.Sprintf("%s: status %d: %.200s", req.Method, resp.StatusCode, raw)
					case create:
						if err := json.Unmarshal(raw, &sec); err != nil || sec.SecretID == "" {
							problem = fmt.Sprintf("create answered %.200s", raw)
						} else {
							mine = append(mine, sec.SecretID)
						}
					}
				}
				end := time.Now()
				if wctx.Err() != nil {
					break
				}
				if begin.Before(t0) || end.After(t1) {
					continue
				}
				if problem != "" {
					werrs.Add(1)
					mu.Lock()
					if firstErr == "" {
						firstErr = problem
					}
					mu.Unlock()
					continue
				}
				commits.Add(1)
				local = append(local, end.Sub(begin))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}()
	}
	busy, err := runLoad(ctx, fetch)
	wg.Wait()
	if err != nil {
		return err
	}
	if e.kh.exited() {
		return fmt.Errorf("keyhold exited during the writer phase: %s", e.kh.tail())
	}
	e.res.add(loadRecord("fetch_during_writes", "keyhold", 0, fetch, busy))
	var wr loadResult
	fillLatency(&wr, lat)
	n := int(commits.Load())
	rate := float64(n) / e.cfg.WriterDuration.Seconds()
	nerr := int(werrs.Load())
	e.res.add(Record{Kind: "writers", Measure: "writers", Server: "keyhold", Concurrency: e.cfg.Writers, DurationS: e.cfg.WriterDuration.Seconds(),
		Requests: n + nerr, Errors: nerr, FirstError: firstErr, Commits: n, CommitsPerSec: rate,
		P50ms: ms(wr.P50), P99ms: ms(wr.P99), P999ms: ms(wr.P999), MaxMs: ms(wr.Max), MeanMs: ms(wr.Mean)})
	e.logf("%d writers: %.0f commits/s (p50 %s, p99 %s), %d errors %s; fetch c=%d meanwhile %.0f req/s (p99 %s)", e.cfg.Writers, rate,
		fmtMS(ms(wr.P50)), fmtMS(ms(wr.P99)), nerr, firstErr, fetchClients, busy.RPS, fmtMS(ms(busy.P99)))

	e.res.addCheck(check{Measure: fmt.Sprintf("%d writers for %s, commits/s", e.cfg.Writers, e.cfg.WriterDuration),
		Keyhold: fmt.Sprintf("%.0f/s (p99 %s)", rate, fmtMS(ms(wr.P99))), Budget: "budget 500/s", Must: "≥ 500 commits/s", Pass: rate >= 500})
	fetchErrs := busy.Errors + busy.WarmupErrors + solo.Errors + solo.WarmupErrors
	e.res.addCheck(check{Measure: "writer phase errors (writes; fetches)", Keyhold: fmt.Sprintf("%d; %d", nerr, fetchErrs),
		Budget: firstErr + busy.FirstError + solo.FirstError, Must: "0", Pass: nerr == 0 && fetchErrs == 0})
	r := ratioOf(busy.RPS, solo.RPS)
	e.res.addCheck(check{Measure: fmt.Sprintf("SDK fetch c=%d while writing vs solo", fetchClients),
		Keyhold: fmtRPS(busy.RPS), Bare: "solo " + fmtRPS(solo.RPS), Ratio: r, Must: "≥ 70 % of solo", Pass: r != nil && *r >= 0.70})
	return nil
}

// readAllInto reads r into b, reused between calls, and returns its bytes (valid until the next call).
func readAllInto(r io.Reader, b *bytes.Buffer) ([]byte, error) {
	b.Reset()
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}
