// Durable writes on Linux: fdatasync, which skips the inode's timestamps.
package otp

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// syncData makes the bytes written to f durable. State slots and burned ranges
// are overwritten in place, so the file size never changes and the metadata
// fsync would also flush (mtime) buys nothing.
func syncData(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if !errors.Is(err, unix.EINTR) {
			if err != nil {
				return os.NewSyscallError("fdatasync", err)
			}
			return nil
		}
	}
}
