package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// DefaultTrashWindow is how long a deleted secret can be restored when Options.TrashWindow is not set.
const DefaultTrashWindow = 30 * 24 * time.Hour

// A deleted secret — by an Owner, or by the last-Owner rule when its last Owner left — is not
// destroyed at once: its row stays, with deleted_at set, hidden from every list and fetch and with its
// name free, for the trash window. Until then it can be restored with its value, its versions and its
// grants, or destroyed at once; after it, PurgeTrash destroys it. Who sees a deleted secret in the
// trash: the users who hold Owner on it (its former Owners, directly or through a team), and, when no
// Owner user is left (the last-Owner rule deleted it, or its Owners have left since), the
// organization's admins, one of whom becomes its Owner by restoring it.

// DeletedSecret is a secret in the trash, without its value.
type DeletedSecret struct {
	Secret
	// DeletedByUser is who deleted it (the admin who removed its last Owner, for the last-Owner
	// rule); empty for the command line.
	DeletedByUser UserRef
	// PurgeAt is when it is destroyed unless restored.
	PurgeAt time.Time
	// Orphan: no Owner user is left; an admin who restores it becomes its Owner.
	Orphan bool
}

// trashSQL lists the deleted secrets of organization ?2 with user ?1's access and whether no Owner user
// is left on each.
var trashSQL = `SELECT s.id, s.org_id, s.name, s.version, s.value_size, s.created_by, s.created_at, s.updated_by, s.updated_at, s.deleted_at,
	COALESCE(du.id, ''), COALESCE(du.email, ''), COALESCE(du.first_name, ''), COALESCE(du.last_name, ''), ` + accessExpr + `,
	NOT EXISTS (` + ownerUsersSQL("s.id") + `)
	FROM secrets s LEFT JOIN users du ON du.id = s.deleted_by
	WHERE s.org_id = ?2 AND s.deleted_at IS NOT NULL`

// trashOrder is the order of Trash: newest deletion first.
const trashOrder = ` ORDER BY s.deleted_at DESC, s.name`

// Trash lists the deleted secrets of the actor's organization the actor may restore: those the actor
// holds Owner on, and, for an admin, those with no Owner user left. One snapshot.
func (s *Store) Trash(ctx context.Context, a Actor) ([]DeletedSecret, error) {
	return inReadTx(ctx, s, func(tx *sql.Tx) ([]DeletedSecret, error) {
		return s.trashTx(ctx, tx, a, "")
	})
}

// trashTx is Trash inside tx, limited to the secret with ID id when id is set: one query.
func (s *Store) trashTx(ctx context.Context, tx *sql.Tx, a Actor, id string) ([]DeletedSecret, error) {
	query, args := trashSQL, []any{a.UserID, a.OrgID}
	if id != "" {
		query += ` AND s.id = ?3`
		args = append(args, id)
	}
	rows, err := tx.QueryContext(ctx, query+trashOrder, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DeletedSecret
	for rows.Next() {
		var (
			d                               DeletedSecret
			createdAt, updatedAt, deletedAt int64
			first, last                     string
			rank                            sql.NullInt64
			deletedBy, byEmail              string
		)
		if err := rows.Scan(&d.ID, &d.OrgID, &d.Name, &d.Version, &d.Size, &d.CreatedBy.ID, &createdAt, &d.UpdatedBy.ID, &updatedAt,
			&deletedAt, &deletedBy, &byEmail, &first, &last, &rank, &d.Orphan); err != nil {
			return nil, err
		}
		d.Access = roleFromRank(int(rank.Int64))
		if !d.Access.CanEdit() && !(d.Orphan && a.IsAdmin()) {
			continue
		}
		d.CreatedAt, d.UpdatedAt, d.DeletedAt, d.DeletedBy = fromMS(createdAt), fromMS(updatedAt), fromMS(deletedAt), deletedBy
		if deletedBy != "" {
			d.DeletedByUser = UserRef{ID: deletedBy, Email: byEmail, FirstName: first, LastName: last, Name: displayName(first, last, byEmail)}
		}
		d.PurgeAt = d.DeletedAt.Add(s.trashWindow)
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeletedSecret returns one deleted secret of the trash, as Trash would list it, for the actor: the
// "Delete now" confirmation. It returns CodeNotFound unless Trash would list it to the actor.
func (s *Store) DeletedSecret(ctx context.Context, a Actor, id string) (*DeletedSecret, error) {
	return inReadTx(ctx, s, func(tx *sql.Tx) (*DeletedSecret, error) {
		return s.deletedForActor(ctx, tx, a, id)
	})
}

// deletedForActor is the deleted secret id as the actor may act on it in the trash, inside tx:
// CodeNotFound unless the actor may see it there (Trash's rule).
func (s *Store) deletedForActor(ctx context.Context, tx *sql.Tx, a Actor, id string) (*DeletedSecret, error) {
	if a.UserID == "" {
		return nil, Errorf(CodeForbidden, "Deleted secrets are restored and destroyed by users.")
	}
	found, err := s.trashTx(ctx, tx, a, id)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, Errorf(CodeNotFound, "No such deleted secret: it was restored, destroyed, or is not yours to restore.")
	}
	return &found[0], nil
}

// RestoreSecret brings a deleted secret back from the trash with its value, versions and grants,
// under its name, or under name when that is set (the dialog asks for one when the name has been
// taken meanwhile). An admin who restores a secret no Owner is left on becomes its Owner (recorded).
// It returns the secret restored, or CodeNotFound, CodeInvalid (bad name) or CodeConflict (the name
// is taken: restore it under another).
func (s *Store) RestoreSecret(ctx context.Context, a Actor, id, name string) (*Secret, error) {
	if name != "" {
		if err := ValidateSecretName(name); err != nil {
			return nil, err
		}
	}
	now := s.now()
	restored, err := inTxTouching(ctx, s, func(sec *Secret) touches {
		if sec == nil {
			return touchesNothing
		}
		return touchedSecret(sec).and(touchesAccess(sec.OrgID))
	}, func(tx *sql.Tx) (*Secret, error) {
		d, err := s.deletedForActor(ctx, tx, a, id)
		if err != nil {
			return nil, err
		}
		old := d.Name
		if name == "" {
			name = d.Name
		}
		_, err = tx.ExecContext(ctx, `UPDATE secrets SET deleted_at = NULL, deleted_by = NULL, name = ? WHERE id = ? AND deleted_at IS NOT NULL`, name, d.ID)
		if isUniqueViolation(err) {
			return nil, Errorf(CodeConflict, "A secret named %s exists now: restore this one under another name.", name)
		} else if err != nil {
			return nil, err
		}
		detail := "from the trash"
		if name != old {
			detail = "from the trash, as " + name + " (deleted as " + old + ")"
		}
		if err := s.recordTx(ctx, tx, a, now, Event{Action: ActionSecretRestore, SecretID: d.ID, SecretName: name, Detail: detail}); err != nil {
			return nil, err
		}
		if d.Orphan {
			// No Owner was left: the admin who restores it owns it.
			if _, err := tx.ExecContext(ctx, `INSERT INTO grants (secret_id, principal_kind, principal_id, role, created_by, created_at)
				VALUES (?1, 'user', ?2, 'owner', ?2, ?3)
				ON CONFLICT (secret_id, principal_kind, principal_id) DO UPDATE SET role = 'owner'`, d.ID, a.UserID, ms(now)); err != nil {
				return nil, err
			}
			if err := s.recordTx(ctx, tx, a, now, Event{Action: ActionAccessGrant, SecretID: d.ID, SecretName: name,
				TargetKind: PrincipalUser, TargetID: a.UserID, TargetName: a.Email, Role: string(RoleOwner),
				Detail: "restored by an organization admin: no Owner was left"}); err != nil {
				return nil, err
			}
		}
		sec := d.Secret
		sec.Name, sec.DeletedAt, sec.DeletedBy, sec.Access = name, time.Time{}, "", RoleOwner
		return &sec, nil
	})
	return restored, err
}

// DestroySecret destroys a deleted secret at once ("Delete now"), with its versions and grants, for
// those who may restore it. It returns the secret destroyed, or CodeNotFound.
func (s *Store) DestroySecret(ctx context.Context, a Actor, id string) (*DeletedSecret, error) {
	now := s.now()
	return inTx(ctx, s, touchesNothing, func(tx *sql.Tx) (*DeletedSecret, error) {
		d, err := s.deletedForActor(ctx, tx, a, id)
		if err != nil {
			return nil, err
		}
		if err := s.purgeTx(ctx, tx, a, now, []DeletedSecret{*d}, "destroyed from the trash"); err != nil {
			return nil, err
		}
		return d, nil
	})
}

// purgeChunk bounds the secrets one purge transaction destroys.
const purgeChunk = 200

// PurgeTrash destroys the deleted secrets whose trash window has passed, with their versions and
// grants, and records each. It returns how many it destroyed. serve runs it every hour; the window
// is Options.TrashWindow, measured with Options.Now.
func (s *Store) PurgeTrash(ctx context.Context) (int, error) {
	total := 0
	for {
		cutoff := s.now().Add(-s.trashWindow)
		n, err := inTx(ctx, s, touchesNothing, func(tx *sql.Tx) (int, error) {
			rows, err := tx.QueryContext(ctx, `SELECT id, org_id, name FROM secrets WHERE deleted_at IS NOT NULL AND deleted_at <= ?
				ORDER BY deleted_at LIMIT ?`, ms(cutoff), purgeChunk)
			if err != nil {
				return 0, err
			}
			var due []DeletedSecret
			for rows.Next() {
				var d DeletedSecret
				if err := rows.Scan(&d.ID, &d.OrgID, &d.Name); err != nil {
					rows.Close()
					return 0, err
				}
				due = append(due, d)
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				return 0, err
			}
			return len(due), s.purgeTx(ctx, tx, Actor{Source: "system", Name: "keyhold"}, s.now(), due, "the trash window passed")
		})
		total += n
		if err != nil || n < purgeChunk {
			return total, err
		}
	}
}

// purgeTx destroys the deleted secrets secs, their versions and their grants, and records each in its
// organization with cause. With SQLite's secure_delete, the pages that held their values are zeroed
// as they are freed.
func (s *Store) purgeTx(ctx context.Context, tx *sql.Tx, a Actor, now time.Time, secs []DeletedSecret, cause string) error {
	for _, d := range secs {
		for _, q := range []string{
			`DELETE FROM grants WHERE secret_id = ?`,
			`DELETE FROM secret_versions WHERE secret_id = ?`,
			`DELETE FROM secrets WHERE id = ? AND deleted_at IS NOT NULL`,
		} {
			if _, err := tx.ExecContext(ctx, q, d.ID); err != nil {
				return fmt.Errorf("db: purge %s: %w", d.ID, err)
			}
		}
		ea := a
		ea.OrgID = d.OrgID
		if err := s.recordTx(ctx, tx, ea, now, Event{Action: ActionSecretPurge, SecretID: d.ID, SecretName: d.Name, Detail: cause}); err != nil {
			return err
		}
	}
	return nil
}

// TrashWindow is how long a deleted secret stays restorable (Options.TrashWindow).
func (s *Store) TrashWindow() time.Duration { return s.trashWindow }

// MaxVersions is how many versions of a secret are kept (Options.MaxVersions).
func (s *Store) MaxVersions() int { return int(s.maxVersions) }
