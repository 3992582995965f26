package db

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// errNoReserve is returned by reserve where the filesystem cannot allocate ahead of a file's end.
var errNoReserve = errors.New("the filesystem cannot reserve space for a file (fallocate)")

// reserve allocates space for the first n bytes of f without changing its size (fallocate with
// FALLOC_FL_KEEP_SIZE): blocks that are f's own, which later writes fill without taking any from the
// filesystem. Where the filesystem has less free than asked, it reserves what it can, halving down to
// 64 KiB.
func reserve(f *os.File, n int64) error {
	conn, err := f.SyscallConn()
	if err != nil {
		return err
	}
	for ; ; n /= 2 {
		var ferr error
		if err := conn.Control(func(fd uintptr) {
			ferr = unix.Fallocate(int(fd), unix.FALLOC_FL_KEEP_SIZE, 0, n)
		}); err != nil {
			return err
		}
		switch {
		case ferr == nil:
			return nil
		case errors.Is(ferr, unix.EOPNOTSUPP):
			return errNoReserve
		case (errors.Is(ferr, unix.ENOSPC) || errors.Is(ferr, unix.EDQUOT)) && n > 64<<10:
			continue
		default:
			return &os.PathError{Op: "fallocate", Path: f.Name(), Err: ferr}
		}
	}
}

// freeBytes is the space of the filesystem holding dir that this process may still use: root may
// also use the blocks kept for it.
func freeBytes(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	blocks := st.Bavail
	if os.Geteuid() == 0 {
		blocks = st.Bfree
	}
	return blocks * uint64(st.Bsize), nil
}
