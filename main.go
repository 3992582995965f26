// Command keyhold is a self-hosted secrets portal: a web portal for people, a JSON API for code, and
// an admin command line.
//
//	keyhold [serve] [--addr 127.0.0.1:8080] [--data ./keyhold-data | --database postgres://…]
//	keyhold org create --name NAME --admin-email EMAIL          (password on stdin)
//	keyhold user add --org NAME --email EMAIL [--first F] [--last L] [--admin]
//	keyhold user invite --org NAME --email EMAIL [--admin] [--team T]...
//	keyhold user reset-password --email EMAIL
//	keyhold user remove --org NAME --email EMAIL
//	keyhold apikey create --org NAME --email EMAIL [--label L] [--expires 30d]
//	keyhold backup --out FILE
//	keyhold rotate-master-key [--new-key-file FILE]
//	keyhold migrate --from-data ./keyhold-data --to postgres://…
//
// Every command keeps its data in SQLite in --data, or in the PostgreSQL database of --database.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
)

func main() {
	restrictUmask()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake in the command line: it prints as one line and exits 1 (2 for bad flags).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// run dispatches a command line and returns the exit code. Every failure is one clear line on stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && (cmd == "org" || cmd == "user" || cmd == "apikey") {
		cmd, args = cmd+" "+args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, log)
	case "org create":
		err = orgCreate(ctx, args, stdin, stdout, log)
	case "user add":
		err = userAdd(ctx, args, stdin, stdout, log)
	case "user remove":
		err = userRemove(ctx, args, stdout, log)
	case "user invite":
		err = userInvite(ctx, args, stdout, log)
	case "user reset-password":
		err = userResetPassword(ctx, args, stdout, log)
	case "apikey create":
		err = apikeyCreate(ctx, args, stdout, log)
	case "backup":
		err = backup(ctx, args, stdout)
	case "rotate-master-key":
		err = rotateMasterKey(ctx, args, stdout, log)
	case "migrate":
		err = migrateCommand(ctx, args, stdout, log)
	case "healthcheck":
		err = healthcheck(ctx, args)
	case "get":
		err = clientGet(ctx, args, stdout, stderr)
	case "ls":
		err = clientLs(ctx, args, stdout, stderr)
	case "export":
		err = clientExport(ctx, args, stdout, stderr)
	case "import":
		err = clientImport(ctx, args, stdin, stdout, stderr)
	case "run":
		return clientRun(ctx, args, stdin, stdout, stderr) // the command's exit code
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = usageError{fmt.Sprintf("unknown command %q: run 'keyhold help'", cmd)}
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "keyhold: "+oneLine(err))
	return 1
}

const usage = `keyhold: a self-hosted secrets portal

  keyhold [serve] [--addr 127.0.0.1:8080] [--data ./keyhold-data | --database URL] [--secure-cookies]
                  [--trusted-proxies CIDR,...] [--public-url URL]
  keyhold org create --name NAME --admin-email EMAIL [--first F] [--last L]   (password on stdin)
  keyhold user add --org NAME --email EMAIL [--first F] [--last L] [--admin]  (password on stdin for a new user)
  keyhold user invite --org NAME --email EMAIL [--admin] [--team T]... [--url URL]   (prints the invitation link)
  keyhold user reset-password --email EMAIL [--url URL]   (prints a one-time link; ends sessions, revokes API keys)
  keyhold user remove --org NAME --email EMAIL
  keyhold apikey create --org NAME --email EMAIL [--label L] [--expires 30d]
  keyhold backup --out FILE   (SQLite only)
  keyhold rotate-master-key [--new-key-file FILE]   (SQLite only)
  keyhold migrate --from-data ./keyhold-data --to postgres://…   (copies a SQLite deployment into an empty PostgreSQL database)

Every command takes --data DIR (SQLite in DIR, the default) or --database URL: a PostgreSQL
database, postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=require, shared by every instance.
On PostgreSQL the master key must come from KEYHOLD_MASTER_KEY or KEYHOLD_MASTER_KEY_FILE, the
same on every instance; backup is pg_dump's job there.

A keyhold server's secrets, where code runs (through the API, with an API key):

  keyhold get NAME [--newline] [--json]   (prints the value exactly: no newline unless --newline)
  keyhold ls [--json]   (the secrets the key can read, with its role on each)
  keyhold run [--only A,B] [--prefix P_] [--sdk-env] -- CMD ARGS...   (CMD with the secrets in its environment)
  keyhold export [--format env|json] [--only A,B]
  keyhold import FILE.env|- [--overwrite] [--dry-run]   (all or nothing)

These take --url URL and --api-key-file FILE, or KEYHOLD_URL and KEYHOLD_API_KEY or
KEYHOLD_API_KEY_FILE.

Environment: KEYHOLD_ADDR, KEYHOLD_DATA, KEYHOLD_DATABASE_URL or KEYHOLD_DATABASE_URL_FILE,
KEYHOLD_MASTER_KEY or KEYHOLD_MASTER_KEY_FILE, KEYHOLD_SECURE_COOKIES, KEYHOLD_API_RATE,
KEYHOLD_API_BURST, KEYHOLD_TRUSTED_PROXIES, KEYHOLD_PUBLIC_URL. Flags win.
`

func oneLine(err error) string {
	var de *db.Error
	if db.Unreachable(err) && !errors.As(err, &de) {
		// The operator needs the cause: which host, refused or timed out (pgx's messages name the
		// user, host and database, never the password).
		return "The database cannot be reached: " + strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	if msg := db.ErrorMessage(err); db.ErrorCode(err) != "" {
		return msg
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	// --database (dataFlags) is checked here, once flags and environment are read: its Set cannot
	// refuse a value without the flag package quoting it, password and all.
	if f := fs.Lookup("database"); f != nil {
		if d, ok := f.Value.(databaseFlag); ok {
			return d.cfg.checkDatabase()
		}
	}
	return nil
}

// openStore opens the store with its master key: the PostgreSQL database of --database, or the data
// directory's SQLite database, which must exist (only serve and org create start a new one:
// createStore).
func openStore(ctx context.Context, cfg config, log *slog.Logger) (*db.Store, error) {
	if cfg.Database != "" {
		return openPostgresStore(ctx, cfg.Database, true, log)
	}
	data := cfg.Data
	if err := requireData(data); err != nil {
		return nil, err
	}
	key, err := loadMasterKey(data, log)
	if err != nil {
		return nil, err
	}
	return db.Open(ctx, filepath.Join(data, db.FileName), db.Options{MasterKey: key, Logger: log})
}

func serve(ctx context.Context, args []string, log *slog.Logger) error {
	var cfg config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	serveFlags(fs, &cfg)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(cfg.envErrs) > 0 {
		return cfg.envErrs[0]
	}
	tuneGC()
	if path := os.Getenv("KEYHOLD_CPUPROFILE"); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			return err
		}
		defer stop()
	}
	store, closeStore, err := openServeStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()
	e := web.New(store, web.Config{Logger: log, SecureCookies: cfg.SecureCookies, APIRate: cfg.APIRate, APIBurst: cfg.APIBurst,
		SessionIdle: cfg.SessionIdle, SessionAbsolute: cfg.SessionMax, TrustedProxies: cfg.TrustedProxies, PublicURL: cfg.PublicURL})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := newHTTPServer(e, cfg.ReadHeaderTimeout, log)
	where := []any{"data", cfg.Data}
	if cfg.Database != "" { // never the URL: it may hold the password
		host, name := postgresTarget(cfg.Database)
		where = []any{"database", "postgres", "host", host, "dbname", name}
	}
	log.Info("keyhold is serving", append([]any{"addr", "http://" + ln.Addr().String()}, where...)...)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// startCPUProfile writes a CPU profile of the server to path until stop (at shutdown): for
// "go tool pprof" while a benchmark drives the server (KEYHOLD_CPUPROFILE).
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// newHTTPServer is the http.Server that serves h: its timeouts and header limit keep slow or oversized
// requests from holding connections. readHeaderTimeout is 10 s unless KEYHOLD_READ_HEADER_TIMEOUT says
// otherwise (tests shorten it).
func newHTTPServer(h http.Handler, readHeaderTimeout time.Duration, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout, // a slow client cannot hold a connection open by trickling headers
		ReadTimeout:       2 * time.Minute,   // room for a 30 MB body on a slow link, no more
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// healthcheck asks the server at --addr for /healthz; the container's HEALTHCHECK runs it (the image
// has no shell or curl).
func healthcheck(ctx context.Context, args []string) error {
	var cfg config
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	serveFlags(fs, &cfg)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %s", resp.Status)
	}
	return nil
}

// tuneGC sets the garbage collector for a server whose live heap is small (a few MB) and whose hot
// path allocates per request: collecting at 5× the live heap instead of 2× cuts the GC's share of
// the SDK fetch's CPU (see the README's Performance section), and a 160 MiB soft memory limit
// makes it collect early again when large bodies arrive (eight 5 MB uploads at once stay within 4×
// their size). GOGC and GOMEMLIMIT, when set, win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(160 << 20)
	}
}

// readPassword reads one line from stdin.
func readPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageError{"no password on stdin: pipe the password in as one line"}
	}
	return line, nil
}

func orgCreate(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	var cfg config
	var name, email, first, last string
	fs := flag.NewFlagSet("org create", flag.ContinueOnError)
	dataFlags(fs, &cfg)
	fs.StringVar(&name, "name", "", "organization name")
	fs.StringVar(&email, "admin-email", "", "email of the first admin")
	fs.StringVar(&first, "first", "", "admin's first name")
	fs.StringVar(&last, "last", "", "admin's last name")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if name == "" || email == "" {
		return usageError{"org create needs --name and --admin-email"}
	}
	pw, err := readPassword(stdin)
	if err != nil {
		return err
	}
	// A new SQLite deployment: its admin is new, so check the password before creating it. (On
	// PostgreSQL, CreateOrg checks a new admin's password.)
	if cfg.Database == "" && requireData(cfg.Data) != nil {
		if err := db.ValidatePassword(pw); err != nil {
			return err
		}
	}
	store, err := createStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	org, _, err := store.CreateOrg(ctx, name, db.NewUser{Email: email, FirstName: first, LastName: last, Password: pw}, "cli")
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, org.ID)
	return nil
}

// orgActor opens the store and returns the CLI's actor in the named organization.
func orgActor(ctx context.Context, cfg config, orgName string, log *slog.Logger) (*db.Store, db.Actor, error) {
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, db.Actor{}, err
	}
	org, err := store.OrgByName(ctx, orgName)
	if err != nil {
		store.Close()
		return nil, db.Actor{}, err
	}
	return store, db.SystemActor(org.ID), nil
}

func userAdd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	var cfg config
	var orgName, email, first, last string
	var admin bool
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	dataFlags(fs, &cfg)
	fs.StringVar(&orgName, "org", "", "organization name")
	fs.StringVar(&email, "email", "", "user's email")
	fs.StringVar(&first, "first", "", "first name")
	fs.StringVar(&last, "last", "", "last name")
	fs.BoolVar(&admin, "admin", false, "make the user an organization admin")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if orgName == "" || email == "" {
		return usageError{"user add needs --org and --email"}
	}
	store, a, err := orgActor(ctx, cfg, orgName, log)
	if err != nil {
		return err
	}
	defer store.Close()
	nu := db.NewUser{Email: email, FirstName: first, LastName: last}
	if _, err := store.UserByEmail(ctx, email); db.ErrorCode(err) == db.CodeNotFound {
		if nu.Password, err = readPassword(stdin); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	role := db.OrgMember
	if admin {
		role = db.OrgAdmin
	}
	m, err := store.AddMember(ctx, a, nu, role)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, m.ID)
	return nil
}

func userRemove(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	var cfg config
	var orgName, email string
	fs := flag.NewFlagSet("user remove", flag.ContinueOnError)
	dataFlags(fs, &cfg)
	fs.StringVar(&orgName, "org", "", "organization name")
	fs.StringVar(&email, "email", "", "user's email")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if orgName == "" || email == "" {
		return usageError{"user remove needs --org and --email"}
	}
	store, a, err := orgActor(ctx, cfg, orgName, log)
	if err != nil {
		return err
	}
	defer store.Close()
	m, err := store.MemberByEmail(ctx, a, email)
	if err != nil {
		return err
	}
	r, err := store.RemoveMember(ctx, a, m.ID)
	if err != nil {
		return err
	}
	for _, s := range r.Deleted {
		fmt.Fprintln(stdout, s.Name)
	}
	return nil
}

func apikeyCreate(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	var cfg config
	var orgName, email, label, expires string
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	dataFlags(fs, &cfg)
	fs.StringVar(&orgName, "org", "", "organization name")
	fs.StringVar(&email, "email", "", "the key's user")
	fs.StringVar(&label, "label", "cli", "label shown in the portal")
	fs.StringVar(&expires, "expires", "", "lifetime such as 30d or 12h (default: never)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if orgName == "" || email == "" {
		return usageError{"apikey create needs --org and --email"}
	}
	var exp time.Time
	if expires != "" {
		d, err := parseLifetime(expires)
		if err != nil {
			return err
		}
		exp = time.Now().Add(d)
	}
	store, sys, err := orgActor(ctx, cfg, orgName, log)
	if err != nil {
		return err
	}
	defer store.Close()
	m, err := store.MemberByEmail(ctx, sys, email)
	if err != nil {
		return err
	}
	a, err := store.ActorFor(ctx, m.ID, sys.OrgID, "cli", "")
	if err != nil {
		return err
	}
	key, _, err := store.CreateAPIKey(ctx, a, label, exp)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, key)
	return nil
}

func backup(ctx context.Context, args []string, stdout io.Writer) error {
	var cfg config
	var out string
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	dataFlags(fs, &cfg)
	fs.StringVar(&out, "out", "", "snapshot file to write (must not exist)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.Database != "" {
		return usageError{"backup copies a SQLite database: on PostgreSQL, back up with pg_dump (and keep the master key safe, apart from the dump)"}
	}
	if out == "" {
		return usageError{"backup needs --out FILE"}
	}
	if err := requireData(cfg.Data); err != nil {
		return err
	}
	if err := db.Backup(ctx, filepath.Join(cfg.Data, db.FileName), out); err != nil {
		return err
	}
	fmt.Fprintln(stdout, out)
	return nil
}

// rotateMasterKey re-wraps every data key under a new master key. The new key comes from
// --new-key-file, or is generated into <data>/master.key.new first, durably, before any data key is
// re-wrapped under it (so an interrupted run loses nothing: run the same command again). When the old
// key was <data>/master.key, it is kept as master.key.old (serve removes it once a start with the new
// key succeeded) and the new one replaces it; otherwise point KEYHOLD_MASTER_KEY(_FILE) at the new key
// before starting keyhold. It refuses to run while a server runs on the data: a server holds the data
// keys it has used unwrapped, and would fail for the others.
func rotateMasterKey(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	var cfg config
	var newFile string
	fs := flag.NewFlagSet("rotate-master-key", flag.ContinueOnError)
	dataFlags(fs, &cfg)
	fs.StringVar(&newFile, "new-key-file", "", "file holding the new master key (base64 of 32 bytes); default: generate <data>/master.key.new")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if cfg.Database != "" {
		return usageError{"rotate-master-key is not supported on PostgreSQL yet: it re-wraps the data keys of a SQLite database only"}
	}
	if err := requireData(cfg.Data); err != nil {
		return err
	}
	dbPath := filepath.Join(cfg.Data, db.FileName)
	lock, err := db.LockRotation(dbPath)
	if errors.Is(err, db.ErrLocked) {
		return fmt.Errorf("a keyhold server is running on %s: stop it, run rotate-master-key, then start keyhold with the new key", cfg.Data)
	} else if err != nil {
		return err
	}
	defer lock.Close()
	oldKey, err := loadMasterKey(cfg.Data, log)
	if err != nil {
		return err
	}
	generated := newFile == ""
	if generated {
		newFile = masterKeyFile(cfg.Data) + ".new"
		// An existing one is an interrupted run's, which may have re-wrapped keys under it already.
		if err := createKeyFile(newFile, []byte(db.GenerateMasterKey()+"\n")); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	if err := rotateStep("new key written"); err != nil {
		return err
	}
	raw, err := os.ReadFile(newFile)
	if err != nil {
		return err
	}
	newKey, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(newKey) != db.MasterKeySize {
		return fmt.Errorf("%s must hold the base64 encoding of %d random bytes", newFile, db.MasterKeySize)
	}
	n, err := db.RotateMasterKey(ctx, dbPath, oldKey, newKey)
	if err != nil {
		return err
	}
	if err := rotateStep("data keys re-wrapped"); err != nil {
		return err
	}
	env, _ := env("KEYHOLD_MASTER_KEY")
	if generated && env == "" {
		old := masterKeyFile(cfg.Data) + ".old"
		if err := replaceKeyFile(old, []byte(base64.StdEncoding.EncodeToString(oldKey)+"\n")); err != nil {
			return err
		}
		if err := rotateStep("old key kept"); err != nil {
			return err
		}
		if err := renameDurably(newFile, masterKeyFile(cfg.Data)); err != nil {
			return err
		}
		newFile = masterKeyFile(cfg.Data)
	}
	fmt.Fprintf(stdout, "re-wrapped %d data keys; the master key is now %s: back it up and start keyhold with it\n", n, newFile)
	return nil
}

// rotateHook, when set by a test, runs after each step of rotateMasterKey; an error interrupts the
// rotation there, as a crash would.
var rotateHook func(step string) error

func rotateStep(step string) error {
	if rotateHook == nil {
		return nil
	}
	return rotateHook(step)
}

// parseLifetime reads "30d", "12h", "90m": Go durations plus days.
func parseLifetime(s string) (time.Duration, error) {
	bad := usageError{fmt.Sprintf("--expires %q: use a lifetime such as 30d, 12h or 90m", s)}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 || days > 3650 {
			return 0, bad
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, bad
	}
	return d, nil
}
