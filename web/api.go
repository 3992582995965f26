package web

import (
	"math"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/request"
)

// apiBodyLimit admits a value of 5 MiB at its worst JSON escaping (6 bytes per byte, \u0001) plus 64 KiB
// of envelope.
const apiBodyLimit = 6*db.MaxValueBytes + 64<<10

// apiMiddleware guards the JSON API: bearer-key authentication, the organizationID check, a token
// bucket per key, and the Content-Type and size of request bodies. It sets no cookie and needs no CSRF
// token: a request carries its credential in a header a browser never sends on its own.
type apiMiddleware struct {
	store    *db.Store
	limiters *keyLimiters
}

func newAPIMiddleware(store *db.Store, cfg Config) *apiMiddleware {
	return &apiMiddleware{store: store, limiters: newKeyLimiters(rate.Limit(cfg.APIRate), cfg.APIBurst, time.Now)}
}

// authenticate turns "Authorization: Bearer kh_…" (and the organizationID the client may send) into
// the request's actor.
func (m *apiMiddleware) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		scheme, token, _ := strings.Cut(strings.TrimSpace(c.Request().Header.Get("Authorization")), " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="keyhold"`)
			return db.Errorf(db.CodeUnauthorized, "Missing API key: send the header Authorization: Bearer <API key>.")
		}
		a, err := m.store.APIRequestActor(c.Request().Context(), token, request.ClientIP(c), c.QueryParam("organizationID"))
		if err != nil {
			if db.ErrorCode(err) == db.CodeUnauthorized {
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="keyhold", error="invalid_token"`)
			}
			return err
		}
		request.SetActor(c, a)
		return next(c)
	}
}

// rateLimit refuses a request with 429 and Retry-After when its key's bucket is empty. It runs after
// authenticate: the bucket is the key's.
func (m *apiMiddleware) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		keyID := request.Actor(c).APIKeyID
		if wait := m.limiters.wait(keyID); wait > 0 {
			secs := int(math.Ceil(wait.Seconds()))
			return &db.Error{Code: db.CodeRateLimited, RetryAfterSeconds: secs,
				Message: "Too many requests with this API key: retry after the time in Retry-After."}
		}
		return next(c)
	}
}

// jsonType checks that a request with a body says it is JSON (jsonContentType). GET and DELETE carry
// no body, and clients send Content-Type: application/json on them anyway: that is fine. Each route
// caps its body (capBody) at its own limit.
func (m *apiMiddleware) jsonType(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		switch req.Method {
		case http.MethodPost, http.MethodPatch, http.MethodPut:
			if err := jsonContentType(req.Header.Get(echo.HeaderContentType)); err != nil {
				return err
			}
		}
		return next(c)
	}
}

// jsonContentType checks a body's Content-Type: it must parse as the media type application/json, in
// any case, and may carry parameters, but no charset other than UTF-8, the encoding of JSON. Anything
// else is 415, a missing or malformed header included.
func jsonContentType(h string) error {
	mediaType, params, err := mime.ParseMediaType(h)
	if err != nil || mediaType != echo.MIMEApplicationJSON {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Send the body as JSON, with the header Content-Type: application/json.")
	}
	if charset, ok := params["charset"]; ok && !strings.EqualFold(charset, "utf-8") {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Send the body as JSON in UTF-8: Content-Type: application/json may name no other charset than utf-8.")
	}
	return nil
}

// keyLimiters holds a token bucket per API key. A bucket idle long enough to have refilled is the same
// as a new one, so it is dropped: memory stays bounded by the keys in recent use.
type keyLimiters struct {
	mu        sync.Mutex
	limit     rate.Limit
	burst     int
	now       func() time.Time
	idle      time.Duration
	lastSweep time.Time
	m         map[string]*keyLimiter
}

type keyLimiter struct {
	lim  *rate.Limiter
	seen time.Time
}

func newKeyLimiters(limit rate.Limit, burst int, now func() time.Time) *keyLimiters {
	// The time an empty bucket takes to fill, and at least a minute.
	idle := time.Minute
	if limit > 0 {
		if fill := time.Duration(float64(burst) / float64(limit) * float64(time.Second)); fill > idle {
			idle = fill
		}
	}
	return &keyLimiters{limit: limit, burst: burst, now: now, idle: idle, lastSweep: now(), m: map[string]*keyLimiter{}}
}

// wait takes a token from key's bucket and returns 0, or, when the bucket is empty, takes nothing and
// returns how long until a token is there.
func (k *keyLimiters) wait(key string) time.Duration {
	d, _ := k.reserve(key, 0)
	return d
}

// reserve takes a token from key's bucket, possibly one that is only there after a delay: ok says
// the token is the caller's once the returned delay has passed. A delay over most takes nothing
// (ok is false) and returns how long until a token is there.
func (k *keyLimiters) reserve(key string, most time.Duration) (delay time.Duration, ok bool) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.lastSweep) >= k.idle {
		for id, l := range k.m {
			if now.Sub(l.seen) >= k.idle {
				delete(k.m, id)
			}
		}
		k.lastSweep = now
	}
	l, ok := k.m[key]
	if !ok {
		l = &keyLimiter{lim: rate.NewLimiter(k.limit, k.burst)}
		k.m[key] = l
	}
	l.seen = now
	r := l.lim.ReserveN(now, 1)
	if !r.OK() {
		return time.Hour, false
	}
	d := r.DelayFrom(now)
	if d > most {
		r.CancelAt(now)
		return d, false
	}
	return d, true
}

// size is how many buckets are held (for tests).
func (k *keyLimiters) size() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}
