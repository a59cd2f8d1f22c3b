// Account locks shared by the nodes: a bundle seen sending from two places is
// refused by every node, not only by the one that saw it.
package cluster

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// LockBucket is the KV bucket of locked bundles: key = the send pad id of the
// bundle (a renewed account has another, so its new bundle is not locked),
// value = why. An unlock leaves a delete marker, which tells a node that was
// down meanwhile that its own lock file is stale.
const LockBucket = "padchat_locks"

func (n *Node) openLocks(ctx context.Context) (err error) {
	n.locks, err = n.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: LockBucket, Description: "padchat: bundles refused by every node (pad reuse detected)",
		History: 1, Storage: jetstream.FileStorage, Replicas: n.opt.Replicas,
	})
	return err
}

// LockEntry is the bucket's word on one bundle: why it is locked ("" once
// unlocked) and the bucket revision that said so. Revisions only rise, so
// they order a node's own writes against what its watcher hands it.
type LockEntry struct {
	Why string
	Rev uint64
}

// lockTries bounds Lock's rounds of Create and Get: each lost round means
// the bucket's entry changed between the two.
const lockTries = 3

// Lock locks pad's bundle on every node, then hands done (on the loop) the
// revision of a lock on pad the bucket held after this call began (this
// Create's own, or a lock already there), or why there is none. Create is the
// compare-and-set: the first reason stays, a second node seeing the same copy
// changes nothing but learns which entry holds its lock.
// While NATS is unreachable it fails at once rather than leave a request in
// nats.go's reconnect buffer that could land after a later unlock.
func (n *Node) Lock(pad, why string, done func(rev uint64, err error)) {
	if !n.Connected() {
		n.opt.Post(func() { done(0, nats.ErrDisconnected) })
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		var (
			rev uint64
			err error
		)
		for range lockTries {
			if rev, err = n.locks.Create(ctx, pad, []byte(why)); !errors.Is(err, jetstream.ErrKeyExists) {
				break
			}
			var e jetstream.KeyValueEntry
			if e, err = n.locks.Get(ctx, pad); err == nil {
				rev = e.Revision()
				break
			}
			if !errors.Is(err, jetstream.ErrKeyNotFound) {
				break
			} // unlocked between the two: create again
		}
		n.opt.Post(func() { done(rev, err) })
	}()
}

// Unlock lifts pad's lock on every node if the bucket's last entry for pad is
// still rev, the lock the operator lifted, then hands done (on the loop) nil,
// ErrLockChanged when the bucket has a later entry (a lock set since stays),
// or why it could not. Like Lock, it fails at once while NATS is unreachable:
// the caller tries again. rev must be a revision the caller saw: nats.go
// sends a Delete with revision 0 unconditioned, which would lift whatever
// lock the bucket holds by then, so Unlock refuses it (ErrNoRevision).
func (n *Node) Unlock(pad string, rev uint64, done func(error)) {
	if rev == 0 {
		n.opt.Post(func() { done(ErrNoRevision) })
		return
	}
	if !n.Connected() {
		n.opt.Post(func() { done(nats.ErrDisconnected) })
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		err := n.locks.Delete(ctx, pad, jetstream.LastRevision(rev))
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			err = ErrLockChanged
		}
		n.opt.Post(func() { done(err) })
	}()
}

// WatchLocks returns the bucket as it is now (pad -> its entry; Why "" for a
// pad unlocked since it was locked), so a starting node knows every lock
// before its first login, then hands f (on the loop) each change.
func (n *Node) WatchLocks(f func(pad string, e LockEntry)) (map[string]LockEntry, error) {
	return watchValues(n, n.locks, lockEntry, f)
}

func lockEntry(e jetstream.KeyValueEntry) LockEntry {
	if e.Operation() != jetstream.KeyValuePut {
		return LockEntry{Rev: e.Revision()}
	}
	if len(e.Value()) == 0 {
		return LockEntry{Why: "locked", Rev: e.Revision()}
	}
	return LockEntry{Why: string(e.Value()), Rev: e.Revision()}
}
