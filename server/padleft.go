// How much pad a user has left, read from the state files without their locks.
package server

import (
	"os"

	"padchat/internal/bundle"
	"padchat/otp"
)

// padLeft is the pad bytes after the state file's mark; -1 if it can't be read.
func padLeft(path string) int64 {
	info, err := otp.ReadState(path + bundle.StateSuffix)
	if err != nil {
		return -1
	}
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	return fi.Size() - info.Mark
}
