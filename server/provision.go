// Provisioning: `padchatd user add/list/remove/renew/unlock` write and read the
// accounts under the data dir, then tell a running daemon (admin.go).
package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"padchat/internal/bundle"
	"padchat/otp"
)

// BundleDir is where `user add` puts a user's client bundle by default.
func BundleDir(dataDir, name string) string { return filepath.Join(dataDir, "bundles", name) }

// AddUser creates a user's two pads, the server's copies with their state, and
// a client bundle in outDir (BundleDir when empty) for server addr. A running
// daemon knows the account when AddUser returns.
func AddUser(dataDir, name string, padSize int64, addr, outDir string, progress io.Writer) error {
	if err := writeAccount(dataDir, name, padSize, addr, outDir, "", progress); err != nil {
		return err
	}
	_, _, err := tellDaemon(dataDir, "sync "+name)
	return err
}

// writeAccount makes the account's files: a new account when id is "", or
// fresh pads for account id (renew), its old files replaced whole.
func writeAccount(dataDir, name string, padSize int64, addr, outDir, id string, progress io.Writer) error {
	dir, err := userDir(dataDir, name)
	if err != nil {
		return err
	}
	if outDir == "" {
		outDir = BundleDir(dataDir, name)
	}
	renew := id != ""
	if _, err := os.Stat(dir); err == nil && !renew {
		return fmt.Errorf("%w: %s", ErrUserExists, name)
	}
	if _, err := os.Stat(outDir); err == nil {
		if !renew {
			return fmt.Errorf("bundle directory %s already exists", outDir)
		}
		if err := os.RemoveAll(outDir); err != nil { // the old bundle is void now
			return err
		}
	}
	if !renew {
		var b [16]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	// Build in a temp dir and rename, so a running daemon never sees half a user.
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	p := bundle.Profile{User: name, Server: addr}
	err = func() error {
		for _, pad := range []struct {
			file              string
			serverRole, cRole otp.Role
			id                *string
		}{
			{bundle.SendPad, otp.RoleRecv, otp.RoleSend, &p.SendPad},
			{bundle.RecvPad, otp.RoleSend, otp.RoleRecv, &p.RecvPad},
		} {
			srv, cli := filepath.Join(tmp, pad.file), filepath.Join(outDir, pad.file)
			id, err := otp.CreatePad(srv, padSize, progressTo(progress, name+" "+pad.file))
			if err != nil {
				return err
			}
			if err := copyFile(srv, cli); err != nil {
				return err
			}
			if err := otp.InitState(srv+bundle.StateSuffix, id, pad.serverRole); err != nil {
				return err
			}
			if err := otp.InitState(cli+bundle.StateSuffix, id, pad.cRole); err != nil {
				return err
			}
			*pad.id = id.String()
		}
		if err := bundle.Save(outDir, p); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, accountIDFile), []byte(id+"\n"), 0o600); err != nil {
			return err
		}
		if renew {
			// The old pads go in one rename; the new ones take their place
			// in the next. A crash between leaves the account absent, never
			// half old and half new; renew again.
			old := dir + ".old"
			os.RemoveAll(old)
			if err := os.Rename(dir, old); err != nil {
				return err
			}
			defer os.RemoveAll(old)
		}
		return os.Rename(tmp, dir)
	}()
	if err != nil {
		os.RemoveAll(tmp)
		os.RemoveAll(outDir)
	}
	return err
}

// RemoveUser deletes the user's pads and bundle. A running daemon then ends
// the user's session with the reason, closes the pads and drops the mailbox,
// and its answer is returned ("removed; its session was closed"); with no
// daemon the mailbox is dropped here.
func RemoveUser(dataDir, name string) (string, error) {
	dir, u, err := existingUser(dataDir, name)
	if err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	os.RemoveAll(BundleDir(dataDir, name))
	answer, running, err := tellDaemon(dataDir, "sync "+name)
	if running || err != nil {
		return answer, err
	}
	return "removed", purgeMailbox(dataDir, u.key())
}

// existingUser finds the account name has on disk.
func existingUser(dataDir, name string) (dir string, u *User, err error) {
	if dir, err = userDir(dataDir, name); err != nil {
		return "", nil, err
	}
	if u, err = loadUser(dir, name); err != nil {
		return "", nil, fmt.Errorf("%w: %s", ErrNoUser, name)
	}
	return dir, u, nil
}

// RenewUser gives an account fresh pads and a new bundle in outDir
// (BundleDir when empty): the same name, account and mailbox; the old bundle
// is refused from then on, and a running daemon closes its session.
func RenewUser(dataDir, name string, padSize int64, addr, outDir string, progress io.Writer) (string, error) {
	_, u, err := existingUser(dataDir, name)
	if err != nil {
		return "", err
	}
	if u.id == "" { // made before account ids: it gets one now
		var b [16]byte
		rand.Read(b[:])
		u.id = hex.EncodeToString(b[:])
	}
	if err := writeAccount(dataDir, name, padSize, addr, outDir, u.id, progress); err != nil {
		return "", err
	}
	answer, running, err := tellDaemon(dataDir, "sync "+name)
	if !running && err == nil {
		answer = "renewed"
	}
	return answer, err
}

// UnlockUser lifts the lock the daemon put on an account whose pads it saw
// used twice. Its bundle is accepted again: do it only once the copy that
// caused the lock is known to be gone (or renew instead).
func UnlockUser(dataDir, name string) (string, error) {
	dir, u, err := existingUser(dataDir, name)
	if err != nil {
		return "", err
	}
	if u.lockWhy == "" {
		return "", fmt.Errorf("user %s is not locked", name)
	}
	if err := os.Remove(filepath.Join(dir, lockFile)); err != nil {
		return "", err
	}
	answer, running, err := tellDaemon(dataDir, "sync "+name)
	if !running && err == nil {
		answer = "unlocked"
	}
	return answer, err
}

// UserInfo is one line of `user list`.
type UserInfo struct {
	Name     string `json:"name"`
	State    string `json:"state"`     // online, offline or locked
	SendLeft int64  `json:"send_left"` // pad bytes left client→server; -1: unreadable
	RecvLeft int64  `json:"recv_left"` // pad bytes left server→client; -1: unreadable
	Live     bool   `json:"live"`      // figures from the running daemon's open pads, not the state files
}

// ListUsers reports every user, its state and how much pad each direction
// has left: from the running daemon when there is one (live for the pads it
// has open), else from the state files. A state file's mark runs up to one
// reserve step ahead of the pad really used, so a figure read from it may
// be low by that much.
func ListUsers(dataDir string) ([]UserInfo, error) {
	answer, running, err := tellDaemon(dataDir, "list")
	if err != nil {
		return nil, err
	}
	if running {
		var out []UserInfo
		if err := json.Unmarshal([]byte(answer), &out); err != nil {
			return nil, fmt.Errorf("admin socket: list: %w", err)
		}
		return out, nil
	}
	a := &Accounts{dir: usersDir(dataDir), byName: map[string]*User{}, byPad: map[otp.PadID]*User{}}
	if err := a.scan(); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return a.list(), nil
}

// list is ListUsers from this index: live where the pads are open.
func (a *Accounts) list() []UserInfo {
	out := []UserInfo{}
	for _, n := range a.names() {
		u := a.byName[n]
		i := UserInfo{Name: n, State: "offline"}
		switch {
		case u.lockWhy != "":
			i.State = "locked"
		case u.session != nil:
			i.State = "online"
		}
		if u.sender != nil {
			i.SendLeft, i.RecvLeft, i.Live = u.receiver.Remaining(), u.sender.Remaining(), true
		} else {
			i.SendLeft = padLeft(filepath.Join(u.dir, bundle.SendPad))
			i.RecvLeft = padLeft(filepath.Join(u.dir, bundle.RecvPad))
		}
		out = append(out, i)
	}
	return out
}

func progressTo(w io.Writer, label string) func(done, total int64) {
	if w == nil {
		return nil
	}
	return func(done, total int64) {
		fmt.Fprintf(w, "\r%s: %d/%d MiB", label, done>>20, total>>20)
		if done == total {
			fmt.Fprintln(w)
		}
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
