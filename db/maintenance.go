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
// stay sealed, so a backup is restored with the same master key. out must not exist.
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
	conn, err := sql.Open("sqlite", dsn(dbPath, connPlain))
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, abs); err != nil {
		os.Remove(abs)
		return fmt.Errorf("backup: %w", err)
	}
	return os.Chmod(abs, 0o600)
}

// RotateMasterKey re-wraps every data key of the database at dbPath from oldKey to newKey, one key per
// transaction, and finally makes newKey the one the database accepts. It can run beside a live server
// and, interrupted, simply run again: keys already re-wrapped are skipped. Afterwards oldKey is refused.
// It returns how many data keys it re-wrapped.
func RotateMasterKey(ctx context.Context, dbPath string, oldKey, newKey []byte) (int, error) {
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
	if !masterCheckOK(ctx, conn, oldRing) && !masterCheckOK(ctx, conn, newRing) {
		return 0, ErrWrongMasterKey
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
		if masterID != oldRing.masterID {
			return n, fmt.Errorf("data key %s is wrapped under master key %s, neither the old nor the new one", id, masterID)
		}
		key, err := openWith(oldRing.master, wrapped, dataKeyAD(orgID, id))
		if err != nil {
			return n, fmt.Errorf("unwrap data key %s: %w", id, err)
		}
		rewrapped := sealWith(newRing.master, key, dataKeyAD(orgID, id))
		if _, err := conn.ExecContext(ctx, `UPDATE data_keys SET wrapped = ?, master_key_id = ? WHERE id = ? AND master_key_id = ?`,
			rewrapped, newRing.masterID, id, masterID); err != nil {
			return n, err
		}
		n++
		if rotateHook != nil {
			if err := rotateHook(n); err != nil {
				return n, err
			}
		}
	}
	sealed := sealWith(newRing.master, []byte(masterCheckPlain), []byte("keyhold/v1/master-check"))
	_, err = conn.ExecContext(ctx, `UPDATE meta SET value = ? WHERE key = 'master_check'`, base64.StdEncoding.EncodeToString(sealed))
	return n, err
}

// rotateHook, when set by a test, runs after each re-wrapped key; an error interrupts the rotation
// there, as a crash would.
var rotateHook func(done int) error

func masterCheckOK(ctx context.Context, q queryer, kr *keyring) bool {
	var stored string
	if err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'master_check'`).Scan(&stored); err != nil {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return false
	}
	plain, err := openWith(kr.master, raw, []byte("keyhold/v1/master-check"))
	return err == nil && string(plain) == masterCheckPlain
}
