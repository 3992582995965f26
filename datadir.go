package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/keyhold/keyhold/db"
)

// A data directory is created only by `keyhold serve` and `keyhold org create`; every other command
// needs one that holds a database, and creates nothing (no directory, no master key) when there is
// none.

// requireData fails with one line when data holds no database.
func requireData(data string) error {
	if _, err := os.Stat(filepath.Join(data, db.FileName)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no keyhold data at %s: start keyhold (keyhold serve) or create an organization (keyhold org create) first, or pass --data", data)
	} else if err != nil {
		return err
	}
	return nil
}

// On PostgreSQL (--database) there is no data directory: keyhold creates none, reads no master.key
// and takes no lock, since several instances on one database is the point. The master key comes from
// the environment alone (postgresMasterKey); backup and rotate-master-key, which work on the SQLite
// file, refuse.

// openPostgresStore opens the PostgreSQL database at the URL loc with the configured master key. With
// existing, a database keyhold has not set up is refused rather than set up (db.Options.Existing).
func openPostgresStore(ctx context.Context, cfg config, existing bool, log *slog.Logger) (*db.Store, error) {
	key, err := postgresMasterKey()
	if err != nil {
		return nil, err
	}
	opt := storeOptions(cfg, key, log)
	opt.Existing = existing
	return db.Open(ctx, cfg.Database, opt)
}

// storeOptions are the db.Options of cfg: the master key, the log, and serve's --max-versions and
// --trash-days (zero, the defaults, for the other commands).
func storeOptions(cfg config, key []byte, log *slog.Logger) db.Options {
	return db.Options{MasterKey: key, Logger: log, MaxVersions: cfg.MaxVersions, TrashWindow: time.Duration(cfg.TrashDays) * 24 * time.Hour}
}

// createStore is openStore for the commands that may start a deployment: on SQLite it creates the
// data directory (0700) and, without a configured key, the master key.
func createStore(ctx context.Context, cfg config, log *slog.Logger) (*db.Store, error) {
	if cfg.Database != "" {
		return openPostgresStore(ctx, cfg, false, log)
	}
	data := cfg.Data
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	key, err := loadMasterKey(data, log)
	if err != nil {
		return nil, err
	}
	return db.Open(ctx, filepath.Join(data, db.FileName), storeOptions(cfg, key, log))
}

// openServeStore opens the data for a server (creating it on first start) under the serve lock,
// which it holds until close: no master key rotation runs while a server has data keys unwrapped in
// memory, and no server starts while one runs. It then warns about a data directory other users can
// read, and removes master.key.old once the database refuses it. On PostgreSQL it opens the database
// alone (see above).
func openServeStore(ctx context.Context, cfg config, log *slog.Logger) (*db.Store, func(), error) {
	if cfg.Database != "" {
		store, err := openPostgresStore(ctx, cfg, false, log)
		if err != nil {
			return nil, nil, err
		}
		warnLeftBehind(ctx, store, cfg.Data, log)
		return store, func() { store.Close() }, nil
	}
	data := cfg.Data
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, nil, err
	}
	lock, err := db.LockServe(filepath.Join(data, db.FileName))
	if errors.Is(err, db.ErrLocked) {
		return nil, nil, fmt.Errorf("a master key rotation is in progress on %s: wait for it to finish, then start keyhold with the new key", data)
	} else if err != nil {
		return nil, nil, err
	}
	store, err := createStore(ctx, cfg, log)
	if err != nil {
		lock.Close()
		return nil, nil, err
	}
	warnShared(data, log)
	dropOldMasterKey(ctx, store, data, log)
	return store, func() {
		store.Close()
		lock.Close()
	}, nil
}

// warnLeftBehind logs one warning when a server starts on an empty PostgreSQL database while the
// data directory holds a SQLite database: its data is not served from there, and keyhold migrate
// copies it in.
func warnLeftBehind(ctx context.Context, store *db.Store, data string, log *slog.Logger) {
	path := filepath.Join(data, db.FileName)
	if _, err := os.Stat(path); err != nil {
		return
	}
	if has, err := store.HasOrgs(ctx); err != nil || has {
		return
	}
	log.Warn("the PostgreSQL database holds no organization, but there is a SQLite database in the data directory: "+
		"keyhold serves the PostgreSQL one alone; to move the SQLite data into it, stop keyhold and run keyhold migrate", "sqlite", path)
}

// warnShared logs one warning when the data directory, the database or the master key file can be
// read or written by group or others. Windows has no such modes.
func warnShared(data string, log *slog.Logger) {
	if runtime.GOOS == "windows" {
		return
	}
	var open []string
	for _, p := range []string{data, filepath.Join(data, db.FileName), masterKeyFile(data)} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o066 != 0 {
			open = append(open, fmt.Sprintf("%s (%#o)", p, fi.Mode().Perm()))
		}
	}
	if len(open) > 0 {
		log.Warn("keyhold's data can be read or changed by other users: chmod 700 the data directory and 600 the files in it",
			"paths", strings.Join(open, ", "))
	}
}

// dropOldMasterKey removes <data>/master.key.old, which rotate-master-key keeps, once the database
// refuses that key: this start with the new one succeeded, and the old key opens nothing.
func dropOldMasterKey(ctx context.Context, store *db.Store, data string, log *slog.Logger) {
	path := masterKeyFile(data) + ".old"
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	} else if err != nil {
		log.Warn("cannot read the master key from before the rotation", "file", path, "err", err)
		return
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != db.MasterKeySize {
		log.Warn("kept a file that is not a master key", "file", path)
		return
	}
	if accepted, err := store.AcceptsMasterKey(ctx, key); err != nil || accepted {
		if err != nil {
			log.Warn("kept the master key from before the rotation", "file", path, "err", err)
		}
		return
	}
	if err := os.Remove(path); err != nil {
		log.Warn("cannot remove the master key from before the rotation", "file", path, "err", err)
		return
	}
	if err := syncDir(data); err != nil {
		log.Warn("removed the master key from before the rotation, but could not flush the directory", "file", path, "err", err)
		return
	}
	log.Info("removed the master key from before the rotation: keyhold started with the new one, and the database refuses the old one", "file", path)
}
