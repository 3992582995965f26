package web_test

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/keyhold/keyhold/static"
	"github.com/keyhold/keyhold/web/webtest"
)

// The pages link the assets by content-hashed URLs, cached for good; any other name of an asset is
// answered with its current content, revalidated each time.
func TestStatic_HashedURLs(t *testing.T) {
	t.Parallel()
	ts := webtest.New(t)
	ts.SeedOrg(t, "Acme", "ada@example.com")
	c := webtest.SignedInClient(t, ts, "ada@example.com")
	page := c.Get("/secrets")
	wantStatus(t, "GET /secrets", page, http.StatusOK)
	css := regexp.MustCompile(`<link rel="stylesheet" href="(/static/app\.[0-9a-f]{16}\.css)">`).FindStringSubmatch(page.Body)
	js := regexp.MustCompile(`<script src="(/static/app\.[0-9a-f]{16}\.js)" defer>`).FindStringSubmatch(page.Body)
	if css == nil || js == nil {
		t.Fatalf("the page links no hashed app.css or app.js:\n%s", page.Body)
	}
	want, err := static.FS.ReadFile("app.css")
	if err != nil {
		t.Fatal(err)
	}

	r := c.Get(css[1])
	wantStatus(t, "GET "+css[1], r, http.StatusOK)
	if r.Body != string(want) {
		t.Errorf("GET %s is not app.css", css[1])
	}
	if got := r.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("GET %s: Cache-Control %q, want a year, immutable", css[1], got)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/css; charset=utf-8" {
		t.Errorf("GET %s: Content-Type %q", css[1], ct)
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("GET %s: headers %v lack nosniff or CSP", css[1], r.Header)
	}
	if r := c.Get(js[1]); r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("GET %s: %d %q", js[1], r.Status, r.Header.Get("Content-Type"))
	}

	// The plain name and another version's hash: the current content, never cached for good.
	for _, path := range []string{"/static/app.css", "/static/app.0123456789abcdef.css"} {
		r := c.Get(path)
		wantStatus(t, "GET "+path, r, http.StatusOK)
		if r.Body != string(want) || r.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, same content %v; want no-cache and app.css", path, r.Header.Get("Cache-Control"), r.Body == string(want))
		}
		// Revalidation by ETag costs no body.
		etag := r.Header.Get("ETag")
		if r := c.Do(http.MethodGet, path, nil, http.Header{"If-None-Match": {etag}}); etag == "" || r.Status != http.StatusNotModified {
			t.Errorf("GET %s with If-None-Match %q: %d, want 304", path, etag, r.Status)
		}
	}
	for _, path := range []string{"/static/nope.css", "/static/app.NOTAHASH.css", "/static/nope.0123456789abcdef.css", "/static/../go.mod", "/static/"} {
		if r := c.Get(path); r.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, r.Status)
		}
	}
}
