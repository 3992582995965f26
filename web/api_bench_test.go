package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/webtest"
)

// These benchmarks drive the whole keyhold handler (web.New: middleware, handlers, store, audit) in
// process, without sockets, so that a CPU profile of them is a profile of a request:
//
//	go test ./web -run '^$' -bench . -cpuprofile cpu.prof

// benchServer is keyhold with the suite's data: Bob reads the key file through the team "platform"
// and can read bulk+1 secrets in all.
type benchServer struct {
	ts   *webtest.Server
	h    http.Handler
	key  string
	bulk int
}

func newBenchServer(b *testing.B, bulk int) *benchServer {
	b.Helper()
	ts := webtest.NewConfig(b, web.Config{APIRate: 1e9, APIBurst: 1 << 30})
	ctx := context.Background()
	ada := ts.SeedOrg(b, "acme", "ada@example.com")
	bob := ts.SeedMember(b, ada, "bob@example.com", "Bob", "Builder")
	team, err := ts.Store.CreateTeam(ctx, ada, "platform", "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ts.Store.UpdateTeam(ctx, ada, team.ID, db.TeamChange{AddUserIDs: []string{bob.UserID}}); err != nil {
		b.Fatal(err)
	}
	sec := ts.SeedSecret(b, ada, "GCP_SERVICE_ACCOUNT_JSON", `{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\n`+
		strings.Repeat("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", 52)+`\n-----END PRIVATE KEY-----\n"}`)
	if err := ts.Store.ChangeAccess(ctx, ada, sec.ID, []db.AccessChange{{Kind: db.PrincipalTeam, ID: team.ID, Role: db.RoleReader}}); err != nil {
		b.Fatal(err)
	}
	for i := range bulk {
		ts.SeedSecret(b, bob, fmt.Sprintf("%s_%05d", []string{"STRIPE_API_KEY", "GITHUB_TOKEN", "TLS_CERT_PEM", "DATABASE_URL"}[i%4], i), "value-"+fmt.Sprint(i))
	}
	key, _, err := ts.Store.CreateAPIKey(ctx, bob, "bench", time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	return &benchServer{ts: ts, h: ts.Config.Handler, key: key, bulk: bulk}
}

// serve runs one request through the handler and checks its status.
func (s *benchServer) serve(b *testing.B, req *http.Request, want int) int {
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	if w.Code != want {
		b.Fatalf("%s %s: status %d, want %d: %.200s", req.Method, req.URL, w.Code, want, w.Body.String())
	}
	return w.Body.Len()
}

// BenchmarkAPIFetchByName is GET /v1/secrets?name=… as the SDK sends it, one at a time and from 16
// concurrent callers; "wrong_key" is the 401 path.
func BenchmarkAPIFetchByName(b *testing.B) {
	s := newBenchServer(b, 1000)
	fetch := func(key string) *http.Request {
		req := httptest.NewRequest(http.MethodGet, "/v1/secrets?name=GCP_SERVICE_ACCOUNT_JSON", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		return req
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			s.serve(b, fetch(s.key), http.StatusOK)
		}
	})
	b.Run("parallel16", func(b *testing.B) {
		b.SetParallelism(8) // 8×GOMAXPROCS(2) callers
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.serve(b, fetch(s.key), http.StatusOK)
			}
		})
	})
	b.Run("wrong_key", func(b *testing.B) {
		bad := db.APIKeyPrefix + strings.Repeat("x", 43)
		for b.Loop() {
			s.serve(b, fetch(bad), http.StatusUnauthorized)
		}
	})
}

// BenchmarkPortalSecretsPage is the Secrets tab for a user who can read 10,000 secrets: the whole
// first page, and a search as the htmx table fragment.
func BenchmarkPortalSecretsPage(b *testing.B) {
	s := newBenchServer(b, 9999)
	c := webtest.SignedInClient(b, s.ts, "bob@example.com")
	cookies := c.Cookies()
	get := func(path string, hx bool) *http.Request {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for _, ck := range cookies {
			req.AddCookie(ck)
		}
		if hx {
			req.Header.Set("HX-Request", "true")
		}
		return req
	}
	for _, c := range []struct {
		name, path string
		hx         bool
	}{{"first_page", "/secrets", false}, {"search", "/secrets?q=STRIPE", true}, {"search_one", "/secrets?q=GITHUB_TOKEN_04241", true}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				s.serve(b, get(c.path, c.hx), http.StatusOK)
			}
		})
	}
}

// BenchmarkAPIWrites is the writers' mix through the whole handler: 16 callers, each creating a
// secret and then updating it three times, 2 KB values. The committer groups their changes.
func BenchmarkAPIWrites(b *testing.B) {
	s := newBenchServer(b, 0)
	ada := s.ts.SeedOrg(b, "writers", "writer@example.com")
	key, _, err := s.ts.Store.CreateAPIKey(context.Background(), ada, "writers", time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	value := strings.Repeat(`MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n`, 64)
	var n atomic.Int64
	b.SetParallelism(8) // 8×GOMAXPROCS(2) callers
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		id := ""
		for i := 0; pb.Next(); i++ {
			var req *http.Request
			if i%4 == 0 {
				req = httptest.NewRequest(http.MethodPost, "/v1/secrets",
					strings.NewReader(fmt.Sprintf(`{"name":"W_%d","value":"%s"}`, n.Add(1), value)))
			} else {
				req = httptest.NewRequest(http.MethodPatch, "/v1/secrets/"+id, strings.NewReader(`{"value":"`+value+`"}`))
			}
			req.Header.Set("Authorization", "Bearer "+key)
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			s.h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("%s: %d %s", req.Method, w.Code, w.Body)
				return
			}
			if i%4 == 0 {
				var out struct{ SecretID string }
				json.Unmarshal(w.Body.Bytes(), &out)
				id = out.SecretID
			}
		}
	})
}
