package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// UserRef names a user in a listing. FirstName and LastName are set where the listing has them
// (access lists, team members); Name is always set.
type UserRef struct {
	ID        string
	Email     string
	Name      string
	FirstName string
	LastName  string
}

// Secret is a named value in an organization. Value is set only by the methods that reveal it.
type Secret struct {
	ID        string
	OrgID     string
	Name      string
	Version   int64
	Size      int
	CreatedBy UserRef
	CreatedAt time.Time
	UpdatedBy UserRef
	UpdatedAt time.Time
	DeletedBy string
	DeletedAt time.Time
	// Access is the actor's effective role: the strongest of its direct grant and its teams' grants.
	Access Role
	// Sharing is set by ListSecrets.
	Sharing Sharing
	Value   string

	dataKeyID string
	sealed    []byte
}

// heldBy is the permission rule, written once: grant g reaches the user whose ID is the SQL parameter
// user (such as ?1) when it is granted to that user, or to a team the user is in, or to a team that
// contains one of those at any depth (teamsReaching, db/nesting.go). Every query that asks what a user
// may reach (accessExpr, countSecretsSQL, ownedSecretIDs) is built from it.
func heldBy(user string) string {
	return `((g.principal_kind = 'user' AND g.principal_id = ` + user + `)
	OR (g.principal_kind = 'team' AND g.principal_id IN (` + teamsReaching(user) + `)))`
}

// accessExpr is the actor's effective role on secret s as a rank (2 Owner, 1 Reader, NULL none): the
// strongest of the grants that reach user ?1 (heldBy). Every read and change goes through it.
var accessExpr = `(SELECT MAX(CASE g.role WHEN 'owner' THEN 2 ELSE 1 END) FROM grants g
	WHERE g.secret_id = s.id AND ` + heldBy("?1") + `)`

const secretCols = `s.id, s.org_id, s.name, s.version, s.value_size, s.created_at, s.updated_at,
	cu.id, cu.email, cu.first_name, cu.last_name, uu.id, uu.email, uu.first_name, uu.last_name`

const secretFrom = `FROM secrets s JOIN users cu ON cu.id = s.created_by JOIN users uu ON uu.id = s.updated_by`

type scanner interface{ Scan(dest ...any) error }

func scanSecret(row scanner, extra ...any) (*Secret, error) {
	var (
		sec                   Secret
		created, updated      int64
		cFirst, cLast, uF, uL string
	)
	dest := []any{&sec.ID, &sec.OrgID, &sec.Name, &sec.Version, &sec.Size, &created, &updated,
		&sec.CreatedBy.ID, &sec.CreatedBy.Email, &cFirst, &cLast, &sec.UpdatedBy.ID, &sec.UpdatedBy.Email, &uF, &uL}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	sec.CreatedAt, sec.UpdatedAt = fromMS(created), fromMS(updated)
	sec.CreatedBy.Name = displayName(cFirst, cLast, sec.CreatedBy.Email)
	sec.UpdatedBy.Name = displayName(uF, uL, sec.UpdatedBy.Email)
	return &sec, nil
}

func notFoundSecret() error { return Errorf(CodeNotFound, "No such secret.") }

// secretSQL looks up one live secret of organization ?3 by ID or by name (?2, per where) with the
// access of user ?1; withValue adds the sealed value (last, and only when needed: it may be 5 MB).
func secretSQL(where string, withValue bool) string {
	value := "NULL"
	if withValue {
		value = "s.sealed"
	}
	return `SELECT ` + secretCols + `, s.data_key_id, ` + value + `, ` + accessExpr + ` ` + secretFrom + `
		WHERE ` + where + ` AND s.org_id = ?3 AND s.deleted_at IS NULL`
}

// bySecretID is secretSQL's lookup by ID.
const bySecretID = "s.id = ?2"

// fetchByNameSQL is secretSQL by name with the value, for code: the same row and access rule, but
// without the joins that add names to creator and updater (the API returns their IDs only).
var fetchByNameSQL = `SELECT s.id, s.org_id, s.name, s.version, s.value_size, s.created_at, s.updated_at,
	s.created_by, '', '', '', s.updated_by, '', '', '', s.data_key_id, s.sealed, ` + accessExpr + `
	FROM secrets s WHERE s.name = ?2 AND s.org_id = ?3 AND s.deleted_at IS NULL`

// scanLookup reads a row of secretSQL. A missing row and a secret the actor cannot read are both
// CodeNotFound: the answer does not reveal that the secret exists.
func scanLookup(row *sql.Row) (*Secret, error) {
	var (
		rank   sql.NullInt64
		keyID  string
		sealed []byte
	)
	sec, err := scanSecret(row, &keyID, &sealed, &rank)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFoundSecret()
	} else if err != nil {
		return nil, err
	}
	sec.Access = roleFromRank(int(rank.Int64))
	if !sec.Access.CanRead() {
		return nil, notFoundSecret()
	}
	sec.dataKeyID, sec.sealed = keyID, sealed
	return sec, nil
}

// secretForActor loads a live secret of the actor's organization with the actor's access, without
// its value, inside tx, a change's transaction. It returns CodeNotFound when the secret does not exist or the actor cannot
// read it.
func (s *Store) secretForActor(ctx context.Context, tx *sql.Tx, a Actor, id string) (*Secret, error) {
	return scanLookup(tx.StmtContext(ctx, s.stmts.secretByIDW).QueryRowContext(ctx, a.UserID, id, a.OrgID))
}

// The statements of the two writes code makes all the time, prepared on the writer connection.
const (
	insertSecretSQL = `INSERT INTO secrets (id, org_id, name, data_key_id, sealed, value_size, version,
		created_by, created_at, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`
	insertOwnerSQL = `INSERT INTO grants (secret_id, principal_kind, principal_id, role, created_by, created_at)
		VALUES (?, 'user', ?, 'owner', ?, ?)`
	updateValueSQL = `UPDATE secrets SET data_key_id = ?, sealed = ?, value_size = ?, version = version + 1,
		updated_by = ?, updated_at = ? WHERE id = ?`
	// keepVersionSQL copies a secret's current value, sealed as it is, into its history, before a new
	// value replaces it.
	keepVersionSQL = `INSERT INTO secret_versions (secret_id, version, data_key_id, value_size, set_by, set_at, sealed)
		SELECT id, version, data_key_id, value_size, updated_by, updated_at, sealed FROM secrets WHERE id = ?`
	// trimVersionsSQL destroys the versions of secret ?1 up to ?2: those past the cap.
	trimVersionsSQL = `DELETE FROM secret_versions WHERE secret_id = ?1 AND version <= ?2`
)

// CreateSecret seals value and stores it under name in the actor's organization, with the actor as
// its only Owner. value is sealed in place when it has SealOverhead bytes of spare capacity: the
// caller must not use it afterwards. It returns CodeInvalid or CodeTooLarge (bad name or value) or
// CodeConflict (name taken in the organization).
func (s *Store) CreateSecret(ctx context.Context, a Actor, name string, value []byte) (*Secret, error) {
	if err := ValidateSecret(name, value); err != nil {
		return nil, err
	}
	if a.UserID == "" {
		return nil, Errorf(CodeForbidden, "Secrets are created by users.")
	}
	id := newID()
	now := s.now()
	// Sealed before the transaction: the writer connection is held for the writes alone.
	v, err := s.sealValue(ctx, a.OrgID, id, 1, value)
	if err != nil {
		return nil, err
	}
	return inTx(ctx, s, touchesSecret(a.OrgID, name), func(tx *sql.Tx) (*Secret, error) {
		return s.insertSecretTx(ctx, tx, a, id, name, v, now)
	})
}

// sealedValue is a secret's value sealed for its row, before the transaction that stores it.
type sealedValue struct {
	keyID   string
	sealed  []byte
	size    int   // the value's length
	version int64 // the version it is sealed as
}

// sealValue seals value as version version of the secret id of organization orgID (see seal: in
// place when value has room).
func (s *Store) sealValue(ctx context.Context, orgID, id string, version int64, value []byte) (sealedValue, error) {
	size := len(value)
	keyID, sealed, err := s.seal(ctx, s.r, orgID, id, version, value)
	if err != nil {
		return sealedValue{}, fmt.Errorf("db: seal secret: %w", err)
	}
	return sealedValue{keyID: keyID, sealed: sealed, size: size, version: version}, nil
}

// sealedAs returns v sealed as version version of secret id: v itself, or, when the secret moved on
// between sealing and the change (an update that named no version), v opened and sealed again.
func (s *Store) sealedAs(ctx context.Context, q queryer, orgID, id string, v sealedValue, version int64) (sealedValue, error) {
	if v.version == version {
		return v, nil
	}
	plain, err := s.openBytes(ctx, q, valueAD(orgID, id, v.version), v.keyID, v.sealed)
	if err != nil {
		return sealedValue{}, fmt.Errorf("db: re-seal secret %s: %w", id, err)
	}
	keyID, sealed, err := s.seal(ctx, q, orgID, id, version, plain)
	if err != nil {
		return sealedValue{}, err
	}
	return sealedValue{keyID: keyID, sealed: sealed, size: v.size, version: version}, nil
}

// nextVersion is the version the next value of secret id of organization orgID will have, as far as
// the read pool knows (1 for a secret it cannot find: the change will refuse it anyway).
func (s *Store) nextVersion(ctx context.Context, orgID, id string) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, `SELECT version FROM secrets WHERE id = ? AND org_id = ?`, id, orgID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 1, nil
	}
	return v + 1, err
}

// insertSecretTx stores a new secret id named name in the actor's organization, with the actor as its
// only Owner, and records it. It returns CodeConflict when the name is taken.
func (s *Store) insertSecretTx(ctx context.Context, tx *sql.Tx, a Actor, id, name string, v sealedValue, now time.Time) (*Secret, error) {
	_, err := tx.StmtContext(ctx, s.stmts.insertSecret).ExecContext(ctx,
		id, a.OrgID, name, v.keyID, v.sealed, v.size, a.UserID, ms(now), a.UserID, ms(now))
	if isUniqueViolation(err) {
		return nil, fieldErrorf(FieldName, CodeConflict, "A secret named %s already exists in this organization.", name)
	} else if err != nil {
		return nil, err
	}
	if _, err := tx.StmtContext(ctx, s.stmts.insertOwner).ExecContext(ctx, id, a.UserID, a.UserID, ms(now)); err != nil {
		return nil, err
	}
	if err := s.recordTx(ctx, tx, a, now, Event{Action: ActionSecretCreate, SecretID: id, SecretName: name}); err != nil {
		return nil, err
	}
	by := UserRef{ID: a.UserID, Email: a.Email, Name: a.Name}
	at := fromMS(ms(now))
	return &Secret{ID: id, OrgID: a.OrgID, Name: name, Version: 1, Size: v.size, CreatedBy: by, CreatedAt: at,
		UpdatedBy: by, UpdatedAt: at, Access: RoleOwner}, nil
}

// UpdateSecret replaces the value of a secret. Owners only. When version is not 0 it must be the
// secret's current version, so an editor working from a stale copy overwrites nothing. value is
// sealed in place as in CreateSecret. It returns CodeNotFound, CodeForbidden (Reader), CodeInvalid,
// CodeTooLarge or CodeConflict (stale version).
func (s *Store) UpdateSecret(ctx context.Context, a Actor, id string, value []byte, version int64) (*Secret, error) {
	if err := ValidateSecretValue(value); err != nil {
		return nil, err
	}
	now := s.now()
	// Sealed before the transaction, under the organization's data key (a secret lives in the
	// actor's organization or is not found), as the version it will be.
	next := version + 1
	if version == 0 {
		var err error
		if next, err = s.nextVersion(ctx, a.OrgID, id); err != nil {
			return nil, err
		}
	}
	v, err := s.sealValue(ctx, a.OrgID, id, next, value)
	if err != nil {
		return nil, err
	}
	return s.replaceValue(ctx, a, id, v, version, now, "Only Owners can change %s.", "")
}

// replaceValue is the change of UpdateSecret and RestoreVersion: v, sealed beforehand, becomes the
// secret's next version, if the actor is an Owner (else CodeForbidden, with forbidden naming the
// secret) and, when expect is not 0, the secret is still at version expect (else CodeConflict).
// detail goes into the event after the version.
func (s *Store) replaceValue(ctx context.Context, a Actor, id string, v sealedValue, expect int64, now time.Time, forbidden, detail string) (*Secret, error) {
	return inTxTouching(ctx, s, touchedSecret, func(tx *sql.Tx) (*Secret, error) {
		sec, err := s.secretForActor(ctx, tx, a, id)
		if err != nil {
			return nil, err
		}
		if !sec.Access.CanEdit() {
			return nil, Errorf(CodeForbidden, forbidden, sec.Name)
		}
		if expect != 0 && expect != sec.Version {
			return nil, staleVersion(sec)
		}
		if err := s.updateValueTx(ctx, tx, a, sec, v, now, detail); err != nil {
			return nil, err
		}
		return sec, nil
	})
}

// staleVersion is the refusal of a change made from a copy of sec older than its current version.
func staleVersion(sec *Secret) error {
	return Errorf(CodeConflict, "%s was changed by %s at %s — reload to see the latest.",
		sec.Name, sec.UpdatedBy.Name, sec.UpdatedAt.Format("2006-01-02 15:04:05 UTC"))
}

// updateValueTx stores sec's new value as its next version, keeping the value it replaces in the
// history and destroying the versions past the cap, records it, and brings sec up to date. The caller
// has checked that the actor is an Owner of sec and that sec is current. detail, when set, is the
// event's detail after the version ("restored from version 3").
func (s *Store) updateValueTx(ctx context.Context, tx *sql.Tx, a Actor, sec *Secret, v sealedValue, now time.Time, detail string) error {
	v, err := s.sealedAs(ctx, tx, sec.OrgID, sec.ID, v, sec.Version+1)
	if err != nil {
		return err
	}
	if _, err := tx.StmtContext(ctx, s.stmts.keepVersion).ExecContext(ctx, sec.ID); err != nil {
		return err
	}
	if _, err := tx.StmtContext(ctx, s.stmts.updateValue).ExecContext(ctx, v.keyID, v.sealed, v.size, a.UserID, ms(now), sec.ID); err != nil {
		return err
	}
	sec.Version++
	if _, err := tx.StmtContext(ctx, s.stmts.trimVersions).ExecContext(ctx, sec.ID, sec.Version-s.maxVersions); err != nil {
		return err
	}
	ev := Event{Action: ActionSecretUpdate, SecretID: sec.ID, SecretName: sec.Name, Detail: fmt.Sprintf("version %d", sec.Version)}
	if detail != "" {
		ev.Detail += ", " + detail
	}
	if err := s.recordTx(ctx, tx, a, now, ev); err != nil {
		return err
	}
	sec.Size, sec.UpdatedBy, sec.UpdatedAt = v.size, UserRef{ID: a.UserID, Email: a.Email, Name: a.Name}, fromMS(ms(now))
	return nil
}

// DeleteSecret soft-deletes a secret: hidden everywhere, its name freed. Owners only. It returns
// CodeNotFound or CodeForbidden.
func (s *Store) DeleteSecret(ctx context.Context, a Actor, id string) (*Secret, error) {
	now := s.now()
	return inTxTouching(ctx, s, touchedSecret, func(tx *sql.Tx) (*Secret, error) {
		sec, err := s.secretForActor(ctx, tx, a, id)
		if err != nil {
			return nil, err
		}
		if !sec.Access.CanEdit() {
			return nil, Errorf(CodeForbidden, "Only Owners can delete %s.", sec.Name)
		}
		return sec, s.deleteSecretTx(ctx, tx, a, sec, now, "")
	})
}

// deleteSecretTx soft-deletes sec and records why (cause is empty for a direct delete).
func (s *Store) deleteSecretTx(ctx context.Context, tx *sql.Tx, a Actor, sec *Secret, now time.Time, cause string) error {
	by := any(a.UserID)
	if a.UserID == "" {
		by = nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE secrets SET deleted_by = ?, deleted_at = ? WHERE id = ? AND deleted_at IS NULL`,
		by, ms(now), sec.ID); err != nil {
		return err
	}
	sec.DeletedBy, sec.DeletedAt = a.UserID, now.UTC().Truncate(time.Millisecond)
	return s.recordTx(ctx, tx, a, now, Event{Action: ActionSecretDelete, SecretID: sec.ID, SecretName: sec.Name, Detail: cause})
}

// SecretByID returns a secret the actor can read, without its value. It returns CodeNotFound.
func (s *Store) SecretByID(ctx context.Context, a Actor, id string) (*Secret, error) {
	return scanLookup(s.stmts.secretByID.QueryRowContext(ctx, a.UserID, id, a.OrgID))
}

// RevealSecret returns a secret with its value, once the read is recorded in the audit trail. It
// returns CodeNotFound, or CodeUnavailable when the read cannot be recorded.
func (s *Store) RevealSecret(ctx context.Context, a Actor, id string) (*Secret, error) {
	sec, err := scanLookup(s.stmts.revealByID.QueryRowContext(ctx, a.UserID, id, a.OrgID))
	if err != nil {
		return nil, err
	}
	return s.reveal(ctx, a, sec)
}

// SecretByName returns the named secret with its value, for fetching by code: the hot path, one
// prepared query. Creator and updater carry their IDs only. The read is audited. It returns
// CodeNotFound when there is no such secret or the actor cannot read it.
func (s *Store) SecretByName(ctx context.Context, a Actor, name string) (*Secret, error) {
	if ValidateSecretName(name) != nil {
		return nil, notFoundSecret()
	}
	k := fetchKey{orgID: a.OrgID, userID: a.UserID, name: name}
	cached, found, stamp := s.m.fetches.get(k)
	if !found {
		sec, err := scanLookup(s.stmts.revealByName.QueryRowContext(ctx, a.UserID, name, a.OrgID))
		switch {
		case ErrorCode(err) == CodeNotFound:
			s.m.fetches.put(k, stamp, nil)
			return nil, err
		case err != nil:
			return nil, err
		}
		s.m.fetches.put(k, stamp, sec)
		cached = sec
	}
	if cached == nil {
		return nil, notFoundSecret()
	}
	sec := *cached // reveal fills in the value: the cached row stays sealed
	return s.reveal(ctx, a, &sec)
}

func (s *Store) reveal(ctx context.Context, a Actor, sec *Secret) (*Secret, error) {
	value, err := s.open(ctx, s.r, sec.OrgID, sec.ID, sec.Version, sec.dataKeyID, sec.sealed)
	if err != nil {
		return nil, err
	}
	if err := s.m.recordRead(ctx, a, Event{Action: ActionSecretRead, SecretID: sec.ID, SecretName: sec.Name}); err != nil {
		return nil, err
	}
	sec.Value, sec.sealed = value, nil
	return sec, nil
}

// SecretPage is one page of a secret listing.
type SecretPage struct {
	Secrets []Secret
	Total   int
}

// listWhere selects the live secrets of organization ?2 that user ?1 holds one of the role ranks ?6
// and ?7 on (2 Owner, 1 Reader: both for every secret the user can read), whose name contains
// the LIKE pattern ?3 (when set; likePattern: lower case, as the name is compared). Rows are visited in name order through the live-name index and
// each is checked through the grants' primary key, so a page costs its rows, not the organization.
var listWhere = `s.org_id = ?2 AND s.deleted_at IS NULL AND (?3 = '' OR lower(s.name) LIKE ?3 ESCAPE '\') AND ` + accessExpr + ` IN (?6, ?7)`

// countSecretsSQL counts what listWhere selects for every role, starting from the grants of user ?1 and
// its teams (an index range) rather than from every secret of the organization.
var countSecretsSQL = `SELECT COUNT(DISTINCT s.id) FROM grants g JOIN secrets s ON s.id = g.secret_id
	WHERE ` + heldBy("?1") + `
	AND s.org_id = ?2 AND s.deleted_at IS NULL AND (?3 = '' OR lower(s.name) LIKE ?3 ESCAPE '\')`

// countSecretsRoleSQL is countSecretsSQL for one role: the secrets whose strongest grant reaching user
// ?1 has the rank ?4.
var countSecretsRoleSQL = `SELECT COUNT(*) FROM (SELECT MAX(CASE g.role WHEN 'owner' THEN 2 ELSE 1 END) AS r
	FROM grants g JOIN secrets s ON s.id = g.secret_id
	WHERE ` + heldBy("?1") + `
	AND s.org_id = ?2 AND s.deleted_at IS NULL AND (?3 = '' OR lower(s.name) LIKE ?3 ESCAPE '\')
	GROUP BY s.id) AS held WHERE held.r = ?4`

// ListSecrets lists the live secrets of the actor's organization that the actor can read, by name,
// without values, each with who it is shared with (Sharing). query filters by a part of the name;
// offset and limit page the list (at most 1,000 a page); Total counts every match. With only set,
// the list holds the secrets the actor holds that role on: RoleOwner ("owned by me") or RoleReader
// ("shared with me" to read).
func (s *Store) ListSecrets(ctx context.Context, a Actor, query string, offset, limit int, only ...Role) (*SecretPage, error) {
	if limit <= 0 {
		limit = 50
	}
	ranks := [2]int{1, 2}
	if len(only) > 0 {
		switch only[0] {
		case RoleOwner:
			ranks = [2]int{2, 2}
		case RoleReader:
			ranks = [2]int{1, 1}
		}
	}
	return s.listSecrets(ctx, a, query, ranks, max(offset, 0), min(limit, 1000))
}

// AllSecrets lists every live secret of the actor's organization that the actor can read, by name,
// without values, in one snapshot (the API's list, which has no paging).
func (s *Store) AllSecrets(ctx context.Context, a Actor) ([]Secret, error) {
	page, err := s.listSecrets(ctx, a, "", [2]int{1, 2}, 0, -1)
	if err != nil {
		return nil, err
	}
	return page.Secrets, nil
}

// listSecrets is ListSecrets in one read transaction; a negative limit lists every match.
func (s *Store) listSecrets(ctx context.Context, a Actor, query string, ranks [2]int, offset, limit int) (*SecretPage, error) {
	pattern := ""
	if query != "" {
		pattern = likePattern(query)
	}
	return inReadTx(ctx, s, func(tx *sql.Tx) (*SecretPage, error) {
		page := &SecretPage{}
		var count *sql.Row
		if ranks[0] == ranks[1] {
			count = tx.QueryRowContext(ctx, countSecretsRoleSQL, a.UserID, a.OrgID, pattern, ranks[0])
		} else {
			count = tx.StmtContext(ctx, s.stmts.countSecrets).QueryRowContext(ctx, a.UserID, a.OrgID, pattern)
		}
		if err := count.Scan(&page.Total); err != nil {
			return nil, err
		}
		if page.Total <= offset {
			return page, nil
		}
		paged := limit >= 0
		if !paged {
			limit = page.Total // every match, counted in this snapshot: no "LIMIT -1" on every engine
		}
		rows, err := tx.StmtContext(ctx, s.stmts.listSecrets).QueryContext(ctx, a.UserID, a.OrgID, pattern, limit, offset, ranks[0], ranks[1])
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var rank int
			sec, err := scanSecret(rows, &rank)
			if err != nil {
				rows.Close()
				return nil, err
			}
			sec.Access = roleFromRank(rank)
			page.Secrets = append(page.Secrets, *sec)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, err
		}
		if paged && len(page.Secrets) > 0 {
			return page, s.sharingOf(ctx, tx, a, page.Secrets)
		}
		return page, nil
	})
}

// Sharing says at a glance who can read a secret: whether the viewer holds a grant of their own, and
// how many other users and how many teams hold one.
type Sharing struct {
	You    bool
	People int // users other than the viewer
	Teams  int
}

// sharingOf fills in the Sharing of a page of secrets, in one query over their grants.
func (s *Store) sharingOf(ctx context.Context, tx *sql.Tx, a Actor, secs []Secret) error {
	args := make([]any, 0, len(secs))
	at := make(map[string]int, len(secs))
	for i := range secs {
		args = append(args, secs[i].ID)
		at[secs[i].ID] = i
	}
	rows, err := tx.QueryContext(ctx, `SELECT secret_id, principal_kind, principal_id FROM grants WHERE secret_id IN (`+placeholders(1, len(secs))+`)`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, kind, who string
		if err := rows.Scan(&id, &kind, &who); err != nil {
			return err
		}
		sh := &secs[at[id]].Sharing
		switch {
		case kind == PrincipalTeam:
			sh.Teams++
		case who == a.UserID:
			sh.You = true
		default:
			sh.People++
		}
	}
	return rows.Err()
}
