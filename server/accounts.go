// Accounts: provisioned users, their pads under the data dir, and lookup by pad id.
package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

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
	reserve  bool // queued in hub.reserve: sealed past the durable mark
	warned   bool // low-pad warning logged
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
		opts:  otp.SenderOptions{ReserveStep: cfg.ReserveStep, Burn: cfg.BurnPads, MaxFrame: cfg.MaxFrame},
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
	u.receiver, err = otp.OpenReceiver(u.sendPad, statePath(u.sendPad), otp.ReceiverOptions{MaxFrame: a.maxFr, Burn: a.opts.Burn})
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
