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
//	keyhold get NAME | ls | run -- CMD | export | import FILE.env   (a server's secrets, through its API)
//	keyhold history NAME | history restore NAME N | trash | trash restore NAME | trash rm NAME --yes
//	keyhold healthcheck | version | help [COMMAND] | completion bash|zsh|fish
//
// Every command on the data keeps it in SQLite in --data, or in the PostgreSQL database of --database.
// One table (commands) names the commands: run dispatches with it, and keyhold help and the shell
// completion scripts are made from it and from each command's flag set (cli_help.go).
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
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/keyhold/keyhold/db"
	"github.com/keyhold/keyhold/web"
	"github.com/keyhold/keyhold/web/metrics"
)

func main() {
	restrictUmask()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake in the command line: it prints as one line and exits 1. A flag the command
// does not take exits 2 with the command's usage (checkFlags).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitCode is a command's exit code when it is not 0 or 1 and the command has said why already:
// keyhold run passes on the code of the command it ran.
type exitCode int

func (e exitCode) Error() string { return "exit code " + strconv.Itoa(int(e)) }

// exitWith is nil for 0, else the exitCode.
func exitWith(code int) error {
	if code == 0 {
		return nil
	}
	return exitCode(code)
}

// invocation is what a command runs with besides its arguments.
type invocation struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	log            *slog.Logger
}

// command is one of keyhold's commands. run dispatches to it, and help and completion describe it,
// all from the one table (commands): neither can name a command run does not take, and both list
// the flags of the flag set the command parses (command.flagSet).
type command struct {
	name     string // "serve", or a group and its command: "user add"
	synopsis string // the usual arguments after the name, for the usage line
	summary  string // what it does, in one line
	section  string // the part of keyhold help it is listed in: sectionData, sectionClient or sectionOther
	run      func(ctx context.Context, args []string, in invocation) error
	// flags registers the command's flags on fs for help, completion and checkFlags. It is nil for a
	// command that builds its own flag set and parses it with parseFlags: flagSet takes that one.
	flags func(fs *flag.FlagSet)
	// interspersed: flags may also follow the positional arguments (keyhold get NAME --json).
	interspersed bool
	// args is what its positional arguments are, for completion.
	args argKind
	// env names the environment variables it reads that no flag of its stands for (envNotes).
	env []string
}

// The sections of keyhold help.
const (
	sectionData   = "data"
	sectionClient = "client"
	sectionOther  = "other"
)

// argKind is what a command's positional arguments are, for completion.
type argKind int

const (
	argNone    argKind = iota
	argFile            // a file (import FILE.env)
	argCommand         // a command line to run (run -- CMD ARGS...)
	argName            // a keyhold command (help COMMAND)
	argShell           // a shell (completion bash)
	argSecret          // a secret's name, which is not completed (get NAME)
)

// defaultCommand is the command of a command line that names none (keyhold --addr :8080).
const defaultCommand = "serve"

// commands is keyhold's command table, in the order keyhold help lists it.
func commands() []command {
	// What the commands on the data read besides their flags (envNotes).
	masterKeyEnv := []string{"KEYHOLD_MASTER_KEY", "KEYHOLD_MASTER_KEY_FILE"}
	serveEnv := append(slices.Clone(masterKeyEnv), "KEYHOLD_READ_HEADER_TIMEOUT", "KEYHOLD_CPUPROFILE", "GOGC", "GOMEMLIMIT")
	var cmds []command
	cmds = []command{
		{name: "serve", section: sectionData, env: serveEnv,
			synopsis: "[--addr 127.0.0.1:8080] [--data ./keyhold-data | --database URL] [--secure-cookies] [--trusted-proxies CIDR,...] [--public-url URL]",
			summary:  "serve the portal and the JSON API (the command when none is given)",
			run:      func(ctx context.Context, args []string, in invocation) error { return serve(ctx, args, in.stderr) }},
		{name: "org create", section: sectionData, env: masterKeyEnv,
			synopsis: "--name NAME --admin-email EMAIL [--first F] [--last L]",
			summary:  "create an organization and its first admin, whose password is read from stdin (one line)",
			run: func(ctx context.Context, args []string, in invocation) error {
				return orgCreate(ctx, args, in.stdin, in.stdout, in.log)
			}},
		{name: "user add", section: sectionData, env: masterKeyEnv,
			synopsis: "--org NAME --email EMAIL [--first F] [--last L] [--admin]",
			summary:  "add a member; a new user's password is read from stdin (one line)",
			run: func(ctx context.Context, args []string, in invocation) error {
				return userAdd(ctx, args, in.stdin, in.stdout, in.log)
			}},
		{name: "user invite", section: sectionData, env: masterKeyEnv,
			synopsis: "--org NAME --email EMAIL [--admin] [--team T]... [--url URL]",
			summary:  "print a single-use invitation link for someone to join the organization",
			run: func(ctx context.Context, args []string, in invocation) error {
				return userInvite(ctx, args, in.stdout, in.log)
			}},
		{name: "user reset-password", section: sectionData, env: masterKeyEnv,
			synopsis: "--email EMAIL [--url URL]",
			summary:  "print a one-time link to choose a new password; ends the user's sessions and revokes their API keys",
			run: func(ctx context.Context, args []string, in invocation) error {
				return userResetPassword(ctx, args, in.stdout, in.log)
			}},
		{name: "user remove", section: sectionData, env: masterKeyEnv,
			synopsis: "--org NAME --email EMAIL",
			summary:  "remove a member; prints the secrets deleted because the member was their last Owner",
			run: func(ctx context.Context, args []string, in invocation) error {
				return userRemove(ctx, args, in.stdout, in.log)
			}},
		{name: "apikey create", section: sectionData, env: masterKeyEnv,
			synopsis: "--org NAME --email EMAIL [--label L] [--expires 30d]",
			summary:  "create an API key for a member and print it",
			run: func(ctx context.Context, args []string, in invocation) error {
				return apikeyCreate(ctx, args, in.stdout, in.log)
			}},
		{name: "backup", section: sectionData,
			synopsis: "--out FILE",
			summary:  "write a consistent snapshot of the SQLite database, also while the server runs (SQLite only)",
			run:      func(ctx context.Context, args []string, in invocation) error { return backup(ctx, args, in.stdout) }},
		{name: "rotate-master-key", section: sectionData, env: masterKeyEnv,
			synopsis: "[--new-key-file FILE]",
			summary:  "re-wrap every data key under a new master key, with the server stopped (SQLite only)",
			run: func(ctx context.Context, args []string, in invocation) error {
				return rotateMasterKey(ctx, args, in.stdout, in.log)
			}},
		{name: "migrate", section: sectionData, env: masterKeyEnv,
			synopsis: "--from-data ./keyhold-data --to postgres://…",
			summary:  "copy a SQLite deployment into an empty PostgreSQL database",
			run: func(ctx context.Context, args []string, in invocation) error {
				return migrateCommand(ctx, args, in.stdout, in.log)
			}},
		{name: "get", section: sectionClient, flags: getFlags, interspersed: true, args: argSecret,
			synopsis: "NAME [--version N] [--newline] [--json]",
			summary:  "print a secret's value exactly as stored: no newline unless --newline; --version N: an earlier one",
			run: func(ctx context.Context, args []string, in invocation) error {
				return clientGet(ctx, args, in.stdout, in.stderr)
			}},
		{name: "history", section: sectionClient, flags: historyFlags, interspersed: true, args: argSecret,
			synopsis: "NAME [--json]",
			summary:  "list a secret's versions, newest first: who set each, when, and its size (keyhold get NAME --version N prints one)",
			run: func(ctx context.Context, args []string, in invocation) error {
				return clientHistory(ctx, args, in.stdout, in.stderr)
			}},
		{name: "history restore", section: sectionClient, flags: historyRestoreFlags, interspersed: true, args: argSecret,
			synopsis: "NAME N",
			summary:  "make version N's value the secret's new version (the history is kept); Owners only",
			run: func(ctx context.Context, args []string, in invocation) error {
				return clientHistoryRestore(ctx, args, in.stdout, in.stderr)
			}},
		{name: "ls", section: sectionClient,
			synopsis: "[--json]",
			summary:  "list the secrets the key can read, with its role on each",
			run: func(ctx context.Context, args []string, in invocation) error {
				return clientLs(ctx, args, in.stdout, in.stderr)
			}},
		{name: "run", section: sectionClient, flags: runFlags, args: argCommand,
			synopsis: "[--only A,B] [--prefix P_] [--sdk-env] -- CMD ARGS...",
			summary:  "run CMD with the secrets in its environment, and exit with its exit code",
			run: func(ctx context.Context, args []string, in invocation) error {
				return exitWith(clientRun(ctx, args, in.stdin, in.stdout, in.stderr))
			}},
		{name: "export", section: sectionClient,
			synopsis: "[--format env|json] [--only A,B]",
			summary:  "print the secrets the key can read as a .env file or as JSON",
			run: func(ctx context.Context, args []string, in invocation) error {
				return clientExport(ctx, args, in.stdout, in.stderr)
			}},
		{name: "import", section: sectionClient, flags: importFlags, interspersed: true, args: argFile,
			synopsis: "FILE.env|- [--overwrite] [--dry-run]",
			summary:  "create secrets from a .env file (- for stdin), all or nothing",
			run: func(ctx context.Context, args []string, in invocation) error {
				return clientImport(ctx, args, in.stdin, in.stdout, in.stderr)
			}},
		{name: "trash", section: sectionClient, flags: trashFlags, interspersed: true,
			synopsis: "[--json]",
			summary:  "list the deleted secrets the key's user may restore: who deleted each, when, and when it is destroyed for good",
			run: func(ctx context.Context, args []string, in invocation) error {
				return clientTrash(ctx, args, in.stdout, in.stderr)
			}},
		{name: "trash restore", section: sectionClient, flags: trashRestoreFlags, interspersed: true, args: argSecret,
			synopsis: "NAME|ID [--as NEW_NAME]",
			summary:  "bring a deleted secret back with its value, versions and grants (--as: under another name)",
			run: func(ctx context.Context, args []string, in invocation) error {
				return clientTrashRestore(ctx, args, in.stdout, in.stderr)
			}},
		{name: "trash rm", section: sectionClient, flags: trashRmFlags, interspersed: true, args: argSecret,
			synopsis: "NAME|ID --yes",
			summary:  "destroy a deleted secret now, with its versions: it cannot be restored after",
			run: func(ctx context.Context, args []string, in invocation) error {
				return clientTrashRm(ctx, args, in.stdout, in.stderr)
			}},
		{name: "healthcheck", section: sectionOther,
			synopsis: "[--addr 127.0.0.1:8080]",
			summary:  "exit 0 when the server at --addr (KEYHOLD_ADDR, as for serve) answers /healthz with 200; the image's HEALTHCHECK",
			run:      func(ctx context.Context, args []string, _ invocation) error { return healthcheck(ctx, args) }},
		{name: "help", section: sectionOther, flags: noFlags, args: argName,
			synopsis: "[COMMAND]",
			summary:  "print this help, or a command's: every flag, with its environment variable",
			run: func(_ context.Context, args []string, in invocation) error {
				return helpCommand(cmds, args, in.stdout)
			}},
		{name: "version", section: sectionOther, flags: noFlags,
			summary: "print keyhold's version",
			run: func(_ context.Context, args []string, in invocation) error {
				if len(args) > 0 {
					return usageError{fmt.Sprintf("unexpected argument %q", args[0])}
				}
				_, err := fmt.Fprintln(in.stdout, "keyhold "+versionString())
				return err
			}},
		{name: "completion", section: sectionOther, flags: noFlags, args: argShell,
			synopsis: "bash|zsh|fish",
			summary:  "print a script that completes keyhold's commands and flags in the shell",
			run: func(_ context.Context, args []string, in invocation) error {
				return completionCommand(cmds, args, in.stdout)
			}},
	}
	return cmds
}

// run dispatches a command line and returns the exit code. Every failure is one clear line on stderr,
// but a flag the command does not take: that prints the command's usage too, and exits 2.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	in := invocation{stdin: stdin, stdout: stdout, stderr: stderr, log: log}
	cmds := commands()
	name, args := commandLine(cmds, args)
	c, ok := findCommand(cmds, name)
	if !ok {
		if sub := groupCommands(cmds, name); len(sub) > 0 && wantsHelp(args) {
			writeGroupUsage(stdout, name, sub)
			return 0
		}
		fmt.Fprintln(stderr, "keyhold: "+unknownCommand(cmds, name).Error())
		return 1
	}
	if code, done := c.checkFlags(args, in); done {
		return code
	}
	err := c.run(ctx, args, in)
	var exit exitCode
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &exit):
		return int(exit)
	}
	fmt.Fprintln(stderr, "keyhold: "+oneLine(err))
	return 1
}

// commandLine splits a command line into the command's name and its arguments: the first word, with
// the second for a group's command (user add), unless they are flags. A line that starts with a flag
// is serve's, but for -h and --help (help) and --version (version).
func commandLine(cmds []command, args []string) (string, []string) {
	if len(args) == 0 {
		return defaultCommand, nil
	}
	switch args[0] {
	case "-h", "-help", "--help":
		return "help", args[1:]
	case "-version", "--version":
		return "version", args[1:]
	}
	if strings.HasPrefix(args[0], "-") {
		return defaultCommand, args
	}
	name, args := args[0], args[1:]
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && len(groupCommands(cmds, name)) > 0 {
		// A group that is a command too (history NAME, history restore NAME N) is its command
		// unless the next word names one of the group's.
		if !isCommandName(cmds, name) || isCommandName(cmds, name+" "+args[0]) {
			name, args = name+" "+args[0], args[1:]
		}
	}
	return name, args
}

// isCommandName says whether name is a command of the table.
func isCommandName(cmds []command, name string) bool {
	_, ok := findCommand(cmds, name)
	return ok
}

// findCommand returns the command called name.
func findCommand(cmds []command, name string) (command, bool) {
	for _, c := range cmds {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// groupCommands returns the commands of the group called name (user: user add, user invite, …).
func groupCommands(cmds []command, name string) []command {
	var sub []command
	for _, c := range cmds {
		if strings.HasPrefix(c.name, name+" ") {
			sub = append(sub, c)
		}
	}
	return sub
}

// unknownCommand is the usage error for a name that is no command: a group without its command
// lists the group's commands.
func unknownCommand(cmds []command, name string) error {
	sub := groupCommands(cmds, name)
	if len(sub) == 0 {
		return usageError{fmt.Sprintf("unknown command %q: run 'keyhold help'", name)}
	}
	var names []string
	for _, c := range sub {
		names = append(names, strings.TrimPrefix(c.name, name+" "))
	}
	return usageError{fmt.Sprintf("%s needs a command: %s (run 'keyhold help %s')", name, strings.Join(names, ", "), name)}
}

// wantsHelp says whether args ask for help (-h, -help or --help) before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// flagSet is the command's flag set: the one c.flags builds, or, for a command that builds its own and
// parses it with parseFlags, that one, taken from its answer to --help (helpRequest). That probe runs
// the command with a cancelled context and no input or output; it stops at parsing. Its error is what
// stopped the command before it parsed its flags (migrate with an unreadable
// KEYHOLD_DATABASE_URL_FILE).
func (c command) flagSet() (*flag.FlagSet, error) {
	if c.flags != nil {
		fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.flags(fs)
		return fs, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.run(ctx, []string{"--help"}, invocation{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard,
		log: slog.New(slog.DiscardHandler)})
	var h helpRequest
	if errors.As(err, &h) {
		return h.fs, nil
	}
	if err == nil {
		err = fmt.Errorf("%s did not parse --help", c.name)
	}
	return nil, err
}

// checkFlags parses args with the command's flag set before the command runs. -h or --help prints the
// command's help (exit 0); a flag the command does not take, or one without its value, prints the
// error and the command's usage on stderr (exit 2). A value that a flag refuses is left to the
// command, whose one line names it (exit 1, like its other checks of values).
func (c command) checkFlags(args []string, in invocation) (code int, done bool) {
	fs, err := c.flagSet()
	if err != nil {
		return 0, false // the command says what stops it
	}
	var refused bool
	check := flag.NewFlagSet(c.name, flag.ContinueOnError)
	check.SetOutput(io.Discard)
	fs.VisitAll(func(f *flag.Flag) { check.Var(checkedValue{f.Value, &refused}, f.Name, f.Usage) })
	if c.interspersed {
		_, err = parseClientArgs(check, args)
	} else {
		err = check.Parse(args)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		writeCommandHelp(in.stdout, c)
		return 0, true
	case err != nil && !refused:
		fmt.Fprintf(in.stderr, "keyhold: %s\n\n", oneLine(err))
		writeCommandHelp(in.stderr, c)
		return 2, true
	}
	return 0, false
}

// checkedValue is a flag's value in checkFlags: it notes that the value refused what it was given.
type checkedValue struct {
	flag.Value
	refused *bool
}

func (v checkedValue) Set(s string) error {
	err := v.Value.Set(s)
	if err != nil {
		*v.refused = true
	}
	return err
}

func (v checkedValue) IsBoolFlag() bool {
	b, ok := v.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// helpRequest is parseFlags' answer to -h or --help: flag.ErrHelp, with the flag set the command
// built, for its help (command.flagSet).
type helpRequest struct{ fs *flag.FlagSet }

func (helpRequest) Error() string { return flag.ErrHelp.Error() }
func (helpRequest) Unwrap() error { return flag.ErrHelp }

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
			return helpRequest{fs}
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
		return openPostgresStore(ctx, cfg, true, log)
	}
	data := cfg.Data
	if err := requireData(data); err != nil {
		return nil, err
	}
	key, err := loadMasterKey(data, log)
	if err != nil {
		return nil, err
	}
	return db.Open(ctx, filepath.Join(data, db.FileName), storeOptions(cfg, key, log))
}

// serve runs the server until ctx ends, logging to stderr in --log-format.
func serve(ctx context.Context, args []string, stderr io.Writer) error {
	var cfg config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	serveFlags(fs, &cfg)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if len(cfg.envErrs) > 0 {
		return cfg.envErrs[0]
	}
	if cfg.MaxVersions <= 0 || cfg.TrashDays <= 0 {
		return usageError{"--max-versions and --trash-days take a positive whole number"}
	}
	if cfg.MetricsAddr != "" && cfg.MetricsAddr == cfg.Addr {
		return usageError{"--metrics-addr must differ from --addr: the metrics are never served on the public listener"}
	}
	log := newLogger(stderr, cfg.LogFormat)
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
	purgeCtx, stopPurge := context.WithCancel(ctx)
	purged := make(chan struct{})
	go func() {
		defer close(purged)
		purgeTrash(purgeCtx, store, log)
	}()
	defer func() { stopPurge(); <-purged }() // before the store closes
	var mx *metrics.Metrics
	if cfg.MetricsAddr != "" {
		mx = metrics.New(store)
	}
	e := web.New(store, web.Config{Logger: log, Metrics: mx, SecureCookies: cfg.SecureCookies, APIRate: cfg.APIRate, APIBurst: cfg.APIBurst,
		SessionIdle: cfg.SessionIdle, SessionAbsolute: cfg.SessionMax, TrustedProxies: cfg.TrustedProxies, PublicURL: cfg.PublicURL})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	srv := newHTTPServer(e, cfg.ReadHeaderTimeout, log)
	errc := make(chan error, 2)
	var msrv *http.Server
	if mx != nil {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		msrv = newMetricsServer(mx, cfg.ReadHeaderTimeout, log)
		log.Info("metrics are served", "addr", "http://"+mln.Addr().String()+"/metrics")
		go func() { errc <- msrv.Serve(mln) }()
	}
	where := []any{"data", cfg.Data}
	if cfg.Database != "" { // never the URL: it may hold the password
		host, name := postgresTarget(cfg.Database)
		where = []any{"database", "postgres", "host", host, "dbname", name}
	}
	log.Info("keyhold is serving", append([]any{"addr", "http://" + ln.Addr().String()}, where...)...)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "grace", shutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if msrv != nil {
		if err := msrv.Shutdown(sctx); err != nil {
			return err
		}
	}
	log.Info("stopped")
	return nil
}

// purgeInterval is how often serve destroys the deleted secrets whose trash window has passed.
const purgeInterval = time.Hour

// purgeTrash runs db.PurgeTrash when serve starts and every purgeInterval until ctx is done. With
// several instances each does; a secret is destroyed once.
func purgeTrash(ctx context.Context, store *db.Store, log *slog.Logger) {
	t := time.NewTicker(purgeInterval)
	defer t.Stop()
	for {
		n, err := store.PurgeTrash(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("purging the trash failed; trying again later", "err", err)
		case n > 0:
			log.Info("destroyed deleted secrets whose trash window passed", "secrets", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// newMetricsServer serves mx at /metrics, and nothing else, for --metrics-addr.
func newMetricsServer(mx *metrics.Metrics, readHeaderTimeout time.Duration, log *slog.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", mx.Handler())
	return newHTTPServer(mux, readHeaderTimeout, log)
}

// shutdownGrace is how long serve lets in-flight requests finish once told to stop (SIGTERM, Ctrl-C):
// within the 10 s that docker stop (and Compose) wait before SIGKILL, so that keyhold closes its
// database itself. Kubernetes waits 30 s by default.
const shutdownGrace = 8 * time.Second

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
// has no shell or curl). It reads serve's flags and environment, so KEYHOLD_ADDR (or the --addr given to
// serve) leads it to the server; a wildcard listen address is asked on loopback.
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
	if ip, err := netip.ParseAddr(host); host == "" || err == nil && ip.IsUnspecified() {
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
	fs.StringVar(&out, "out", "", "snapshot `file` to write (must not exist)")
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
	fs.StringVar(&newFile, "new-key-file", "", "`file` holding the new master key (base64 of 32 bytes); default: generate <data>/master.key.new")
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
