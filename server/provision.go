// Provisioning: `padchatd user add/list/remove` write and read pads under the data dir.
package server

import (
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
// a client bundle in outDir (BundleDir when empty) for server addr.
func AddUser(dataDir, name string, padSize int64, addr, outDir string, progress io.Writer) error {
	dir, err := userDir(dataDir, name)
	if err != nil {
		return err
	}
	if outDir == "" {
		outDir = BundleDir(dataDir, name)
	}
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%w: %s", ErrUserExists, name)
	}
	if _, err := os.Stat(outDir); err == nil {
		return fmt.Errorf("bundle directory %s already exists", outDir)
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
		return os.Rename(tmp, dir)
	}()
	if err != nil {
		os.RemoveAll(tmp)
		os.RemoveAll(outDir)
	}
	return err
}

// RemoveUser deletes the user's pads; the daemon drops a removed user's
// mailbox and refuses its pad from then on.
func RemoveUser(dataDir, name string) error {
	dir, err := userDir(dataDir, name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("%w: %s", ErrNoUser, name)
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	os.RemoveAll(BundleDir(dataDir, name))
	return purgeMailbox(dataDir, name)
}

// UserInfo is one line of `user list`.
type UserInfo struct {
	Name               string
	SendLeft, RecvLeft int64 // pad bytes left client→server and server→client
}

// ListUsers reports every user and how much pad each direction has left.
func ListUsers(dataDir string) ([]UserInfo, error) {
	a := &Accounts{dir: usersDir(dataDir), byName: map[string]*User{}, byPad: map[otp.PadID]*User{}}
	if err := a.scan(); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var out []UserInfo
	for _, n := range a.names() {
		u := a.byName[n]
		out = append(out, UserInfo{Name: n,
			SendLeft: padLeft(filepath.Join(u.dir, bundle.SendPad)),
			RecvLeft: padLeft(filepath.Join(u.dir, bundle.RecvPad))})
	}
	return out, nil
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
