package dbtest

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestCluster starts a private server, creates a database in it, stops the server (connections break
// and new ones are refused) and starts it again on the same address, with what was committed kept.
func TestCluster(t *testing.T) {
	c := NewCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	u, err := url.Parse(c.URL())
	if err != nil || u.Scheme != "postgres" || u.Hostname() != "127.0.0.1" || u.Path != "/postgres" || u.Query().Get("sslmode") != "disable" {
		t.Fatalf("URL() = %q (%v), want postgres://…@127.0.0.1:port/postgres?sslmode=disable", c.URL(), err)
	}
	if p, ok := u.User.Password(); u.User.Username() != "keyhold" || !ok || p == "" {
		t.Errorf("URL() = %q: want the superuser keyhold with a password", c.URL())
	}
	// Over TCP, the password is required.
	noPassword := *u
	noPassword.User = url.User("keyhold")
	if conn, err := pgx.Connect(ctx, noPassword.String()); err == nil {
		conn.Close(ctx)
		t.Errorf("connected over TCP without the password")
	}

	dbURL := c.Database(t)
	other := c.Database(t)
	if d, _ := url.Parse(dbURL); d == nil || !nameRE.MatchString(strings.TrimPrefix(d.Path, "/")) || d.Host != u.Host {
		t.Fatalf("Database = %q, want a kh_ database on %s", dbURL, u.Host)
	}
	if dbURL == other {
		t.Fatalf("Database twice: %q both times", dbURL)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("a fresh database has %d tables (%v), want 0", n, err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('committed')`); err != nil {
		t.Fatal(err)
	}

	c.Stop(t)
	if _, err := conn.Exec(ctx, `SELECT 1`); err == nil {
		t.Errorf("a connection made before Stop still works after it")
	}
	short, cancelShort := context.WithTimeout(ctx, 5*time.Second)
	if down, err := pgx.Connect(short, dbURL); err == nil {
		down.Close(ctx)
		t.Errorf("connected to the stopped server")
	}
	cancelShort()

	c.Start(t)
	again, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connecting once the server is started again: %v", err)
	}
	defer again.Close(context.Background())
	var v string
	if err := again.QueryRow(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != "committed" {
		t.Errorf("after a restart, the committed row reads %q (%v), want %q", v, err, "committed")
	}
}
