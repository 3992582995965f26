package web

import (
	"context"
	"crypto/rand"
	"log/slog"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/keyhold/keyhold/web/metrics"
	"github.com/keyhold/keyhold/web/request"
)

// requestIDMaxLen bounds the X-Request-ID a client may choose.
const requestIDMaxLen = 64

// requestID gives every request an ID, sent back in X-Request-ID: the client's own when it is a sane
// token (up to 64 of A-Z a-z 0-9 . _ -), so that a proxy's ID follows the request through, else a new
// one. The request log and the error handler's log lines carry it.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !saneRequestID(id) {
			id = rand.Text() // 26 characters of base32: 130 random bits
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > requestIDMaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// requestIDOf is the ID requestID gave c's request.
func requestIDOf(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }

// requestLog writes one line per request once it is answered: method, route pattern, status,
// duration, request ID and the acting user's ID. It logs nothing a request carries: no path (an ID,
// an invitation's token), no query string (a fetch's name), no header, cookie or body. Health probes
// log at debug level, beneath the default. With mx, it records the request's metrics too. Errors are
// handed to the error handler here, so that the status logged is the one sent.
func requestLog(log *slog.Logger, mx *metrics.Metrics, routes routeSet) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		HandleError:  true,
		LogMethod:    true,
		LogRoutePath: true,
		LogStatus:    true,
		LogLatency:   true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			route := routes.label(v.RoutePath)
			if mx != nil {
				mx.ObserveRequest(v.Method, route, v.Status, v.Latency)
			}
			level := slog.LevelInfo
			if route == "/healthz" || route == "/readyz" {
				level = slog.LevelDebug
			}
			log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("method", v.Method),
				slog.String("route", route),
				slog.Int("status", v.Status),
				slog.Float64("duration_ms", float64(v.Latency.Microseconds())/1000),
				slog.String("request_id", requestIDOf(c)),
				slog.String("actor_id", request.Actor(c).UserID))
			return nil
		},
	})
}

// routeSet is the patterns of the route table.
type routeSet map[string]bool

// add adds the patterns of e's routes. Not the catch-alls echo adds to a group with middleware, so
// that the middleware runs for paths that match no route (/*, /v1/*): those paths are unmatched.
func (s routeSet) add(e *echo.Echo) {
	for _, r := range e.Routes() {
		if r.Method != echo.RouteNotFound {
			s[r.Path] = true
		}
	}
}

// label is the route a request whose pattern is path (echo's c.Path()) is logged and counted under:
// path when it is one of the table's (a wrong method, 405, keeps it), else metrics.Unmatched. Echo
// gives a request that matched no route a group's catch-all or the path of its router's nearest
// node, which need not be a route's.
func (s routeSet) label(path string) string {
	if s[path] {
		return path
	}
	return metrics.Unmatched
}

// errorLogger is the error handler's logger for c's request: its lines carry the request's ID.
func errorLogger(log *slog.Logger, c echo.Context) *slog.Logger {
	return slog.New(requestIDHandler{log.Handler(), requestIDOf(c)})
}

// requestIDHandler adds a request's ID to each line it writes. Unlike Logger.With, it formats
// nothing until a line is written: most errors (a 404, a 429) log none.
type requestIDHandler struct {
	slog.Handler
	id string
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	r.AddAttrs(slog.String("request_id", h.id))
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs), h.id}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name), h.id}
}
