package db

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
)

// MasterKeySize is the length of the master key: AES-256.
const MasterKeySize = 32

// SealOverhead is what sealing adds to a value: a 12-byte nonce and a 16-byte tag. A value buffer with
// this much spare capacity is sealed in place, without a second copy of a 5 MB value.
const SealOverhead = 12 + 16

// ErrWrongMasterKey is returned by Open when the master key does not open this database.
var ErrWrongMasterKey = errors.New("the master key does not match this database: start keyhold with the master key it was created with (KEYHOLD_MASTER_KEY, KEYHOLD_MASTER_KEY_FILE or <data>/master.key)")

const masterCheckPlain = "keyhold master key check"

// keyring holds the master key's cipher and the unwrapped data keys. Data keys never change once
// created, so caching them is safe across instances.
type keyring struct {
	master    cipher.AEAD
	masterID  string
	masterRaw []byte

	mu   sync.RWMutex
	deks map[string]cipher.AEAD // data key ID -> cipher
	orgs map[string]string      // org ID -> its data key ID
}

func newKeyring(master []byte) (*keyring, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("db: the master key must be %d bytes, got %d", MasterKeySize, len(master))
	}
	aead, err := newAEAD(master)
	if err != nil {
		return nil, err
	}
	return &keyring{master: aead, masterID: MasterKeyID(master), masterRaw: bytes.Clone(master), deks: map[string]cipher.AEAD{}, orgs: map[string]string{}}, nil
}

// MasterKeyID names a master key without revealing it: an HMAC of a fixed label under the key.
func MasterKeyID(master []byte) string {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("keyhold master key id"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// DeriveKey returns a key for purpose, derived from the master key (HMAC-SHA256 of the purpose): the
// same on every instance that shares the master key, and useless for anything but its purpose. The web
// layer binds its CSRF tokens to sessions with one.
func (s *Store) DeriveKey(purpose string) []byte {
	m := hmac.New(sha256.New, s.keys.masterRaw)
	m.Write([]byte("keyhold/v1/derived\x00" + purpose))
	return m.Sum(nil)
}

// GenerateMasterKey returns a new random master key, base64-encoded.
func GenerateMasterKey() string {
	k := make([]byte, MasterKeySize)
	rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("db: cipher: %w", err)
	}
	return cipher.NewGCM(block)
}

// sealWith encrypts plain under aead with a random nonce, returning nonce || ciphertext.
func sealWith(aead cipher.AEAD, plain, ad []byte) []byte {
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	rand.Read(out)
	return aead.Seal(out, out, plain, ad)
}

// sealInPlace is sealWith for a value the caller is done with: when value has SealOverhead bytes of
// spare capacity, the sealed value takes its place (the plaintext is overwritten, and a 5 MB value
// is not copied); otherwise it is sealed into a new slice.
func sealInPlace(aead cipher.AEAD, value, ad []byte) []byte {
	n, ns := len(value), aead.NonceSize()
	if cap(value)-n < ns+aead.Overhead() {
		return sealWith(aead, value, ad)
	}
	buf := value[:ns+n]
	copy(buf[ns:], buf[:n])
	rand.Read(buf[:ns])
	return aead.Seal(buf[:ns], buf[:ns], buf[ns:ns+n], ad)
}

func openWith(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return nil, errors.New("sealed value too short")
	}
	return aead.Open(nil, sealed[:n], sealed[n:], ad)
}

// valueAD is the associated data of a sealed value: it binds the value to its organization, its
// secret and its version, so a ciphertext moved to another secret, or to another version of its own
// secret (an old value put back as the current one), does not open.
func valueAD(orgID, secretID string, version int64) []byte {
	return []byte("keyhold/v2/secret\x00" + orgID + "\x00" + secretID + "\x00" + strconv.FormatInt(version, 10))
}

// legacyValueAD is what values sealed before version history bound: organization and secret alone.
// Opening a database re-seals those values once (resealLegacyValues); nothing opens with it after.
func legacyValueAD(orgID, secretID string) []byte {
	return []byte("keyhold/v1/secret\x00" + orgID + "\x00" + secretID)
}

func dataKeyAD(orgID, keyID string) []byte {
	return []byte("keyhold/v1/data-key\x00" + orgID + "\x00" + keyID)
}

// checkMasterKey records a check value sealed under the master key on first use, and refuses a master
// key that cannot open it.
func (s *Store) checkMasterKey(ctx context.Context) error {
	// A new database gets the check value; ON CONFLICT keeps a racing second process from failing.
	sealed := sealWith(s.keys.master, []byte(masterCheckPlain), masterCheckAD)
	if _, err := s.w.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('master_check', ?) ON CONFLICT (key) DO NOTHING`,
		base64.StdEncoding.EncodeToString(sealed)); err != nil {
		return fmt.Errorf("db: write master key check: %w", err)
	}
	ok, err := masterCheck(ctx, s.w, s.keys)
	if err != nil {
		return err
	}
	if !ok {
		return ErrWrongMasterKey
	}
	return nil
}

// createDataKey makes and stores a new data key for org, wrapped under the master key. It fails with
// ErrMasterKeyRotated when the database no longer accepts that key (see keycheck.go).
func (s *Store) createDataKey(ctx context.Context, tx *sql.Tx, orgID string) error {
	if err := s.masterKeyCurrent(ctx, tx); err != nil {
		return err
	}
	key := make([]byte, 32)
	rand.Read(key)
	id := newID()
	wrapped := sealWith(s.keys.master, key, dataKeyAD(orgID, id))
	_, err := tx.ExecContext(ctx, `INSERT INTO data_keys (id, org_id, wrapped, master_key_id, created_at) VALUES (?, ?, ?, ?, ?)`,
		id, orgID, wrapped, s.keys.masterID, ms(s.now()))
	return err
}

// orgDataKey returns the ID and cipher of org's data key.
func (s *Store) orgDataKey(ctx context.Context, q queryer, orgID string) (string, cipher.AEAD, error) {
	s.keys.mu.RLock()
	id, ok := s.keys.orgs[orgID]
	aead := s.keys.deks[id]
	s.keys.mu.RUnlock()
	if ok && aead != nil {
		return id, aead, nil
	}
	if err := q.QueryRowContext(ctx, `SELECT id FROM data_keys WHERE org_id = ? ORDER BY created_at DESC LIMIT 1`, orgID).Scan(&id); err != nil {
		return "", nil, fmt.Errorf("db: data key of org: %w", err)
	}
	aead, err := s.dataKey(ctx, q, id)
	if err != nil {
		return "", nil, err
	}
	s.keys.mu.Lock()
	s.keys.orgs[orgID] = id
	s.keys.mu.Unlock()
	return id, aead, nil
}

// dataKey returns the cipher of the data key id, unwrapping it on first use.
func (s *Store) dataKey(ctx context.Context, q queryer, id string) (cipher.AEAD, error) {
	s.keys.mu.RLock()
	aead := s.keys.deks[id]
	s.keys.mu.RUnlock()
	if aead != nil {
		return aead, nil
	}
	var (
		orgID, masterID string
		wrapped         []byte
	)
	if err := q.QueryRowContext(ctx, `SELECT org_id, wrapped, master_key_id FROM data_keys WHERE id = ?`, id).Scan(&orgID, &wrapped, &masterID); err != nil {
		return nil, fmt.Errorf("db: data key: %w", err)
	}
	if masterID != s.keys.masterID {
		return nil, fmt.Errorf("db: data key %s is wrapped under master key %s, not this one: the master key was rotated, restart keyhold with the new key", id, masterID)
	}
	key, err := openWith(s.keys.master, wrapped, dataKeyAD(orgID, id))
	if err != nil {
		return nil, fmt.Errorf("db: unwrap data key %s: %w", id, err)
	}
	aead, err = newAEAD(key)
	if err != nil {
		return nil, err
	}
	s.keys.mu.Lock()
	s.keys.deks[id] = aead
	s.keys.mu.Unlock()
	return aead, nil
}

// seal encrypts version version of a secret's value with its organization's data key, binding org,
// secret ID and version (valueAD). It seals in place when value has room (see sealInPlace): the
// caller must not use value afterwards.
func (s *Store) seal(ctx context.Context, q queryer, orgID, secretID string, version int64, value []byte) (string, []byte, error) {
	keyID, aead, err := s.orgDataKey(ctx, q, orgID)
	if err != nil {
		return "", nil, err
	}
	return keyID, sealInPlace(aead, value, valueAD(orgID, secretID, version)), nil
}

// open decrypts version version of a sealed value. A ciphertext moved to another row or version, or
// altered, fails here.
func (s *Store) open(ctx context.Context, q queryer, orgID, secretID string, version int64, keyID string, sealed []byte) (string, error) {
	plain, err := s.openBytes(ctx, q, valueAD(orgID, secretID, version), keyID, sealed)
	if err != nil {
		return "", fmt.Errorf("db: secret %s version %d does not decrypt (moved or tampered ciphertext): %w", secretID, version, err)
	}
	return string(plain), nil
}

// openBytes decrypts sealed with the data key keyID and associated data ad.
func (s *Store) openBytes(ctx context.Context, q queryer, ad []byte, keyID string, sealed []byte) ([]byte, error) {
	aead, err := s.dataKey(ctx, q, keyID)
	if err != nil {
		return nil, err
	}
	return openWith(aead, sealed, ad)
}

// valueADMeta is the meta key that says every value is sealed with valueAD (version bound).
const valueADMeta = "value_ad"

// resealLegacyValues seals again, once, the values sealed before version history with legacyValueAD,
// under the same data key and with valueAD, in one transaction: afterwards every value is bound to its
// version. It runs when the database is opened, after the migrations and the master key check, and
// under the migrations' lock; a database that has done it says so in meta.
func (s *Store) resealLegacyValues(ctx context.Context) error {
	return s.migrateTx(ctx, func(tx *sql.Tx) error {
		var done int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM meta WHERE key = ?`, valueADMeta).Scan(&done); err != nil || done > 0 {
			return err
		}
		ids, err := idList(ctx, tx, `SELECT id FROM secrets`)
		if err != nil {
			return err
		}
		for _, id := range ids {
			var (
				orgID, keyID string
				version      int64
				sealed       []byte
			)
			if err := tx.QueryRowContext(ctx, `SELECT org_id, version, data_key_id, sealed FROM secrets WHERE id = ?`, id).
				Scan(&orgID, &version, &keyID, &sealed); err != nil {
				return err
			}
			plain, err := s.openBytes(ctx, tx, legacyValueAD(orgID, id), keyID, sealed)
			if err != nil {
				return fmt.Errorf("db: re-seal secret %s: %w", id, err)
			}
			aead, err := s.dataKey(ctx, tx, keyID)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE secrets SET sealed = ? WHERE id = ?`,
				sealInPlace(aead, plain, valueAD(orgID, id, version)), id); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, '2')`, valueADMeta)
		return err
	})
}
