// Package web assembles keyhold's HTTP server: the echo instance, its middleware, the one route table
// and the one error handler.
package web

import (
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/handlers"
)

// Config is what the server needs beyond the store. main fills it from flags and the environment.
type Config struct {
	Logger *slog.Logger
	// SecureCookies marks cookies Secure even when the request did not arrive over TLS (behind a
	// TLS-terminating proxy).
	SecureCookies bool
	// SessionIdle and SessionAbsolute bound a portal session's life.
	SessionIdle     time.Duration
	SessionAbsolute time.Duration
	// APIRate and APIBurst are the per-key token bucket of the JSON API (requests per second).
	APIRate  float64
	APIBurst int
	// LoginAccount and LoginClient throttle failed sign-ins per account and per client address.
	LoginAccount db.Throttle
	LoginClient  db.Throttle
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.SessionIdle == 0 {
		c.SessionIdle = 2 * time.Hour
	}
	if c.SessionAbsolute == 0 {
		c.SessionAbsolute = 24 * time.Hour
	}
	if c.APIRate == 0 {
		c.APIRate = 100
	}
	if c.APIBurst == 0 {
		c.APIBurst = 200
	}
	if c.LoginAccount.MaxFailures == 0 {
		c.LoginAccount = db.Throttle{MaxFailures: 5, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
	}
	if c.LoginClient.MaxFailures == 0 {
		c.LoginClient = db.Throttle{MaxFailures: 20, Window: 15 * time.Minute, Lockout: 15 * time.Minute}
	}
}

// New returns the keyhold HTTP handler: portal, JSON API, static assets and /healthz.
func New(store *db.Store, cfg Config) *echo.Echo {
	cfg.defaults()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(cfg.Logger)
	e.JSONSerializer = jsonSerializer{}

	sess := newSessionStore(store, cfg)
	m := &middlewares{store: store, cfg: cfg, sessions: sess}
	pages := &handlers.Pages{Store: store, Sessions: sess, Log: cfg.Logger,
		LoginAccount: cfg.LoginAccount, LoginClient: cfg.LoginClient}
	api := &handlers.API{Store: store, Log: cfg.Logger}
	routes(e, m, pages, api)
	return e
}
