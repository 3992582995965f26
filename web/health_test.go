package web_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/keyhold/keyhold/web/webtest"
)

// TestHealth_LivenessAndReadiness: /healthz answers 200 while the process serves and says whether all
// is well; /readyz answers 503 with the reason once the database does not answer. (A full disk is
// the main package's TestDiskFull.)
func TestHealth_LivenessAndReadiness(t *testing.T) {
	ts := webtest.New(t)
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/healthz", http.StatusOK, "ok\n"},
		{"/readyz", http.StatusOK, "ready\n"},
	} {
		if status, body := get(tc.path); status != tc.status || body != tc.body {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, status, body, tc.status, tc.body)
		}
	}

	ts.Store.Close()
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/healthz", http.StatusOK, "degraded: the database does not answer\n"},
		{"/readyz", http.StatusServiceUnavailable, "not ready: the database does not answer\n"},
	} {
		if status, body := get(tc.path); status != tc.status || body != tc.body {
			t.Errorf("GET %s with the database closed: %d %q, want %d %q", tc.path, status, body, tc.status, tc.body)
		}
	}
}
