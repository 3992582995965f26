package web

import (
	"math"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web/request"
)

// attemptPaceMaxDelay is how long a password attempt over its address's pace is held before it is
// handled; one due later than that is held as long, then refused.
const attemptPaceMaxDelay = 2 * time.Second

// attemptPacer paces the requests that check a password (sign-in, accepting an invitation, setting a
// password, changing one) per client address (an IPv6 client by its /64), as a token bucket
// (Config.AttemptRate, AttemptBurst): a person retyping a password never notices, but a client that
// sends attempts as fast as it can is slowed to the pace. It slows them by holding the request, not
// by answering at once: a held request costs the server a parked goroutine and no CPU, while an
// immediate refusal would let a flood of attempts (which never waits for Retry-After) turn into as
// many requests as the server can answer, taking the cores that serve secrets. The sign-in throttle
// in db (failures per account and per address) and the bounded hashing slots stay the limits that
// decide; this keeps the flood from costing more than they do.
type attemptPacer struct {
	limiters *keyLimiters
}

func newAttemptPacer(cfg Config) *attemptPacer {
	return &attemptPacer{limiters: newKeyLimiters(rate.Limit(cfg.AttemptRate), cfg.AttemptBurst, time.Now)}
}

// pace is the middleware of the password routes.
func (p *attemptPacer) pace(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method != http.MethodPost {
			return next(c)
		}
		delay, ok := p.limiters.reserve(db.ClientBlock(request.ClientIP(c)), attemptPaceMaxDelay)
		hold := min(delay, attemptPaceMaxDelay)
		if hold > 0 {
			t := time.NewTimer(hold)
			select {
			case <-t.C:
			case <-c.Request().Context().Done():
				t.Stop()
				return c.Request().Context().Err()
			}
		}
		if !ok {
			return &db.Error{Code: db.CodeRateLimited, RetryAfterSeconds: int(math.Ceil((delay - hold).Seconds())) + 1,
				Message: "Too many password attempts from your address. Wait a moment, then try again."}
		}
		return next(c)
	}
}
