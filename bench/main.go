// Command bench is keyhold's performance suite. It builds keyhold, runs it as a child process on a
// fresh data directory, seeds it through the CLI and the JSON API, and measures it from the outside,
// over loopback only, against a bare echo handler that replays keyhold's own response bytes:
//
//	go run ./bench [--rounds 3] [--duration 3s] [--secrets 1000] [--quick] [--only fetch,401,writers,rss,portal,coldstart,login-flood]
//	go run ./bench --database postgres [--database-url postgres://…] [--quick] [--only fetch,401,fetch-2,writers,propagation,…]
//
// With --database postgres, keyhold keeps its data in PostgreSQL: on a fresh database created on the
// server --database-url (or KEYHOLD_BENCH_DATABASE_URL) names and dropped afterwards, or on a
// throwaway server the suite starts (pg.go). Every phase runs there, and two more that only run there:
// fetch-2, the fetch runs against two instances on the one database, and propagation, how soon a
// change made through one instance is honoured by the other.
//
// It prints a table (measure, keyhold, bare, ratio or budget, must, PASS/FAIL) and writes every
// measurement as JSON lines to --out. Every run bounds itself (--deadline) and kills its children on
// exit and on SIGINT. "bench bare --addr A --spec F" is the bare server it starts as a child.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// childEnv marks a child started by the suite, so that a test binary (which cannot take a
// subcommand on its command line) knows to act as the bare server.
const childEnv = "KEYHOLD_BENCH_CHILD"

// phases are the parts of the suite --only can select, in the order they run.
var phases = []string{"fetch", "401", "fetch-2", "writers", "propagation", "rss", "portal", "coldstart", "login-flood"}

// Databases of --database.
const (
	dbSQLite   = "sqlite"
	dbPostgres = "postgres"
)

// phaseSkips says, for each database, which phases do not run on it and why. A run on that database
// leaves them out, and --only may not name them. Every phase of the SQLite suite runs on PostgreSQL.
var phaseSkips = map[string]map[string]string{
	dbSQLite: {
		"fetch-2":     "it needs two keyhold instances on one database: PostgreSQL only",
		"propagation": "it needs two keyhold instances on one database: PostgreSQL only",
	},
}

// config is the suite's command line.
type config struct {
	Rounds         int
	Duration       time.Duration // measured time of each load run
	Warmup         time.Duration // unrecorded load before each run
	Concurrency    []int         // closed-loop clients for the fetch runs
	Concurrency401 int
	Secrets        int // secrets seeded for the fetch runs
	PortalSecrets  int // secrets the portal user sees for the portal and cold-start measures
	PortalRequests int // requests per portal measure
	ColdStarts     int
	Writers        int
	WriterDuration time.Duration
	Only           map[string]bool
	Deadline       time.Duration
	Out            string
	Quick          bool
	// Database is where keyhold keeps its data: dbSQLite (a data directory) or dbPostgres.
	Database string
	// DatabaseURL names the PostgreSQL server to create the run's database on; empty starts a
	// throwaway server.
	DatabaseURL     string
	PropagationReps int    // changes of each kind in the propagation phase
	KeyholdBin      string // a prebuilt keyhold binary; empty builds one from RepoRoot
	RepoRoot        string
	Verbose         bool
	Keep            bool      // keep the temporary directory (data, logs) for a look afterwards
	Log             io.Writer // progress lines; nil discards
}

func defaultConfig() config {
	return config{
		Rounds:          3,
		Duration:        3 * time.Second,
		Warmup:          500 * time.Millisecond,
		Concurrency:     []int{1, 16, 64},
		Concurrency401:  64,
		Secrets:         1000,
		PortalSecrets:   10000,
		PortalRequests:  200,
		ColdStarts:      5,
		Writers:         16,
		WriterDuration:  10 * time.Second,
		Only:            allPhases(),
		Database:        dbSQLite,
		PropagationReps: 20,
		Deadline:        10 * time.Minute,
		Out:             "bench-results.jsonl",
	}
}

func allPhases() map[string]bool {
	m := map[string]bool{}
	for _, p := range phases {
		m[p] = true
	}
	return m
}

// quick turns cfg into the smoke mode: one short round, few secrets, a short writer phase.
func (cfg *config) quick() {
	cfg.Quick = true
	cfg.Rounds = 1
	cfg.Duration = time.Second
	cfg.Warmup = 250 * time.Millisecond
	cfg.Secrets = 200
	cfg.PortalSecrets = 1000
	cfg.PortalRequests = 50
	cfg.ColdStarts = 3
	cfg.WriterDuration = 2 * time.Second
	cfg.PropagationReps = 5
}

func main() {
	if os.Getenv(childEnv) == "bare" || len(os.Args) > 1 && os.Args[1] == "bare" {
		args := os.Args[1:]
		if len(args) > 0 && args[0] == "bare" {
			args = args[1:]
		}
		os.Exit(bareMain(args))
	}
	os.Exit(benchMain(os.Args[1:]))
}

func benchMain(args []string) int {
	cfg, err := parseConfig(args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	cfg.Log = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := runSuite(ctx, cfg)
	if res != nil {
		res.printTable(os.Stdout)
		fmt.Printf("\nresults: %s (%d records)\n", cfg.Out, len(res.Records))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if ctx.Err() != nil {
			return 130
		}
		return 1
	}
	if res.failed() {
		return 3
	}
	return 0
}

func parseConfig(args []string) (config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var (
		quick                                   bool
		rounds, secrets, portalSecrets, portalN int
		coldStarts, writers, propReps           int
		dur, warmup, writerDur, deadline        time.Duration
		conc, only, database, databaseURL       string
	)
	fs.BoolVar(&quick, "quick", false, "smoke mode: 1 round of 1 s, 200 secrets (1,000 for the portal), 2 s writer phase; a minute or two")
	fs.IntVar(&rounds, "rounds", 0, "interleaved bare/keyhold rounds (default 3)")
	fs.DurationVar(&dur, "duration", 0, "measured time of each load run (default 3s)")
	fs.DurationVar(&warmup, "warmup", 0, "unrecorded warm-up before each load run (default 500ms)")
	fs.StringVar(&conc, "concurrency", "", "comma-separated client counts for the fetch runs (default 1,16,64)")
	fs.IntVar(&secrets, "secrets", 0, "secrets seeded before the fetch runs (default 1000)")
	fs.IntVar(&portalSecrets, "portal-secrets", 0, "secrets the portal user sees, for the portal and cold-start measures (default 10000)")
	fs.IntVar(&portalN, "portal-requests", 0, "requests per portal measure (default 200)")
	fs.IntVar(&coldStarts, "cold-starts", 0, "starts per cold-start measure; the median is reported (default 5)")
	fs.IntVar(&writers, "writers", 0, "concurrent API writers in the writer phase (default 16)")
	fs.DurationVar(&writerDur, "writer-duration", 0, "length of the writer phase, and of the solo fetch run it is compared with (default 10s)")
	fs.StringVar(&only, "only", "", "comma-separated phases to run: "+strings.Join(phases, ",")+" (default: those of the database)")
	fs.StringVar(&database, "database", "", "where keyhold keeps its data: sqlite (a data directory, the default) or postgres")
	fs.StringVar(&databaseURL, "database-url", "", "with --database postgres, the PostgreSQL server (postgres://USER:PASSWORD@HOST:PORT/DB) to create the run's database on "+
		"(env "+benchDatabaseURLEnv+"); default: a throwaway server the run starts")
	fs.IntVar(&propReps, "propagation-reps", 0, "changes of each kind in the propagation phase (default 20, 5 with --quick)")
	fs.DurationVar(&deadline, "deadline", 0, "global time limit of the run (default 10m)")
	fs.StringVar(&cfg.Out, "out", cfg.Out, "JSON-lines results `file` (overwritten)")
	fs.StringVar(&cfg.KeyholdBin, "keyhold-bin", "", "use this keyhold `binary` instead of building one (e.g. an instrumented build)")
	fs.StringVar(&cfg.RepoRoot, "repo", "", "keyhold's repository root (default: found from the current directory)")
	fs.BoolVar(&cfg.Verbose, "v", false, "print every load run as it finishes")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the temporary directory (keyhold's data, master key in the logs' env, server logs) and print its path")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if quick {
		cfg.quick()
	}
	setInt := func(dst *int, v int, name string) error {
		if v < 0 {
			return fmt.Errorf("--%s must be positive", name)
		}
		if v > 0 {
			*dst = v
		}
		return nil
	}
	setDur := func(dst *time.Duration, v time.Duration, name string) error {
		if v < 0 {
			return fmt.Errorf("--%s must be positive", name)
		}
		if v > 0 {
			*dst = v
		}
		return nil
	}
	for _, err := range []error{
		setInt(&cfg.Rounds, rounds, "rounds"), setInt(&cfg.Secrets, secrets, "secrets"),
		setInt(&cfg.PortalSecrets, portalSecrets, "portal-secrets"), setInt(&cfg.PortalRequests, portalN, "portal-requests"),
		setInt(&cfg.ColdStarts, coldStarts, "cold-starts"), setInt(&cfg.Writers, writers, "writers"),
		setInt(&cfg.PropagationReps, propReps, "propagation-reps"),
		setDur(&cfg.Duration, dur, "duration"), setDur(&cfg.Warmup, warmup, "warmup"),
		setDur(&cfg.WriterDuration, writerDur, "writer-duration"), setDur(&cfg.Deadline, deadline, "deadline"),
	} {
		if err != nil {
			return cfg, err
		}
	}
	if conc != "" {
		cfg.Concurrency = nil
		for _, f := range strings.Split(conc, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 1024 {
				return cfg, fmt.Errorf("--concurrency: %q is not a client count", f)
			}
			cfg.Concurrency = append(cfg.Concurrency, n)
		}
	}
	switch database {
	case "", dbSQLite, "sqlite3":
		cfg.Database = dbSQLite
		if database == "" && databaseURL != "" {
			cfg.Database = dbPostgres // --database-url alone means PostgreSQL
		}
	case dbPostgres, "postgresql", "pg":
		cfg.Database = dbPostgres
	default:
		return cfg, fmt.Errorf("--database: %q is neither sqlite nor postgres", database)
	}
	if cfg.Database == dbPostgres {
		cfg.DatabaseURL = databaseURL
		if cfg.DatabaseURL == "" {
			cfg.DatabaseURL = os.Getenv(benchDatabaseURLEnv)
		}
		if cfg.DatabaseURL != "" && !strings.HasPrefix(cfg.DatabaseURL, "postgres://") && !strings.HasPrefix(cfg.DatabaseURL, "postgresql://") {
			return cfg, fmt.Errorf("--database-url (or %s) is not a postgres:// URL", benchDatabaseURLEnv)
		}
	} else if databaseURL != "" {
		return cfg, errors.New("--database-url needs --database postgres")
	}
	skips := phaseSkips[cfg.Database]
	if only != "" {
		cfg.Only = map[string]bool{}
		for _, p := range strings.Split(only, ",") {
			p = strings.TrimSpace(p)
			if !slices.Contains(phases, p) {
				return cfg, fmt.Errorf("--only: unknown phase %q (phases: %s)", p, strings.Join(phases, ","))
			}
			if why, skip := skips[p]; skip {
				return cfg, fmt.Errorf("--only: phase %s does not run with --database %s: %s", p, cfg.Database, why)
			}
			cfg.Only[p] = true
		}
	} else {
		for p := range skips {
			delete(cfg.Only, p)
		}
	}
	if cfg.Secrets < seedShared+1 {
		return cfg, fmt.Errorf("--secrets must be at least %d", seedShared+1)
	}
	return cfg, nil
}

// findRepoRoot walks up from the current directory to keyhold's go.mod.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/keyhold/keyhold\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside keyhold's repository: run from it or pass --repo")
		}
		dir = parent
	}
}
