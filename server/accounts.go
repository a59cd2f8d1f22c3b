// Accounts: provisioned users, their pads under the data dir, and lookup by pad id.
package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"padchat/internal/bundle"
	"padchat/otp"
	"padchat/wire"
)

// User is a provisioned native user. The server holds copies of both pads:
// it opens frames sealed with send.pad and seals with recv.pad.
type User struct {
	Name     string
	dir      string
	sendID   otp.PadID // client → server pad: how a first frame names its user
	sendPad  *otp.Pad
	recvPad  *otp.Pad
	receiver *otp.Receiver
	sender   *otp.Sender
	session  *native
	reserve  bool  // queued in hub.reserve: sealed past the durable mark
	hot      bool  // pad pages touched since the last release
	active   int64 // when a pad was last used (unix nanos)
	warned   bool  // low-pad warning logged
}

// Accounts finds users by name and by the id of their send pad.
type Accounts struct {
	dir    string // <data>/users
	byName map[string]*User
	byPad  map[otp.PadID]*User
	opts   otp.SenderOptions
	maxFr  int
}

func usersDir(dataDir string) string { return filepath.Join(dataDir, "users") }

func openAccounts(dataDir string, cfg *Config) (*Accounts, error) {
	a := &Accounts{dir: usersDir(dataDir), byName: map[string]*User{}, byPad: map[otp.PadID]*User{},
		// The store's lock on the data dir keeps other daemons out, so the pads'
		// state files need no flock of their own and stay closed while idle:
		// an online user then costs one descriptor, its socket.
		opts:  otp.SenderOptions{ReserveStep: cfg.ReserveStep, MaxReserveStep: cfg.ReserveMax, Burn: cfg.BurnPads, MaxFrame: cfg.MaxFrame, NoLock: true},
		maxFr: cfg.MaxFrame}
	if err := os.MkdirAll(a.dir, 0o700); err != nil {
		return nil, err
	}
	return a, a.scan()
}

// scan picks up users added by `padchatd user add` while the daemon runs.
func (a *Accounts) scan() error {
	ents, err := os.ReadDir(a.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || a.byName[name] != nil || wire.CheckName(name) != nil {
			continue
		}
		dir := filepath.Join(a.dir, name)
		id, err := otp.ReadPadID(filepath.Join(dir, bundle.SendPad))
		if err != nil {
			continue // half-written by a concurrent `user add`; next scan
		}
		u := &User{Name: name, dir: dir, sendID: id}
		a.byName[name] = u
		a.byPad[id] = u
	}
	return nil
}

// open maps the user's pads and takes their state (and its lock) on first use.
func (u *User) open(a *Accounts) error {
	if u.sender != nil {
		return nil
	}
	var err error
	if u.sendPad, err = otp.OpenPad(filepath.Join(u.dir, bundle.SendPad)); err != nil {
		return err
	}
	if u.recvPad, err = otp.OpenPad(filepath.Join(u.dir, bundle.RecvPad)); err != nil {
		u.sendPad.Close()
		return err
	}
	statePath := func(p *otp.Pad) string { return p.Path() + bundle.StateSuffix }
	u.receiver, err = otp.OpenReceiver(u.sendPad, statePath(u.sendPad), otp.ReceiverOptions{MaxFrame: a.maxFr, Burn: a.opts.Burn, Contiguous: true, NoLock: true})
	if err == nil {
		u.sender, err = otp.OpenSender(u.recvPad, statePath(u.recvPad), a.opts)
		if err != nil {
			u.receiver.Close()
		}
	}
	if err != nil {
		u.sendPad.Close()
		u.recvPad.Close()
		u.receiver = nil
		return err
	}
	return nil
}

func (u *User) close() {
	if u.sender == nil {
		return
	}
	u.sender.Close()
	u.receiver.Close()
	u.sendPad.Close()
	u.recvPad.Close()
	u.sender, u.receiver = nil, nil
}

// padIdle is how long a user's pads go unused before their pages are released.
const padIdle = 2 * time.Second

func (u *User) touch(now int64) { u.hot, u.active = true, now }

func (u *User) releasePages() {
	u.hot = false
	u.sendPad.Release()
	u.recvPad.Release()
}

// lockFile marks a user the daemon refuses (pad reuse was detected).
const lockFile = "LOCKED"

// locked returns why the user is locked, or "".
func (u *User) locked() string {
	b, err := os.ReadFile(filepath.Join(u.dir, lockFile))
	if err != nil {
		return ""
	}
	return string(b)
}

func (u *User) lock(why string) error {
	return os.WriteFile(filepath.Join(u.dir, lockFile), []byte(why), 0o600)
}

// exists is false once `user remove` deleted the user's directory.
func (u *User) exists() bool {
	_, err := os.Stat(u.dir)
	return err == nil
}

func (a *Accounts) closeAll() {
	for _, u := range a.byName {
		u.close()
	}
}

// names lists the provisioned users, sorted.
func (a *Accounts) names() []string {
	out := make([]string, 0, len(a.byName))
	for n := range a.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ErrUserExists and ErrNoUser are provisioning errors.
var (
	ErrUserExists = errors.New("user already exists")
	ErrNoUser     = errors.New("no such user")
)

func userDir(dataDir, name string) (string, error) {
	if err := wire.CheckName(name); err != nil {
		return "", fmt.Errorf("user %q: %w", name, err)
	}
	return filepath.Join(usersDir(dataDir), name), nil
}
