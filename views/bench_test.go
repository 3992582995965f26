package views

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

// benchSecretsProps is a full page of the Secrets tab: 50 rows of a 10,000-secret listing.
func benchSecretsProps() SecretsProps {
	p := SecretsProps{Page: 3, PageSize: 50, Total: 10000, Now: testNow}
	for i := range 50 {
		p.Rows = append(p.Rows, SecretItem{
			ID:        fmt.Sprintf("6f1c2a4e-0b7d-4c1e-9a53-%012d", i),
			Name:      fmt.Sprintf("STRIPE_API_KEY_%05d", 100+i),
			CreatedBy: "Ada Admin",
			UpdatedBy: "Bob Builder",
			UpdatedAt: testNow.Add(-time.Duration(i) * 37 * time.Minute),
			Owner:     i%3 != 0,
		})
	}
	return p
}

// BenchmarkSecretsPageRender renders the Secrets tab's body with 50 rows into a buffer, as the
// handler's Render does; "page" wraps it in the signed-in layout, as GET /secrets without htmx does.
func BenchmarkSecretsPageRender(b *testing.B) {
	props := benchSecretsProps()
	lp := LayoutProps{Title: "Secrets", CSRF: "csrf-token-0123456789", UserName: "Bob Builder", UserEmail: "bob@example.com",
		OrgName: "acme", Orgs: []OrgOption{{ID: "o1", Name: "acme", Current: true}}, Active: "secrets"}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		page bool
	}{{"body", false}, {"page", true}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				comp := SecretsPage(props)
				if c.page {
					comp = Page(lp, comp)
				}
				if err := comp.Render(ctx, &buf); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(buf.Len()))
		})
	}
}
