// Cluster mode's account locks: a bundle one node saw sending from two places
// is refused by every node (the lock bucket, cluster/locks.go).
package server

import (
	"errors"
	"os"
	"path/filepath"

	"padchat/otp"
	"padchat/wire"
)

// startLocks reads the lock bucket before the first login can happen, then
// follows it on the loop.
func (l *Loop) startLocks() error {
	locks, err := l.node.WatchLocks(func(pad, why string) { l.hub.onSharedLock(pad, why) })
	if err != nil {
		return err
	}
	l.locks = locks
	l.post(func() { l.hub.reconcileLocks() }) // runs once the hub exists
	return nil
}

// locked says why u is refused: its own lock file, or the cluster's lock on
// its bundle (which this node then keeps on disk too, so that `padchatd user
// unlock` works here and the lock holds while NATS is unreachable).
func (h *Hub) locked(u *User) string {
	if why := u.locked(); why != "" || h.l.node == nil {
		return why
	}
	why := h.l.locks[u.sendID.String()]
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
		h.l.locks[pad] = u.lockWhy
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
	h.l.locks[pad] = ""
	h.l.node.Unlock(pad)
}

// onSharedLock applies another node's lock or unlock: a lock ends the
// bundle's session here at once.
func (h *Hub) onSharedLock(pad, why string) {
	h.l.locks[pad] = why
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
		why, known := h.l.locks[u.sendID.String()]
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
