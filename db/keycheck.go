package db

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
)

// The master key the database accepts is the one its check value (meta 'master_check') opens under.
// A data key is committed only wrapped under that key: createDataKey reads the check in its own
// write transaction, and rotation re-wraps the last data keys and switches the check in one write
// transaction, so the two are ordered by SQLite's write lock. A data key created before that
// transaction is re-wrapped by it; one created after fails with ErrMasterKeyRotated and commits
// nothing (TestRotateMasterKey_RacingOrgCreate).

// ErrMasterKeyRotated is returned by a change that would create a data key under a master key the
// database no longer accepts: a rotation finished while the store was open.
var ErrMasterKeyRotated = errors.New("the master key was rotated while this command ran: run it again with the new key")

// masterCheckAD binds the check value to its purpose.
var masterCheckAD = []byte("keyhold/v1/master-check")

// masterCheck reports whether the database's check value, read through q, opens under kr. It fails
// only when the check cannot be read.
func masterCheck(ctx context.Context, q queryer, kr *keyring) (bool, error) {
	var stored string
	if err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'master_check'`).Scan(&stored); err != nil {
		return false, fmt.Errorf("db: read master key check: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return false, fmt.Errorf("db: master key check is corrupt: %w", err)
	}
	plain, err := openWith(kr.master, raw, masterCheckAD)
	return err == nil && string(plain) == masterCheckPlain, nil
}

// eitherMasterKey returns ErrWrongMasterKey unless the database accepts one of the two keys: a
// rotation's old one before it finished, its new one after.
func eitherMasterKey(ctx context.Context, q queryer, oldRing, newRing *keyring) error {
	for _, kr := range []*keyring{oldRing, newRing} {
		if ok, err := masterCheck(ctx, q, kr); err != nil || ok {
			return err
		}
	}
	return ErrWrongMasterKey
}

// masterKeyCurrent returns ErrMasterKeyRotated unless the database still accepts the store's master
// key. tx must be a write transaction: no rotation can commit before it ends.
func (s *Store) masterKeyCurrent(ctx context.Context, tx *sql.Tx) error {
	ok, err := masterCheck(ctx, tx, s.keys)
	if err != nil {
		return err
	}
	if !ok {
		return ErrMasterKeyRotated
	}
	return nil
}

// AcceptsMasterKey reports whether the database accepts key as its master key: after a rotation the
// retired key is refused, and a copy of it kept for safety can go.
func (s *Store) AcceptsMasterKey(ctx context.Context, key []byte) (bool, error) {
	kr, err := newKeyring(key)
	if err != nil {
		return false, err
	}
	return masterCheck(ctx, s.r, kr)
}
