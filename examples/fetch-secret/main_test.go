package main

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
)

// TestFetchSecret runs the README's Go example against a real keyhold on loopback.
func TestFetchSecret(t *testing.T) {
	ctx := context.Background()
	key := make([]byte, 32)
	rand.Read(key)
	store, err := db.Open(ctx, filepath.Join(t.TempDir(), db.FileName), db.Options{MasterKey: key})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	org, u, err := store.CreateOrg(ctx, "Acme", db.NewUser{Email: "ada@example.com", Password: "correct horse battery"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	a, err := store.ActorFor(ctx, u.ID, org.ID, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateSecret(ctx, a, "API_TOKEN", []byte("s3cr3t\nline two\n")); err != nil {
		t.Fatal(err)
	}
	apiKey, _, err := store.CreateAPIKey(ctx, a, "example", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.New(store, web.Config{}))
	defer srv.Close()

	got, err := fetchSecret(srv.URL, apiKey, "API_TOKEN")
	if err != nil || got != "s3cr3t\nline two\n" {
		t.Fatalf("fetchSecret = %q, %v", got, err)
	}
	if _, err := fetchSecret(srv.URL, apiKey, "MISSING"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing secret: %v", err)
	}
	if _, err := fetchSecret(srv.URL, "kh_wrong", "API_TOKEN"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong key: %v", err)
	}
}
