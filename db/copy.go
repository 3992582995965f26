package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// CopyToPostgres moves a SQLite deployment into an empty PostgreSQL database, as it is: every row of
// every table, sealed values and wrapped data keys byte for byte (they bind organization and secret
// ID, not the engine, so nothing is re-encrypted), the audit trail with its IDs and order.
//
//  1. Under the exclusive serve lock of the SQLite file (no server runs on it meanwhile, none starts),
//     the target is refused unless every table keyhold keeps data in is empty (CodeConflict, naming
//     the first that is not).
//  2. The source opens (its pending migrations apply, the master key is checked) and every audit
//     event its journal and outbox hold moves into audit_events; it closes, and the copy holds the
//     journal's lock until it has read everything. The target opens, which applies its migrations
//     and records the master key's check value, and closes.
//  3. In one read transaction of the SQLite file and one PostgreSQL transaction (which locks the
//     tables and checks them empty again), each table is copied in foreign-key order (copyOrder),
//     columns by name, in multi-row INSERTs; the audit trail's ID sequence then continues after the
//     copied events.
//  4. After the commit, each table's rows are counted on PostgreSQL against the copied snapshot, and a
//     sample of secrets (up to copySample, spread over the table) is revealed on both, each as a member
//     who holds it (an Owner first): the values must be equal. Those reads are audited, on both.
//
// from is the SQLite file, to the PostgreSQL URL; opt.MasterKey is the deployment's master key. No
// secret value is ever logged or carried by an error.
func CopyToPostgres(ctx context.Context, from, to string, opt Options) (*CopyReport, error) {
	start := time.Now()
	opt.defaults()
	log := opt.Logger
	if IsPostgres(from) {
		return nil, Errorf(CodeInvalid, "The source of the copy must be a SQLite file, not a PostgreSQL URL.")
	}
	if !IsPostgres(to) {
		return nil, Errorf(CodeInvalid, "The target of the copy must be a PostgreSQL URL (postgres://…).")
	}
	if fi, err := os.Stat(from); err != nil {
		return nil, fmt.Errorf("db: no SQLite database at %s: %w", from, err)
	} else if fi.IsDir() {
		return nil, fmt.Errorf("db: %s is a directory, not a SQLite database", from)
	}
	from, err := filepath.Abs(from)
	if err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	lock, err := LockRotation(from)
	if errors.Is(err, ErrLocked) {
		return nil, Errorf(CodeConflict, "A keyhold server (or a master key rotation) is using %s: stop it, then try again.", from)
	} else if err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	defer lock.Close()

	pg, err := sql.Open(PostgresDriver, to)
	if err != nil {
		return nil, fmt.Errorf("db: open: %w", err)
	}
	defer pg.Close()
	pg.SetMaxOpenConns(2)
	// Refused before either side is opened: opening the target migrates it, and a database that holds
	// another deployment's data is not to be touched.
	if err := targetEmpty(ctx, pg); err != nil {
		return nil, err
	}

	if err := flushSource(ctx, from, opt); err != nil {
		return nil, err
	}
	// The journal stays ours until the copy has read the file: no other process journals reads that
	// the copy would miss.
	journalLock, err := holdJournal(from)
	if err != nil {
		return nil, err
	}
	releaseJournal := func() {
		if journalLock != nil {
			journalLock.Close()
			journalLock = nil
		}
	}
	defer releaseJournal()

	target, err := Open(ctx, to, opt)
	if errors.Is(err, ErrWrongMasterKey) {
		// Its check value is another key's: another deployment opened it, though it stored nothing.
		return nil, Errorf(CodeConflict, "The PostgreSQL database was set up with another master key: copy into a new, empty database.")
	} else if err != nil {
		return nil, err
	}
	if err := target.Close(); err != nil {
		return nil, fmt.Errorf("db: close the target: %w", err)
	}
	if err := targetEmpty(ctx, pg); err != nil {
		return nil, err
	}

	copyStart := time.Now()
	snap, err := copyTables(ctx, from, pg, log)
	if err != nil {
		return nil, err
	}
	copied := time.Since(copyStart)
	releaseJournal()
	log.Info("copied the SQLite database into PostgreSQL; checking it", "tables", len(snap.tables), "took", copied)

	rep := &CopyReport{Tables: snap.tables, Copied: copied}
	for _, t := range snap.tables {
		var n int64
		if err := pg.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t.Name).Scan(&n); err != nil {
			return nil, copiedButErr(fmt.Errorf("count %s: %w", t.Name, err))
		}
		if n != t.Rows {
			return nil, copiedButErr(fmt.Errorf("table %s has %d rows on PostgreSQL, %d were copied", t.Name, n, t.Rows))
		}
	}
	if rep.Sampled, err = compareReveals(ctx, from, to, opt, snap.sample); err != nil {
		return nil, copiedButErr(err)
	}
	// The check's reads are in the PostgreSQL trail, after the copied events: new events get IDs of
	// their own (an ID taken already would be an insert that does nothing).
	var recorded int
	if err := pg.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE id > ? AND action = ? AND source = 'cli'`,
		snap.lastEventID, ActionSecretRead).Scan(&recorded); err != nil {
		return nil, copiedButErr(fmt.Errorf("count the check's reads: %w", err))
	}
	if recorded < rep.Sampled {
		return nil, copiedButErr(fmt.Errorf("%d of the check's %d reads are in the PostgreSQL audit trail after the copied events", recorded, rep.Sampled))
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// CopyReport is what CopyToPostgres copied and checked.
type CopyReport struct {
	// Tables are the tables copied, in the order copied, with their rows: PostgreSQL counted as many
	// after the commit.
	Tables []CopiedTable
	// Sampled is how many secrets were revealed on both and read the same.
	Sampled int
	// Copied is how long the copy transaction took; Duration the whole, checks included.
	Copied   time.Duration
	Duration time.Duration
}

// CopiedTable is one table CopyToPostgres copied.
type CopiedTable struct {
	Name string
	Rows int64
}

// copyOrder are the tables CopyToPostgres copies, parents before the tables that refer to them.
// schema_migrations is each engine's own (both have applied the same versions: checked), and
// audit_outbox is SQLite's alone and empty once flushed (checked).
var copyOrder = []string{
	"meta",
	"orgs",
	"users",
	"memberships",
	"teams",
	"team_members",
	"team_nesting",
	"team_closure",
	"team_owners",
	"data_keys",
	"secrets",
	"secret_versions",
	"grants",
	"api_keys",
	"sessions",
	"login_failures",
	"invitations",
	"invitation_teams",
	"password_resets",
	"audit_events",
}

// notCopied are the tables that exist and are deliberately not copied.
var notCopied = []string{"schema_migrations", "audit_outbox"}

// copySample is how many secrets the check after a copy reveals on both sides, at most.
const copySample = 20

// copyBatchBytes bounds the bytes of values one INSERT of a copy carries (a batch holds at least one
// row); copyBatchRows bounds its rows. PostgreSQL takes at most 65535 parameters in one statement.
const (
	copyBatchBytes = 8 << 20
	copyBatchRows  = 500
)

// copiedButErr is a failure of the check after the commit: the data is in PostgreSQL, and must not
// be used. It keeps err's text, not err: a db error inside (a reveal's) must not stand for the whole,
// whose message is that the database must not be used.
func copiedButErr(err error) error {
	return fmt.Errorf("db: the copy committed, but its check failed: %v; do not use that PostgreSQL database: drop it, create it empty, and copy again", err)
}

// flushSource opens the SQLite deployment (migrating it and checking the master key), moves every
// audit event its journal and outbox hold into audit_events, and closes it. It refuses when another
// process holds the audit journal: the read events it journals would not be in the copy.
func flushSource(ctx context.Context, from string, opt Options) error {
	src, err := Open(ctx, from, opt)
	if err != nil {
		return err
	}
	defer src.Close()
	if b, ok := src.m.back.(*sqliteBackend); ok && fileLocks && b.audit.journal == nil {
		return Errorf(CodeConflict, "Another process (a keyhold server or command) holds the audit journal of %s: stop it, then try again.", from)
	}
	if err := src.m.syncAudit(ctx); err != nil {
		return fmt.Errorf("db: move the audit journal into the database: %w", err)
	}
	return src.Close()
}

// holdJournal takes the audit journal's lock of the SQLite database at dbPath, and fails unless its
// files hold no read event (flushSource moved them all into the database and emptied them). It
// returns nil where files cannot be locked.
func holdJournal(dbPath string) (*Lock, error) {
	if !fileLocks {
		return nil, nil
	}
	lockPath, paths := journalPaths(dbPath)
	f, err := lockFile(lockPath, true)
	if errors.Is(err, ErrLocked) {
		return nil, Errorf(CodeConflict, "Another process (a keyhold server or command) holds the audit journal of %s: stop it, then try again.", dbPath)
	} else if err != nil {
		return nil, fmt.Errorf("db: %w", err)
	}
	l := &Lock{f: f}
	for _, p := range paths {
		jf, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			l.Close()
			return nil, fmt.Errorf("db: %w", err)
		}
		events := 0
		for _, r := range readJournal(jf) {
			if r.event {
				events++
			}
		}
		jf.Close()
		if events > 0 {
			l.Close()
			return nil, fmt.Errorf("db: the audit journal %s still holds %d read events that are not in the database", filepath.Base(p), events)
		}
	}
	return l, nil
}

// pgTables lists the tables of the PostgreSQL database's current schema.
func pgTables(ctx context.Context, q queryer) (map[string]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		return nil, fmt.Errorf("db: list the target's tables: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out[name] = true
	}
	return out, rows.Err()
}

// targetEmpty returns CodeConflict, naming the first table in copyOrder that has rows, unless every
// table keyhold keeps data in is empty or absent (a database never opened by keyhold). meta may hold
// the master key's check value and the sealing mark (valueADMeta), which opening the target writes.
func targetEmpty(ctx context.Context, q queryer) error {
	have, err := pgTables(ctx, q)
	if err != nil {
		return err
	}
	for _, t := range copyOrder {
		if !have[t] {
			continue
		}
		query := `SELECT EXISTS (SELECT 1 FROM ` + t + `)`
		if t == "meta" {
			query = `SELECT EXISTS (SELECT 1 FROM meta WHERE key NOT IN ('master_check', '` + valueADMeta + `'))`
		}
		var rows bool
		if err := q.QueryRowContext(ctx, query).Scan(&rows); err != nil {
			return fmt.Errorf("db: check the target's table %s: %w", t, err)
		}
		if rows {
			return Errorf(CodeConflict, "The PostgreSQL database is not empty: its table %s has rows. Copy into a new, empty database.", t)
		}
	}
	return nil
}

// copySnapshot is what copyTables copied: the tables with their rows, and the secrets to reveal on both
// sides afterwards.
type copySnapshot struct {
	tables []CopiedTable
	sample []sampledSecret
	// lastEventID is the last audit event's ID copied.
	lastEventID int64
}

// sampledSecret is a secret of the sample with a member who can read it.
type sampledSecret struct {
	id, orgID, userID string
}

// copyTables copies every table in copyOrder from the SQLite file to PostgreSQL: one read transaction
// on the file, one transaction on PostgreSQL, committed once everything is in.
func copyTables(ctx context.Context, from string, pg *sql.DB, log *slog.Logger) (*copySnapshot, error) {
	src, err := sql.Open("sqlite", dsn(from, connReader))
	if err != nil {
		return nil, fmt.Errorf("db: open: %w", err)
	}
	defer src.Close()
	src.SetMaxOpenConns(1)
	rtx, err := src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("db: begin read: %w", err)
	}
	defer rtx.Rollback() //nolint:errcheck // read only

	if err := sameSchema(ctx, rtx, pg); err != nil {
		return nil, err
	}
	var outbox int
	if err := rtx.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_outbox`).Scan(&outbox); err != nil {
		return nil, fmt.Errorf("db: read the audit outbox: %w", err)
	}
	if outbox > 0 {
		return nil, fmt.Errorf("db: the audit outbox of %s still holds %d events that are not in audit_events", filepath.Base(from), outbox)
	}

	wtx, err := pg.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("db: begin: %w", err)
	}
	defer wtx.Rollback() //nolint:errcheck // a no-op after Commit
	// Nobody writes into these tables until the copy commits: keyhold instances already started on the
	// target wait (their changes take the change lock first; their audit inserts wait on the table).
	if _, err := wtx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(pgChangeLock)); err != nil {
		return nil, fmt.Errorf("db: lock the target: %w", err)
	}
	if _, err := wtx.ExecContext(ctx, `LOCK TABLE `+strings.Join(copyOrder, ", ")+` IN EXCLUSIVE MODE`); err != nil {
		return nil, fmt.Errorf("db: lock the target's tables: %w", err)
	}
	if err := targetEmpty(ctx, wtx); err != nil {
		return nil, err
	}

	snap := &copySnapshot{}
	for _, t := range copyOrder {
		n, err := copyTable(ctx, rtx, wtx, t)
		if err != nil {
			return nil, fmt.Errorf("db: copy %s: %w", t, err)
		}
		log.Debug("copied a table", "table", t, "rows", n)
		snap.tables = append(snap.tables, CopiedTable{Name: t, Rows: n})
	}
	// New events continue after the copied ones.
	if err := wtx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM audit_events`).Scan(&snap.lastEventID); err != nil {
		return nil, fmt.Errorf("db: read the audit trail's last ID: %w", err)
	}
	if snap.lastEventID > 0 {
		if _, err := wtx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('audit_events', 'id'), ?)`, snap.lastEventID); err != nil {
			return nil, fmt.Errorf("db: continue the audit trail's IDs: %w", err)
		}
	}
	if snap.sample, err = pickSample(ctx, rtx); err != nil {
		return nil, err
	}
	if err := wtx.Commit(); err != nil {
		return nil, fmt.Errorf("db: commit the copy: %w", err)
	}
	return snap, nil
}

// sameSchema fails unless both databases have applied the same migrations, and every table either side has
// is one copyOrder copies or notCopied names: a table added later must be taught to the copy, not
// left behind.
func sameSchema(ctx context.Context, src *sql.Tx, pg *sql.DB) error {
	versions := func(q queryer) ([]int64, error) {
		return queryColumn[int64](ctx, q, `SELECT version FROM schema_migrations ORDER BY version`)
	}
	sv, err := versions(src)
	if err != nil {
		return fmt.Errorf("db: read the source's migrations: %w", err)
	}
	tv, err := versions(pg)
	if err != nil {
		return fmt.Errorf("db: read the target's migrations: %w", err)
	}
	if !slices.Equal(sv, tv) {
		return fmt.Errorf("db: the source has applied migrations %v, the target %v: both must be the same keyhold version's", sv, tv)
	}
	known := append(slices.Clone(copyOrder), notCopied...)
	rows, err := src.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		return fmt.Errorf("db: list the source's tables: %w", err)
	}
	var srcTables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		srcTables = append(srcTables, name)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	pgHave, err := pgTables(ctx, pg)
	if err != nil {
		return err
	}
	for _, t := range srcTables {
		if !slices.Contains(known, t) {
			return fmt.Errorf("db: the source has a table %s that the copy does not know", t)
		}
	}
	for t := range pgHave {
		if !slices.Contains(known, t) {
			return fmt.Errorf("db: the target has a table %s that the copy does not know", t)
		}
	}
	for _, t := range copyOrder {
		if !slices.Contains(srcTables, t) || !pgHave[t] {
			return fmt.Errorf("db: table %s is missing from the source or the target", t)
		}
	}
	return nil
}

// column is a column of a copied table, with its PostgreSQL type.
type column struct {
	name   string
	pgType string
}

// copyColumns are table's columns, in the source's order; both sides must have the same.
func copyColumns(ctx context.Context, src *sql.Tx, pg *sql.Tx, table string) ([]column, error) {
	rows, err := src.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, err
	}
	var cols []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name); err != nil {
			rows.Close()
			return nil, err
		}
		cols = append(cols, c)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	rows, err = pg.QueryContext(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = ?`, table)
	if err != nil {
		return nil, err
	}
	types := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			rows.Close()
			return nil, err
		}
		types[name] = typ
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	if len(types) != len(cols) {
		return nil, fmt.Errorf("the source has %d columns, the target %d", len(cols), len(types))
	}
	for i, c := range cols {
		typ, ok := types[c.name]
		if !ok {
			return nil, fmt.Errorf("the target has no column %s", c.name)
		}
		cols[i].pgType = typ
	}
	return cols, nil
}

// copyTable copies every row of table from src to pg and returns how many it copied.
func copyTable(ctx context.Context, src *sql.Tx, pg *sql.Tx, table string) (int64, error) {
	cols, err := copyColumns(ctx, src, pg, table)
	if err != nil {
		return 0, err
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	list := strings.Join(names, ", ")
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	insert := `INSERT INTO ` + table + ` (` + list + `) VALUES `
	conflict := ""
	if table == "meta" {
		// The target's own check value stays (it opens under the same master key): the rows it lacks
		// go in.
		conflict = ` ON CONFLICT (key) DO NOTHING`
	}
	maxRows := min(copyBatchRows, 65535/len(cols))

	rows, err := src.QueryContext(ctx, `SELECT `+list+` FROM `+table+` ORDER BY rowid`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var (
		n     int64
		args  []any
		nrows int
		bytes int
	)
	flush := func() error {
		if nrows == 0 {
			return nil
		}
		q := insert + strings.TrimSuffix(strings.Repeat(tuple+", ", nrows), ", ") + conflict
		if _, err := pg.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		n += int64(nrows)
		args, nrows, bytes = args[:0], 0, 0
		return nil
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, err
		}
		for i, v := range vals {
			cv, size, err := pgValue(v, cols[i].pgType)
			if err != nil {
				return 0, fmt.Errorf("column %s: %w", cols[i].name, err)
			}
			args = append(args, cv)
			bytes += size
		}
		nrows++
		if nrows >= maxRows || bytes >= copyBatchBytes {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return n, nil
}

// pgValue is a value read from SQLite as PostgreSQL's column type takes it, and its size in bytes.
// SQLite stores any type in any column: a value that does not fit its PostgreSQL column fails the
// copy (its error names the types, never the value).
func pgValue(v any, pgType string) (any, int, error) {
	if v == nil {
		return nil, 0, nil
	}
	switch pgType {
	case "bytea":
		switch x := v.(type) {
		case []byte:
			return x, len(x), nil
		case string:
			return []byte(x), len(x), nil
		}
	case "text", "character varying":
		switch x := v.(type) {
		case string:
			return x, len(x), nil
		case []byte:
			if utf8.Valid(x) {
				return string(x), len(x), nil
			}
			return nil, 0, errors.New("a BLOB that is not UTF-8 text, for a text column")
		}
	case "bigint", "integer", "smallint":
		if x, ok := v.(int64); ok {
			return x, 8, nil
		}
	}
	return nil, 0, fmt.Errorf("a value of type %T for a %s column", v, pgType)
}

// pickSample chooses up to copySample live secrets spread over the table (in ID order: UUIDv7s, so in
// creation order), each with a member of its organization who can read it: one holding it as Owner
// first, its creator among those first. A secret nobody can read is passed over.
func pickSample(ctx context.Context, tx *sql.Tx) ([]sampledSecret, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, org_id FROM secrets WHERE deleted_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("db: list the secrets to check: %w", err)
	}
	var live []sampledSecret
	for rows.Next() {
		var s sampledSecret
		if err := rows.Scan(&s.id, &s.orgID); err != nil {
			rows.Close()
			return nil, err
		}
		live = append(live, s)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	var out []sampledSecret
	picked := map[int]bool{}
	try := func(i int) error {
		if picked[i] {
			return nil
		}
		picked[i] = true
		s := live[i]
		err := tx.QueryRowContext(ctx, `SELECT m.user_id FROM secrets s
			JOIN grants g ON g.secret_id = s.id
			JOIN memberships m ON m.org_id = s.org_id AND `+heldBy("m.user_id")+`
			WHERE s.id = ?
			GROUP BY m.user_id
			ORDER BY MAX(CASE WHEN g.role = 'owner' THEN 1 ELSE 0 END) DESC, MAX(CASE WHEN m.user_id = s.created_by THEN 1 ELSE 0 END) DESC, m.user_id
			LIMIT 1`, s.id).Scan(&s.userID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		} else if err != nil {
			return fmt.Errorf("db: find a reader of a secret to check: %w", err)
		}
		out = append(out, s)
		return nil
	}
	// Spread first; then, if some could not be read by anyone, the others in order.
	for k := range min(copySample, len(live)) {
		if err := try(k * len(live) / min(copySample, len(live))); err != nil {
			return nil, err
		}
	}
	for i := 0; i < len(live) && len(out) < min(copySample, len(live)); i++ {
		if err := try(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// compareReveals reveals each secret of the sample on the SQLite source and on the PostgreSQL target,
// as the same member, through the stores' own methods (so each read is audited on both), and fails
// unless both read the same. It returns how many it compared. Its errors name the secret, never a
// value.
func compareReveals(ctx context.Context, from, to string, opt Options, sample []sampledSecret) (int, error) {
	if len(sample) == 0 {
		return 0, nil
	}
	src, err := Open(ctx, from, opt)
	if err != nil {
		return 0, fmt.Errorf("reopen the source: %w", err)
	}
	defer src.Close()
	dst, err := Open(ctx, to, opt)
	if err != nil {
		return 0, fmt.Errorf("open the target: %w", err)
	}
	defer dst.Close()
	n := 0
	for _, s := range sample {
		sa, err := src.ActorFor(ctx, s.userID, s.orgID, "cli", "")
		if err != nil {
			return n, fmt.Errorf("the reader of secret %s on the source: %w", s.id, err)
		}
		want, err := src.RevealSecret(ctx, sa, s.id)
		if err != nil {
			return n, fmt.Errorf("reveal secret %s on the source: %w", s.id, err)
		}
		da, err := dst.ActorFor(ctx, s.userID, s.orgID, "cli", "")
		if err != nil {
			return n, fmt.Errorf("the reader of secret %s on the target: %w", s.id, err)
		}
		got, err := dst.RevealSecret(ctx, da, s.id)
		if err != nil {
			return n, fmt.Errorf("reveal secret %s on the target: %w", s.id, err)
		}
		var differs []string
		if got.Value != want.Value {
			differs = append(differs, "value")
		}
		if got.Name != want.Name || got.Version != want.Version || got.Size != want.Size {
			differs = append(differs, "name, version or size")
		}
		if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) || got.CreatedBy.ID != want.CreatedBy.ID || got.UpdatedBy.ID != want.UpdatedBy.ID {
			differs = append(differs, "history")
		}
		if got.Access != want.Access {
			differs = append(differs, "access")
		}
		if len(differs) > 0 {
			return n, fmt.Errorf("secret %s reads differently on PostgreSQL: its %s", s.id, strings.Join(differs, ", "))
		}
		n++
	}
	return n, nil
}
