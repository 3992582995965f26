package db

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's minimum recommendation (19 MiB, 2 iterations, 1 lane).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// hashPassword returns a PHC-formatted argon2id hash of pw.
func hashPassword(pw string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	sum := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(sum))
}

// checkPassword reports whether pw matches the PHC-formatted hash, in constant time.
func checkPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when an email is unknown, so that a sign-in takes as long whether or
// not the account exists. It is made on first use, not at start-up: argon2id costs tens of
// milliseconds and 19 MiB, which every CLI command and every cold start would otherwise pay.
var dummyHash = sync.OnceValue(func() string { return hashPassword("keyhold-dummy-password-for-timing") })

// hashLimiter bounds the password hashing that runs at once. Each argon2id hash takes a core for
// tens of milliseconds and 19 MiB, so unbounded sign-ins (a flood of attempts with unknown emails)
// would take every core and hundreds of MB from the requests that serve secrets. A hash waits for a
// slot at most queueWait, and at most queueMax hashes wait: beyond that the attempt is refused at
// once with CodeUnavailable and a Retry-After, costing nothing.
type hashLimiter struct {
	slots     chan struct{}
	waiting   atomic.Int64
	queueMax  int64
	queueWait time.Duration
}

func newHashLimiter(slots int, queueWait time.Duration) *hashLimiter {
	return &hashLimiter{slots: make(chan struct{}, slots), queueMax: int64(16 * slots), queueWait: queueWait}
}

// errHashBusy is the answer to a password check or change that found every hashing slot taken.
func errHashBusy() error {
	return &Error{Code: CodeUnavailable, RetryAfterSeconds: 1,
		Message: "keyhold is busy checking other sign-ins. Try again in a moment."}
}

// acquire takes a hashing slot, waiting briefly. release must be called once the hash is done.
func (h *hashLimiter) acquire(ctx context.Context) (release func(), err error) {
	select {
	case h.slots <- struct{}{}:
		return h.release, nil
	default:
	}
	if h.waiting.Add(1) > h.queueMax {
		h.waiting.Add(-1)
		return nil, errHashBusy()
	}
	defer h.waiting.Add(-1)
	t := time.NewTimer(h.queueWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return h.release, nil
	case <-t.C:
		return nil, errHashBusy()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (h *hashLimiter) release() { <-h.slots }

// hashPassword is hashPassword in a hashing slot.
func (s *Store) hashPassword(ctx context.Context, pw string) (string, error) {
	release, err := s.hashes.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return hashPassword(pw), nil
}

// verifyPassword reports whether pw opens hash. An unusable hash (a password the operator reset,
// which no password opens) is checked against the dummy hash, so that it takes as long as any other.
// Callers hold a hashing slot.
func verifyPassword(hash, pw string) bool {
	if !strings.HasPrefix(hash, "$argon2id$") {
		checkPassword(dummyHash(), pw)
		return false
	}
	return checkPassword(hash, pw)
}

// defaultHashSlots is how many password hashes run at once by default: one core less than there
// are, and at least one, so that a flood of sign-ins always leaves a core to the secrets' readers.
func defaultHashSlots() int { return max(1, runtime.GOMAXPROCS(0)-1) }
