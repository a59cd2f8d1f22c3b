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

	"golang.org/x/sys/unix"

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
	_, _, err := tellSync(dataDir, name, "added")
	return err
}

// writeAccount makes the account's files: a new account when id is "", or
// fresh pads for account id (renew), its old files replaced whole.
func writeAccount(dataDir, name string, padSize int64, addr, outDir, id string, progress io.Writer) error {
	st, err := stageAccount(dataDir, name, padSize, addr, outDir, id, progress, true)
	if err != nil {
		return err
	}
	return st.place()
}

// staged is an account built beside its place, not yet in it.
type staged struct {
	tmp, dir, outDir string
	data, name       string
	renew            bool
}

// stageAccount builds the account's files in a directory beside its place
// (a name no account can have, so a crash leaves nothing a daemon loads) and
// its bundle in outDir. With sync false nothing is fsynced: the caller syncs
// once for many accounts, and only then places them.
func stageAccount(dataDir, name string, padSize int64, addr, outDir, id string, progress io.Writer, sync bool) (*staged, error) {
	dir, err := userDir(dataDir, name)
	if err != nil {
		return nil, err
	}
	if outDir == "" {
		outDir = BundleDir(dataDir, name)
	}
	renew := id != ""
	if _, err := os.Stat(dir); err == nil && !renew {
		return nil, fmt.Errorf("%w: %s", ErrUserExists, name)
	}
	if _, err := os.Stat(outDir); err == nil {
		if !renew {
			return nil, fmt.Errorf("bundle directory %s already exists", outDir)
		}
		if err := os.RemoveAll(outDir); err != nil { // the old bundle is void now
			return nil, err
		}
	}
	if !renew {
		var b [16]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	st := &staged{tmp: dir + "~new", dir: dir, outDir: outDir, data: dataDir, name: name, renew: renew}
	os.RemoveAll(st.tmp)
	if err := os.MkdirAll(st.tmp, 0o700); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		os.RemoveAll(st.tmp)
		return nil, err
	}
	createPad, initState := otp.CreatePad, otp.InitState
	if !sync {
		createPad, initState = otp.CreatePadUnsynced, otp.InitStateUnsynced
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
			srv, cli := filepath.Join(st.tmp, pad.file), filepath.Join(outDir, pad.file)
			id, err := createPad(srv, padSize, progressTo(progress, name+" "+pad.file))
			if err != nil {
				return err
			}
			if err := copyFile(srv, cli, sync); err != nil {
				return err
			}
			if err := initState(srv+bundle.StateSuffix, id, pad.serverRole); err != nil {
				return err
			}
			if err := initState(cli+bundle.StateSuffix, id, pad.cRole); err != nil {
				return err
			}
			*pad.id = id.String()
		}
		if err := bundle.Save(outDir, p); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(st.tmp, accountIDFile), []byte(id+"\n"), 0o600)
	}()
	if err != nil {
		st.discard()
		return nil, err
	}
	return st, nil
}

// place moves a staged account into its place.
func (st *staged) place() error {
	if st.renew {
		// The old pads go in one rename; the new ones take their place
		// in the next. A crash between leaves the account absent, never
		// half old and half new; renew again.
		holdPads(st.data, st.name)
		old := st.dir + "~old"
		os.RemoveAll(old)
		if err := os.Rename(st.dir, old); err != nil {
			st.discard()
			return err
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(st.tmp, st.dir); err != nil {
		st.discard()
		return err
	}
	return nil
}

func (st *staged) discard() {
	os.RemoveAll(st.tmp)
	os.RemoveAll(st.outDir)
}

// AddUsers adds many users with one sync: every account is staged without
// fsyncs, the file systems are synced once, and only then are the accounts
// placed (one directory sync) and a running daemon told. A crash before the
// places leaves only staging directories, which no daemon loads.
func AddUsers(dataDir string, names []string, padSize int64, addr string, progress io.Writer) error {
	var all []*staged
	for _, name := range names {
		st, err := stageAccount(dataDir, name, padSize, addr, "", "", progress, false)
		if err != nil {
			for _, st := range all {
				st.discard()
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		all = append(all, st)
	}
	unix.Sync()
	for i, st := range all {
		if err := st.place(); err != nil {
			for _, st := range all[i+1:] {
				st.discard()
			}
			return fmt.Errorf("%s: %w", names[i], err)
		}
	}
	if err := otp.SyncDir(usersDir(dataDir)); err != nil {
		return err
	}
	for _, name := range names {
		if _, _, err := tellSync(dataDir, name, "added"); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
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
	holdPads(dataDir, name)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	os.RemoveAll(BundleDir(dataDir, name))
	answer, running, err := tellSync(dataDir, name, "removed")
	if running || err != nil {
		return answer, err
	}
	return answer, purgeMailbox(dataDir, u.key())
}

// holdPads asks a running daemon, before the account's files go, to open the
// pads of name's session if they closed while it idled, and to keep them
// open until the sync that follows (Hub.hold): the session's Bye is sealed
// with those pads, which the files' removal takes away. Best effort: with no
// daemon, or an older one, the sync still ends the session, without a Bye.
func holdPads(dataDir, name string) {
	tellDaemon(dataDir, "hold "+name)
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
	answer, _, err := tellSync(dataDir, name, "renewed")
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
	// The cluster's mark that the lock bucket held this lock goes first (cluster_locks.go).
	if err := os.Remove(filepath.Join(dir, lockSharedFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.Remove(filepath.Join(dir, lockFile)); err != nil {
		return "", err
	}
	answer, _, err := tellSync(dataDir, name, "unlocked")
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
		switch {
		case u.sender != nil:
			i.SendLeft, i.RecvLeft, i.Live = u.receiver.Remaining(), u.sender.Remaining(), true
		case u.parked: // a session idle enough that its pads closed: the daemon's figures from then, still exact
			i.SendLeft, i.RecvLeft, i.Live = u.left[0], u.left[1], true
		default:
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

func copyFile(src, dst string, sync bool) error {
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
	if sync {
		if err := out.Sync(); err != nil {
			out.Close()
			return err
		}
	}
	return out.Close()
}
