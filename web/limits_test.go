package web_test

// Body limits of the portal and the API: the largest legal value is admitted at its worst encoding,
// anything over the limit is 413 whether its length is declared or streamed, and a form too big to
// parse (too many fields) is refused at once instead of reaching a handler as an empty form. The
// header limit and the read-header timeout belong to the http.Server: see limits_test.go in the root
// package, which runs the binary.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/webtest"
)

// declare sends only the head of a request that declares a body of length bytes, and reads the answer
// the server gives before the body comes.
func declare(t *testing.T, ts *webtest.Server, head string, length int) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "%sContent-Length: %d\r\n\r\nx", head, length)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	return res
}

func TestLimits_PortalBody(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	sec := ts.SeedSecret(t, ada, "KEPT", "kept value")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	const form = "application/x-www-form-urlencoded"

	// The largest legal value at its worst encoding: 5,242,880 bytes of "é", 3 bytes a byte encoded.
	big := strings.Repeat("é", db.MaxValueBytes/2)
	body := url.Values{"name": {"LARGEST"}, "value": {big}}.Encode()
	r := c.Send(http.MethodPost, "/secrets", form, strings.NewReader(body), int64(len(body)))
	wantStatus(t, fmt.Sprintf("POST /secrets with a %d-byte body", len(body)), r, http.StatusOK)
	page, err := ts.Store.ListSecrets(context.Background(), ada, "LARGEST", 0, 1)
	if err != nil || len(page.Secrets) != 1 {
		t.Fatalf("LARGEST not stored: %v", err)
	}
	if got := ts.SecretValue(t, ada, page.Secrets[0].ID); got != big {
		t.Fatalf("stored %d bytes, want %d", len(got), len(big))
	}

	before := ts.SecretNames(t, ada)
	fields := strings.Repeat("a=1&", 200_000) + "name=MANY&value=v"

	t.Run("declared over 16 MB", func(t *testing.T) {
		res := declare(t, ts, fmt.Sprintf("POST /secrets HTTP/1.1\r\nHost: keyhold\r\nCookie: kh_session=%s\r\nX-CSRF-Token: %s\r\nHX-Request: true\r\nContent-Type: %s\r\n",
			c.Cookie("kh_session"), c.CSRF(), form), 16_000_001)
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", res.StatusCode)
		}
	})
	t.Run("streamed over 16 MB", func(t *testing.T) {
		body := io.MultiReader(strings.NewReader("name=HUGE&value="), strings.NewReader(strings.Repeat("x", 17_000_000)))
		r := c.Send(http.MethodPost, "/secrets", form, body, -1)
		wantStatus(t, "POST /secrets, 17 MB chunked", r, http.StatusRequestEntityTooLarge)
		if msg := webtest.ToastText(r.Body); !strings.Contains(msg, "too large") {
			t.Fatalf("toast %q", msg)
		}
	})
	t.Run("200,000 fields", func(t *testing.T) {
		start := time.Now()
		r := c.Send(http.MethodPost, "/secrets", form, strings.NewReader(fields), int64(len(fields)))
		wantStatus(t, "POST /secrets with 200,000 fields", r, http.StatusBadRequest)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v", d)
		}
		r = c.Send(http.MethodPut, "/secrets/"+sec.ID, form, strings.NewReader(fields+"&version=1"), -1)
		wantStatus(t, "PUT /secrets/:id with 200,000 fields", r, http.StatusBadRequest)
	})
	t.Run("200,000 fields, signed out", func(t *testing.T) {
		anon := ts.NewClient(t)
		for _, path := range []string{"/login", "/setup"} {
			r := anon.Send(http.MethodPost, path, form, strings.NewReader(fields), int64(len(fields)))
			wantStatus(t, "POST "+path+" with 200,000 fields", r, http.StatusRequestEntityTooLarge)
		}
	})
	t.Run("5,000 multipart parts", func(t *testing.T) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for i := range 5000 {
			mw.WriteField(fmt.Sprintf("f%d", i), "1")
		}
		mw.WriteField("name", "PARTS")
		mw.WriteField("value", "v")
		mw.Close()
		r := c.Send(http.MethodPost, "/secrets", mw.FormDataContentType(), &b, int64(b.Len()))
		if r.Status != http.StatusRequestEntityTooLarge && r.Status != http.StatusBadRequest {
			t.Fatalf("status %d, want 413 or 400", r.Status)
		}
	})

	if after := ts.SecretNames(t, ada); !slices.Equal(after, before) {
		t.Fatalf("refused bodies changed the secrets: %q, was %q", after, before)
	}
	if got := ts.SecretValue(t, ada, sec.ID); got != "kept value" {
		t.Fatalf("KEPT holds %q", got)
	}
}

// TestLimits_APIBody: over the API's limit, the answer is 413 in the API's JSON error shape, before
// the body is read.
func TestLimits_APIBody(t *testing.T) {
	ts := webtest.New(t)
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	sec := ts.SeedSecret(t, ada, "KEPT", "kept value")
	key, _, err := ts.Store.CreateAPIKey(context.Background(), ada, "limits", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/secrets", "/v1/secrets/" + sec.ID, "/v1/secrets/" + sec.ID + "/accessControls", "/v1/teams"} {
		method := http.MethodPatch
		if path == "/v1/secrets" || path == "/v1/teams" {
			method = http.MethodPost
		}
		res := declare(t, ts, fmt.Sprintf("%s %s HTTP/1.1\r\nHost: keyhold\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n",
			method, path, key), 6*db.MaxValueBytes+64<<10+1)
		var e map[string]any
		err := json.NewDecoder(res.Body).Decode(&e)
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge || err != nil || e["code"] != float64(413) || e["message"] == "" || len(e) != 2 {
			t.Errorf("%s %s: status %d, body %v (%v); want 413 and {code, message}", method, path, res.StatusCode, e, err)
		}
		// A route that carries a value names the value limit; the others, their own.
		want := "The request body is too large: a value may be at most 5 MiB (5,242,880 bytes)."
		if strings.HasSuffix(path, "/accessControls") || path == "/v1/teams" {
			want = "The request body is too large: this request takes at most 262144 bytes."
		}
		if e["message"] != want {
			t.Errorf("%s %s: message %q, want %q", method, path, e["message"], want)
		}
	}
	if got := ts.SecretValue(t, ada, sec.ID); got != "kept value" {
		t.Fatalf("KEPT holds %q", got)
	}
}

// A visitor who is not signed in, or a signed-in request without its CSRF token, cannot make the
// server read a large body: it is refused from its declared length, or while it streams, before the
// sign-in or token check could be skipped by a big form (60 posts of 16 MB to /login once took the
// server from 152 to 711 MB).
func TestLimits_BodiesRefusedBeforeTheyAreRead(t *testing.T) {
	ts := webtest.New(t)
	ts.SeedOrg(t, "Acme", "ada@example.com")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	anon := ts.NewClient(t)
	anonToken := anon.CSRF()
	const form = "Content-Type: application/x-www-form-urlencoded\r\n"
	for _, tc := range []struct {
		name, head string
		length     int
		want       int
	}{
		{"sign-in form of 1 MB", "POST /login HTTP/1.1\r\nHost: keyhold\r\n" + form + "Cookie: kh_anon=" + anon.Cookie("kh_anon") + "\r\n", 1 << 20, http.StatusRequestEntityTooLarge},
		{"setup form of 16 MB", "POST /setup HTTP/1.1\r\nHost: keyhold\r\n" + form, 16_000_000, http.StatusRequestEntityTooLarge},
		{"invitation form of 1 MB", "POST /invite/some-token HTTP/1.1\r\nHost: keyhold\r\n" + form, 1 << 20, http.StatusRequestEntityTooLarge},
		{"a value, signed out", "POST /secrets HTTP/1.1\r\nHost: keyhold\r\n" + form + "HX-Request: true\r\n", 10_000_000, http.StatusUnauthorized},
		{"a value without the CSRF token", "POST /secrets HTTP/1.1\r\nHost: keyhold\r\n" + form + "HX-Request: true\r\nCookie: kh_session=" + c.Cookie("kh_session") + "\r\n", 10_000_000, http.StatusForbidden},
		{"a value with the token in the form only", "PUT /secrets/x HTTP/1.1\r\nHost: keyhold\r\n" + form + "Cookie: kh_session=" + c.Cookie("kh_session") + "\r\n", 10_000_000, http.StatusForbidden},
		{"a value posted cross-site", "POST /secrets HTTP/1.1\r\nHost: keyhold\r\n" + form + "Sec-Fetch-Site: cross-site\r\nX-CSRF-Token: " + c.CSRF() + "\r\nCookie: kh_session=" + c.Cookie("kh_session") + "\r\n", 10_000_000, http.StatusForbidden},
		{"a team form of 1 MB, signed in", "POST /teams HTTP/1.1\r\nHost: keyhold\r\n" + form + "X-CSRF-Token: " + c.CSRF() + "\r\nCookie: kh_session=" + c.Cookie("kh_session") + "\r\n", 1 << 20, http.StatusRequestEntityTooLarge},
		{"an API team body of 1 MB", "POST /v1/teams HTTP/1.1\r\nHost: keyhold\r\nContent-Type: application/json\r\nAuthorization: Bearer kh_not-a-key\r\n", 1 << 20, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := declare(t, ts, tc.head, tc.length) // the answer comes before the body is sent
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.want)
			}
		})
	}
	// Streamed without a length, a form stops being read at the limit.
	body := io.MultiReader(strings.NewReader("email=ada%40example.com&_csrf="+anonToken+"&password="), strings.NewReader(strings.Repeat("x", 1<<20)))
	r := anon.Send(http.MethodPost, "/login", "application/x-www-form-urlencoded", body, -1)
	wantStatus(t, "a streamed 1 MB sign-in form", r, http.StatusRequestEntityTooLarge)
	if want := "The request body is too large: this request takes at most 16384 bytes."; !strings.Contains(r.Body, want) {
		t.Errorf("the sign-in form over its limit does not say %q", want)
	}
	if c.Get("/secrets").Status != http.StatusOK {
		t.Fatal("the session ended")
	}
}

// Large bodies in flight share a memory budget: while one holds it, another waits, then gets 503
// with Retry-After, and nothing of it is stored; once the first is done, the next goes through.
func TestLimits_BodyMemoryBudget(t *testing.T) {
	ts := webtest.NewConfig(t, web.Config{BodyMemory: 64 << 10, BodyWait: 200 * time.Millisecond})
	ada := ts.SeedOrg(t, "Acme", "ada@example.com")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	key, _, err := ts.Store.CreateAPIKey(context.Background(), ada, "budget", time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	// A slow upload reserves the whole budget and holds it: its head and half its body are sent.
	value := strings.Repeat("a", 40<<10)
	slowBody := url.Values{"name": {"SLOW"}, "value": {value}}.Encode()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /secrets HTTP/1.1\r\nHost: keyhold\r\nContent-Type: application/x-www-form-urlencoded\r\nHX-Request: true\r\n"+
		"X-CSRF-Token: %s\r\nCookie: kh_session=%s\r\nContent-Length: %d\r\n\r\n%s", c.CSRF(), c.Cookie("kh_session"), len(slowBody), slowBody[:len(slowBody)/2])

	// Meanwhile another value, in the portal and through the API, waits and is refused.
	deadline := time.Now().Add(10 * time.Second)
	var r *webtest.Response
	for {
		r = c.HX(http.MethodPost, "/secrets", url.Values{"name": {"WAITING"}, "value": {strings.Repeat("b", 30<<10)}})
		if r.Status == http.StatusServiceUnavailable || time.Now().After(deadline) {
			break
		}
		// The slow upload had not reserved yet: this one went through; remove it and try again.
		if r.Status == http.StatusOK {
			id := mustSecretID(t, ts, ada, "WAITING")
			if _, err := ts.Store.DeleteSecret(context.Background(), ada, id); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	wantStatus(t, "a second large body while the budget is taken", r, http.StatusServiceUnavailable)
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	apiBody, _ := json.Marshal(map[string]string{"name": "WAITING_API", "value": strings.Repeat("c", 30<<10)})
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1/secrets", bytes.NewReader(apiBody))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("API create while the budget is taken: status %d, want 503", res.StatusCode)
	}
	if names := ts.SecretNames(t, ada); len(names) != 0 {
		t.Fatalf("refused bodies stored %v", names)
	}

	// The slow upload finishes and is stored; its budget is free again.
	fmt.Fprint(conn, slowBody[len(slowBody)/2:])
	slow, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	slow.Body.Close()
	if slow.StatusCode != http.StatusOK {
		t.Fatalf("the slow upload: status %d", slow.StatusCode)
	}
	wantStatus(t, "the next large body", c.HX(http.MethodPost, "/secrets", url.Values{"name": {"NEXT"}, "value": {strings.Repeat("b", 30<<10)}}), http.StatusOK)
}
