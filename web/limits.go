package web

import (
	"context"
	"errors"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/semaphore"

	"github.com/keyhold/keyhold/db"
)

// Body limits. A request's body is capped by its route before anything reads it: only the routes that
// carry a secret's value take large bodies, and only from a signed-in user (or an API key) whose
// CSRF token (or key) has been checked first.
const (
	// publicBodyLimit caps the forms a visitor who is not signed in may send: sign-in, setup,
	// invitation and password reset.
	publicBodyLimit = 16 << 10
	// portalSmallBodyLimit caps every signed-in portal request but a secret's value.
	portalSmallBodyLimit = 64 << 10
	// portalBodyLimit (16 MB) admits a 5 MiB value form-encoded (up to 3 bytes per byte) plus the
	// other fields.
	portalBodyLimit = 16_000_000
	// apiSmallBodyLimit caps every API request but a secret's create and update.
	apiSmallBodyLimit = 256 << 10
)

// formBody caps a request's body at limit while it is read, and reads a form body before anything
// else does. A declared length over the limit is refused before a byte is read; a form over the limit
// is 413, and a form that cannot be parsed (too many fields, bad encoding) is 400. The handlers read
// fields with c.FormValue, which drops parse errors: without this, such a form would reach them as a
// form with empty fields.
//
// The body is wrapped in http.MaxBytesReader (not echo's BodyLimit) because net/http caps any other
// url-encoded body at 10 MB, below the size of a legal value once encoded.
func formBody(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if err := limitBody(c, limit); err != nil {
				return err
			}
			if req.Body == nil || req.Body == http.NoBody {
				return next(c)
			}
			switch req.Method {
			case http.MethodPost, http.MethodPut, http.MethodPatch:
			default:
				return next(c)
			}
			ct := req.Header.Get(echo.HeaderContentType)
			if !strings.HasPrefix(ct, echo.MIMEApplicationForm) && !strings.HasPrefix(ct, echo.MIMEMultipartForm) {
				return next(c)
			}
			if _, err := c.FormParams(); err != nil {
				var big *http.MaxBytesError
				if errors.As(err, &big) || errors.Is(err, multipart.ErrMessageTooLarge) {
					return db.BodyOverLimit(limit)
				}
				return echo.NewHTTPError(http.StatusBadRequest, "The form could not be read: reload the page and try again.")
			}
			return next(c)
		}
	}
}

// capBody caps a request's body at limit while it is read (the API's small routes: their handlers
// decode JSON themselves).
func capBody(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := limitBody(c, limit); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// limitBody refuses a declared length over limit, and caps the body at limit while it is read.
func limitBody(c echo.Context, limit int64) error {
	req := c.Request()
	if req.ContentLength > limit {
		return db.BodyOverLimit(limit)
	}
	if req.Body != nil && req.Body != http.NoBody {
		// The raw writer, so that the server closes the connection instead of draining the rest.
		req.Body = http.MaxBytesReader(c.Response().Writer, req.Body, limit)
	}
	return nil
}

// bodyBudget bounds the memory that large request bodies in flight hold at once. A request reserves
// what its body may cost before it is read, waits at most wait for room, and otherwise gets 503 with
// Retry-After: many large uploads at once queue, instead of taking the server's memory.
type bodyBudget struct {
	sem  *semaphore.Weighted
	size int64
	wait time.Duration
}

func newBodyBudget(size int64, wait time.Duration) *bodyBudget {
	return &bodyBudget{sem: semaphore.NewWeighted(size), size: size, wait: wait}
}

// reserve is middleware that holds cost(request) bytes of the budget while the request runs.
func (b *bodyBudget) reserve(cost func(*http.Request) int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.Body == nil || req.Body == http.NoBody {
				return next(c)
			}
			n := min(max(cost(req), 1), b.size)
			ctx, cancel := context.WithTimeout(req.Context(), b.wait)
			err := b.sem.Acquire(ctx, n)
			cancel()
			if err != nil {
				return &db.Error{Code: db.CodeUnavailable, RetryAfterSeconds: 2,
					Message: "keyhold is receiving too many large requests at once. Try again in a moment."}
			}
			defer b.sem.Release(n)
			return next(c)
		}
	}
}

// formCost is what a form body may hold in memory: its bytes, and its parsed values beside them.
func formCost(limit int64) func(*http.Request) int64 {
	return func(r *http.Request) int64 {
		if r.ContentLength >= 0 && r.ContentLength <= limit {
			return 2 * r.ContentLength
		}
		return 2 * limit
	}
}

// apiSecretCost is what a secret's JSON body may hold in memory: the streaming decoder keeps the
// value, never the body, so at most the value's limit (and a little).
func apiSecretCost(r *http.Request) int64 {
	most := int64(db.MaxValueBytes + 1<<20)
	if r.ContentLength >= 0 {
		return min(r.ContentLength, most)
	}
	return most
}
