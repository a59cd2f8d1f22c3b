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
	gone     bool  // evicted: its pads close with its last session
}

// Accounts finds users by name and by the id of their send pad.
type Accounts struct {
	dir    string // <data>/users
	byName map[string]*User
	byPad  map[otp.PadID]*User
	opts   otp.SenderOptions
	maxFr  int
	// evicted hears of an account that is gone, so what is kept under its
	// name elsewhere (its mailbox) goes with it and never reaches a new
	// account of the same name.
	evicted func(name string)
	// claim, in cluster mode, shares a sending pad's reserve mark with the
	// other nodes (cluster.go); nil otherwise.
	claim func(otp.PadID) otp.Claimer
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
		if !e.IsDir() || wire.CheckName(name) != nil {
			continue
		}
		if u := a.byName[name]; u != nil {
			if u.current() {
				continue
			}
			a.evict(u) // removed and re-added: the old account must not live on under the name
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
		opts := a.opts
		if a.claim != nil {
			opts.Claim = a.claim(u.recvPad.ID())
		}
		u.sender, err = otp.OpenSender(u.recvPad, statePath(u.recvPad), opts)
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

// current is true while the user's directory still holds the send pad this
// entry was loaded with. A name is not an account: `user remove` deletes the
// directory, and a re-added name has fresh pads, so an entry that fails this
// belongs to a gone account whose bundle, session and state must not reach the new one.
func (u *User) current() bool {
	id, err := otp.ReadPadID(filepath.Join(u.dir, bundle.SendPad))
	return err == nil && id == u.sendID
}

// evict forgets a gone account: its session ends with ByeRemoved and its pads
// and state close before anything can write them under the name again.
func (a *Accounts) evict(u *User) {
	u.gone = true
	if a.evicted != nil {
		a.evicted(u.Name)
	}
	if n := u.session; n != nil {
		// The pads stay open until the session is gone: its Bye must still be
		// sealed and reserved to leave (the gate), and state writes of the old
		// files are refused once a new account replaced them (ErrStateReplaced).
		n.bye(wire.ByeRemoved, "this account was removed by the operator")
		n.c.kill(ReasonRemoved)
	} else {
		u.close()
	}
	if a.byName[u.Name] == u {
		delete(a.byName, u.Name)
	}
	if a.byPad[u.sendID] == u {
		delete(a.byPad, u.sendID)
	}
}

// lookup is how a first frame finds its account: by send pad id, checked to
// still be the account on disk (a removed one is evicted and refused).
func (a *Accounts) lookup(id otp.PadID) *User {
	u := a.byPad[id]
	if u == nil {
		a.scan()
		return a.byPad[id]
	}
	if !u.current() {
		a.evict(u)
		a.scan()
		return a.byPad[id]
	}
	return u
}

// user finds the live account holding name, or nil.
func (a *Accounts) user(name string) *User {
	u := a.byName[name]
	if u != nil && u.current() {
		return u
	}
	if u != nil {
		a.evict(u) // removed, or removed and re-added: a gone account
	}
	a.scan()
	return a.byName[name]
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
