package db_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/keyhold/keyhold/db"
)

// The benchmarks behind the performance suite (go run ./bench): each times one store call on a real
// SQLite file, with a realistic amount of data around it. Run them with
//
//	go test ./db -run '^$' -bench . -benchmem -cpuprofile cpu.prof

// benchValue is n bytes of base64 text.
func benchValue(n int) string {
	raw := make([]byte, n)
	rand.Read(raw)
	return base64.StdEncoding.EncodeToString(raw)[:n]
}

// benchKeyFile is a value the size of a cloud service-account key file (about 2.3 KB).
var benchKeyFile = `{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\n` + benchValue(1624) +
	`\n-----END PRIVATE KEY-----\n", "client_email": "svc@acme.iam.example.com"}`

// benchPEM is a value the size of a certificate (about 2.2 KB).
var benchPEM = "-----BEGIN CERTIFICATE-----\n" + benchValue(2100) + "\n-----END CERTIFICATE-----\n"

// benchOrg is an organization as the suite seeds it: Ada (admin) shares the key file with the team
// "platform" as Reader; Bob, a member of "platform" and "data-eng", reads it through that team grant
// only, and owns bulk secrets of his own.
type benchOrg struct {
	s        *db.Store
	ada, bob db.Actor
	target   *db.Secret
}

func newBenchOrg(b *testing.B, bulk int) *benchOrg {
	b.Helper()
	s := mustOpen(b)
	ada := mustOrg(b, s, "acme", "ada@example.com")
	bob := mustMember(b, s, ada, "bob@example.com")
	carol := mustMember(b, s, ada, "carol@example.com")
	platform := mustTeam(b, s, ada, "platform", bob, carol)
	mustTeam(b, s, ada, "data-eng", bob)
	target := mustSecret(b, s, ada, "GCP_SERVICE_ACCOUNT_JSON", benchKeyFile)
	mustShare(b, s, ada, target, db.PrincipalTeam, platform.ID, db.RoleReader)
	for i := range bulk {
		value := benchValue(60) // a token, a URL with a password…
		if i%4 == 2 {
			value = benchPEM // …or a certificate
		}
		sec := mustSecret(b, s, bob, fmt.Sprintf("%s_%05d", []string{"STRIPE_API_KEY", "GITHUB_TOKEN", "TLS_CERT_PEM", "DATABASE_URL"}[i%4], i), value)
		if i%10 == 0 {
			mustShare(b, s, bob, sec, db.PrincipalTeam, platform.ID, db.RoleReader)
		}
	}
	return &benchOrg{s: s, ada: ada, bob: bob, target: target}
}

// BenchmarkAuthenticateAPIKey is the API's key lookup: hash the bearer token, find the key with its
// user and membership. "unknown" is the 401 path.
func BenchmarkAuthenticateAPIKey(b *testing.B) {
	o := newBenchOrg(b, 0)
	key, _, err := o.s.CreateAPIKey(ctx, o.bob, "bench", noExpiry)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("valid", func(b *testing.B) {
		for b.Loop() {
			if _, err := o.s.AuthenticateAPIKey(ctx, key, "127.0.0.1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unknown", func(b *testing.B) {
		bad := db.APIKeyPrefix + strings.Repeat("x", 43)
		for b.Loop() {
			if _, err := o.s.AuthenticateAPIKey(ctx, bad, "127.0.0.1"); db.ErrorCode(err) != db.CodeUnauthorized {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSecretByName is the SDK's fetch: permission check through a team grant, open, and the
// audited read (which waits for the audit batch's commit). "parallel" lets concurrent reads share
// audit commits. BenchmarkSecretByID is the same lookup and permission check without open and audit.
func BenchmarkSecretByName(b *testing.B) {
	o := newBenchOrg(b, 1000)
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			sec, err := o.s.SecretByName(ctx, o.bob, o.target.Name)
			if err != nil || sec.Value != benchKeyFile {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(8) // 8×GOMAXPROCS concurrent readers
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := o.s.SecretByName(ctx, o.bob, o.target.Name); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkSecretByID(b *testing.B) {
	o := newBenchOrg(b, 1000)
	for b.Loop() {
		sec, err := o.s.SecretByID(ctx, o.bob, o.target.ID)
		if err != nil || sec.Access != db.RoleReader {
			b.Fatal(err)
		}
	}
}

// BenchmarkListSecrets is the Secrets tab's query for a user who can read 10,000 secrets: the first
// page, a page deep in the list, and searches matching many, one and no secrets. The last case is the
// first page again once the organization also holds five 5 MB secrets that the user cannot see.
func BenchmarkListSecrets(b *testing.B) {
	o := newBenchOrg(b, 9999) // plus the team-shared key file: 10,000
	type listCase struct {
		name   string
		query  string
		offset int
		want   int
	}
	run := func(c listCase) {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				page, err := o.s.ListSecrets(ctx, o.bob, c.query, c.offset, 50)
				if err != nil || page.Total != c.want {
					b.Fatalf("total %d, want %d: %v", page.Total, c.want, err)
				}
			}
		})
	}
	for _, c := range []listCase{
		{"first_page", "", 0, 10000},
		{"page_100", "", 99 * 50, 10000},
		{"search_many", "STRIPE", 0, 2500},
		{"search_one", "GITHUB_TOKEN_04241", 0, 1},
		{"search_none", "no_such_secret", 0, 0},
	} {
		run(c)
	}
	big := benchValue(db.MaxValueBytes)
	for i := range 5 {
		mustSecret(b, o.s, o.ada, fmt.Sprintf("BIG_BLOB_%d", i), big)
	}
	run(listCase{"first_page_with_5MB_rows", "", 0, 10000})
}

var valueSizes = []struct {
	name string
	n    int
}{{"1KB", 1 << 10}, {"5MB", db.MaxValueBytes}}

// BenchmarkSeal and BenchmarkOpen are AES-GCM sealing under the organization's data key, without SQL.
func BenchmarkSeal(b *testing.B) {
	s := mustOpen(b)
	ada := mustOrg(b, s, "acme", "ada@example.com")
	for _, size := range valueSizes {
		v := []byte(benchValue(size.n))
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.SealValue(ctx, ada.OrgID, "00000000-0000-0000-0000-000000000001", v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	s := mustOpen(b)
	ada := mustOrg(b, s, "acme", "ada@example.com")
	const id = "00000000-0000-0000-0000-000000000001"
	for _, size := range valueSizes {
		keyID, sealed, err := s.SealValue(ctx, ada.OrgID, id, []byte(benchValue(size.n)))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.OpenValue(ctx, ada.OrgID, id, keyID, sealed); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCreateSecret and BenchmarkRevealSecret are the same at the store's edge: seal and insert in
// a transaction with its audit record; read, open and the audited read. B/op shows how many copies of
// a value a call makes.
func BenchmarkCreateSecret(b *testing.B) {
	s := mustOpen(b)
	ada := mustOrg(b, s, "acme", "ada@example.com")
	for _, size := range valueSizes {
		v := benchValue(size.n)
		i := 0 // across runs of the sub-benchmark (-count): names stay unique in the one store
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				i++
				if _, err := s.CreateSecret(ctx, ada, fmt.Sprintf("V_%s_%d", size.name, i), []byte(v)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRevealSecret(b *testing.B) {
	s := mustOpen(b)
	ada := mustOrg(b, s, "acme", "ada@example.com")
	for _, size := range valueSizes {
		sec := mustSecret(b, s, ada, "V_"+size.name, benchValue(size.n))
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.RevealSecret(ctx, ada, sec.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCreateSecretConcurrent is 16 callers creating 1 KB secrets at once: the committer groups
// them, so ns/op is the cost of a change in a group, fsync shared.
func BenchmarkCreateSecretConcurrent(b *testing.B) {
	s := mustOpen(b)
	ada := mustOrg(b, s, "acme", "ada@example.com")
	v := benchValue(1 << 10)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8) // 8×GOMAXPROCS(2) callers
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.CreateSecret(ctx, ada, fmt.Sprintf("C_%d", n.Add(1)), []byte(v)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkAuditApply is moving journaled read events into the database: ns/op is per event.
func BenchmarkAuditApply(b *testing.B) {
	s := mustOpen(b)
	ada := mustOrg(b, s, "acme", "ada@example.com")
	mustSecret(b, s, ada, "AUDITED", "value")
	for b.Loop() {
		b.StopTimer()
		for range 1000 {
			if _, err := s.SecretByName(ctx, ada, "AUDITED"); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if err := s.SyncAudit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/event")
}

// BenchmarkSecretByIDNested is BenchmarkSecretByID for a reader who reaches the secret through nested
// teams: the grant is to "platform", which contains "databases", which contains "postgres", Bob's
// team (team_closure).
func BenchmarkSecretByIDNested(b *testing.B) {
	s := mustOpen(b)
	ada := mustOrg(b, s, "acme", "ada@example.com")
	bob := mustMember(b, s, ada, "bob@example.com")
	platform, databases, postgres := mustTeam(b, s, ada, "platform"), mustTeam(b, s, ada, "databases"), mustTeam(b, s, ada, "postgres", bob)
	for _, e := range [][2]*db.Team{{platform, databases}, {databases, postgres}} {
		if _, err := s.UpdateTeam(ctx, ada, e[0].ID, db.TeamChange{AddTeamIDs: []string{e[1].ID}}); err != nil {
			b.Fatal(err)
		}
	}
	target := mustSecret(b, s, ada, "GCP_SERVICE_ACCOUNT_JSON", benchKeyFile)
	mustShare(b, s, ada, target, db.PrincipalTeam, platform.ID, db.RoleReader)
	for i := range 1000 {
		mustSecret(b, s, ada, fmt.Sprintf("BULK_%05d", i), benchValue(60))
	}
	for b.Loop() {
		sec, err := s.SecretByID(ctx, bob, target.ID)
		if err != nil || sec.Access != db.RoleReader {
			b.Fatal(err)
		}
	}
}
