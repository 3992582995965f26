package db

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Backup writes a consistent snapshot of the database at dbPath to out with VACUUM INTO, which reads in
// one transaction: it runs beside a live server and sees exactly the commits before it began. Values
// stay sealed, so a backup is restored with the same master key. out must not exist; it is created
// readable by its owner alone before anything is written to it.
func Backup(ctx context.Context, dbPath, out string) error {
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s already exists: choose a new file", out)
	}
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("no database at %s: %w", dbPath, err)
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	// VACUUM INTO writes into an empty file that exists, keeping its mode.
	f, err := os.OpenFile(abs, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s already exists: choose a new file", out)
	} else if err != nil {
		return err
	}
	f.Close()
	conn, err := sql.Open("sqlite", dsn(dbPath, connPlain))
	if err != nil {
		os.Remove(abs)
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, abs); err != nil {
		os.Remove(abs)
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// RotateMasterKey re-wraps every data key of the database at dbPath from oldKey to newKey, one key per
// transaction, and finally, in one write transaction, re-wraps any key still under oldKey (one a
// concurrent process created meanwhile) and makes newKey the one the database accepts. Interrupted, it
// simply runs again: keys already re-wrapped are skipped. Afterwards oldKey is refused, and a store
// still open with it can no longer create a data key (see keycheck.go). It returns how many data keys
// it re-wrapped.
func RotateMasterKey(ctx context.Context, dbPath string, oldKey, newKey []byte) (int, error) {
	return rotateMasterKey(ctx, dbPath, oldKey, newKey, rotateHooks{})
}

// rotateHooks let tests interrupt a rotation, as a crash would, or act at a given point of it.
type rotateHooks struct {
	// afterKey runs after each re-wrapped key; an error interrupts the rotation there.
	afterKey func(done int) error
	// beforeSwitch runs before the transaction that switches the master key.
	beforeSwitch func() error
}

func rotateMasterKey(ctx context.Context, dbPath string, oldKey, newKey []byte, hooks rotateHooks) (int, error) {
	oldRing, err := newKeyring(oldKey)
	if err != nil {
		return 0, err
	}
	newRing, err := newKeyring(newKey)
	if err != nil {
		return 0, err
	}
	if oldRing.masterID == newRing.masterID {
		return 0, errors.New("the new master key is the same as the old one")
	}
	conn, err := sql.Open("sqlite", dsn(dbPath, connWriter))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	// Either key must open the database: the old one before rotation finished, the new one after.
	if err := eitherMasterKey(ctx, conn, oldRing, newRing); err != nil {
		return 0, err
	}
	n := 0
	for {
		var id, orgID, masterID string
		var wrapped []byte
		err := conn.QueryRowContext(ctx, `SELECT id, org_id, wrapped, master_key_id FROM data_keys WHERE master_key_id <> ? LIMIT 1`,
			newRing.masterID).Scan(&id, &orgID, &wrapped, &masterID)
		if errors.Is(err, sql.ErrNoRows) {
			break
		} else if err != nil {
			return n, err
		}
		if err := rewrapDataKey(ctx, conn, oldRing, newRing, id, orgID, masterID, wrapped); err != nil {
			return n, err
		}
		n++
		if hooks.afterKey != nil {
			if err := hooks.afterKey(n); err != nil {
				return n, err
			}
		}
	}
	if hooks.beforeSwitch != nil {
		if err := hooks.beforeSwitch(); err != nil {
			return n, err
		}
	}
	// The writer connection begins IMMEDIATE: from here to the commit no data key can be created.
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return n, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := eitherMasterKey(ctx, tx, oldRing, newRing); err != nil {
		return n, err
	}
	type dataKey struct {
		id, orgID, masterID string
		wrapped             []byte
	}
	var late []dataKey
	rows, err := tx.QueryContext(ctx, `SELECT id, org_id, wrapped, master_key_id FROM data_keys WHERE master_key_id <> ?`, newRing.masterID)
	if err != nil {
		return n, err
	}
	for rows.Next() {
		var k dataKey
		if err := rows.Scan(&k.id, &k.orgID, &k.wrapped, &k.masterID); err != nil {
			rows.Close()
			return n, err
		}
		late = append(late, k)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return n, err
	}
	for _, k := range late {
		if err := rewrapDataKey(ctx, tx, oldRing, newRing, k.id, k.orgID, k.masterID, k.wrapped); err != nil {
			return n, err
		}
	}
	sealed := sealWith(newRing.master, []byte(masterCheckPlain), masterCheckAD)
	if _, err := tx.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'master_check'`, base64.StdEncoding.EncodeToString(sealed)); err != nil {
		return n, err
	}
	if err := tx.Commit(); err != nil {
		return n, err
	}
	return n + len(late), nil
}

// rewrapDataKey re-wraps the data key id, wrapped under the master key masterID, from oldRing to newRing.
func rewrapDataKey(ctx context.Context, q queryer, oldRing, newRing *keyring, id, orgID, masterID string, wrapped []byte) error {
	if masterID != oldRing.masterID {
		return fmt.Errorf("data key %s is wrapped under master key %s, neither the old nor the new one", id, masterID)
	}
	key, err := openWith(oldRing.master, wrapped, dataKeyAD(orgID, id))
	if err != nil {
		return fmt.Errorf("unwrap data key %s: %w", id, err)
	}
	rewrapped := sealWith(newRing.master, key, dataKeyAD(orgID, id))
	_, err = q.ExecContext(ctx, `UPDATE data_keys SET wrapped = ?, master_key_id = ? WHERE id = ? AND master_key_id = ?`,
		rewrapped, newRing.masterID, id, masterID)
	return err
}
