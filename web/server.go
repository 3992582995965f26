// Package web assembles keyhold's HTTP server: the echo instance, its middleware, the one route table
// and the one error handler.
package web

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/handlers"
	"github.com/keyhold/keyhold/web/metrics"
)

// Config is what the server needs beyond the store. main fills it from flags and the environment.
type Config struct {
	// Logger gets the request log (a line per request) and the error handler's lines.
	Logger *slog.Logger
	// Metrics, when set, records every request (main serves it on a listener of its own). Nil: none.
	Metrics *metrics.Metrics
	// SecureCookies marks cookies Secure, with __Host- names, even when the request did not arrive
	// over TLS (behind a TLS-terminating proxy).
	SecureCookies bool
	// SessionIdle and SessionAbsolute bound a portal session's life.
	SessionIdle     time.Duration
	SessionAbsolute time.Duration
	// APIRate and APIBurst are the per-key token bucket of the JSON API (requests per second).
	APIRate  float64
	APIBurst int
	// TrustedProxies are the proxies whose X-Forwarded-For is believed. Without any, a client's
	// address is the connection's: headers a client sends cannot change it.
	TrustedProxies []netip.Prefix
	// PublicURL is the address people reach keyhold at (https://keyhold.example.com), used in the
	// invitation links the portal shows. Empty: the address of the request that asks.
	PublicURL string
	// BodyMemory bounds the memory that the bodies of requests in flight may hold at once
	// (default 128 MiB): beyond it, a large body waits at most BodyWait (default 5s), then gets 503.
	BodyMemory int64
	BodyWait   time.Duration
	// AttemptRate and AttemptBurst pace password attempts per client address (default 1 a second,
	// bursts of 10): see attemptPacer.
	AttemptRate  float64
	AttemptBurst int
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
	if c.BodyMemory <= 0 {
		c.BodyMemory = 128 << 20
	}
	if c.BodyWait <= 0 {
		c.BodyWait = 5 * time.Second
	}
	if c.AttemptRate <= 0 {
		c.AttemptRate = 1
	}
	if c.AttemptBurst <= 0 {
		c.AttemptBurst = 10
	}
}

// New returns the keyhold HTTP handler: portal, JSON API, static assets and /healthz.
func New(store *db.Store, cfg Config) *echo.Echo {
	cfg.defaults()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		// The request log hands an error over, then returns it, and echo hands it over again.
		if !c.Response().Committed {
			errorHandler(errorLogger(cfg.Logger, c))(err, c)
		}
	}
	e.JSONSerializer = jsonSerializer{}
	e.IPExtractor = clientIPExtractor(cfg.TrustedProxies)
	// Outside every other middleware (routes adds them): the request log sees the status sent, a
	// recovered panic's too.
	patterns := routeSet{}
	e.Use(requestID, requestLog(cfg.Logger, cfg.Metrics, patterns))

	sess := newSessionStore(store, cfg)
	m := &middlewares{store: store, cfg: cfg, sessions: sess, csrfKey: store.DeriveKey("csrf"), bodies: newBodyBudget(cfg.BodyMemory, cfg.BodyWait),
		attempts: newAttemptPacer(cfg)}
	pages := &handlers.Pages{Store: store, Sessions: sess, PublicURL: cfg.PublicURL}
	api := &handlers.API{Store: store, PublicURL: cfg.PublicURL}
	routes(e, m, pages, api)
	patterns.add(e)
	return e
}
