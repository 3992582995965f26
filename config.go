package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
)

// config is everything keyhold reads from flags and the environment, read once here and passed down.
// Flags win over environment variables; every secret setting also has a *_FILE variant.
type config struct {
	Addr string
	Data string
	// Database is the PostgreSQL URL of --database (or KEYHOLD_DATABASE_URL): keyhold keeps its data
	// there instead of in SQLite in Data. Empty: SQLite.
	Database string
	// databaseFrom names the setting Database came from, for its error messages; databaseErr is a
	// KEYHOLD_DATABASE_URL_FILE that could not be read. checkDatabase reports both.
	databaseFrom string
	databaseErr  error

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
	// MetricsAddr is where the Prometheus metrics are served (/metrics), on a listener of their own;
	// "" (the default): nowhere. They are never served on Addr.
	MetricsAddr string
	// LogFormat is the format of the server's log: logText (the default) or logJSON.
	LogFormat string
	// MaxVersions is how many versions of each secret are kept (--max-versions); TrashDays how many
	// days a deleted secret stays restorable (--trash-days). Zero: db's defaults.
	MaxVersions int
	TrashDays   int
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

// dataFlags registers the flags every command shares: where the data is, --data (a directory holding
// the SQLite database) or --database (a PostgreSQL URL, which wins when set). parseFlags checks
// --database once the command line is read (checkDatabase).
func dataFlags(fs *flag.FlagSet, cfg *config) {
	fs.StringVar(&cfg.Data, "data", envOr("KEYHOLD_DATA", "./keyhold-data"), "data `directory` (env KEYHOLD_DATA)")
	// An unreadable KEYHOLD_DATABASE_URL_FILE is an error, not SQLite: an instance meant for the
	// shared database must not start on a data directory of its own.
	cfg.Database, cfg.databaseErr = env(databaseEnv)
	cfg.databaseFrom = databaseEnv
	if _, ok := os.LookupEnv(databaseEnv); !ok {
		if _, ok := os.LookupEnv(databaseEnv + "_FILE"); ok {
			cfg.databaseFrom = databaseEnv + "_FILE"
		}
	}
	fs.Var(databaseFlag{cfg}, "database", "PostgreSQL `URL` to keep the data in (postgres://user:password@host:5432/keyhold?sslmode=require) instead of SQLite in --data (env KEYHOLD_DATABASE_URL)")
}

// databaseEnv is the environment variable of --database (with its _FILE variant).
const databaseEnv = "KEYHOLD_DATABASE_URL"

// databaseFlag is --database. Set only records the value: the flag package quotes a value its Set
// refuses in its error, password and all, so the value is checked after parsing (checkDatabase).
type databaseFlag struct{ cfg *config }

func (f databaseFlag) String() string {
	if f.cfg == nil || f.cfg.Database == "" {
		return ""
	}
	return db.RedactURL(f.cfg.Database)
}

func (f databaseFlag) Set(v string) error {
	f.cfg.Database, f.cfg.databaseFrom, f.cfg.databaseErr = v, "--database", nil
	return nil
}

// checkDatabase checks --database (or its environment variable) when it is set: a postgres:// or
// postgresql:// URL that parses. Its errors are usage errors of one line that never hold the URL's
// password: the URL is quoted with its user info and password parameters redacted, or not at all.
func (cfg *config) checkDatabase() error {
	if cfg.databaseErr != nil {
		return usageError{cfg.databaseErr.Error()}
	}
	if cfg.Database == "" {
		return nil
	}
	if err := checkDatabaseURL(cfg.Database); err != nil {
		return usageError{cfg.databaseFrom + " " + err.Error()}
	}
	return nil
}

// databaseURLExample is the form of --database, for error messages.
const databaseURLExample = "postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=require"

// checkDatabaseURL checks a PostgreSQL URL; its error starts with what is wrong, for the caller to
// prefix with the setting's name, and holds no password.
func checkDatabaseURL(v string) error {
	u, uerr := url.Parse(v)
	switch {
	case !db.IsPostgres(v):
		if uerr == nil && u.Scheme != "" && u.Host != "" {
			return fmt.Errorf("%q is not a PostgreSQL URL: give one such as %s, or leave it out to keep the data in SQLite in --data", db.RedactURL(u.String()), databaseURLExample)
		}
		if !strings.Contains(v, "://") && strings.Contains(v, "=") {
			return fmt.Errorf("is a key=value connection string: give it as a URL, such as %s", databaseURLExample)
		}
		return fmt.Errorf("is not a PostgreSQL URL: give one such as %s, or leave it out to keep the data in SQLite in --data", databaseURLExample)
	case uerr != nil:
		// url.Parse's error quotes the URL: say only that it does not parse.
		return fmt.Errorf("is not a URL that parses: give one such as %s, with the password's special characters percent-encoded", databaseURLExample)
	}
	if _, err := pgx.ParseConfig(v); err != nil {
		return fmt.Errorf("%q: %s", db.RedactURL(u.String()), pgReason(err, u))
	}
	return nil
}

// pgReason is why pgx refused the URL u, without the URL (pgx quotes it, redacting its password as
// best it can) and, for certain, without its password.
func pgReason(err error, u *url.URL) string {
	const fallback = "not a connection URL PostgreSQL accepts"
	var pe *pgconn.ParseConfigError
	if !errors.As(err, &pe) {
		return fallback
	}
	msg := pe.Error() // "cannot parse `URL`: reason (cause)"
	i := strings.LastIndex(msg, "`: ")
	if i < 0 {
		return fallback
	}
	reason := msg[i+len("`: "):]
	for _, secret := range secretsOf(u) {
		if strings.Contains(reason, secret) {
			return fallback
		}
	}
	return reason
}

// secretsOf lists the passwords a URL carries: its user info's and its password parameters'.
func secretsOf(u *url.URL) []string {
	var s []string
	if p, ok := u.User.Password(); ok && p != "" {
		s = append(s, p)
	}
	for k, vs := range u.Query() {
		if strings.Contains(strings.ToLower(k), "password") {
			for _, v := range vs {
				if v != "" {
					s = append(s, v)
				}
			}
		}
	}
	return s
}

// postgresTarget names the server and database of a PostgreSQL URL, for the log: host:port and the
// database name, nothing else of the URL.
func postgresTarget(v string) (host, name string) {
	c, err := pgx.ParseConfig(v)
	if err != nil {
		return "", ""
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))), c.Database
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
	versions, err := strconv.Atoi(envOr("KEYHOLD_MAX_VERSIONS", strconv.Itoa(db.DefaultMaxVersions)))
	if err != nil || versions <= 0 {
		bad("KEYHOLD_MAX_VERSIONS", cmpErr(err, "must be a positive whole number"))
	}
	fs.IntVar(&cfg.MaxVersions, "max-versions", versions, "versions of each secret to keep, the current one included; older ones are destroyed (env KEYHOLD_MAX_VERSIONS)")
	trashDays, err := strconv.Atoi(envOr("KEYHOLD_TRASH_DAYS", strconv.Itoa(int(db.DefaultTrashWindow/(24*time.Hour)))))
	if err != nil || trashDays <= 0 {
		bad("KEYHOLD_TRASH_DAYS", cmpErr(err, "must be a positive whole number of days"))
	}
	fs.IntVar(&cfg.TrashDays, "trash-days", trashDays, "`days` a deleted secret stays restorable under Recently deleted; then it is destroyed (env KEYHOLD_TRASH_DAYS)")
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
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", envOr("KEYHOLD_METRICS_ADDR", ""), "serve Prometheus metrics at /metrics on this `address` (such as 127.0.0.1:9090), apart from --addr; default: off (env KEYHOLD_METRICS_ADDR)")
	cfg.LogFormat = logText
	if v := envOr("KEYHOLD_LOG_FORMAT", ""); v != "" {
		if err := checkLogFormat(v); err == nil {
			cfg.LogFormat = v
		} else {
			bad("KEYHOLD_LOG_FORMAT", err)
		}
	}
	fs.Var(logFormatFlag{&cfg.LogFormat}, "log-format", "the log's `format`: text or json, a JSON object per line (env KEYHOLD_LOG_FORMAT)")
	// Not a flag: only tests need another value than 10 s.
	if d, err := time.ParseDuration(envOr("KEYHOLD_READ_HEADER_TIMEOUT", "10s")); err == nil && d > 0 {
		cfg.ReadHeaderTimeout = d
	} else {
		cfg.ReadHeaderTimeout = 10 * time.Second
	}
}

// The formats of --log-format.
const (
	logText = "text"
	logJSON = "json"
)

func checkLogFormat(v string) error {
	if v != logText && v != logJSON {
		return errors.New("must be text or json")
	}
	return nil
}

// logFormatFlag is --log-format.
type logFormatFlag struct{ s *string }

func (f logFormatFlag) String() string {
	if f.s == nil {
		return ""
	}
	return *f.s
}

func (f logFormatFlag) Set(v string) error {
	if err := checkLogFormat(v); err != nil {
		return err
	}
	*f.s = v
	return nil
}

// newLogger is a server's logger, writing to w in format (logText or logJSON).
func newLogger(w io.Writer, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == logJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// masterKeyFile is where the generated master key lives when none is configured.
func masterKeyFile(data string) string { return filepath.Join(data, "master.key") }

// postgresMasterKey is the master key of a deployment on PostgreSQL: KEYHOLD_MASTER_KEY or
// KEYHOLD_MASTER_KEY_FILE, and nothing else. Its instances share no disk, and each must have the same
// key, so keyhold never generates one into a data directory for them.
func postgresMasterKey() ([]byte, error) {
	v, err := env("KEYHOLD_MASTER_KEY")
	if err != nil {
		return nil, err
	}
	if v == "" {
		return nil, usageError{"keyhold on PostgreSQL needs the master key in KEYHOLD_MASTER_KEY or KEYHOLD_MASTER_KEY_FILE, " +
			"the same on every instance: make one with `head -c 32 /dev/urandom | base64 > master.key` (chmod 600), " +
			"keep a copy safe (without it no secret can be read), and set KEYHOLD_MASTER_KEY_FILE to it"}
	}
	return decodeMasterKey(v, masterKeySource())
}

// masterKeySource names the environment variable the master key came from.
func masterKeySource() string {
	if _, ok := os.LookupEnv("KEYHOLD_MASTER_KEY"); !ok {
		if _, ok := os.LookupEnv("KEYHOLD_MASTER_KEY_FILE"); ok {
			return "KEYHOLD_MASTER_KEY_FILE"
		}
	}
	return "KEYHOLD_MASTER_KEY"
}

// decodeMasterKey decodes a base64 master key; source names where it came from, for the error.
func decodeMasterKey(v, source string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(key) != db.MasterKeySize {
		return nil, fmt.Errorf("%s must be the base64 encoding of %d random bytes", source, db.MasterKeySize)
	}
	return key, nil
}

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
	return decodeMasterKey(v, source)
}

// cmpErr is err, or, when err is nil (the value parsed, but is out of range), what the value must be.
func cmpErr(err error, must string) error {
	if err == nil {
		return errors.New(must)
	}
	return err
}
