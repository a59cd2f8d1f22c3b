// The session handle beside a bundle: what the next session presents instead of the pad id.
package bundle

import (
	"os"
	"path/filepath"

	"padchat/otp"
)

// HandleFile holds the one-time handle the server gave the last session.
const HandleFile = "session.handle"

// TakeHandle reads and removes the bundle's handle, so it is presented at
// most once: a handle seen twice on the wire would link two sessions. ok is
// false when there is none (a first connect, or it was lost): then the pad id
// names the user.
func TakeHandle(dir string) (h otp.PadID, ok bool) {
	path := Path(dir, HandleFile)
	b, err := os.ReadFile(path)
	os.Remove(path)
	if err != nil || len(b) != otp.IDSize {
		return h, false
	}
	copy(h[:], b)
	return h, h != otp.PadID{}
}

// SaveHandle stores the handle for the next session (write and rename: a
// torn file reads as no handle, which only costs a connect by pad id).
func SaveHandle(dir string, h []byte) error {
	if len(h) != otp.IDSize {
		return os.ErrInvalid
	}
	tmp, err := os.CreateTemp(dir, ".handle-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(h); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, HandleFile))
}
