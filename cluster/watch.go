// Following KV buckets on the loop, and reading them again after NATS comes
// back: the ordered consumer behind a jetstream.KeyWatcher notices a restarted
// server only after two missed heartbeats (10 s or more), and a lock set
// meanwhile must not wait that long.
package cluster

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// watch is one bucket followed for the node's lifetime.
type watch struct {
	kv     jetstream.KeyValue
	change func(jetstream.KeyValueEntry) // on nats.go's goroutines
	w      jetstream.KeyWatcher          // under watches.mu
	// rev, under watches.mu: the revision of the last entry of each key
	// handed on. After a reconnection the old watcher runs on until the new
	// one has read the whole bucket, and an entry it still hands then is
	// older than what the new one read: it is dropped, never applied over a
	// newer value.
	rev map[string]uint64
}

type watches struct {
	mu   sync.Mutex
	all  []*watch
	done bool // Close ran
	// Under mu. rereading: a re-read after a reconnection runs (one at a
	// time: two would each start a watcher and stop only the one they
	// found); wanted: a reconnection came during it, so one more follows
	// it. However often a flapping link reconnects meanwhile, that is one
	// re-read, not one each.
	rereading, wanted bool
}

// rewatchFor bounds the tries to read the buckets again after a reconnection
// (JetStream may still be starting on a restarted server).
const rewatchFor = 10 * time.Second

// watchAll reads kv's current entries into initial, on the caller's
// goroutine, then hands every later change to change, on nats.go's; after a
// reconnection it hands change the whole bucket again, then what follows.
func (n *Node) watchAll(kv jetstream.KeyValue, initial, change func(jetstream.KeyValueEntry)) error {
	wa := &watch{kv: kv, change: change, rev: map[string]uint64{}}
	if err := n.follow(wa, initial); err != nil {
		return err
	}
	n.watches.mu.Lock()
	n.watches.all = append(n.watches.all, wa)
	n.watches.mu.Unlock()
	return nil
}

// watchValues is watchAll for a bucket the loop keeps a copy of: its entries
// now (key -> value), then each change handed to f on the loop.
func watchValues[V any](n *Node, kv jetstream.KeyValue, value func(jetstream.KeyValueEntry) V, f func(key string, v V)) (map[string]V, error) {
	now := map[string]V{}
	err := n.watchAll(kv, func(e jetstream.KeyValueEntry) { now[e.Key()] = value(e) },
		func(e jetstream.KeyValueEntry) {
			key, v := e.Key(), value(e)
			n.opt.Post(func() { f(key, v) })
		})
	return now, err
}

// hand gives e to f unless an entry of its key at least as recent was given
// already, by this watcher or the one before it; the check and the hand-off
// are one step under watches.mu, so two watchers cannot reorder them.
func (n *Node) hand(wa *watch, e jetstream.KeyValueEntry, f func(jetstream.KeyValueEntry)) {
	n.watches.mu.Lock()
	defer n.watches.mu.Unlock()
	if e.Revision() <= wa.rev[e.Key()] {
		return
	}
	wa.rev[e.Key()] = e.Revision()
	f(e)
}

// follow starts a watcher of wa's bucket in place of the one it had.
func (n *Node) follow(wa *watch, initial func(jetstream.KeyValueEntry)) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	// What was handed on before this watcher began: the bucket as it reads
	// now holds each of those keys at that revision or a later one
	// (revisions only rise), unless it lost what it held. (An entry the old
	// watcher hands meanwhile may be newer than what this one reads: it is
	// not compared.)
	n.watches.mu.Lock()
	before := maps.Clone(wa.rev)
	n.watches.mu.Unlock()
	w, err := wa.kv.WatchAll(context.Background())
	if err != nil {
		return err
	}
	back := ""
	for {
		select {
		case e := <-w.Updates():
			if e != nil {
				if back == "" && e.Revision() < before[e.Key()] {
					back = e.Bucket()
				}
				n.hand(wa, e, initial)
				continue
			}
			// The current values are all in.
			if back != "" {
				n.opt.Post(func() {
					n.opt.Log("cluster: bucket "+back+": revisions went back (NATS lost its store, or the bucket was made again); "+
						"changes are ignored here until their revisions pass the old ones: restart every node", nil)
				})
			}
			n.watches.mu.Lock()
			old, done := wa.w, n.watches.done
			wa.w = w
			n.watches.mu.Unlock()
			if old != nil {
				_ = old.Stop()
			}
			if done {
				_ = w.Stop()
			}
			go func() {
				for e := range w.Updates() {
					if e != nil {
						n.hand(wa, e, wa.change)
					}
				}
			}()
			return nil
		case <-ctx.Done():
			_ = w.Stop()
			return ctx.Err()
		}
	}
}

// rewatchWanted, after a reconnection (nats.go's reconnect handler), starts
// a re-read of every bucket, or asks the one under way for one more.
func (n *Node) rewatchWanted() {
	n.watches.mu.Lock()
	defer n.watches.mu.Unlock()
	if n.watches.rereading {
		n.watches.wanted = true
		return
	}
	n.watches.rereading = true
	go func() {
		for {
			n.rewatch()
			n.watches.mu.Lock()
			again := n.watches.wanted
			n.watches.wanted, n.watches.rereading = false, again
			n.watches.mu.Unlock()
			if !again {
				return
			}
		}
	}()
}

// rewatch follows every bucket again from its current entries (one at a
// time: rewatchWanted).
func (n *Node) rewatch() {
	n.watches.mu.Lock()
	all := slices.Clone(n.watches.all)
	n.watches.mu.Unlock()
	deadline := time.Now().Add(rewatchFor)
	for _, wa := range all {
		for {
			err := n.follow(wa, wa.change)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				n.opt.Post(func() {
					n.opt.Log("cluster: buckets not read again after reconnecting (their watchers recover by themselves)", err)
				})
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
}

func (n *Node) stopWatches() {
	n.watches.mu.Lock()
	defer n.watches.mu.Unlock()
	n.watches.done = true
	for _, wa := range n.watches.all {
		if wa.w != nil {
			_ = wa.w.Stop()
		}
	}
}
