package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
)

// config is everything keyhold reads from flags and the environment, read once here and passed down.
// Flags win over environment variables; every secret setting also has a *_FILE variant.
type config struct {
	Addr          string
	Data          string
	SecureCookies bool
	APIRate       float64
	APIBurst      int
	SessionIdle   time.Duration
	SessionMax    time.Duration
	// ReadHeaderTimeout bounds how long a client may take to send its request headers.
	ReadHeaderTimeout time.Duration
	// TrustedProxies are the proxies whose X-Forwarded-For gives the client's address.
	TrustedProxies []netip.Prefix
	// PublicURL is the address people reach keyhold at, for the links it hands out.
	PublicURL string
	// envErrs are environment values that did not parse: serve refuses to start with them.
	envErrs []error
}

// proxiesFlag is --trusted-proxies: a comma-separated list of CIDR prefixes or addresses.
type proxiesFlag struct{ p *[]netip.Prefix }

func (f proxiesFlag) String() string {
	if f.p == nil {
		return ""
	}
	var s []string
	for _, p := range *f.p {
		s = append(s, p.String())
	}
	return strings.Join(s, ",")
}

func (f proxiesFlag) Set(v string) error {
	p, err := web.ParseTrustedProxies(v)
	if err != nil {
		return fmt.Errorf("not a list of CIDR prefixes or addresses: %w", err)
	}
	*f.p = p
	return nil
}

// publicURLFlag is --public-url or --url: the address people open keyhold at, checked when it is set
// (a value without a scheme or host would make every link it hands out broken).
type publicURLFlag struct{ s *string }

func (f publicURLFlag) String() string {
	if f.s == nil {
		return ""
	}
	return *f.s
}

func (f publicURLFlag) Set(v string) error {
	u, err := parsePublicURL(v)
	if err != nil {
		return err
	}
	*f.s = u
	return nil
}

// parsePublicURL checks an address people open keyhold at: http or https, a host, no path (keyhold
// serves from the root), query or fragment. It returns it without a trailing slash.
func parsePublicURL(v string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(v))
	switch {
	case err != nil:
		return "", fmt.Errorf("not an address: %q", v)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%q is not an http or https address with a host, such as https://keyhold.example.com", v)
	case strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "", fmt.Errorf("%q has more than a scheme and a host: keyhold serves from the root", v)
	}
	return u.Scheme + "://" + u.Host, nil
}

// env returns the variable name's value, or the contents of the file named by name_FILE.
func env(name string) (string, error) {
	if v, ok := os.LookupEnv(name); ok {
		return v, nil
	}
	if path, ok := os.LookupEnv(name + "_FILE"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("%s_FILE: %w", name, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}

func envOr(name, def string) string {
	if v, _ := env(name); v != "" {
		return v
	}
	return def
}

// dataFlags registers the flags every command shares.
func dataFlags(fs *flag.FlagSet, cfg *config) {
	fs.StringVar(&cfg.Data, "data", envOr("KEYHOLD_DATA", "./keyhold-data"), "data `directory` (env KEYHOLD_DATA)")
}

// serveFlags registers the server's flags.
func serveFlags(fs *flag.FlagSet, cfg *config) {
	dataFlags(fs, cfg)
	fs.StringVar(&cfg.Addr, "addr", envOr("KEYHOLD_ADDR", "127.0.0.1:8080"), "listen `address` (env KEYHOLD_ADDR)")
	// An environment value that does not parse stops the server with one line, instead of being read
	// as its default (KEYHOLD_SECURE_COOKIES=yes must not mean false).
	bad := func(name string, err error) {
		var ne *strconv.NumError
		if errors.As(err, &ne) {
			err = ne.Err
		}
		cfg.envErrs = append(cfg.envErrs, fmt.Errorf("%s=%q: %v", name, envOr(name, ""), err))
	}
	secure, err := strconv.ParseBool(envOr("KEYHOLD_SECURE_COOKIES", "false"))
	if err != nil {
		bad("KEYHOLD_SECURE_COOKIES", err)
	}
	fs.BoolVar(&cfg.SecureCookies, "secure-cookies", secure, "mark cookies Secure, for serving behind a TLS proxy (env KEYHOLD_SECURE_COOKIES)")
	rate, err := strconv.ParseFloat(envOr("KEYHOLD_API_RATE", "100"), 64)
	if err != nil || rate <= 0 {
		bad("KEYHOLD_API_RATE", cmpErr(err, "must be a positive number"))
	}
	fs.Float64Var(&cfg.APIRate, "api-rate", rate, "API requests per second per key (env KEYHOLD_API_RATE)")
	burst, err := strconv.Atoi(envOr("KEYHOLD_API_BURST", "200"))
	if err != nil || burst <= 0 {
		bad("KEYHOLD_API_BURST", cmpErr(err, "must be a positive whole number"))
	}
	fs.IntVar(&cfg.APIBurst, "api-burst", burst, "API burst per key (env KEYHOLD_API_BURST)")
	idle, err := time.ParseDuration(envOr("KEYHOLD_SESSION_IDLE", "2h"))
	if err != nil || idle <= 0 {
		bad("KEYHOLD_SESSION_IDLE", cmpErr(err, "must be a positive duration such as 30m"))
	}
	fs.DurationVar(&cfg.SessionIdle, "session-idle", idle, "sign out after this long without a request (env KEYHOLD_SESSION_IDLE)")
	max, err := time.ParseDuration(envOr("KEYHOLD_SESSION_MAX", "24h"))
	if err != nil || max <= 0 {
		bad("KEYHOLD_SESSION_MAX", cmpErr(err, "must be a positive duration such as 12h"))
	}
	fs.DurationVar(&cfg.SessionMax, "session-max", max, "sign out this long after sign-in (env KEYHOLD_SESSION_MAX)")
	if v := envOr("KEYHOLD_TRUSTED_PROXIES", ""); v != "" {
		if p, err := web.ParseTrustedProxies(v); err == nil {
			cfg.TrustedProxies = p
		} else {
			bad("KEYHOLD_TRUSTED_PROXIES", err)
		}
	}
	fs.Var(proxiesFlag{&cfg.TrustedProxies}, "trusted-proxies", "`CIDR`s of the reverse proxies whose X-Forwarded-For gives the client's address; without any, the connection's address is the client's (env KEYHOLD_TRUSTED_PROXIES)")
	if v := envOr("KEYHOLD_PUBLIC_URL", ""); v != "" {
		if u, err := parsePublicURL(v); err == nil {
			cfg.PublicURL = u
		} else {
			bad("KEYHOLD_PUBLIC_URL", err)
		}
	}
	fs.Var(publicURLFlag{&cfg.PublicURL}, "public-url", "the `address` people open keyhold at (https://keyhold.example.com), for the invitation links it shows; default: the address of the request (env KEYHOLD_PUBLIC_URL)")
	// Not a flag: only tests need another value than 10 s.
	if d, err := time.ParseDuration(envOr("KEYHOLD_READ_HEADER_TIMEOUT", "10s")); err == nil && d > 0 {
		cfg.ReadHeaderTimeout = d
	} else {
		cfg.ReadHeaderTimeout = 10 * time.Second
	}
}

// masterKeyFile is where the generated master key lives when none is configured.
func masterKeyFile(data string) string { return filepath.Join(data, "master.key") }

// loadMasterKey finds the master key: KEYHOLD_MASTER_KEY, KEYHOLD_MASTER_KEY_FILE, or <data>/master.key.
// On a fresh data directory with none of them it generates <data>/master.key (mode 0600, flushed to
// disk) and logs, without the key, that it must be backed up.
func loadMasterKey(data string, log *slog.Logger) ([]byte, error) {
	v, err := env("KEYHOLD_MASTER_KEY")
	if err != nil {
		return nil, err
	}
	source := "KEYHOLD_MASTER_KEY"
	if v == "" {
		path := masterKeyFile(data)
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			v, source = strings.TrimSpace(string(b)), path
		case errors.Is(err, fs.ErrNotExist):
			if _, err := os.Stat(filepath.Join(data, db.FileName)); err == nil {
				return nil, fmt.Errorf("%s holds a database but no master key was given: set KEYHOLD_MASTER_KEY or KEYHOLD_MASTER_KEY_FILE, or restore %s", data, path)
			}
			if err := os.MkdirAll(data, 0o700); err != nil {
				return nil, err
			}
			v = db.GenerateMasterKey()
			// On disk before the database's first commit (its master key check) depends on it.
			err := createKeyFile(path, []byte(v+"\n"))
			switch {
			case errors.Is(err, fs.ErrExist): // another process generated it first, whole: use that one
				theirs, err := os.ReadFile(path)
				if err != nil {
					return nil, err
				}
				v = strings.TrimSpace(string(theirs))
			case err != nil:
				return nil, fmt.Errorf("create master key: %w", err)
			default:
				log.Warn("generated a new master key: back it up now, separately from the data; without it no secret can be read", "file", path)
			}
			source = path
		default:
			return nil, err
		}
	}
	key, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(key) != db.MasterKeySize {
		return nil, fmt.Errorf("%s must be the base64 encoding of %d random bytes", source, db.MasterKeySize)
	}
	return key, nil
}

// cmpErr is err, or, when err is nil (the value parsed, but is out of range), what the value must be.
func cmpErr(err error, must string) error {
	if err == nil {
		return errors.New(must)
	}
	return err
}
