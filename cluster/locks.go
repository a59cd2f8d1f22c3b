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

// Lock locks pad's bundle on every node, then hands done (on the loop) nil
// once the bucket holds a lock for pad, or why it may not. Create is the
// compare-and-set: the first reason stays, a second node seeing the same copy
// changes nothing.
// While NATS is unreachable it fails at once rather than leave a request in
// nats.go's reconnect buffer that could land after a later unlock.
func (n *Node) Lock(pad, why string, done func(error)) {
	if !n.Connected() {
		n.opt.Post(func() { done(nats.ErrDisconnected) })
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		_, err := n.locks.Create(ctx, pad, []byte(why))
		if errors.Is(err, jetstream.ErrKeyExists) {
			err = nil
		}
		n.opt.Post(func() { done(err) })
	}()
}

// Unlock lifts pad's lock on every node.
func (n *Node) Unlock(pad string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if err := n.locks.Delete(ctx, pad); err != nil {
			n.opt.Post(func() { n.opt.Log("cluster: unlock not shared", err) })
		}
	}()
}

// WatchLocks returns the bucket as it is now (pad -> why; "" for a pad
// unlocked since it was locked), so a starting node knows every lock before
// its first login, then hands f (on the loop) each change.
func (n *Node) WatchLocks(f func(pad, why string)) (map[string]string, error) {
	return watchValues(n, n.locks, lockWhy, f)
}

func lockWhy(e jetstream.KeyValueEntry) string {
	if e.Operation() != jetstream.KeyValuePut {
		return ""
	}
	if len(e.Value()) == 0 {
		return "locked"
	}
	return string(e.Value())
}
