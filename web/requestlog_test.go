package web_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/webtest"
)

// jsonLines parses every line of a JSON log (logBuffer: fuzz_helpers_test.go), failing the test on
// one that does not parse.
func jsonLines(t *testing.T, l *logBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(l.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v\n%s", err, line)
		}
		out = append(out, m)
	}
	return out
}

// requestLine is the request log's line for the request whose ID is id.
func requestLine(t *testing.T, lines []map[string]any, id string) map[string]any {
	t.Helper()
	for _, l := range lines {
		if l["msg"] == "request" && l["request_id"] == id {
			return l
		}
	}
	t.Fatalf("no request line with request_id %q in the log", id)
	return nil
}

// send sends a request and returns the response, its body read.
func send(t *testing.T, method, u string, body string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestRequestLog_JSONLinesHaveTheFields: each request writes one JSON line with its method, route
// pattern, status, duration, request ID (the one sent back) and the acting user's ID.
func TestRequestLog_JSONLinesHaveTheFields(t *testing.T) {
	var log logBuffer
	ts := webtest.NewConfig(t, web.Config{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	admin := ts.SeedOrg(t, "Acme", "ada@example.com")
	sec := ts.SeedSecret(t, admin, "DB_PASSWORD", "v")
	key := apiKey(t, ts.Store, admin)

	resp, _ := send(t, http.MethodGet, ts.URL+"/v1/secrets/"+sec.ID, "", http.Header{
		"Authorization": {"Bearer " + key}, "X-Request-Id": {"trace-1.a_B"}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Request-ID") != "trace-1.a_B" {
		t.Fatalf("GET: %d, X-Request-ID %q", resp.StatusCode, resp.Header.Get("X-Request-ID"))
	}
	anon, _ := send(t, http.MethodGet, ts.URL+"/login", "", nil)

	lines := jsonLines(t, &log)
	l := requestLine(t, lines, "trace-1.a_B")
	for field, want := range map[string]any{"level": "INFO", "method": "GET", "route": "/v1/secrets/:secretID",
		"status": float64(200), "actor_id": admin.UserID} {
		if l[field] != want {
			t.Errorf("%s = %#v, want %#v (line %v)", field, l[field], want, l)
		}
	}
	if d, ok := l["duration_ms"].(float64); !ok || d < 0 {
		t.Errorf("duration_ms = %#v, want milliseconds", l["duration_ms"])
	}
	if _, ok := l["time"]; !ok {
		t.Errorf("no time in %v", l)
	}
	l = requestLine(t, lines, anon.Header.Get("X-Request-ID"))
	if l["route"] != "/login" || l["status"] != float64(200) || l["actor_id"] != "" {
		t.Errorf("anonymous GET /login logged as %v", l)
	}
	// Health probes log beneath the default level.
	send(t, http.MethodGet, ts.URL+"/healthz", "", nil)
	if strings.Contains(log.String(), `"route":"/healthz"`) {
		t.Error("a health probe was logged at info level")
	}
}

// TestRequestLog_TextFormat: the text handler's lines carry the same fields.
func TestRequestLog_TextFormat(t *testing.T) {
	var log logBuffer
	ts := webtest.NewConfig(t, web.Config{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	send(t, http.MethodGet, ts.URL+"/login", "", http.Header{"X-Request-Id": {"abc"}})
	want := regexp.MustCompile(`level=INFO msg=request method=GET route=/login status=200 duration_ms=[0-9.]+ request_id=abc actor_id=""`)
	if !want.MatchString(log.String()) {
		t.Fatalf("no line matching %s in:\n%s", want, log.String())
	}
}

// TestRequestLog_NeverLogsSecrets: requests carrying a value, an API key, a password, a session
// cookie, a CSRF token, a secret's name in a query string and an invitation's token in a path leave
// none of them in the log, in either format: it holds route patterns, never paths or queries.
func TestRequestLog_NeverLogsSecrets(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var log logBuffer
			h := slog.Handler(slog.NewTextHandler(&log, nil))
			if format == "json" {
				h = slog.NewJSONHandler(&log, nil)
			}
			ts := webtest.NewConfig(t, web.Config{Logger: slog.New(h)})
			admin := ts.SeedOrg(t, "Acme", "ada@example.com")
			key := apiKey(t, ts.Store, admin)
			auth := http.Header{"Authorization": {"Bearer " + key}, "Content-Type": {"application/json"}}
			const name, value, value2 = "NAME_MARKER_7Q", "VALUE-MARKER-9Z", "VALUE-MARKER-2X"

			resp, body := send(t, http.MethodPost, ts.URL+"/v1/secrets", `{"name":"`+name+`","value":"`+value+`"}`, auth)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("create: %d %s", resp.StatusCode, body)
			}
			var created struct {
				ID string `json:"secretID"`
			}
			if err := json.Unmarshal([]byte(body), &created); err != nil || created.ID == "" {
				t.Fatalf("create: %v %s", err, body)
			}
			if resp, body := send(t, http.MethodGet, ts.URL+"/v1/secrets?name="+name, "", auth); !strings.Contains(body, value) {
				t.Fatalf("fetch by name: %d %s", resp.StatusCode, body)
			}
			send(t, http.MethodPatch, ts.URL+"/v1/secrets/"+created.ID, `{"value":"`+value2+`"}`, auth)
			send(t, http.MethodGet, ts.URL+"/v1/secrets/"+created.ID+"?organizationID=ORG_MARKER", "", auth)

			c := ts.NewClient(t)
			c.PostForm("/login", url.Values{"email": {"ada@example.com"}, "password": {"WRONG-PASSWORD-MARKER"}})
			webtest.SignIn(t, c, "ada@example.com", webtest.Password)
			if r := c.Reveal("/secrets/" + created.ID); !strings.Contains(r.Body, value2) {
				t.Fatalf("reveal: %d", r.Status)
			}
			c.HX(http.MethodPost, "/secrets", url.Values{"name": {"OTHER_NAME"}, "value": {"PORTAL-VALUE-MARKER"}})
			c.Get("/invite/INVITE-TOKEN-MARKER")
			c.Get("/secrets?q=" + name)

			text := log.String()
			if !strings.Contains(text, "/v1/secrets/:secretID") || !strings.Contains(text, "/invite/:token") {
				t.Fatalf("the requests were not logged:\n%s", text)
			}
			for what, s := range map[string]string{"value": value, "new value": value2, "portal value": "PORTAL-VALUE-MARKER",
				"API key": key, "API key's secret part": key[len(key)-16:], "password": webtest.Password, "wrong password": "WRONG-PASSWORD-MARKER",
				"session cookie": c.Cookie("kh_session"), "CSRF token": c.CSRF(), "secret name": name, "secret ID": created.ID,
				"query parameter": "ORG_MARKER", "invitation token": "INVITE-TOKEN-MARKER"} {
				if s == "" {
					t.Fatalf("no %s to look for", what)
				}
				if strings.Contains(text, s) {
					t.Errorf("the log holds the %s %q:\n%s", what, s, text)
				}
			}
		})
	}
}

// TestRequestLog_RequestID: a client's X-Request-ID that is a sane token comes back and is logged;
// anything else is replaced by a new ID, as is a missing one. Errors carry it too.
func TestRequestLog_RequestID(t *testing.T) {
	var log logBuffer
	ts := webtest.NewConfig(t, web.Config{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	sane := regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	long := strings.Repeat("a", 64)
	seen := map[string]bool{}
	for _, tc := range []struct {
		sent string
		kept bool
	}{
		{"", false},
		{"abc-123_X.y", true},
		{long, true},
		{long + "b", false},
		{"has space", false},
		{"semi;colon", false},
		{"new\tline", false},
		{"ünïcode", false},
		{"<script>", false},
		{"a/b", false},
	} {
		hdr := http.Header{}
		if tc.sent != "" {
			hdr.Set("X-Request-ID", tc.sent)
		}
		for _, path := range []string{"/login", "/no/such/page", "/v1/secrets"} { // 200, 303, 401
			resp, _ := send(t, http.MethodGet, ts.URL+path, "", hdr)
			got := resp.Header.Get("X-Request-ID")
			switch {
			case tc.kept && got != tc.sent:
				t.Errorf("GET %s with X-Request-ID %q: got back %q", path, tc.sent, got)
			case !tc.kept && (got == tc.sent || !sane.MatchString(got) || seen[got]):
				t.Errorf("GET %s with X-Request-ID %q: got back %q, want a new sane ID", path, tc.sent, got)
			}
			seen[got] = !tc.kept
			requestLine(t, jsonLines(t, &log), got)
		}
	}
	if strings.Contains(log.String(), "<script>") || strings.Contains(log.String(), long+"b") {
		t.Error("a refused X-Request-ID was logged")
	}
}

// TestRequestLog_InternalErrorCarriesRequestID: the error handler's line for an internal error
// carries the request's ID, as the request's own line does.
func TestRequestLog_InternalErrorCarriesRequestID(t *testing.T) {
	var log logBuffer
	ts := webtest.NewConfig(t, web.Config{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	admin := ts.SeedOrg(t, "Acme", "ada@example.com")
	key := apiKey(t, ts.Store, admin)
	ts.Store.Close() // every query fails from now on
	resp, _ := send(t, http.MethodGet, ts.URL+"/v1/secrets", "", http.Header{"Authorization": {"Bearer " + key}, "X-Request-Id": {"req-500"}})
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", resp.StatusCode)
	}
	var failed map[string]any
	for _, l := range jsonLines(t, &log) {
		if l["msg"] == "request failed" {
			failed = l
		}
	}
	if failed == nil || failed["request_id"] != "req-500" || failed["level"] != "ERROR" {
		t.Fatalf("error line %v, want one with request_id req-500", failed)
	}
	if l := requestLine(t, jsonLines(t, &log), "req-500"); l["status"] != float64(500) {
		t.Errorf("request line %v, want status 500", l)
	}
}
