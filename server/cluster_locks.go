// Cluster mode's defence against a copied bundle: how far each node accepted
// a user's frames (cluster/recvmarks.go), so a copy replaying that pad on
// another node is caught there, and the account lock that follows, refused
// by every node (cluster/locks.go).
package server

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"padchat/otp"
	"padchat/wire"
)

// copyWatch is the loop's copy of the lock and receive mark buckets, keyed by
// the user's send pad id.
type copyWatch struct {
	locks map[string]string // why; "" once unlocked
	recv  map[string]int64  // the highest offset some node accepted
	sent  map[*User]int64   // the marks this node shared, for accounts open here
	// unshared: locks set here that the bucket is not known to hold yet
	// (NATS unreachable), tried again each heartbeat until it does; sharing:
	// those with a Lock under way, one at a time per pad.
	unshared map[string]*User
	sharing  map[string]bool
	told     map[string]bool // a failure to share logged (once per lock)
}

// lockSharedFile, beside a user's LOCKED file, holds that file's modification
// time once the lock bucket is known to hold the lock: only such a lock is
// lifted when the bucket says it was unlocked. It is removed before its lock
// is (here and by `padchatd user unlock`), and a lock written since has
// another mtime besides: such a lock the bucket may never have had stays.
const lockSharedFile = "LOCKED.shared"

// startCopyWatch reads both buckets before the first login can happen, then
// follows them on the loop.
func (l *Loop) startCopyWatch() error {
	w := &copyWatch{sent: map[*User]int64{}, unshared: map[string]*User{}, sharing: map[string]bool{}, told: map[string]bool{}}
	var err error
	if w.locks, err = l.node.WatchLocks(func(pad, why string) { l.hub.onSharedLock(pad, why) }); err != nil {
		return err
	}
	if w.recv, err = l.node.WatchRecv(func(pad string, mark int64) { w.recv[pad] = max(w.recv[pad], mark) }); err != nil {
		return err
	}
	l.copies = w
	l.post(func() { l.hub.reconcileLocks() }) // runs once the hub exists
	return nil
}

// followRecv, before a session's first frame is opened, starts u's receiver
// where the furthest node accepted its frames.
func (h *Hub) followRecv(u *User) {
	if h.l.node != nil {
		u.receiver.Follow(h.l.copies.recv[u.sendID.String()])
	}
}

// shareRecv tells the other nodes how far this one accepted u's frames
// (each housekeeping tick, and as a session ends).
func (h *Hub) shareRecv(u *User) {
	if h.l.node == nil || u.receiver == nil {
		return
	}
	w, pad, mark := h.l.copies, u.sendID.String(), u.receiver.Expected()
	if mark > w.sent[u] && mark > w.recv[pad] {
		w.sent[u] = mark
		h.l.node.RaiseRecv(pad, mark)
	}
}

// shareRecvs is shareRecv for every account whose pads are open here (the
// others accept no frames), and forgets what it shared for the rest: their
// marks are in the bucket, and so in recv, by the time they open again.
func (h *Hub) shareRecvs() {
	w := h.l.copies
	for u := range h.acct.opened {
		h.shareRecv(u)
	}
	for u := range w.sent {
		if _, open := h.acct.opened[u]; !open || u.receiver == nil || h.acct.byName[u.Name] != u {
			delete(w.sent, u)
		}
	}
}

// locked says why u is refused: its own lock file, or the cluster's lock on
// its bundle (which this node then keeps on disk too, so that `padchatd user
// unlock` works here and the lock holds while NATS is unreachable).
func (h *Hub) locked(u *User) string {
	if why := u.locked(); why != "" || h.l.node == nil {
		return why
	}
	why := h.l.copies.locks[u.sendID.String()]
	if why != "" {
		h.lockFromBucket(u, why)
	}
	return why
}

func (h *Hub) lockHere(u *User, why string) {
	if err := u.lock(why); err != nil {
		h.l.log.Error().Err(err).Str("user", u.Name).Msg("cannot write lock file")
	}
}

// lockFromBucket writes the bucket's lock on u here, as one the bucket holds.
func (h *Hub) lockFromBucket(u *User, why string) {
	h.lockHere(u, why)
	h.markLockShared(u)
}

// shareLock gives u's lock, set here, to every node: again each heartbeat
// until the bucket holds it.
func (h *Hub) shareLock(u *User) {
	if h.l.node == nil {
		return
	}
	w, pad := h.l.copies, u.sendID.String()
	w.locks[pad] = u.lockWhy
	w.unshared[pad] = u
	h.sendLock(pad, u)
}

// retryLocks tries again to share the locks the bucket does not hold yet
// (each heartbeat).
func (h *Hub) retryLocks() {
	for pad, u := range h.l.copies.unshared {
		h.sendLock(pad, u)
	}
}

func (h *Hub) sendLock(pad string, u *User) {
	w := h.l.copies
	if w.sharing[pad] {
		return
	}
	w.sharing[pad] = true
	h.l.node.Lock(pad, u.lockWhy, func(err error) { h.lockSent(pad, u, err) })
}

// lockSent takes the outcome of a Lock of pad. An unlock here while it was
// under way is sent again after it, so the bucket ends unlocked.
func (h *Hub) lockSent(pad string, u *User, err error) {
	w := h.l.copies
	delete(w.sharing, pad)
	switch {
	case w.unshared[pad] != u: // unlocked here, or seen in the bucket, meanwhile
		if err == nil && u.lockWhy == "" {
			h.l.node.Unlock(pad)
		}
	case err != nil:
		if !w.told[pad] {
			w.told[pad] = true
			h.l.log.Error().Err(err).Str("user", u.Name).Msg("cluster: lock not shared yet (only this node refuses the bundle); trying again each second")
		}
	default:
		h.lockInBucket(pad, u)
	}
}

// lockInBucket: the bucket holds a lock on u's bundle, set here while
// unshared, so an unlock in the bucket lifts it from now on.
func (h *Hub) lockInBucket(pad string, u *User) {
	w := h.l.copies
	delete(w.unshared, pad)
	h.markLockShared(u)
	if w.told[pad] {
		delete(w.told, pad)
		h.l.log.Info().Str("user", u.Name).Msg("cluster: lock shared with every node")
	}
}

// markLockShared records that the bucket holds u's lock as its LOCKED file
// now stands.
func (h *Hub) markLockShared(u *User) {
	fi, err := os.Stat(filepath.Join(u.dir, lockFile))
	if err == nil {
		err = os.WriteFile(filepath.Join(u.dir, lockSharedFile), lockStamp(fi), 0o600)
	}
	if err != nil && h.acct.byName[u.Name] == u { // a removed account's files are gone
		h.l.log.Warn().Err(err).Str("user", u.Name).Msg("cluster: lock not marked shared (a restart shares it again)")
	}
}

// lockWasShared: the bucket held u's lock as its LOCKED file stands now.
func lockWasShared(u *User) bool {
	fi, err := os.Stat(filepath.Join(u.dir, lockFile))
	if err != nil {
		return false
	}
	b, err := os.ReadFile(filepath.Join(u.dir, lockSharedFile))
	return err == nil && string(b) == string(lockStamp(fi))
}

func lockStamp(fi os.FileInfo) []byte {
	return strconv.AppendInt(nil, fi.ModTime().UnixNano(), 10)
}

// clusterSynced follows an operator's change on this node with the cluster:
// an unlock here lifts the lock on every node.
func (h *Hub) clusterSynced(name, what string) {
	u := h.acct.user(name)
	if h.l.node == nil || u == nil || what != "unlocked" {
		return
	}
	w, pad := h.l.copies, u.sendID.String()
	w.locks[pad] = ""
	delete(w.unshared, pad)
	delete(w.told, pad)
	h.l.node.Unlock(pad)
}

// onSharedLock applies a change of the bucket (another node's lock or
// unlock, or the whole bucket again after a reconnection): a lock ends the
// bundle's session here at once; an unlock lifts only a lock the bucket held
// (one set here while NATS was unreachable stays, and is being shared).
func (h *Hub) onSharedLock(pad, why string) {
	w := h.l.copies
	w.locks[pad] = why
	id, err := otp.ParsePadID(pad)
	u := h.acct.lookup(id)
	switch {
	case err != nil || u == nil:
	case why != "" && u.lockWhy != "":
		if w.unshared[pad] == u {
			h.lockInBucket(pad, u)
		}
	case why != "":
		h.l.log.Error().Str("user", u.Name).Msg("account locked by another node: pad reuse detected there")
		h.lockFromBucket(u, why)
		if s := u.session; s != nil {
			s.bye(wire.ByeLocked, "account locked: this bundle was used from two places")
			s.c.kill(ReasonForged)
		}
	case u.lockWhy != "" && lockWasShared(u):
		h.unlockHere(u)
	}
}

func (h *Hub) unlockHere(u *User) {
	u.lockWhy = ""
	delete(h.l.copies.unshared, u.sendID.String())
	delete(h.l.copies.told, u.sendID.String())
	for _, f := range []string{lockSharedFile, lockFile} { // the mark never outlives its lock
		if err := os.Remove(filepath.Join(u.dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			h.l.log.Error().Err(err).Str("user", u.Name).Msg("cannot remove lock file")
			return
		}
	}
	h.l.log.Info().Str("user", u.Name).Msg("account unlocked on another node")
}

// reconcileLocks, once at start, makes this node's lock files agree with the
// bucket. A lock file is lifted only when the bucket held that very lock
// (lockWasShared) and now says it was unlocked since; any other lock file the
// bucket lacks (NATS was unreachable when it was set, or the bucket's unlock
// is older) is shared now; the bucket's locks are written here.
func (h *Hub) reconcileLocks() {
	for _, u := range h.acct.byName {
		why, known := h.l.copies.locks[u.sendID.String()]
		switch {
		case u.lockWhy != "" && why != "":
			if !lockWasShared(u) {
				h.markLockShared(u)
			}
		case u.lockWhy != "" && known && lockWasShared(u):
			h.unlockHere(u)
		case u.lockWhy != "":
			h.shareLock(u)
		case why != "":
			h.lockFromBucket(u, why)
		}
	}
}
