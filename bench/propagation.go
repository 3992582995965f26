package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// propagationBound is how soon a change made through one instance must be honoured by another.
const propagationBound = 100 * time.Millisecond

// propagationGiveUp ends the wait for one change: past it, the change counts as not honoured.
const propagationGiveUp = 5 * time.Second

// propChange is one kind of change the propagation phase makes through instance A and then watches
// instance B honour.
type propChange struct {
	name string
	// prepare runs before rep's change, off the clock; it returns the request to poll B with (the
	// SDK's fetch by name, with a key).
	prepare func(ctx context.Context, rep int) (poll propPoll, err error)
	// change makes the change through A; it returns once A has answered.
	change func(ctx context.Context, rep int) error
}

// propPoll is what B is polled with, what it answers before the change (old), and after (honoured).
type propPoll struct {
	name, key string
	old       func(status int, body []byte) bool
	honoured  func(status int, body []byte) bool
}

// propSample is one change's propagation: from A's answer (the change committed and acknowledged)
// and from the moment the request was sent, to B's first answer that honours it.
type propSample struct {
	fromAck, fromSend time.Duration
	polls             int
	// lastPoll is how long the poll that saw the change took: the measure's resolution, as the change
	// may have reached B at any moment of it.
	lastPoll time.Duration
	// notified is when the suite's own listener got PostgreSQL's change notification, from sending the
	// change (-1: none seen): what B waits for, as a client of the database on this machine sees it.
	notified time.Duration
}

// pgNotifyChannel is the channel keyhold's instances notify each other of their commits on (db/postgres.go).
const pgNotifyChannel = "keyhold_changes"

// notifyWatch listens, as keyhold's instances do, for the change notifications, and keeps when each arrived.
type notifyWatch struct {
	mu    sync.Mutex
	times []time.Time
	stop  func()
}

func watchNotifications(ctx context.Context, url string) (*notifyWatch, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgNotifyChannel); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	w := &notifyWatch{}
	w.stop = func() {
		cancel()
		<-done
		conn.Close(context.Background())
	}
	go func() {
		defer close(done)
		for {
			if _, err := conn.WaitForNotification(lctx); err != nil {
				return
			}
			w.mu.Lock()
			w.times = append(w.times, time.Now())
			w.mu.Unlock()
		}
	}()
	return w, nil
}

// firstAfter is the first notification after t, waiting up to wait for one.
func (w *notifyWatch) firstAfter(t time.Time, wait time.Duration) (time.Time, bool) {
	deadline := time.Now().Add(wait)
	for {
		w.mu.Lock()
		for _, at := range w.times {
			if at.After(t) {
				w.mu.Unlock()
				return at, true
			}
		}
		w.mu.Unlock()
		if time.Now().After(deadline) {
			return time.Time{}, false
		}
		time.Sleep(time.Millisecond)
	}
}

// propagationPhase measures how soon instance B honours a change made through instance A, on the one
// PostgreSQL database: an update of a secret's value, the revocation of an API key, the removal of a
// member, a changed grant (taken away, given back). Each change is made --propagation-reps times; for
// each, B is first asked with the key concerned (so that B's caches hold the key, its access and the
// value), then the change is made through A, and from A's answer B is polled back to back until an
// answer honours it: the new value, a 401, the secret gone from the answer or back in it.
func (e *env) propagationPhase(ctx context.Context) error {
	b, err := e.startSecond(ctx)
	if err != nil {
		return err
	}
	defer e.stopSecond()
	a := e.kh
	n := e.cfg.PropagationReps
	tag := randomTag()
	e.logf("propagation: instance A %s, instance B %s; %d changes of each kind", a.base, b.base, n)

	// Bob's user ID, for the grants.
	var users []struct {
		UserID string `json:"userID"`
		Email  string `json:"email"`
	}
	if _, err := e.apiCall(ctx, a.base, http.MethodGet, "/v1/users", e.adaKey, nil, &users); err != nil {
		return err
	}
	ids := map[string]string{}
	for _, u := range users {
		ids[u.Email] = u.UserID
	}
	bobID := ids[bobEmail]
	if bobID == "" {
		return fmt.Errorf("GET /v1/users does not list %s", bobEmail)
	}
	// Ada's secrets for the update, the grant and the removed members, shared with Bob as Reader. They
	// are deleted at the end: the phases after this one count the secrets Bob sees.
	var created []string
	defer func() {
		for _, id := range created {
			if _, err := e.apiCall(ctx, a.base, http.MethodDelete, "/v1/secrets/"+id, e.adaKey, nil, nil); err != nil {
				e.logf("propagation: could not delete secret %s: %v", id, err)
			}
		}
	}()
	newSecret := func(kind string) (id, name, value string, err error) {
		name, value = "PROPAGATION_"+kind+"_"+tag, "value-0-"+randomTag()
		var sec apiSecret
		if _, err = e.apiCall(ctx, a.base, http.MethodPost, "/v1/secrets", e.adaKey, map[string]string{"name": name, "value": value}, &sec); err != nil {
			return
		}
		created = append(created, sec.SecretID)
		_, err = e.apiCall(ctx, a.base, http.MethodPatch, "/v1/secrets/"+sec.SecretID+"/accessControls", e.adaKey,
			map[string]any{"grants": []grantJSON{{Role: "Reader", Users: []string{bobID}, Teams: []string{}}}}, nil)
		return sec.SecretID, name, value, err
	}
	updID, updName, updValue, err := newSecret("UPDATE")
	if err != nil {
		return err
	}
	grantID, grantName, grantValue, err := newSecret("GRANT")
	if err != nil {
		return err
	}
	memberID, memberName, memberValue, err := newSecret("MEMBER")
	if err != nil {
		return err
	}

	// API keys of Bob's to revoke, and members to remove (each with a key), made with the CLI (there is
	// no API for either), and Ada signed in to A's portal, where keys are revoked.
	start := time.Now()
	keys := make([]string, n)
	members := make([]string, n)
	memberKeys := make([]string, n)
	err = parallel(ctx, 4, n, func(i int) error {
		var err error
		if keys[i], err = e.cli(ctx, "", "apikey", "create", "--org", orgName, "--email", bobEmail, "--label", fmt.Sprintf("prop-%s-%02d", tag, i)); err != nil {
			return err
		}
		members[i] = fmt.Sprintf("prop-%s-%02d@example.com", tag, i)
		if _, err := e.cli(ctx, password+"\n", "user", "add", "--org", orgName, "--email", members[i], "--first", "Prop", "--last", fmt.Sprint(i)); err != nil {
			return err
		}
		memberKeys[i], err = e.cli(ctx, "", "apikey", "create", "--org", orgName, "--email", members[i], "--label", "prop-member")
		return err
	})
	if err != nil {
		return err
	}
	if _, err := e.apiCall(ctx, a.base, http.MethodGet, "/v1/users", e.adaKey, nil, &users); err != nil {
		return err
	}
	for _, u := range users {
		ids[u.Email] = u.UserID
	}
	var memberIDs []string
	for _, m := range members {
		if ids[m] == "" {
			return fmt.Errorf("GET /v1/users does not list %s", m)
		}
		memberIDs = append(memberIDs, ids[m])
	}
	if _, err := e.apiCall(ctx, a.base, http.MethodPatch, "/v1/secrets/"+memberID+"/accessControls", e.adaKey,
		map[string]any{"grants": []grantJSON{{Role: "Reader", Users: memberIDs, Teams: []string{}}}}, nil); err != nil {
		return err
	}
	portal, err := signIn(ctx, a.base, adaEmail, password)
	if err != nil {
		return fmt.Errorf("sign in to instance A as %s: %w", adaEmail, err)
	}
	defer portal.CloseIdleConnections()
	keyIDs, csrf, err := apiKeyIDs(ctx, portal, a.base)
	if err != nil {
		return err
	}
	e.logf("propagation: %d API keys and %d members with keys made in %s", n, n, time.Since(start).Round(100*time.Millisecond))

	// The changes.
	valueIs := func(want string) func(int, []byte) bool {
		return func(status int, body []byte) bool {
			v, ok := fetchedValue(status, body)
			return ok && v == want
		}
	}
	gone := func(status int, body []byte) bool {
		var got apiSecrets
		return status == http.StatusOK && json.Unmarshal(body, &got) == nil && got.Secrets != nil && len(got.Secrets) == 0
	}
	is401 := func(status int, _ []byte) bool { return status == http.StatusUnauthorized }
	send := func(client *http.Client, req *http.Request) error {
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s %s on instance A: status %d: %.200s", req.Method, req.URL.Path, resp.StatusCode, body)
		}
		return nil
	}
	nextValue := updValue
	changes := []propChange{
		{name: "update of a secret's value",
			prepare: func(_ context.Context, rep int) (propPoll, error) {
				old := nextValue
				nextValue = fmt.Sprintf("value-%d-%s", rep+1, randomTag())
				return propPoll{name: updName, key: e.bobKey, old: valueIs(old), honoured: valueIs(nextValue)}, nil
			},
			change: func(ctx context.Context, _ int) error {
				_, err := e.apiCall(ctx, a.base, http.MethodPatch, "/v1/secrets/"+updID, e.adaKey, map[string]string{"value": nextValue}, nil)
				return err
			}},
		{name: "revoked API key",
			prepare: func(_ context.Context, rep int) (propPoll, error) {
				return propPoll{name: targetName, key: keys[rep], old: valueIs(e.target), honoured: is401}, nil
			},
			change: func(ctx context.Context, rep int) error {
				id := keyIDs[fmt.Sprintf("prop-%s-%02d", tag, rep)]
				if id == "" {
					return fmt.Errorf("instance A's API Keys page does not list the key prop-%s-%02d", tag, rep)
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, a.base+"/apikeys/"+id, nil)
				req.Header.Set("X-CSRF-Token", csrf)
				req.Header.Set("HX-Request", "true")
				return send(portal, req)
			}},
		{name: "removed member",
			prepare: func(_ context.Context, rep int) (propPoll, error) {
				return propPoll{name: memberName, key: memberKeys[rep], old: valueIs(memberValue), honoured: is401}, nil
			},
			change: func(ctx context.Context, rep int) error {
				_, err := e.apiCall(ctx, a.base, http.MethodDelete, "/v1/users/"+memberIDs[rep], e.adaKey, nil, nil)
				return err
			}},
		{name: "changed grant (taken away, given back)",
			prepare: func(_ context.Context, rep int) (propPoll, error) {
				if rep%2 == 0 {
					return propPoll{name: grantName, key: e.bobKey, old: valueIs(grantValue), honoured: gone}, nil
				}
				return propPoll{name: grantName, key: e.bobKey, old: gone, honoured: valueIs(grantValue)}, nil
			},
			change: func(ctx context.Context, rep int) error {
				field := "revokes"
				if rep%2 == 1 {
					field = "grants"
				}
				_, err := e.apiCall(ctx, a.base, http.MethodPatch, "/v1/secrets/"+grantID+"/accessControls", e.adaKey,
					map[string]any{field: []grantJSON{{Role: "Reader", Users: []string{bobID}, Teams: []string{}}}}, nil)
				return err
			}},
	}

	// The suite listens for the notifications too: when B is late, they show whether the notification
	// was (PostgreSQL, the machine) or B was.
	watch, err := watchNotifications(ctx, e.pg.url)
	if err != nil {
		return fmt.Errorf("listen for change notifications: %w", err)
	}
	defer watch.stop()
	pollB := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 1, DisableCompression: true}}
	defer pollB.CloseIdleConnections()
	var worst time.Duration
	for _, ch := range changes {
		var samples []propSample
		failures, firstErr := 0, ""
		for rep := range n {
			s, err := e.propagateOnce(ctx, pollB, b, watch, ch, rep)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				failures++
				if firstErr == "" {
					firstErr = err.Error()
				}
				e.logf("propagation: %s #%d: %v", ch.name, rep+1, err)
				continue
			}
			samples = append(samples, s)
			if e.cfg.Verbose {
				e.logf("propagation: %s #%d: %s after A's answer (%s after sending it; notification %s after sending it), %d polls, the last of %s",
					ch.name, rep+1, fmtMS(ms(s.fromAck)), fmtMS(ms(s.fromSend)), fmtNotified(s.notified), s.polls, fmtMS(ms(s.lastPoll)))
			}
			if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
				return err
			}
		}
		var ack, sent []time.Duration
		firstPoll := 0 // changes B honoured at the first poll after A's answer
		notified := time.Duration(-1)
		for _, s := range samples {
			ack, sent = append(ack, s.fromAck), append(sent, s.fromSend)
			if s.polls == 1 {
				firstPoll++
			}
			notified = max(notified, s.notified)
		}
		var ar, sr loadResult
		fillLatency(&ar, ack)
		fillLatency(&sr, sent)
		worst = max(worst, ar.Max)
		e.res.add(Record{Kind: "propagation", Measure: "propagation: " + ch.name, Server: "keyhold", Requests: len(samples) + failures,
			Errors: failures, FirstError: firstErr, P50ms: ms(ar.P50), P99ms: ms(ar.P99), MaxMs: ms(ar.Max), MeanMs: ms(ar.Mean)})
		e.logf("propagation: %s: p50 %s, p99 %s, max %s after A's answer (max %s after sending the change; the notification, max %s after); %d of %d at the first poll; %d not honoured within %s",
			ch.name, fmtMS(ms(ar.P50)), fmtMS(ms(ar.P99)), fmtMS(ms(ar.Max)), fmtMS(ms(sr.Max)), fmtNotified(notified), firstPoll, len(samples), failures, propagationGiveUp)
		kh := fmt.Sprintf("p50 %s, p99 %s, max %s (n=%d)", fmtMS(ms(ar.P50)), fmtMS(ms(ar.P99)), fmtMS(ms(ar.Max)), len(samples))
		budget := fmt.Sprintf("after A's answer; first poll %d/%d; NOTIFY seen ≤ %s after sending", firstPoll, len(samples), fmtNotified(notified))
		if failures > 0 {
			kh += fmt.Sprintf(", %d failed", failures)
			budget = firstErr
		}
		e.res.addCheck(check{Measure: "B honours " + ch.name + " through A", Keyhold: kh, Budget: budget,
			Must: "every one ≤ " + fmtMS(ms(propagationBound)), Pass: failures == 0 && len(samples) > 0 && ar.Max <= propagationBound})
	}
	e.logf("propagation: the slowest change took %s to reach instance B", fmtMS(ms(worst)))
	return nil
}

// propagateOnce makes change number rep through A and polls B until it honours it.
func (e *env) propagateOnce(ctx context.Context, client *http.Client, b *proc, watch *notifyWatch, ch propChange, rep int) (propSample, error) {
	poll, err := ch.prepare(ctx, rep)
	if err != nil {
		return propSample{}, err
	}
	get := func() (int, []byte, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.base+"/v1/secrets?name="+poll.name, nil)
		req.Header = bearer(poll.key)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, body, err
	}
	// B answers with the state before the change, twice: its caches hold the key and the answer.
	for range 2 {
		st, body, err := get()
		if err != nil {
			return propSample{}, err
		}
		if !poll.old(st, body) {
			return propSample{}, fmt.Errorf("before the change, instance B answered %d: %.200s", st, body)
		}
	}
	if b.exited() {
		return propSample{}, fmt.Errorf("instance B exited: %s", b.tail())
	}
	sent := time.Now()
	if err := ch.change(ctx, rep); err != nil {
		return propSample{}, err
	}
	acked := time.Now()
	for polls := 1; ; polls++ {
		begin := time.Now()
		st, body, err := get()
		now := time.Now()
		if err != nil {
			return propSample{}, err
		}
		if poll.honoured(st, body) {
			s := propSample{fromAck: now.Sub(acked), fromSend: now.Sub(sent), polls: polls, lastPoll: now.Sub(begin), notified: -1}
			if at, ok := watch.firstAfter(sent, time.Second); ok {
				s.notified = at.Sub(sent)
			}
			return s, nil
		}
		if !poll.old(st, body) {
			return propSample{}, fmt.Errorf("instance B answered %d, neither the state before the change nor after: %.200s", st, body)
		}
		if now.Sub(acked) > propagationGiveUp {
			return propSample{}, fmt.Errorf("instance B still answered as before the change %s after A acknowledged it (%d polls)", propagationGiveUp, polls)
		}
	}
}

// fmtNotified shows a notification's delay, or that none was seen.
func fmtNotified(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return fmtMS(ms(d))
}

// fetchedValue is the value of the one secret of a fetch by name's 200 answer.
func fetchedValue(status int, body []byte) (string, bool) {
	var got apiSecrets
	if status != http.StatusOK || json.Unmarshal(body, &got) != nil || len(got.Secrets) != 1 || got.Secrets[0].Value == nil {
		return "", false
	}
	return *got.Secrets[0].Value, true
}

// apiKeyRow finds an API key's label and its revoke link in the API Keys page.
var apiKeyRow = regexp.MustCompile(`(?s)<span class="key-label">([^<]*)</span>.*?hx-get="/apikeys/([^"/]+)/revoke"`)

// apiKeyIDs reads the API Keys page of a signed-in admin: the IDs of the keys by label, and the CSRF
// token of the session.
func apiKeyIDs(ctx context.Context, client *http.Client, base string) (map[string]string, string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/apikeys", nil)
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, "", errorsOr(err, fmt.Sprintf("GET /apikeys: status %d", resp.StatusCode))
	}
	token, ok := formField(page, "_csrf")
	if !ok {
		return nil, "", fmt.Errorf("GET /apikeys: no CSRF token in the page")
	}
	ids := map[string]string{}
	for _, m := range apiKeyRow.FindAllSubmatch(page, -1) {
		ids[html.UnescapeString(strings.TrimSpace(string(m[1])))] = html.UnescapeString(string(m[2]))
	}
	return ids, token, nil
}

// parallel runs fn(0) … fn(n-1), at most width at once, and returns the first error.
func parallel(ctx context.Context, width, n int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, width)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return first
}

// randomTag is a short random name part.
func randomTag() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}
