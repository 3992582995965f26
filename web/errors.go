package web

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/views"
	"github.com/keyhold/keyhold/web/request"
)

// errorHandler is the one error handler: it picks the status and message, logs internal errors once
// (never with a value: db errors carry none), and answers in the caller's format — JSON under /v1/, a
// toast fragment for htmx, an error page otherwise. A full disk is not logged per refused request:
// the store logs when it fills and when space is back.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, msg := http.StatusInternalServerError, "Internal error."
		var he *echo.HTTPError
		var de *db.Error
		switch {
		case errors.As(err, &de):
			status, msg = request.Status(de.Code), de.Message
			if de.RetryAfterSeconds > 0 {
				c.Response().Header().Set("Retry-After", strconv.Itoa(de.RetryAfterSeconds))
			}
		case db.Unreachable(err):
			// Nothing in flight was acknowledged; the store reconnects by itself once the database is
			// back.
			status, msg = http.StatusServiceUnavailable, db.UnreachableMessage
			c.Response().Header().Set("Retry-After", "1")
		case errors.As(err, &he):
			status = he.Code
			msg = http.StatusText(status) + "."
			if m, ok := he.Message.(string); ok && m != "" && status < 500 {
				msg = m
			}
		}
		req := c.Request()
		// Not logged per request: a full disk (the store logs when it fills and when space is back),
		// a database out of reach (the store logs when it loses and regains it).
		if status >= 500 && status != http.StatusInsufficientStorage && !db.Unreachable(err) {
			log.Error("request failed", "method", req.Method, "path", req.URL.Path, "status", status, "err", err)
		}
		var werr error
		switch {
		case strings.HasPrefix(req.URL.Path, "/v1/") || req.URL.Path == "/v1":
			werr = c.JSON(status, map[string]any{"code": status, "message": msg})
		case req.Method == http.MethodHead:
			werr = c.NoContent(status)
		case req.Header.Get("HX-Request") == "true":
			// Show the message as a toast wherever the request meant to swap.
			c.Response().Header().Set("HX-Retarget", "#toast")
			c.Response().Header().Set("HX-Reswap", "innerHTML")
			werr = request.Render(c, status, views.ErrorFragment(msg))
		default:
			werr = request.Render(c, status, views.ErrorPage(views.ErrorProps{Status: status, Message: msg}))
		}
		if werr != nil {
			log.Error("writing error response", "err", werr)
		}
	}
}
