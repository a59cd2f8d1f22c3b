// Cluster mode's defence against a copied bundle: how far each node accepted
// a user's frames (cluster/recvmarks.go), so a copy replaying that pad on
// another node is caught there, and the account lock that follows, refused
// by every node (cluster/locks.go).
package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"padchat/cluster"
	"padchat/otp"
	"padchat/wire"
)

// copyWatch is the loop's copy of the lock and receive mark buckets, keyed by
// the user's send pad id.
type copyWatch struct {
	locks map[string]cluster.LockEntry // the lock bucket as this node last saw it
	recv  map[string]int64             // the highest offset some node accepted
	sent  map[*User]int64              // the marks this node shared, for accounts open here
	// bucket takes this node's locks and unlocks to the lock bucket: the
	// node (a test puts a gate in between).
	bucket lockBucket
	// pending: the last change made here to a pad's lock (a lock, or the
	// operator's unlock) that the bucket is not known to hold yet, tried
	// again each heartbeat until it does; sharing: the change whose request
	// is under way, one at a time per pad, so the bucket takes a pad's
	// changes in the order they were made here.
	pending map[string]*lockChange
	sharing map[string]*lockChange
	// held: the revision of the bucket's lock that holds this node's lock
	// on the pad (none for one taken from LOCKED.shared at start): an unlock
	// in the bucket lifts the lock here only if it came after that entry.
	held map[string]uint64
	told map[string]bool // a failure to share logged (once per change)
}

// lockBucket is what the loop needs of the cluster's lock bucket
// (cluster.Node.Lock and Unlock).
type lockBucket interface {
	Lock(pad, why string, done func(rev uint64, err error))
	Unlock(pad string, rev uint64, done func(error))
}

// lockChange is one change made here to a pad's lock; each lock set here
// is a change of its own, so the answer to one lock's request never stands
// for a later lock of the pad.
type lockChange struct {
	u      *User
	unlock bool
	// An unlock: the bucket entry it lifts. after: it was made while a lock
	// was on its way, and lifts that lock's entry, known once it answers.
	rev   uint64
	after bool
	// overtaken: the bucket refused the unlock (a later entry than the lock
	// it lifts) before the watcher showed that entry: it is not sent again,
	// and that entry settles it once it arrives (onSharedLock).
	overtaken bool
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
	w := &copyWatch{sent: map[*User]int64{}, bucket: l.node, pending: map[string]*lockChange{},
		sharing: map[string]*lockChange{}, held: map[string]uint64{}, told: map[string]bool{}}
	var err error
	if w.locks, err = l.node.WatchLocks(func(pad string, e cluster.LockEntry) { l.hub.onSharedLock(pad, e) }); err != nil {
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
	for _, u := range h.acct.opened {
		h.shareRecv(u)
	}
	for u := range w.sent {
		if u.opened == 0 || u.receiver == nil || h.acct.byName[u.Name] != u {
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
	pad := u.sendID.String()
	why := h.l.copies.bucketWhy(pad)
	if why != "" {
		h.lockFromBucket(u, h.l.copies.locks[pad])
	}
	return why
}

// bucketWhy is why the bucket locks pad, unless that is the lock the
// operator lifted here and the unlock is still on its way.
func (w *copyWatch) bucketWhy(pad string) string {
	e := w.locks[pad]
	if c := w.pending[pad]; c != nil && c.unlock && (c.after || e.Rev <= c.rev) {
		return ""
	}
	return e.Why
}

func (h *Hub) lockHere(u *User, why string) {
	if err := u.lock(why); err != nil {
		h.l.log.Error().Err(err).Str("user", u.Name).Msg("cannot write lock file")
	}
}

// lockFromBucket writes the bucket's lock e on u here, as one the bucket holds.
func (h *Hub) lockFromBucket(u *User, e cluster.LockEntry) {
	h.lockHere(u, e.Why)
	h.l.copies.held[u.sendID.String()] = e.Rev
	h.markLockShared(u)
}

// shareLock gives u's lock, set here, to every node: again each heartbeat
// until the bucket holds it.
func (h *Hub) shareLock(u *User) {
	if h.l.node == nil {
		return
	}
	h.change(u.sendID.String(), &lockChange{u: u})
}

// change makes c the pad's change for the bucket, in place of one not sent
// yet (a lock set after an unlock here wins, as it would in the bucket).
func (h *Hub) change(pad string, c *lockChange) {
	w := h.l.copies
	h.forget(pad)
	delete(w.told, pad)
	w.pending[pad] = c
	if c.unlock && !c.after {
		h.keepUnlock(c)
	}
	h.sendChange(pad)
}

// forget drops the pad's pending change: the bucket holds it, or it has
// nothing left to do. An unlock's file goes with it.
func (h *Hub) forget(pad string) {
	w := h.l.copies
	if c := w.pending[pad]; c != nil && c.unlock {
		h.dropUnlock(c.u)
	}
	delete(w.pending, pad)
}

func (h *Hub) dropUnlock(u *User) {
	if u.gone { // renewed or removed: its directory is another account's now
		return
	}
	if err := os.Remove(filepath.Join(u.dir, unlockFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		h.l.log.Warn().Err(err).Str("user", u.Name).Msg("cluster: cannot remove " + unlockFile)
	}
}

// unlockFile, beside a user's (removed) LOCKED file, holds "PAD REV": the
// send pad id whose lock the operator lifted here and the revision of that
// lock in the bucket, while the bucket does not know of the unlock yet, so
// that a restart sends the unlock again rather than take that lock back from
// the bucket. The pad id ties it to the account as it was: after a renew
// the directory holds another pad's account.
const unlockFile = "UNLOCK.pending"

// keepUnlock writes c's unlock file (once the revision it lifts is known).
func (h *Hub) keepUnlock(c *lockChange) {
	if c.u.gone {
		return
	}
	b := strconv.AppendUint([]byte(c.u.sendID.String()+" "), c.rev, 10)
	if err := os.WriteFile(filepath.Join(c.u.dir, unlockFile), b, 0o600); err != nil {
		h.l.log.Warn().Err(err).Str("user", c.u.Name).Msg("cluster: unlock not kept on disk (a restart before NATS has it takes the lock back)")
	}
}

// keptUnlock reads u's unlock file: the revision it lifts, if there is one
// (ok), or why the file there is not to be trusted (err: unreadable, or
// another pad's).
func keptUnlock(u *User) (rev uint64, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(u.dir, unlockFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	pad, r, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	if rev, err = strconv.ParseUint(r, 10, 64); err != nil || rev == 0 {
		return 0, false, fmt.Errorf("unreadable: %q", b)
	}
	if pad != u.sendID.String() {
		return 0, false, fmt.Errorf("for pad %s, not the account's %s (renewed since)", pad, u.sendID)
	}
	return rev, true, nil
}

// retryLocks tries again to give the bucket the changes it does not hold
// yet (each heartbeat).
func (h *Hub) retryLocks() {
	for pad := range h.l.copies.pending {
		h.sendChange(pad)
	}
}

// sendChange sends the pad's pending change, unless a request for the pad is
// under way: its answer sends the change after it.
func (h *Hub) sendChange(pad string) {
	w := h.l.copies
	c := w.pending[pad]
	if c == nil || w.sharing[pad] != nil || c.after || c.overtaken {
		return
	}
	w.sharing[pad] = c
	if c.unlock {
		w.bucket.Unlock(pad, c.rev, func(err error) { h.unlockSent(pad, c, err) })
	} else {
		w.bucket.Lock(pad, c.u.lockWhy, func(rev uint64, err error) { h.lockSent(pad, c, rev, err) })
	}
}

// lockSent takes the answer to the Lock of c: the bucket's lock at rev holds
// c's lock (stamped only if c is still the pad's lock: a lock set here since
// is another, and is sent next); an unlock made meanwhile lifts that entry.
func (h *Hub) lockSent(pad string, c *lockChange, rev uint64, err error) {
	w := h.l.copies
	delete(w.sharing, pad)
	now := w.pending[pad]
	switch {
	case now == c && err != nil:
		h.shareFailed(pad, c, err)
	case now == c:
		h.forget(pad)
		w.held[pad] = rev
		if rev > w.locks[pad].Rev { // an unlock here lifts that entry, even before the watcher shows it
			w.locks[pad] = cluster.LockEntry{Why: c.u.lockWhy, Rev: rev}
		}
		h.markLockShared(c.u)
		h.shareDone(pad, c)
		if e := w.locks[pad]; e.Why == "" && e.Rev > rev { // unlocked elsewhere since
			h.unlockHere(c.u)
		}
		return
	case now != nil && now.after:
		if err == nil {
			now.rev = rev
		}
		now.after = false
		if now.rev == 0 { // the lock's fate is unknown, and the bucket had nothing before it
			h.nothingToUnlock(pad, now.u)
			return
		}
		h.keepUnlock(now)
	}
	if now != c { // a failed one waits for the heartbeat
		h.sendChange(pad)
	}
}

// unlockSent takes the answer to the Unlock of c. A later entry in the bucket
// than the lock it lifted (a lock set since) stays, and holds here too.
func (h *Hub) unlockSent(pad string, c *lockChange, err error) {
	w := h.l.copies
	delete(w.sharing, pad)
	switch {
	case w.pending[pad] != c: // a later change, or the bucket's entry after c's
		h.sendChange(pad)
	case errors.Is(err, cluster.ErrLockChanged):
		if e := w.locks[pad]; e.Rev > c.rev { // seen while the unlock waited
			h.unlockSettled(pad, c, e)
			h.applyLock(pad, e)
		} else { // the watcher brings that entry: onSharedLock settles c then
			c.overtaken = true
		}
	case err != nil: // tried again at the heartbeat
		h.shareFailed(pad, c, err)
	default: // its delete marker is on its way
		h.forget(pad)
		w.locks[pad] = cluster.LockEntry{Rev: w.locks[pad].Rev}
		h.shareDone(pad, c)
	}
}

// unlockSettled: the bucket has e, a later entry than the lock the unlock c
// lifts, so c has nothing left to do. An unlock there (c's own that landed
// late, or another node's) is what the operator asked for; a lock set since
// stays, and the operator is told that it won.
func (h *Hub) unlockSettled(pad string, c *lockChange, e cluster.LockEntry) {
	w := h.l.copies
	switch {
	case e.Why != "":
		h.l.log.Warn().Str("user", c.u.Name).Uint64("revision", e.Rev).
			Msg("cluster: unlock overtaken by a later lock (pad reuse seen again, here or on another node): the bundle stays locked on every node")
	case w.told[pad]:
		h.l.log.Info().Str("user", c.u.Name).Uint64("revision", e.Rev).
			Msg("cluster: unlock shared with every node (the bucket has an unlock since the lock it lifted: this one, landed late, or another node's)")
	}
	delete(w.told, pad)
	h.forget(pad)
}

// nothingToUnlock: the operator's unlock of u's lock names no bucket entry
// (this node saw none for the pad, and no lock of its own is known to have
// reached it), so nothing is sent: an unlock with no revision would lift
// whatever the bucket holds by the time it lands, another node's later lock
// included. A lock of this node's that did reach the bucket comes back here
// from the watcher (the safe side): unlock again.
func (h *Hub) nothingToUnlock(pad string, u *User) {
	w := h.l.copies
	delete(w.pending, pad) // no unlock file was written for it
	delete(w.told, pad)
	h.l.log.Info().Str("user", u.Name).Msg("cluster: unlock not sent: the lock bucket holds no lock of this bundle known here")
}

func (h *Hub) shareFailed(pad string, c *lockChange, err error) {
	w := h.l.copies
	if w.told[pad] {
		return
	}
	w.told[pad] = true
	if c.unlock {
		h.l.log.Error().Err(err).Str("user", c.u.Name).Msg("cluster: unlock not shared yet (other nodes still refuse the bundle); trying again each second")
	} else {
		h.l.log.Error().Err(err).Str("user", c.u.Name).Msg("cluster: lock not shared yet (only this node refuses the bundle); trying again each second")
	}
}

func (h *Hub) shareDone(pad string, c *lockChange) {
	w := h.l.copies
	if !w.told[pad] {
		return
	}
	delete(w.told, pad)
	if c.unlock {
		h.l.log.Info().Str("user", c.u.Name).Msg("cluster: unlock shared with every node")
	} else {
		h.l.log.Info().Str("user", c.u.Name).Msg("cluster: lock shared with every node")
	}
}

// markLockShared records that the bucket holds u's lock as its LOCKED file
// now stands.
func (h *Hub) markLockShared(u *User) {
	if u.gone { // renewed or removed: its directory is another account's now
		return
	}
	fi, err := os.Stat(filepath.Join(u.dir, lockFile))
	if err == nil {
		err = os.WriteFile(filepath.Join(u.dir, lockSharedFile), lockStamp(fi), 0o600)
	}
	if err != nil {
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
// an unlock here lifts, on every node, the lock the bucket had as this node
// last saw it (or the lock under way from here), and no later one.
func (h *Hub) clusterSynced(name, what string) {
	u := h.acct.user(name)
	if h.l.node == nil || u == nil || what != "unlocked" {
		return
	}
	w, pad := h.l.copies, u.sendID.String()
	s := w.sharing[pad]
	c := &lockChange{u: u, unlock: true, rev: w.locks[pad].Rev, after: s != nil && !s.unlock}
	if c.rev == 0 && !c.after {
		h.forget(pad) // a lock of this node's not sent yet goes with it
		h.nothingToUnlock(pad, u)
		return
	}
	h.change(pad, c)
}

// onSharedLock applies a change of the bucket (another node's lock or
// unlock, this node's own, or the whole bucket again after a reconnection).
// While an unlock made here is on its way, the lock it lifts is not applied.
func (h *Hub) onSharedLock(pad string, e cluster.LockEntry) {
	w := h.l.copies
	w.locks[pad] = e
	if c := w.pending[pad]; c != nil && c.unlock {
		if c.after || e.Rev <= c.rev {
			return
		}
		h.unlockSettled(pad, c, e) // a later entry: the unlock has nothing left to lift
	}
	h.applyLock(pad, e)
}

// applyLock makes u's lock here follow the bucket's entry e: a lock ends the
// bundle's session here at once; an unlock lifts only a lock the bucket held
// before it (one set here and not shared yet stays, and is being shared).
func (h *Hub) applyLock(pad string, e cluster.LockEntry) {
	w := h.l.copies
	id, err := otp.ParsePadID(pad)
	u := h.acct.lookup(id)
	switch {
	case err != nil || u == nil:
	case e.Why != "" && u.lockWhy != "": // the Lock's answer says whether this entry holds it
	case e.Why != "":
		h.l.log.Error().Str("user", u.Name).Msg("account locked by another node: pad reuse detected there")
		h.lockFromBucket(u, e)
		if s := u.session; s != nil {
			s.bye(wire.ByeLocked, "account locked: this bundle was used from two places")
			s.c.kill(ReasonForged)
		}
	case u.lockWhy != "" && w.pending[pad] == nil && e.Rev > w.held[pad] && lockWasShared(u):
		h.unlockHere(u)
	}
}

func (h *Hub) unlockHere(u *User) {
	u.lockWhy = ""
	delete(h.l.copies.held, u.sendID.String())
	if u.gone { // renewed or removed: its directory is another account's now
		return
	}
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
// is older) is shared now; the bucket's locks are written here, but for the
// one an unlock here lifted before the bucket knew it (unlockFile): that
// unlock is sent again.
func (h *Hub) reconcileLocks() {
	w := h.l.copies
	for _, u := range h.acct.byName {
		pad := u.sendID.String()
		e, known := w.locks[pad]
		kept, unlocking, bad := keptUnlock(u)
		switch {
		case bad != nil:
			h.l.log.Warn().Err(bad).Str("user", u.Name).Msg("cluster: " + unlockFile + " dropped: an unlock it held is not sent again (unlock again if the bundle is refused)")
			h.dropUnlock(u)
		case unlocking && u.lockWhy == "" && e.Why != "" && e.Rev <= kept:
			h.change(pad, &lockChange{u: u, unlock: true, rev: kept}) // the operator's, not in the bucket yet
			continue
		case unlocking: // done, or a lock came since
			h.dropUnlock(u)
		}
		switch {
		case u.lockWhy != "" && e.Why != "":
			w.held[pad] = e.Rev
			if !lockWasShared(u) {
				h.markLockShared(u)
			}
		case u.lockWhy != "" && known && lockWasShared(u):
			h.unlockHere(u)
		case u.lockWhy != "":
			h.shareLock(u)
		case e.Why != "":
			h.lockFromBucket(u, e)
		}
	}
}
