package main

// Limits of the real http.Server (newHTTPServer) in the real binary: oversized headers and request
// lines are refused by the header limit, and clients that trickle their headers are cut off by the
// read-header timeout without slowing anyone else down.

import (
	"bufio"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhold/keyhold/db"
)

// rawRequest sends req as is on a new connection and returns the status code of the answer.
func rawRequest(t *testing.T, addr, req string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	// The server may answer and close before it has read everything: write in the background.
	go io.Copy(conn, strings.NewReader(req)) //nolint:errcheck
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestServe_Limits runs the binary with its read-header timeout shortened to 2 s (10 s by default).
func TestServe_Limits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	const timeout = 2 * time.Second
	bin := buildKeyhold(t)
	srv := startServer(t, bin, t.TempDir(), freeAddr(t), []string{
		"KEYHOLD_MASTER_KEY=" + db.GenerateMasterKey(),
		"KEYHOLD_READ_HEADER_TIMEOUT=" + timeout.String(),
	})
	t.Run("headers", func(t *testing.T) { testHeaderLimits(t, srv) })
	t.Run("slowloris", func(t *testing.T) { testSlowloris(t, srv, timeout) })
}

// testHeaderLimits: oversized headers and request lines are refused by the 64 KiB header limit.
func testHeaderLimits(t *testing.T, srv *child) {
	cases := []struct {
		name string
		req  string
		want []int
	}{
		{"headers just under 64 KiB", "GET /healthz HTTP/1.1\r\nHost: keyhold\r\nX-Big: " + strings.Repeat("a", 60<<10) + "\r\n\r\n", []int{http.StatusOK}},
		{"headers over 64 KiB", "GET /healthz HTTP/1.1\r\nHost: keyhold\r\nX-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n", []int{http.StatusRequestHeaderFieldsTooLarge}},
		{"many headers over 64 KiB", "GET /healthz HTTP/1.1\r\nHost: keyhold\r\n" + strings.Repeat("X-A: b\r\n", 20000) + "\r\n", []int{http.StatusRequestHeaderFieldsTooLarge}},
		{"request line over 64 KiB", "GET /login?next=" + strings.Repeat("a", 100<<10) + " HTTP/1.1\r\nHost: keyhold\r\n\r\n",
			[]int{http.StatusRequestURITooLong, http.StatusRequestHeaderFieldsTooLarge}},
		{"request line of 1 MiB", "GET /v1/secrets?name=" + strings.Repeat("A", 1<<20) + " HTTP/1.1\r\nHost: keyhold\r\n\r\n",
			[]int{http.StatusRequestURITooLong, http.StatusRequestHeaderFieldsTooLarge}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rawRequest(t, srv.addr, tc.req)
			for _, w := range tc.want {
				if got == w {
					return
				}
			}
			t.Fatalf("status %d, want one of %v", got, tc.want)
		})
	}
}

// testSlowloris opens 50 connections that send their headers one byte a second: the server keeps
// answering a normal client at once, and closes each trickling connection when its read-header
// timeout runs out.
func testSlowloris(t *testing.T, srv *child, timeout time.Duration) {
	const conns = 50
	start := time.Now()
	closedAfter := make([]time.Duration, conns)
	var wg sync.WaitGroup
	for i := range conns {
		conn, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		opened := time.Now()
		done := make(chan struct{})
		// Reader: the server closes the connection without an answer (or with a 408 / 400).
		wg.Go(func() {
			defer close(done)
			conn.SetReadDeadline(time.Now().Add(timeout + 10*time.Second))
			io.Copy(io.Discard, conn) //nolint:errcheck // EOF, reset or our deadline: all end the trickle
			closedAfter[i] = time.Since(opened)
		})
		// Writer: one byte of a never-ending header a second.
		wg.Go(func() {
			msg := "GET /healthz HTTP/1.1\r\nHost: keyhold\r\nX-Slow: " + strings.Repeat("z", 1000)
			for j := 0; j < len(msg); j++ {
				if _, err := conn.Write([]byte{msg[j]}); err != nil {
					return
				}
				select {
				case <-done:
					return
				case <-time.After(time.Second):
				}
			}
		})
	}

	// While they trickle, a normal client is answered promptly.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var slowest time.Duration
	for time.Since(start) < timeout-200*time.Millisecond {
		t0 := time.Now()
		resp, err := client.Get("http://" + srv.addr + "/healthz")
		if err != nil {
			t.Fatalf("/healthz during the trickle: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/healthz during the trickle: %d", resp.StatusCode)
		}
		slowest = max(slowest, time.Since(t0))
		time.Sleep(100 * time.Millisecond)
	}
	if slowest > time.Second {
		t.Errorf("/healthz took %v while %d clients trickled headers", slowest, conns)
	}

	wg.Wait()
	var earliest, latest time.Duration = time.Hour, 0
	for _, d := range closedAfter {
		earliest, latest = min(earliest, d), max(latest, d)
	}
	t.Logf("/healthz answered within %v; the server closed the %d trickling connections after %v to %v", slowest, conns, earliest, latest)
	if earliest < timeout-100*time.Millisecond {
		t.Errorf("a trickling connection was closed after %v, before the %v timeout", earliest, timeout)
	}
	if latest > timeout+3*time.Second {
		t.Errorf("a trickling connection stayed open %v, with a %v timeout", latest, timeout)
	}
	if resp, err := client.Get("http://" + srv.addr + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz after the trickle: %v", err)
	} else {
		resp.Body.Close()
	}
}

// TestConfig_ReadHeaderTimeout: 10 s unless KEYHOLD_READ_HEADER_TIMEOUT names another positive duration.
func TestConfig_ReadHeaderTimeout(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want time.Duration
	}{{"", 10 * time.Second}, {"2s", 2 * time.Second}, {"soon", 10 * time.Second}, {"-1s", 10 * time.Second}} {
		t.Setenv("KEYHOLD_READ_HEADER_TIMEOUT", tc.env)
		var cfg config
		serveFlags(flag.NewFlagSet("serve", flag.ContinueOnError), &cfg)
		if cfg.ReadHeaderTimeout != tc.want {
			t.Errorf("KEYHOLD_READ_HEADER_TIMEOUT=%q: %v, want %v", tc.env, cfg.ReadHeaderTimeout, tc.want)
		}
		if srv := newHTTPServer(http.NotFoundHandler(), cfg.ReadHeaderTimeout, slog.New(slog.DiscardHandler)); srv.ReadHeaderTimeout != tc.want || srv.MaxHeaderBytes != 64<<10 {
			t.Errorf("newHTTPServer: ReadHeaderTimeout %v, MaxHeaderBytes %d", srv.ReadHeaderTimeout, srv.MaxHeaderBytes)
		}
	}
}

// TestConfig_PublicURL: KEYHOLD_PUBLIC_URL is checked like --public-url, and a bad one stops serve
// (every invitation link would be broken) instead of being used.
func TestConfig_PublicURL(t *testing.T) {
	for _, tc := range []struct{ env, want, err string }{
		{"", "", ""},
		{"https://keyhold.example.com/", "https://keyhold.example.com", ""},
		{"http://10.0.0.7:8080", "http://10.0.0.7:8080", ""},
		{"keyhold.example.com", "", "is not an http or https address with a host"},
		{"ftp://keyhold.example.com", "", "is not an http or https address with a host"},
		{"https://keyhold.example.com/?x=1", "", "keyhold serves from the root"},
	} {
		t.Setenv("KEYHOLD_PUBLIC_URL", tc.env)
		var cfg config
		serveFlags(flag.NewFlagSet("serve", flag.ContinueOnError), &cfg)
		var got string
		if len(cfg.envErrs) > 0 {
			got = cfg.envErrs[0].Error()
		}
		if cfg.PublicURL != tc.want || tc.err == "" && got != "" || tc.err != "" && !strings.Contains(got, tc.err) {
			t.Errorf("KEYHOLD_PUBLIC_URL=%q: PublicURL %q, error %q; want %q and an error with %q", tc.env, cfg.PublicURL, got, tc.want, tc.err)
		}
	}
}
