package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// portalMaxTime caps each portal measure, however slow the pages are.
const portalMaxTime = 90 * time.Second

// portalQueries are the searches typed into the Secrets tab: many matches, a few, one, none.
var portalQueries = []string{"STRIPE", "TOKEN", "TLS_CERT_CHAIN_PEM_0042", "GCP", "no_such_secret", "DATABASE_URL_01", "KEY", "_00"}

// signIn signs in to the portal as a browser does: GET /login for the CSRF token (the _csrf field, bound
// to the anonymous cookie the page sets), then POST the form. It returns a client that carries the
// session cookie.
func signIn(ctx context.Context, base, email, pw string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1, DisableCompression: true}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/login", nil)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token, found := formField(page, "_csrf")
	if resp.StatusCode != http.StatusOK || !found {
		return nil, fmt.Errorf("GET /login: status %d, CSRF field found: %v", resp.StatusCode, found)
	}
	u, _ := url.Parse(base)
	if len(jar.Cookies(u)) == 0 {
		return nil, fmt.Errorf("GET /login set no cookie for its CSRF token")
	}
	form := url.Values{"email": {email}, "password": {pw}, "_csrf": {token}, "next": {"/secrets"}}
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = client.Do(req) // follows the 303 to /secrets
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/secrets" {
		return nil, fmt.Errorf("POST /login ended at %s with status %d, not at /secrets with 200", resp.Request.URL.Path, resp.StatusCode)
	}
	return client, nil
}

// portalPhase times the Secrets tab for a user who can read --portal-secrets secrets: the first page
// (a whole page) and searches (the htmx table fragment), one request at a time.
func (e *env) portalPhase(ctx context.Context) error {
	if err := e.ensureVisible(ctx, e.cfg.PortalSecrets); err != nil {
		return err
	}
	if err := e.ensureHistory(ctx); err != nil {
		return err
	}
	client, err := signIn(ctx, e.kh.base, bobEmail, password)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	want := fmt.Sprintf(" of %s", thousands(e.cfg.PortalSecrets))
	get := func(path string, fragment bool) (time.Duration, int, string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.kh.base+path, nil)
		if fragment {
			req.Header.Set("HX-Request", "true")
		}
		begin := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, "", err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		return time.Since(begin), resp.StatusCode, string(b), err
	}
	// The first page says how many secrets there are: check it once.
	_, st, body, err := get("/secrets", false)
	if err != nil || st != http.StatusOK || !strings.Contains(body, want) || !strings.Contains(body, "<html") {
		return errorsOr(err, fmt.Sprintf("GET /secrets: status %d, %d bytes, %q found: %v", st, len(body), want, strings.Contains(body, want)))
	}
	for _, m := range []struct {
		name     string
		fragment bool
		path     func(i int) string
	}{
		{"Secrets tab, first page", false, func(int) string { return "/secrets" }},
		{"Secrets tab, search (htmx)", true, func(i int) string { return "/secrets?q=" + url.QueryEscape(portalQueries[i%len(portalQueries)]) }},
	} {
		for i := range 5 { // warm-up
			if _, _, _, err := get(m.path(i), m.fragment); err != nil {
				return err
			}
		}
		var lat []time.Duration
		errs, first, size, sent := 0, "", 0, 0
		stop := time.Now().Add(portalMaxTime)
		for i := range e.cfg.PortalRequests {
			if time.Now().After(stop) {
				e.logf("%s: stopping after %d requests: the measure is capped at %s", m.name, i, portalMaxTime)
				break
			}
			sent++
			d, st, body, err := get(m.path(i), m.fragment)
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case err != nil:
				errs++
				first = err.Error()
			case st != http.StatusOK || m.fragment && strings.Contains(body, "<html"):
				errs++
				first = fmt.Sprintf("status %d, %d bytes", st, len(body))
			default:
				lat = append(lat, d)
				size = max(size, len(body))
			}
		}
		var r loadResult
		fillLatency(&r, lat)
		e.res.add(Record{Kind: "latency", Measure: m.name, Server: "keyhold", Concurrency: 1, Requests: sent, Errors: errs,
			FirstError: first, P50ms: ms(r.P50), P99ms: ms(r.P99), P999ms: ms(r.P999), MaxMs: ms(r.Max), MeanMs: ms(r.Mean),
			Meta: map[string]string{"visible_secrets": fmt.Sprint(e.cfg.PortalSecrets), "max_body_bytes": fmt.Sprint(size),
				"versions_each": fmt.Sprint(portalVersions), "trashed": fmt.Sprint(portalTrashed)}})
		e.logf("%s (%d visible): p50 %s, p99 %s, max %s over %d requests, %d errors, bodies up to %d bytes", m.name, e.cfg.PortalSecrets,
			fmtMS(ms(r.P50)), fmtMS(ms(r.P99)), fmtMS(ms(r.Max)), sent, errs, size)
		e.res.addCheck(check{Measure: fmt.Sprintf("%s, %s secrets of %d versions, %s in the trash, p99", m.name, thousands(e.cfg.PortalSecrets),
			portalVersions, thousands(portalTrashed)),
			Keyhold: fmt.Sprintf("%s (p50 %s, n=%d)", fmtMS(ms(r.P99)), fmtMS(ms(r.P50)), len(lat)), Budget: "budget 300 ms",
			Must: "p99 ≤ 300 ms, 0 errors", Pass: errs == 0 && len(lat) > 0 && r.P99 <= 300*time.Millisecond})
	}
	return nil
}

// thousands formats n with commas, as the portal does.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
