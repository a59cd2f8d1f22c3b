package main

import "golang.org/x/sys/unix"

// freeBytes is the space an unprivileged user may still write under dir.
func freeBytes(dir string) (int64, error) {
	var st unix.Statvfs_t
	if err := unix.Statvfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Frsize), nil
}
