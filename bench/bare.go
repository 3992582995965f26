package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
)

// bareSpec is what the bare server replays: keyhold's own response to the fetch, and to a wrong key.
type bareSpec struct {
	Key                     string `json:"key"`
	ContentType             string `json:"contentType"`
	Body                    []byte `json:"body"`
	UnauthorizedContentType string `json:"unauthorizedContentType"`
	UnauthorizedBody        []byte `json:"unauthorizedBody"`
}

// bareHandler is the floor keyhold is compared with: an echo instance whose GET /v1/secrets answers
// with keyhold's captured bytes when the bearer header matches by string comparison, and with 401
// otherwise. It checks nothing else, reads no database and writes no audit record.
func bareHandler(spec bareSpec) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	want := "Bearer " + spec.Key
	e.GET("/v1/secrets", func(c echo.Context) error {
		if c.Request().Header.Get("Authorization") != want {
			return c.Blob(http.StatusUnauthorized, spec.UnauthorizedContentType, spec.UnauthorizedBody)
		}
		return c.Blob(http.StatusOK, spec.ContentType, spec.Body)
	})
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	return e
}

// bareMain runs the bare server until SIGTERM or SIGINT: bare --addr 127.0.0.1:PORT --spec FILE.
func bareMain(args []string) int {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	specFile := fs.String("spec", "", "JSON file holding the key and the bodies to replay")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	raw, err := os.ReadFile(*specFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		return 1
	}
	var spec bareSpec
	if err := json.Unmarshal(raw, &spec); err != nil || spec.Key == "" || len(spec.Body) == 0 {
		fmt.Fprintln(os.Stderr, "bare: bad spec file", *specFile, err)
		return 1
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		return 1
	}
	// The same server timeouts keyhold sets, so the two differ only in the handler.
	srv := &http.Server{Handler: bareHandler(spec), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 2 * time.Minute,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintln(os.Stderr, "bare:", err)
		return 1
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return 1
	}
	return 0
}
