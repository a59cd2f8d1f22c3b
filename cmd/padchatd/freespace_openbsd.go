package main

import "golang.org/x/sys/unix"

// freeBytes is the space an unprivileged user may still write under dir.
func freeBytes(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.F_bavail) * int64(st.F_bsize), nil
}
