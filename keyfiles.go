package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Key files (master.key, master.key.new, master.key.old) are written durably, before any database
// commit that depends on them: the content goes to a temporary file in the same directory (0600),
// which is flushed to disk, then takes its name, and the directory is flushed. So after a power cut
// a key file is either whole or absent, never empty beside a database that needs it.

// createKeyFile writes a new key file at path. It fails with fs.ErrExist when path exists: the
// temporary file is hard-linked into place, which never replaces a file.
func createKeyFile(path string, content []byte) error {
	tmp, err := writeTemp(path, content)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return err
	} else if err != nil {
		// A file system without hard links: check, then rename. Two processes creating the same key
		// file at once could both pass the check; the first start and rotation are the only writers.
		if _, serr := os.Lstat(path); serr == nil {
			return fmt.Errorf("create %s: %w", path, fs.ErrExist)
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	return syncDir(filepath.Dir(path))
}

// replaceKeyFile writes the key file at path, replacing the one there at once (rename).
func replaceKeyFile(path string, content []byte) error {
	tmp, err := writeTemp(path, content)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// renameDurably renames from to to, in one directory, and flushes the directory.
func renameDurably(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	return syncDir(filepath.Dir(to))
}

// writeTemp writes content to a new file beside path (0600) and flushes it to disk; it returns its name.
func writeTemp(path string, content []byte) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*") // O_EXCL, 0600
	if err != nil {
		return "", err
	}
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// syncDir flushes dir, so that the names created or renamed in it survive a power cut. Windows cannot
// flush a directory (NTFS journals its names itself).
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
