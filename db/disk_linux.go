package db

import (
	"os"

	"golang.org/x/sys/unix"
)

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
