package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DefaultMaxVersions is how many versions of a secret are kept when Options.MaxVersions is not set.
const DefaultMaxVersions = 20

// Version is one value a secret has had: its number (the first value is 1), who set it, when, and
// its size. Value is set only by RevealVersion.
type Version struct {
	Number  int64
	Size    int
	SetBy   UserRef
	SetAt   time.Time
	Current bool
	Value   string
}

// SecretHistory is a secret, without its value, and its versions, newest first: the current one,
// then the earlier ones the history keeps (at most Options.MaxVersions in all).
type SecretHistory struct {
	Secret   *Secret
	Versions []Version
	// Kept is Options.MaxVersions: how many versions the history keeps.
	Kept int
}

// versionsSQL lists the earlier versions of secret ?1, newest first, without their values.
const versionsSQL = `SELECT v.version, v.value_size, v.set_at, u.id, u.email, u.first_name, u.last_name
	FROM secret_versions v JOIN users u ON u.id = v.set_by WHERE v.secret_id = ?1 ORDER BY v.version DESC`

// SecretHistory returns a secret the actor can read and its versions, without values, in one
// snapshot. Readers see the list too. It returns CodeNotFound.
func (s *Store) SecretHistory(ctx context.Context, a Actor, id string) (*SecretHistory, error) {
	return inReadTx(ctx, s, func(tx *sql.Tx) (*SecretHistory, error) {
		sec, err := scanLookup(tx.StmtContext(ctx, s.stmts.secretByID).QueryRowContext(ctx, a.UserID, id, a.OrgID))
		if err != nil {
			return nil, err
		}
		h := &SecretHistory{Secret: sec, Kept: int(s.maxVersions), Versions: []Version{{Number: sec.Version, Size: sec.Size,
			SetBy: sec.UpdatedBy, SetAt: sec.UpdatedAt, Current: true}}}
		rows, err := tx.QueryContext(ctx, versionsSQL, sec.ID)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				v           Version
				at          int64
				first, last string
			)
			if err := rows.Scan(&v.Number, &v.Size, &at, &v.SetBy.ID, &v.SetBy.Email, &first, &last); err != nil {
				return nil, err
			}
			v.SetAt, v.SetBy.Name = fromMS(at), displayName(first, last, v.SetBy.Email)
			h.Versions = append(h.Versions, v)
		}
		return h, rows.Err()
	})
}

// versionValue is a version's sealed value, as read for RevealVersion and RestoreVersion.
type versionValue struct {
	sec     *Secret // the secret, with the actor's access
	version Version // without its value; SetBy carries the ID alone for an earlier version
	keyID   string
	sealed  []byte
}

// sealedVersion reads, in one snapshot, secret id with the actor's access and the sealed value of its
// version n. Earlier versions are for Owners (CodeForbidden otherwise); the current one for anyone
// who can read the secret. It returns CodeNotFound for a secret the actor cannot read, and for a
// version the history does not hold.
func (s *Store) sealedVersion(ctx context.Context, a Actor, id string, n int64) (*versionValue, error) {
	return inReadTx(ctx, s, func(tx *sql.Tx) (*versionValue, error) {
		sec, err := scanLookup(tx.StmtContext(ctx, s.stmts.revealByID).QueryRowContext(ctx, a.UserID, id, a.OrgID))
		if err != nil {
			return nil, err
		}
		if n == sec.Version {
			vv := &versionValue{sec: sec, keyID: sec.dataKeyID, sealed: sec.sealed,
				version: Version{Number: n, Size: sec.Size, SetBy: sec.UpdatedBy, SetAt: sec.UpdatedAt, Current: true}}
			sec.sealed = nil
			return vv, nil
		}
		sec.sealed = nil
		if !sec.Access.CanEdit() {
			return nil, Errorf(CodeForbidden, "Only Owners of %s can see its earlier versions.", sec.Name)
		}
		vv := &versionValue{sec: sec, version: Version{Number: n}}
		var at int64
		err = tx.QueryRowContext(ctx, `SELECT data_key_id, value_size, set_by, set_at, sealed FROM secret_versions WHERE secret_id = ? AND version = ?`, sec.ID, n).
			Scan(&vv.keyID, &vv.version.Size, &vv.version.SetBy.ID, &at, &vv.sealed)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, Errorf(CodeNotFound, "%s has no version %d: its history holds versions %s.", sec.Name, n, keptRange(sec.Version, s.maxVersions))
		}
		vv.version.SetAt = fromMS(at)
		return vv, err
	})
}

// keptRange says which versions a secret at version current can still have: "1 to 7", or "12" alone.
func keptRange(current, kept int64) string {
	first := max(current-kept+1, 1)
	if first == current {
		return fmt.Sprint(current)
	}
	return fmt.Sprintf("%d to %d", first, current)
}

// RevealVersion returns version n of a secret with that version's value (and who set it: for an
// earlier version, SetBy carries the user's ID alone), once the read is recorded
// in the audit trail as a read of that version. The current version is for anyone who can read the
// secret; earlier ones for Owners. It returns CodeNotFound, CodeForbidden, or CodeUnavailable when
// the read cannot be recorded.
func (s *Store) RevealVersion(ctx context.Context, a Actor, id string, n int64) (*Secret, *Version, error) {
	vv, err := s.sealedVersion(ctx, a, id, n)
	if err != nil {
		return nil, nil, err
	}
	sec := vv.sec
	value, err := s.open(ctx, s.r, sec.OrgID, sec.ID, n, vv.keyID, vv.sealed)
	if err != nil {
		return nil, nil, err
	}
	if err := s.m.recordRead(ctx, a, Event{Action: ActionSecretRead, SecretID: sec.ID, SecretName: sec.Name,
		Detail: fmt.Sprintf("version %d", n)}); err != nil {
		return nil, nil, err
	}
	v := vv.version
	v.Value = value
	return sec, &v, nil
}

// RestoreVersion writes the value of version n of a secret as its new version (the history is never
// rewritten), Owners only. When expect is not 0 it must be the secret's current version, as with
// UpdateSecret. It returns the secret as updated, or CodeNotFound, CodeForbidden, CodeInvalid (n is
// the current version) or CodeConflict.
func (s *Store) RestoreVersion(ctx context.Context, a Actor, id string, n, expect int64) (*Secret, error) {
	vv, err := s.sealedVersion(ctx, a, id, n)
	if err != nil {
		return nil, err
	}
	if !vv.sec.Access.CanEdit() {
		return nil, Errorf(CodeForbidden, "Only Owners can restore a version of %s.", vv.sec.Name)
	}
	if n == vv.sec.Version {
		return nil, Errorf(CodeInvalid, "Version %d is the current value of %s already.", n, vv.sec.Name)
	}
	plain, err := s.openBytes(ctx, s.r, valueAD(vv.sec.OrgID, vv.sec.ID, n), vv.keyID, vv.sealed)
	if err != nil {
		return nil, fmt.Errorf("db: secret %s version %d does not decrypt: %w", vv.sec.ID, n, err)
	}
	v, err := s.sealValue(ctx, a.OrgID, id, vv.sec.Version+1, plain)
	if err != nil {
		return nil, err
	}
	return s.replaceValue(ctx, a, id, v, expect, s.now(), "Only Owners can restore a version of %s.", fmt.Sprintf("restored from version %d", n))
}
