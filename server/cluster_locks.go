// Cluster mode's defence against a copied bundle: how far each node accepted
// a user's frames (cluster/recvmarks.go), so a copy replaying that pad on
// another node is caught there, and the account lock that follows, refused
// by every node (cluster/locks.go).
package server

import (
	"errors"
	"os"
	"path/filepath"

	"padchat/otp"
	"padchat/wire"
)

// copyWatch is the loop's copy of the lock and receive mark buckets, keyed by
// the user's send pad id.
type copyWatch struct {
	locks map[string]string // why; "" once unlocked
	recv  map[string]int64  // the highest offset some node accepted
	sent  map[string]int64  // the marks this node shared
}

// startCopyWatch reads both buckets before the first login can happen, then
// follows them on the loop.
func (l *Loop) startCopyWatch() error {
	w := &copyWatch{sent: map[string]int64{}}
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
	if mark > w.sent[pad] && mark > w.recv[pad] {
		w.sent[pad] = mark
		h.l.node.RaiseRecv(pad, mark)
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
		h.lockHere(u, why)
	}
	return why
}

func (h *Hub) lockHere(u *User, why string) {
	if err := u.lock(why); err != nil {
		h.l.log.Error().Err(err).Str("user", u.Name).Msg("cannot write lock file")
	}
}

// shareLock gives u's lock, just set here, to every node.
func (h *Hub) shareLock(u *User) {
	if h.l.node != nil {
		pad := u.sendID.String()
		h.l.copies.locks[pad] = u.lockWhy
		h.l.node.Lock(pad, u.lockWhy)
	}
}

// clusterSynced follows an operator's change on this node with the cluster:
// an unlock here lifts the lock on every node.
func (h *Hub) clusterSynced(name, what string) {
	u := h.acct.user(name)
	if h.l.node == nil || u == nil || what != "unlocked" {
		return
	}
	pad := u.sendID.String()
	h.l.copies.locks[pad] = ""
	h.l.node.Unlock(pad)
}

// onSharedLock applies another node's lock or unlock: a lock ends the
// bundle's session here at once.
func (h *Hub) onSharedLock(pad, why string) {
	h.l.copies.locks[pad] = why
	id, err := otp.ParsePadID(pad)
	u := h.acct.lookup(id)
	if err != nil || u == nil || (u.lockWhy != "") == (why != "") {
		return
	}
	if why == "" {
		h.unlockHere(u)
		return
	}
	h.l.log.Error().Str("user", u.Name).Msg("account locked by another node: pad reuse detected there")
	h.lockHere(u, why)
	if s := u.session; s != nil {
		s.bye(wire.ByeLocked, "account locked: this bundle was used from two places")
		s.c.kill(ReasonForged)
	}
}

func (h *Hub) unlockHere(u *User) {
	u.lockWhy = ""
	if err := os.Remove(filepath.Join(u.dir, lockFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		h.l.log.Error().Err(err).Str("user", u.Name).Msg("cannot remove lock file")
		return
	}
	h.l.log.Info().Str("user", u.Name).Msg("account unlocked on another node")
}

// reconcileLocks, once at start, makes this node's lock files agree with the
// bucket: a lock lifted while this node was away is lifted here, a lock set
// here that the bucket never had (NATS was unreachable) is shared now, and
// the bucket's locks are written here.
func (h *Hub) reconcileLocks() {
	for _, u := range h.acct.byName {
		why, known := h.l.copies.locks[u.sendID.String()]
		switch {
		case u.lockWhy != "" && known && why == "":
			h.unlockHere(u)
		case u.lockWhy != "" && !known:
			h.shareLock(u)
		case u.lockWhy == "" && why != "":
			h.lockHere(u, why)
		}
	}
}
