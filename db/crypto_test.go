package db_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhold/keyhold/db"
)

func TestStore_ValuesSealedAtRest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := mustOpenAt(t, filepath.Join(dir, db.FileName), db.Options{})
	acme := mustOrg(t, s, "Acme", "ada@example.com")
	globex := mustOrg(t, s, "Globex", "ada@example.com")

	short := canary("short")
	multi := "user=svc\n" + canary("multi") + "\r\n\ttrailing\n"
	bigMarker := canary("big")
	big := strings.Repeat(bigMarker+"\n", (2<<20)/(len(bigMarker)+1)) // about 2 MiB
	oldValue, newValue := canary("old"), canary("new")
	otherOrg := canary("globex")
	revealed := canary("revealed")

	mustSecret(t, s, acme, "SHORT_CANARY_NAME", short)
	mustSecret(t, s, acme, "MULTI", multi)
	mustSecret(t, s, acme, "BIG", big)
	upd := mustSecret(t, s, acme, "UPDATED", oldValue)
	if _, err := s.UpdateSecret(ctx, acme, upd.ID, []byte(newValue), upd.Version); err != nil {
		t.Fatal(err)
	}
	mustSecret(t, s, globex, "OTHER_ORG", otherOrg)
	r := mustSecret(t, s, acme, "REVEALED", revealed)
	if got := mustReveal(t, s, acme, r.ID); got != revealed {
		t.Fatalf("reveal=%q", got)
	}
	if got, err := s.SecretByName(ctx, acme, "BIG"); err != nil || got.Value != big {
		t.Fatalf("SecretByName(BIG): %v", err)
	}

	needles := map[string]string{
		"short": short, "multi": multi, "multi canary line": strings.Split(multi, "\n")[1],
		"big marker": bigMarker, "old value": oldValue, "new value": newValue, "other org": otherOrg, "revealed": revealed,
	}
	scan := func(when string) {
		t.Helper()
		// The scan must be able to see stored text: secret names are stored in the clear.
		if hits := filesContaining(t, dir, []byte("SHORT_CANARY_NAME")); len(hits) == 0 {
			t.Fatalf("%s: the scan does not find a stored name; it cannot prove values are absent", when)
		}
		for label, v := range needles {
			if hits := filesContaining(t, dir, []byte(v)); len(hits) > 0 {
				t.Errorf("%s: the %s value is in plaintext in %v", when, label, hits)
			}
		}
	}
	scan("while open")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	scan("after close")
}

func TestStore_SealedBlobShape(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	v := canary("shape")
	sec := mustSecret(t, s, ada, "K", v)
	raw := rawDB(t, s)
	var sealed []byte
	var size int
	if err := raw.QueryRowContext(ctx, `SELECT sealed, value_size FROM secrets WHERE id = ?`, sec.ID).Scan(&sealed, &size); err != nil {
		t.Fatal(err)
	}
	// nonce (12) || ciphertext || tag (16)
	if len(sealed) != len(v)+12+16 || size != len(v) {
		t.Fatalf("sealed is %d bytes for a %d-byte value (size %d)", len(sealed), len(v), size)
	}
	if strings.Contains(string(sealed), "CANARY") {
		t.Fatal("sealed blob holds the value")
	}
	// The same value sealed twice differs (random nonce).
	sec2 := mustSecret(t, s, ada, "K2", v)
	var sealed2 []byte
	if err := raw.QueryRowContext(ctx, `SELECT sealed FROM secrets WHERE id = ?`, sec2.ID).Scan(&sealed2); err != nil {
		t.Fatal(err)
	}
	if string(sealed) == string(sealed2) {
		t.Fatal("two sealings of one value are identical")
	}
}

func TestOpen_WrongMasterKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), db.FileName)
	s := mustOpenAt(t, path, db.Options{})
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "survives a restart")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	other := make([]byte, 32)
	copy(other, testMasterKey)
	other[31] ^= 1 // one bit off
	s2, err := db.Open(ctx, path, db.Options{MasterKey: other})
	if !errors.Is(err, db.ErrWrongMasterKey) {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("Open with another key: %v, want ErrWrongMasterKey", err)
	}
	if s2 != nil {
		t.Fatal("Open returned a store with the error")
	}

	// The right key still opens it, and the value is there.
	s3 := mustOpenAt(t, path, db.Options{})
	if got := mustReveal(t, s3, ada, sec.ID); got != "survives a restart" {
		t.Fatalf("after reopen value=%q", got)
	}
}

func TestOpen_MasterKeyLength(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 31, 33, 64} {
		key := make([]byte, n)
		s, err := db.Open(ctx, filepath.Join(t.TempDir(), db.FileName), db.Options{MasterKey: key})
		if err == nil {
			s.Close()
			t.Errorf("Open with a %d-byte key succeeded", n)
		}
	}
	s, err := db.Open(ctx, filepath.Join(t.TempDir(), db.FileName), db.Options{})
	if err == nil {
		s.Close()
		t.Error("Open without a key succeeded")
	}
}

func TestStore_TamperedCiphertextFails(t *testing.T) {
	t.Parallel()
	s := mustOpen(t)
	acme := mustOrg(t, s, "Acme", "ada@example.com")
	globex := mustOrg(t, s, "Globex", "ada@example.com")
	raw := rawDB(t, s)

	donorValue := canary("donor")
	donor := mustSecret(t, s, acme, "DONOR", donorValue)
	foreignValue := canary("foreign")
	foreign := mustSecret(t, s, globex, "FOREIGN", foreignValue)

	sealedOf := func(id string) []byte {
		var b []byte
		if err := raw.QueryRowContext(ctx, `SELECT sealed FROM secrets WHERE id = ?`, id).Scan(&b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	flip := func(i func(n int) int) func(victimID string) {
		return func(victimID string) {
			b := sealedOf(victimID)
			b[i(len(b))] ^= 0x01
			rawExec(t, raw, `UPDATE secrets SET sealed = ? WHERE id = ?`, b, victimID)
		}
	}
	tests := []struct {
		name   string
		tamper func(victimID string)
	}{
		{"another secret's blob", func(id string) {
			rawExec(t, raw, `UPDATE secrets SET sealed = (SELECT sealed FROM secrets WHERE id = ?) WHERE id = ?`, donor.ID, id)
		}},
		{"another org's blob and data key", func(id string) {
			rawExec(t, raw, `UPDATE secrets SET sealed = (SELECT sealed FROM secrets WHERE id = ?1),
				data_key_id = (SELECT data_key_id FROM secrets WHERE id = ?1) WHERE id = ?2`, foreign.ID, id)
		}},
		{"bit flipped in the nonce", flip(func(int) int { return 0 })},
		{"bit flipped in the ciphertext", flip(func(n int) int { return n / 2 })},
		{"bit flipped in the tag", flip(func(n int) int { return n - 1 })},
		{"truncated", func(id string) {
			b := sealedOf(id)
			rawExec(t, raw, `UPDATE secrets SET sealed = ? WHERE id = ?`, b[:len(b)-1], id)
		}},
		{"shorter than a nonce", func(id string) {
			rawExec(t, raw, `UPDATE secrets SET sealed = ? WHERE id = ?`, []byte{0}, id)
		}},
		{"empty", func(id string) {
			rawExec(t, raw, `UPDATE secrets SET sealed = ? WHERE id = ?`, []byte{}, id)
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "VICTIM_" + string(rune('A'+i))
			victimValue := canary("victim")
			victim := mustSecret(t, s, acme, name, victimValue)
			if got := mustReveal(t, s, acme, victim.ID); got != victimValue {
				t.Fatalf("before tampering value=%q", got)
			}
			tt.tamper(victim.ID)

			for call, fn := range map[string]func() (*db.Secret, error){
				"RevealSecret": func() (*db.Secret, error) { return s.RevealSecret(ctx, acme, victim.ID) },
				"SecretByName": func() (*db.Secret, error) { return s.SecretByName(ctx, acme, name) },
			} {
				got, err := fn()
				if err == nil {
					t.Fatalf("%s of a tampered secret succeeded: value %q", call, got.Value)
				}
				if got != nil {
					t.Errorf("%s returned a secret with its error: %+v", call, got)
				}
				for _, v := range []string{donorValue, foreignValue, victimValue} {
					if strings.Contains(err.Error(), v) {
						t.Errorf("%s error carries a value: %v", call, err)
					}
				}
			}
		})
	}
	// The donors are untouched.
	if got := mustReveal(t, s, acme, donor.ID); got != donorValue {
		t.Errorf("donor value=%q", got)
	}
	if got := mustReveal(t, s, globex, foreign.ID); got != foreignValue {
		t.Errorf("foreign value=%q", got)
	}
}

func TestStore_TamperedDataKeyFails(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), db.FileName)
	s := mustOpenAt(t, path, db.Options{})
	ada := mustOrg(t, s, "Acme", "ada@example.com")
	sec := mustSecret(t, s, ada, "API_TOKEN", "v1")
	raw := rawDB(t, s)
	var wrapped []byte
	if err := raw.QueryRowContext(ctx, `SELECT wrapped FROM data_keys WHERE org_id = ?`, ada.OrgID).Scan(&wrapped); err != nil {
		t.Fatal(err)
	}
	wrapped[len(wrapped)/2] ^= 0x80
	rawExec(t, raw, `UPDATE data_keys SET wrapped = ? WHERE org_id = ?`, wrapped, ada.OrgID)
	s.Close()

	// A fresh store has no unwrapped key cached, so it must unwrap the altered one.
	s2 := mustOpenAt(t, path, db.Options{})
	if got, err := s2.RevealSecret(ctx, ada, sec.ID); err == nil || got != nil {
		t.Fatalf("reveal under a tampered data key: %+v %v", got, err)
	}
	if _, err := s2.CreateSecret(ctx, ada, "NEW", []byte("v")); err == nil {
		t.Fatal("sealing under a tampered data key succeeded")
	}
}
