package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhold/keyhold/db"
)

// migrateCommand is `keyhold migrate --from-data DIR --to postgres://…`: it copies the SQLite
// deployment in DIR into an empty PostgreSQL database (db.CopyToPostgres: values stay sealed under
// the same master key, the audit trail comes along), checks it, and prints what it copied. It refuses
// a target that holds data, and a data directory a server runs on. The SQLite data is left as it was.
func migrateCommand(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	var from, to string
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.StringVar(&from, "from-data", "", "the SQLite deployment's data `directory` (its keyhold.db, and master.key unless KEYHOLD_MASTER_KEY(_FILE) is set)")
	defTo, err := env("KEYHOLD_DATABASE_URL")
	if err != nil {
		return usageError{err.Error()}
	}
	fs.StringVar(&to, "to", defTo, "the empty PostgreSQL database's `URL` (env KEYHOLD_DATABASE_URL)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if from == "" || to == "" {
		return usageError{"migrate needs --from-data DIR (the SQLite deployment) and --to " + migrateURLExample + " (an empty PostgreSQL database)"}
	}
	target, err := migrateTarget(to)
	if err != nil {
		return err
	}
	if err := requireData(from); err != nil {
		return err
	}
	key, err := loadMasterKey(from, log)
	if err != nil {
		return err
	}
	path := filepath.Join(from, db.FileName)
	rep, err := db.CopyToPostgres(ctx, path, to, db.Options{MasterKey: key, Logger: log})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied %s into PostgreSQL (%s) in one transaction, %s:\n", path, target, rep.Copied.Round(time.Millisecond))
	for _, t := range rep.Tables {
		fmt.Fprintf(stdout, "  %-18s %9d rows\n", t.Name, t.Rows)
	}
	fmt.Fprintf(stdout, "checked: every table has as many rows on PostgreSQL; %d secrets reveal the same value from both (those reads are in both audit trails); %s in all\n",
		rep.Sampled, rep.Duration.Round(time.Millisecond))
	keyFrom := "KEYHOLD_MASTER_KEY(_FILE) as now"
	if v, _ := env("KEYHOLD_MASTER_KEY"); v == "" {
		keyFrom = "KEYHOLD_MASTER_KEY_FILE naming a copy of " + masterKeyFile(from) + " (on PostgreSQL the key comes from the environment only)"
	}
	fmt.Fprintf(stdout, "next: start every keyhold instance with --database set to this PostgreSQL URL (or KEYHOLD_DATABASE_URL) and the same master key, %s; start none on %s again\n",
		keyFrom, from)
	return nil
}

// migrateURLExample is the form of --to, for messages.
const migrateURLExample = "postgres://USER:PASSWORD@HOST:5432/DATABASE"

// migrateTarget checks --to, a PostgreSQL URL, and names its server and database for the report:
// host:port/database, nothing more of it (it may hold a password). Its errors never quote it.
func migrateTarget(to string) (string, error) {
	if !db.IsPostgres(to) {
		return "", usageError{"--to must be a PostgreSQL URL, such as " + migrateURLExample + "?sslmode=require: migrate copies a SQLite deployment into PostgreSQL"}
	}
	c, err := pgx.ParseConfig(to)
	if err != nil {
		return "", usageError{"--to is not a PostgreSQL URL that parses: give one such as " + migrateURLExample + ", with the password's special characters percent-encoded"}
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))) + "/" + c.Database, nil
}
