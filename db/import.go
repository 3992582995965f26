package db

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxImportItems bounds the secrets of one import: it is one transaction, and the writer serves
// nothing else while it runs (10,000 new secrets take about 0.25 s on SQLite, 2.5 s on PostgreSQL,
// which pays a round trip per statement).
const MaxImportItems = 10_000

// ImportItem is one secret to import: its name and value.
type ImportItem struct {
	Name  string
	Value []byte
}

// ImportOptions say how ImportSecrets treats secrets that exist.
type ImportOptions struct {
	Overwrite bool // replace existing secrets the actor owns; without it they are left and reported
	DryRun    bool // compute the outcome, change nothing (a preview)
	// Expect, when set, is the outcome a preview showed for each item, in order: the import happens
	// only if each item's outcome and version are still those, or not at all (CodeConflict). What
	// was previewed is what is imported.
	Expect []ImportExpectation
}

// ImportExpectation is the outcome an item is expected to have: what a preview showed.
type ImportExpectation struct {
	Outcome ImportOutcome
	Version int64 // of the existing secret; 0 for a create
}

// ImportOutcome is what an import does, or would do, with one item.
type ImportOutcome string

// The outcomes of an item.
const (
	ImportCreate    ImportOutcome = "create"    // no secret has the name: it is created, the actor its Owner
	ImportUpdate    ImportOutcome = "update"    // the actor owns it and asked to overwrite: a new version
	ImportUnchanged ImportOutcome = "unchanged" // the actor owns it and it holds this value already
	ImportSkip      ImportOutcome = "skip"      // left as it is: Reason says why
)

// ImportResult is what an import did, or would do.
type ImportResult struct {
	Items                                []ImportResultItem // in input order
	Created, Updated, Unchanged, Skipped int
}

// ImportResultItem is the outcome of one item.
type ImportResultItem struct {
	Name    string
	Outcome ImportOutcome
	Reason  string // for skip
	// For an existing secret the actor can see: its version, who set that version, and when, as
	// they were before the import (the version an update replaced, or would replace). Zero for a
	// create, and for a secret the actor cannot see.
	Version   int64
	UpdatedBy UserRef
	UpdatedAt time.Time
}

// The reasons an item is skipped.
const (
	skipNotShared   = "A secret with this name already exists in this organization and is not shared with you."
	skipReader      = "You are a Reader of this secret: only its Owners can change it."
	skipNoOverwrite = "A secret with this name already exists with another value: ask to overwrite to replace it."
)

// ImportSecrets creates and updates items in the actor's organization in one transaction: all or none.
// For each name:
//
//   - no live secret: created, the actor its only Owner (ImportCreate);
//   - the actor is an Owner: unchanged when it holds the value already (compared after decrypting;
//     not written, not audited), else replaced when opt.Overwrite (ImportUpdate), else skipped;
//   - the actor is a Reader: skipped, without comparing the value;
//   - the actor cannot see it: skipped, and nothing more is said (no version, no author, no
//     comparison). That it exists is all that is said, which CreateSecret's conflict says too: the
//     name is taken in the organization, so creating it cannot be done, and a made-up outcome would be
//     a lie.
//
// Creates and updates are audited as CreateSecret and UpdateSecret audit them. With opt.DryRun the
// very same change runs and is rolled back (a preview): the result is what the import would do now.
// Values are copied to be sealed: items are left as they are, for the import that follows a preview.
//
// An item breaking the rules (name, value, a name twice), more than MaxImportItems items, or an
// actor that is not a user, refuses the whole import before anything is written: CodeInvalid naming
// the first bad item by position and name (never its value), or CodeForbidden. A secret of one of
// the names changed between the look and the write (a name taken meanwhile, a value or access
// changed) refuses it all with CodeConflict. No items: an empty result.
func (s *Store) ImportSecrets(ctx context.Context, a Actor, items []ImportItem, opt ImportOptions) (*ImportResult, error) {
	if a.UserID == "" {
		return nil, Errorf(CodeForbidden, "Secrets are imported by users.")
	}
	if err := validateImport(items); err != nil {
		return nil, err
	}
	res := &ImportResult{Items: []ImportResultItem{}}
	if len(items) == 0 {
		return res, nil
	}
	plan, err := s.planImport(ctx, a, items, opt, res)
	if err != nil {
		return nil, err
	}
	if opt.Expect != nil {
		// The change below checks that nothing moved since the plan; here, that the plan is what
		// was previewed.
		if len(opt.Expect) != len(res.Items) {
			return nil, Errorf(CodeConflict, "Nothing was imported: the import is not the one previewed. Preview it again.")
		}
		for i, it := range res.Items {
			if e := opt.Expect[i]; e.Outcome != it.Outcome || e.Version != it.Version {
				return nil, Errorf(CodeConflict, "Nothing was imported: %s changed since the preview. Check the new preview, then import.", itemLabel(i, it.Name))
			}
		}
	}
	now := s.now()
	return change(ctx, s, opt.DryRun, plan.touches(a.OrgID), func(tx *sql.Tx) (*ImportResult, error) {
		if err := s.checkImportPlan(ctx, tx, a, plan); err != nil {
			return nil, err
		}
		for i := range plan {
			st := &plan[i]
			switch st.outcome {
			case ImportCreate:
				if _, err := s.insertSecretTx(ctx, tx, a, st.id, st.name, st.value, now); err != nil {
					return nil, err
				}
			case ImportUpdate:
				sec := *st.cur
				if err := s.updateValueTx(ctx, tx, a, &sec, st.value, now, "imported"); err != nil {
					return nil, err
				}
			}
		}
		return res, nil
	})
}

// validateImport checks every item against the rules, and that no name comes twice.
func validateImport(items []ImportItem) error {
	if len(items) > MaxImportItems {
		return Errorf(CodeInvalid, "An import takes at most %s secrets; this one has %s: split it.", commas(MaxImportItems), commas(len(items)))
	}
	seen := make(map[string]int, len(items))
	for i, it := range items {
		if err := ValidateSecret(it.Name, it.Value); err != nil {
			return Errorf(CodeInvalid, "%s: %s", itemLabel(i, it.Name), ErrorMessage(err))
		}
		if j, ok := seen[it.Name]; ok {
			return Errorf(CodeInvalid, "%s: the name is also item %d's; an import sets each name once.", itemLabel(i, it.Name), j+1)
		}
		seen[it.Name] = i
	}
	return nil
}

// itemLabel names the item at index i for a message: "Item 3 (\"API-KEY\")", its name quoted and cut
// short, never its value.
func itemLabel(i int, name string) string {
	label := "Item " + strconv.Itoa(i+1)
	if name == "" {
		return label
	}
	if utf8.RuneCountInString(name) > 64 {
		name = string([]rune(name)[:64]) + "…"
	}
	return label + " (" + strconv.Quote(name) + ")"
}

// importStep is one item of an import as planned: what happens to it, and what it was planned on.
type importStep struct {
	name    string
	outcome ImportOutcome
	cur     *Secret     // the live secret of the name as the actor saw it, without its value; nil: none
	id      string      // the secret's ID: a new one for a create
	value   sealedValue // for a create or an update
}

type importPlan []importStep

// touches are the secret names the plan creates or updates.
func (p importPlan) touches(orgID string) touches {
	var t touches
	for _, st := range p {
		if st.outcome == ImportCreate || st.outcome == ImportUpdate {
			t.secrets = append(t.secrets, secretName{orgID, st.name})
		}
	}
	return t
}

// planImport decides each item's outcome from one snapshot of the organization, read on the read
// pool, and seals the values to write, so that the change holds the writer for its writes alone. It
// fills res.
func (s *Store) planImport(ctx context.Context, a Actor, items []ImportItem, opt ImportOptions, res *ImportResult) (importPlan, error) {
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.Name
	}
	plan := make(importPlan, len(items))
	_, err := inReadTx(ctx, s, func(tx *sql.Tx) (struct{}, error) {
		cur, err := s.liveSecretsNamed(ctx, tx, a, names)
		if err != nil {
			return struct{}{}, err
		}
		// The values of the secrets the actor owns whose length matches: the only ones that can be
		// unchanged. Only an Owner's are compared: a Reader, or one who cannot see the secret, learns
		// nothing of its value from an import.
		var compare []*Secret
		want := map[string][]byte{} // by secret ID
		for i, it := range items {
			if sec := cur[it.Name]; sec != nil && sec.Access.CanEdit() && sec.Size == len(it.Value) {
				compare = append(compare, sec)
				want[sec.ID] = it.Value
			}
			plan[i] = importStep{name: it.Name, cur: cur[it.Name]}
		}
		same, err := s.sameValues(ctx, tx, a.OrgID, compare, want)
		if err != nil {
			return struct{}{}, err
		}
		for i := range plan {
			plan[i].outcome, plan[i].id = decideImport(plan[i].cur, same, opt)
		}
		return struct{}{}, nil
	})
	if err != nil {
		return nil, err
	}
	for i := range plan {
		st := &plan[i]
		if st.outcome == ImportCreate || st.outcome == ImportUpdate {
			// A copy, sealed in place: the caller's value is left as it was.
			v, version := items[i].Value, int64(1)
			if st.cur != nil {
				version = st.cur.Version + 1 // the plan is checked to hold in the change
			}
			if st.value, err = s.sealValue(ctx, a.OrgID, st.id, version, append(make([]byte, 0, len(v)+SealOverhead), v...)); err != nil {
				return nil, err
			}
		}
		res.Items = append(res.Items, resultItem(st))
		switch st.outcome {
		case ImportCreate:
			res.Created++
		case ImportUpdate:
			res.Updated++
		case ImportUnchanged:
			res.Unchanged++
		default:
			res.Skipped++
		}
	}
	return plan, nil
}

// decideImport is the rule of ImportSecrets for one name: its outcome and the ID of the secret to
// write.
func decideImport(cur *Secret, same map[string]bool, opt ImportOptions) (ImportOutcome, string) {
	switch {
	case cur == nil:
		return ImportCreate, newID()
	case !cur.Access.CanEdit():
		return ImportSkip, ""
	case same[cur.ID]:
		return ImportUnchanged, ""
	case !opt.Overwrite:
		return ImportSkip, ""
	}
	return ImportUpdate, cur.ID
}

func resultItem(st *importStep) ImportResultItem {
	out := ImportResultItem{Name: st.name, Outcome: st.outcome}
	switch {
	case st.cur == nil:
	case !st.cur.Access.CanRead():
		out.Reason = skipNotShared
	default:
		out.Version, out.UpdatedBy, out.UpdatedAt = st.cur.Version, st.cur.UpdatedBy, st.cur.UpdatedAt
		if st.outcome == ImportSkip {
			out.Reason = skipNoOverwrite
			if !st.cur.Access.CanEdit() {
				out.Reason = skipReader
			}
		}
	}
	return out
}

// checkImportPlan refuses the change, in its transaction, when a secret of one of the plan's names is
// not as it was planned on: a name taken, deleted, given a new version, or the actor's access to it
// changed. Then the plan still holds when the change commits.
func (s *Store) checkImportPlan(ctx context.Context, tx *sql.Tx, a Actor, plan importPlan) error {
	names := make([]string, len(plan))
	for i, st := range plan {
		names[i] = st.name
	}
	now, err := s.liveSecretsNamed(ctx, tx, a, names)
	if err != nil {
		return err
	}
	for _, st := range plan {
		was, is := st.cur, now[st.name]
		if was == nil && is == nil ||
			was != nil && is != nil && was.ID == is.ID && was.Version == is.Version && was.Access == is.Access {
			continue
		}
		return Errorf(CodeConflict, "The secret %s changed while the import was being prepared: nothing was imported. Try again.", st.name)
	}
	return nil
}

// importChunk is how many names one lookup asks for. Every lookup asks for this many (a short list is
// padded with its last name), so the query text is always the same: PostgreSQL's driver keeps every
// query text it rewrites.
const importChunk = 500

// liveSecretsNamed returns, by name, the live secrets of the actor's organization with any of names
// (distinct), without values, with the actor's access ("" where the actor cannot read one).
func (s *Store) liveSecretsNamed(ctx context.Context, q queryer, a Actor, names []string) (map[string]*Secret, error) {
	out := make(map[string]*Secret, len(names))
	for len(names) > 0 {
		chunk := names[:min(len(names), importChunk)]
		names = names[len(chunk):]
		args := make([]any, 0, 2+importChunk)
		args = append(args, a.UserID, a.OrgID)
		for i := range importChunk {
			args = append(args, chunk[min(i, len(chunk)-1)])
		}
		rows, err := q.QueryContext(ctx, secretsNamedSQL, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var rank sql.NullInt64
			sec, err := scanSecret(rows, &rank)
			if err != nil {
				rows.Close()
				return nil, err
			}
			sec.Access = roleFromRank(int(rank.Int64))
			out[sec.Name] = sec
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// secretsNamedSQL selects the live secrets of organization ?2 named ?3 … ?(importChunk+2), with the
// access of user ?1.
var secretsNamedSQL = `SELECT ` + secretCols + `, ` + accessExpr + ` ` + secretFrom + `
	WHERE s.org_id = ?2 AND s.deleted_at IS NULL AND s.name IN (` + placeholders(3, importChunk) + `)`

// placeholders is "?from, ?from+1, …", n of them.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("?" + strconv.Itoa(from+i))
	}
	return b.String()
}

// compareBytes bounds the sealed values one query of sameValues reads: the values compared may be 5 MB
// each.
const compareBytes = 8 << 20

// sameValues opens the values of secs (of organization orgID) and reports, by secret ID, those equal
// to want[ID]. It reads them a few at a time (at most compareBytes of them, or importChunk), so it
// holds few at once.
func (s *Store) sameValues(ctx context.Context, tx *sql.Tx, orgID string, secs []*Secret, want map[string][]byte) (map[string]bool, error) {
	same := map[string]bool{}
	for len(secs) > 0 {
		n, size := 0, 0
		for n < len(secs) && n < importChunk && (n == 0 || size+secs[n].Size <= compareBytes) {
			size += secs[n].Size
			n++
		}
		chunk := secs[:n]
		secs = secs[n:]
		args := make([]any, 0, 1+importChunk)
		args = append(args, orgID)
		for i := range importChunk {
			args = append(args, chunk[min(i, len(chunk)-1)].ID)
		}
		type row struct {
			id, keyID string
			version   int64
			sealed    []byte
		}
		// Read first, then open: a connection runs one query at a time, and opening may read a data key.
		var got []row
		rows, err := tx.QueryContext(ctx, sealedByIDSQL, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.keyID, &r.version, &r.sealed); err != nil {
				rows.Close()
				return nil, err
			}
			got = append(got, r)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, r := range got {
			plain, err := s.open(ctx, tx, orgID, r.id, r.version, r.keyID, r.sealed)
			if err != nil {
				return nil, err
			}
			same[r.id] = plain == string(want[r.id])
		}
	}
	return same, nil
}

// sealedByIDSQL selects the sealed values of the secrets of organization ?1 with IDs ?2 … ?(importChunk+1).
var sealedByIDSQL = `SELECT s.id, s.data_key_id, s.version, s.sealed FROM secrets s
	WHERE s.org_id = ?1 AND s.id IN (` + placeholders(2, importChunk) + `)`
