// Accounts: provisioned users, their pads under the data dir, and lookup by pad id.
package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"padchat/internal/bundle"
	"padchat/otp"
	"padchat/wire"
)

// User is a provisioned native user. The server holds copies of both pads:
// it opens frames sealed with send.pad and seals with recv.pad.
type User struct {
	Name     string
	id       string // account id (account.id): keys the mailbox; "" for an account made before ids
	dir      string
	sendID   otp.PadID // client → server pad: how a first frame names its user
	recvID   otp.PadID // server → client pad, once opened: a reopen must find the same
	handle   otp.PadID // the outstanding session handle (handles.go), or zero
	sendPad  *otp.Pad
	recvPad  *otp.Pad
	receiver *otp.Receiver
	sender   *otp.Sender
	session  *native
	reserve  bool     // queued in hub.reserve: sealed past the durable mark
	hot      bool     // pad pages touched since the last release
	cooling  bool     // in hub.hot, where coolPads looks for it
	opened   int32    // 1 + index in Accounts.opened; 0: not in it (in the padding before active)
	active   int64    // when a pad was last used (unix nanos)
	warned   bool     // low-pad warning logged
	parked   bool     // pads closed while idle (park); opened again on the next use
	stay     uint8    // parks after padIdle<<stay unused: see Hub.opened
	at       int32    // index in Hub.sessions while session is set (in the padding after stay)
	left     [2]int64 // parked: pad left [send, recv] when parked, for /metrics
	gone     bool     // evicted: its pads close with its last session
	lockWhy  string   // why the account is locked (the LOCKED file), or ""
}

// key names what the store keeps for this account (its mailbox): the
// account id, never the bare name, so a re-added name starts empty. An
// account provisioned before account ids keeps its name as key; a re-added
// name always gets an id, so the two never meet.
func (u *User) key() string {
	if u.id == "" {
		return u.Name
	}
	return "#" + u.id
}

// Accounts finds users by name and by the id of their send pad.
type Accounts struct {
	dir    string // <data>/users
	byName map[string]*User
	byPad  map[otp.PadID]*User
	opts   otp.SenderOptions
	maxFr  int
	// evicted hears of an account that is gone, so what the store keeps for
	// it (its mailbox, unless renewed; its session handles) goes with it.
	evicted func(u *User, r wire.ByeReason)
	// claim, in cluster mode, shares a sending pad's reserve mark with the
	// other nodes (cluster.go); nil otherwise.
	claim func(otp.PadID) otp.Claimer
	// opened holds the users whose pads open has mapped, so that the
	// metrics look at those and not at every account; one closed since
	// leaves at the next padLeft, an evicted one at once (shut). A list,
	// each at User.opened, not a set: a slot per idle session, not a map entry.
	opened []*User
	// used hears of every open of a user's pads, and whether it reopens
	// parked ones (Hub.opened): an open is a use, so the cool timer lists
	// the user even when the frame that opened the pads then fails (a bad
	// tag, a lock) and no other use follows.
	used func(u *User, reopened bool)
	// left is the last padLeft, shared by the snapshots that hold it: never
	// changed, only replaced. leftKept says it still holds: no pad was open
	// when it was built, and none opened, no account came or went since. So
	// a crowd of parked sessions costs the once-a-second snapshot no
	// allocation (which, at 19,000 sessions, was 600 KB of garbage a second
	// growing the idle heap until the next GC).
	left     []PadLeft
	leftKept bool
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

// scan loads every account under the users directory, once at start. After
// that the index changes only through the admin socket (admin.go), so
// nothing a peer sends makes the daemon read a directory.
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
		u, err := loadUser(filepath.Join(a.dir, name), name)
		if err != nil {
			continue // half-written by `user add`; its sync through the admin socket adds it once whole
		}
		if old := a.byName[name]; old != nil {
			if old.sendID == u.sendID && old.id == u.id {
				continue
			}
			a.evict(old, wire.ByeRemoved, "this account was removed by the operator")
		}
		a.add(u)
	}
	return nil
}

// loadUser reads what the index keeps of the account in dir: its send pad
// id, its account id and whether it is locked.
func loadUser(dir, name string) (*User, error) {
	id, err := otp.ReadPadID(filepath.Join(dir, bundle.SendPad))
	if err != nil {
		return nil, err
	}
	u := &User{Name: name, dir: dir, sendID: id}
	if b, err := os.ReadFile(filepath.Join(dir, accountIDFile)); err == nil {
		u.id = strings.TrimSpace(string(b))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(dir, lockFile)); err == nil {
		u.lockWhy = string(b)
	}
	return u, nil
}

// add puts a loaded account in the index.
func (a *Accounts) add(u *User) {
	a.leftKept = false
	a.byName[u.Name] = u
	a.byPad[u.sendID] = u
}

// open maps the user's pads and takes their state (and its lock) on first use,
// and again after park. The pads must be the ones the account had: files
// replaced since (a renew the daemon has not heard of yet) are refused.
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
	if u.sendPad.ID() != u.sendID || (u.recvID != otp.PadID{} && u.recvPad.ID() != u.recvID) {
		u.sendPad.Close()
		u.recvPad.Close()
		return fmt.Errorf("%w: %s", otp.ErrStateReplaced, u.dir)
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
	reopened := u.parked
	if n := u.session; u.parked && n != nil && n.rxBase >= 0 {
		// The live session keeps its gap and replay checks across the
		// reopen, whoever opens the pads (its own frame or delivery, or
		// another connection naming the pad).
		u.receiver.Resume(&n.sess, n.rxBase)
	}
	if u.opened == 0 {
		a.opened = append(a.opened, u)
		u.opened = int32(len(a.opened))
	}
	a.leftKept = false
	u.recvID, u.parked = u.recvPad.ID(), false
	if a.used != nil {
		a.used(u, reopened)
	}
	return nil
}

// padLeft is the metrics' pad gauges: user → [send, recv] bytes left, for
// the accounts whose pads are open. The slice is shared: never change it.
func (a *Accounts) padLeft() []PadLeft {
	if a.leftKept {
		return a.left
	}
	left := make([]PadLeft, 0, len(a.opened))
	kept := true
	for i := 0; i < len(a.opened); i++ {
		u := a.opened[i]
		var l [2]int64
		switch {
		case u.sender != nil:
			l = [2]int64{u.receiver.Remaining(), u.sender.Remaining()}
			kept = false // in use: its figures move
		case u.parked && !u.gone: // closed while idle: as it was then
			l = u.left
		default: // closed, or gone while parked
			a.unlist(u)
			i-- // the last took its place
			continue
		}
		if a.byName[u.Name] == u { // not a removed account's last session
			left = append(left, PadLeft{u.Name, l})
		}
	}
	a.left, a.leftKept = left, kept
	return left
}

// shut closes a gone user's pads for good (evict, or its last session's
// end) and drops it from the open set, parked or not.
func (a *Accounts) shut(u *User) {
	u.close()
	a.unlist(u)
	a.leftKept = false
}

// unlist takes u out of the open set, if there: the last takes its place.
func (a *Accounts) unlist(u *User) {
	if u.opened == 0 {
		return
	}
	var moved *User
	if a.opened, moved = swapOut(a.opened, u.opened-1); moved != nil {
		moved.opened = u.opened
	}
	u.opened = 0
}

// swapOut takes list[i] out of list, the last user moving into its place,
// and returns the shorter list and the user moved (nil when list[i] was the
// last), whose index its owner updates: Hub.sessions (User.at) and
// Accounts.opened (User.opened) are both kept this way.
func swapOut(list []*User, i int32) ([]*User, *User) {
	last := int32(len(list)) - 1
	var moved *User
	if i != last {
		moved = list[last]
		list[i] = moved
	}
	list[last] = nil
	return list[:last], moved
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

// padIdle is how long a user's pads go unused before their pages are
// released, and before they close (park) unless stay says longer.
const padIdle = 2 * time.Second

// parkAfter is how long u's pads stay open unused: padIdle, doubled for each
// reopen that came soon after the last use (Hub.opened).
func (u *User) parkAfter() int64 { return int64(padIdle) << u.stay }

func (u *User) releasePages() {
	u.hot = false
	u.sendPad.Release()
	u.recvPad.Release()
}

// park closes the pads of a user idle for padIdle whose session holds nothing
// sealed or to seal, so an idle session costs no pad state: no mapping, no
// Sender or Receiver, no state file records. The Sender's mark goes back down
// to where its next frame starts (otp.Sender.Park), so the reopen (unpark, on
// the session's next frame or delivery) wastes no pad.
func (u *User) park() error {
	u.left = [2]int64{u.receiver.Remaining(), u.sender.Remaining()}
	if n := u.session; n != nil {
		n.rxBase = -1
		if base, ok := u.receiver.SessionBase(); ok {
			n.rxBase = base
		}
		n.spans = nil // empty (canPark), but it kept the room of its busiest iteration
	}
	err := errors.Join(u.sender.Park(), u.receiver.Park(), u.sendPad.Close(), u.recvPad.Close())
	u.sender, u.receiver, u.sendPad, u.recvPad = nil, nil, nil, nil
	u.parked, u.hot = true, false
	return err
}

// canPark says whether u's pads may close now: open, idle since before
// idleSince, nothing sealed past the durable mark or queued to reserve, and
// its session holding no output (the gate asks the Sender about held bytes).
// Not in cluster mode: a reopen there asks the shared mark over the network.
func (u *User) canPark(a *Accounts, idleSince int64) bool {
	if u.sender == nil || u.active > idleSince || u.reserve || u.sender.Pending() || a.claim != nil {
		return false
	}
	n := u.session
	return n == nil || (!n.unsealed && !n.holding && n.c.held == 0 && !n.c.dying && !n.c.closed)
}

// lockFile marks a user the daemon refuses (pad reuse was detected);
// accountIDFile holds the account's random id, written by `user add`.
const (
	lockFile      = "LOCKED"
	accountIDFile = "account.id"
)

// locked returns why the user is locked, or "".
func (u *User) locked() string { return u.lockWhy }

func (u *User) lock(why string) error {
	u.lockWhy = why
	return os.WriteFile(filepath.Join(u.dir, lockFile), []byte(why), 0o600)
}

// evict forgets a gone account (removed, renewed): its session ends with the
// reason, and its pads and state close before anything can write them again.
func (a *Accounts) evict(u *User, r wire.ByeReason, why string) {
	u.gone, a.leftKept = true, false
	if a.evicted != nil {
		a.evicted(u, r)
	}
	if n := u.session; n != nil {
		// The pads stay open until the session is gone: its Bye must still be
		// sealed and reserved to leave (the gate). A parked session's pads
		// were opened again by the user command's hold, before it touched
		// the files (Hub.hold); still parked here means the files went
		// without one (removed by hand, an older padchatd user): the old
		// pads are gone, no Bye can be sealed, and the session ends with
		// the reason in the log only.
		if !u.parked {
			n.bye(r, why)
		}
		if r == wire.ByeRenewed {
			n.c.kill(ReasonRenewed)
		} else {
			n.c.kill(ReasonRemoved)
		}
	} else {
		a.shut(u)
	}
	if a.byName[u.Name] == u {
		delete(a.byName, u.Name)
	}
	if a.byPad[u.sendID] == u {
		delete(a.byPad, u.sendID)
	}
}

// lookup is how a first frame finds its account: by send pad id, in memory.
func (a *Accounts) lookup(id otp.PadID) *User { return a.byPad[id] }

// user finds the account holding name, or nil.
func (a *Accounts) user(name string) *User { return a.byName[name] }

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

func userDir(dataDir, name string) (string, error) {
	if err := wire.CheckName(name); err != nil {
		return "", fmt.Errorf("user %q: %w", name, err)
	}
	return filepath.Join(usersDir(dataDir), name), nil
}
