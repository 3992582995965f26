package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// valueBytes is the largest legal value: 5 MiB.
const valueBytes = 5 << 20

// rssBudget is the largest RSS keyhold may reach with 8 large writes at once.
const rssBudget = 300_000_000

// bigValue returns n bytes of base64 text: a value that needs no JSON escaping.
func bigValue(n int) []byte {
	raw := make([]byte, n*3/4+3)
	rand.Read(raw)
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	out := make([]byte, n)
	for i := range out {
		out[i] = enc[raw[i%len(raw)]&63]
	}
	return out
}

// bodyReq is one large request: a JSON envelope around value, sent with its length or chunked.
type bodyReq struct {
	method, path string
	prefix       string
	value        io.Reader
	valueLen     int64
	suffix       string
	chunked      bool
}

func (b bodyReq) send(ctx context.Context, client *http.Client, base, key string) (int, error) {
	body := io.MultiReader(strings.NewReader(b.prefix), b.value, strings.NewReader(b.suffix))
	req, err := http.NewRequestWithContext(ctx, b.method, base+b.path, body)
	if err != nil {
		return 0, err
	}
	req.ContentLength = int64(len(b.prefix)) + b.valueLen + int64(len(b.suffix))
	if b.chunked {
		req.ContentLength = -1
	}
	req.Header = bearer(key)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// repeatReader is an endless stream of one byte.
type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// rssCase is one memory measure: requests sent at once, the status each must get, and the RSS growth
// that passes.
type rssCase struct {
	name    string
	payload int64 // the value (or body) size
	reqs    []bodyReq
	status  int
	maxGrow int64
	must    string
}

// rssPhase measures keyhold's resident memory around large writes, each measure in a fresh keyhold
// process on the seeded data: bodies that must be refused with 413 without being buffered, then 5 MiB
// creates and updates, one and eight at once.
func (e *env) rssPhase(ctx context.Context) error {
	// Secrets to update, with small values, created before the measured processes start.
	var targets []string
	for i := range 8 {
		var sec apiSecret
		if _, err := e.apiCall(ctx, e.kh.base, http.MethodPost, "/v1/secrets", e.adaKey,
			map[string]string{"name": fmt.Sprintf("RSS_UPDATE_%d_%d", e.starts, i), "value": "small"}, &sec); err != nil {
			return err
		}
		targets = append(targets, sec.SecretID)
	}
	if err := e.stopKeyhold(); err != nil {
		return err
	}
	value := bigValue(valueBytes + 1)
	create := func(name string, n int) bodyReq {
		return bodyReq{method: http.MethodPost, path: "/v1/secrets", prefix: `{"name":"` + name + `","value":"`,
			value: bytes.NewReader(value[:n]), valueLen: int64(n), suffix: `"}`}
	}
	update := func(id string) bodyReq {
		return bodyReq{method: http.MethodPatch, path: "/v1/secrets/" + id, prefix: `{"value":"`,
			value: bytes.NewReader(value[:valueBytes]), valueLen: valueBytes, suffix: `"}`}
	}
	const big = 40_000_000
	huge := func(chunked bool) bodyReq {
		return bodyReq{method: http.MethodPost, path: "/v1/secrets", prefix: `{"name":"RSS_HUGE","value":"`,
			value: io.LimitReader(repeatReader('a'), big), valueLen: big, suffix: `"}`, chunked: chunked}
	}
	tag := time.Now().Format("150405")
	measures := []rssCase{
		// A value one byte over the limit is known to be too large only once the limit has been
		// crossed, so keyhold holds up to the limit (the 5 MiB it would store); what it must not do is
		// buffer the body or copy it.
		{"5 MiB + 1 value, → 413", valueBytes + 1, []bodyReq{create("RSS_TOO_BIG_"+tag, valueBytes+1)}, http.StatusRequestEntityTooLarge,
			valueBytes * 3 / 2, "413 at the limit, RSS growth < 1.5× value (held up to the limit, no copies)"},
		{"40 MB body with Content-Length → 413", big, []bodyReq{huge(false)}, http.StatusRequestEntityTooLarge,
			big, "413, RSS growth < body size"},
		{"40 MB body chunked → 413", big, []bodyReq{huge(true)}, http.StatusRequestEntityTooLarge,
			big, "413, RSS growth < body size"},
		{"5 MiB create ×1", valueBytes, []bodyReq{create("RSS_CREATE_1_"+tag, valueBytes)}, http.StatusOK,
			4 * valueBytes, "growth ≤ 4× payload"},
		{"5 MiB update ×1", valueBytes, []bodyReq{update(targets[0])}, http.StatusOK, 4 * valueBytes, "growth ≤ 4× payload"},
	}
	var creates8, updates8 []bodyReq
	for i := range 8 {
		creates8 = append(creates8, create(fmt.Sprintf("RSS_CREATE_8_%s_%d", tag, i), valueBytes))
		updates8 = append(updates8, update(targets[i]))
	}
	measures = append(measures,
		rssCase{"5 MiB create ×8 at once", valueBytes, creates8, http.StatusOK, 8 * 4 * valueBytes, "growth ≤ 4× payload each; RSS < 300 MB"},
		rssCase{"5 MiB update ×8 at once", valueBytes, updates8, http.StatusOK, 8 * 4 * valueBytes, "growth ≤ 4× payload each; RSS < 300 MB"})

	for _, m := range measures {
		rec, statuses, err := e.rssMeasure(ctx, m.name, m.payload, m.reqs)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		okStatus := true
		for _, s := range statuses {
			okStatus = okStatus && s == m.status
		}
		pass := okStatus && rec.GrowthBytes < m.maxGrow
		if m.status == http.StatusOK {
			pass = okStatus && rec.GrowthBytes <= m.maxGrow
		}
		if len(m.reqs) == 8 {
			pass = pass && rec.PeakRSS < rssBudget
		}
		keyhold := fmt.Sprintf("+%s (peak %s), %s", fmtMB(rec.GrowthBytes), fmtMB(rec.PeakRSS), fmtStatuses(statuses))
		budget := "growth < " + fmtMB(m.maxGrow)
		if m.status == http.StatusOK {
			budget = fmt.Sprintf("growth ≤ %s (%.1f× payload per request)", fmtMB(m.maxGrow), float64(rec.GrowthBytes)/float64(m.payload)/float64(len(m.reqs)))
		}
		e.res.addCheck(check{Measure: m.name, Keyhold: keyhold, Budget: budget, Must: m.must, Pass: pass})
	}
	return nil
}

// rssMeasure starts a fresh keyhold, warms it up with a few small reads and writes, takes its RSS,
// sends reqs at once while sampling VmRSS every 5 ms, and returns the peak RSS growth.
func (e *env) rssMeasure(ctx context.Context, name string, payload int64, reqs []bodyReq) (Record, []int, error) {
	p, _, err := e.startKeyhold(ctx, e.loc)
	if err != nil {
		return Record{}, nil, err
	}
	defer p.stop()
	for i := range 20 {
		if st, _, _, err := capture(ctx, e.fetchURL(p.base), bearer(e.bobKey)); err != nil || st != http.StatusOK {
			return Record{}, nil, errorsOr(err, fmt.Sprintf("warm-up fetch: status %d", st))
		}
		if i%5 == 0 {
			if _, err := e.apiCall(ctx, p.base, http.MethodPost, "/v1/secrets", e.adaKey,
				map[string]string{"name": fmt.Sprintf("RSS_WARM_%d_%d", e.starts, i), "value": strings.Repeat("w", 4096)}, nil); err != nil {
				return Record{}, nil, err
			}
		}
	}
	mem, err := watchMem(p.pid)
	if err != nil {
		return Record{}, nil, err
	}
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: len(reqs), DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	statuses := make([]int, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	began := time.Now()
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], errs[i] = r.send(ctx, client, p.base, e.adaKey)
		}()
	}
	wg.Wait()
	took := time.Since(began)
	time.Sleep(100 * time.Millisecond)
	peak, samples, after, err := mem.finish()
	if err != nil {
		return Record{}, nil, err
	}
	for _, err := range errs {
		if err != nil {
			return Record{}, statuses, err
		}
	}
	before, reset := mem.before, mem.reset
	rec := Record{Kind: "rss", Measure: name, Server: "keyhold", Concurrency: len(reqs), PayloadBytes: payload, BaselineRSS: before.RSS,
		PeakRSS: peak, GrowthBytes: peak - before.RSS, HWMBefore: before.HWM, HWMAfter: after.HWM, PeakReset: reset, Samples: samples,
		Status: statuses[0], MaxMs: ms(took)}
	e.res.add(rec)
	e.logf("%s: statuses %v in %s; RSS %s → peak %s (+%s; VmHWM reset %v, %d samples)", name, statuses, took.Round(time.Millisecond),
		fmtMB(before.RSS), fmtMB(peak), fmtMB(rec.GrowthBytes), reset, samples)
	return rec, statuses, nil
}

// fmtStatuses shows statuses compactly: "200" or "8×200" or "200 413".
func fmtStatuses(sts []int) string {
	same := true
	for _, s := range sts {
		same = same && s == sts[0]
	}
	if same && len(sts) > 1 {
		return fmt.Sprintf("%d×%d", len(sts), sts[0])
	}
	return strings.Trim(fmt.Sprint(sts), "[]")
}
