package cluster

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A bucket whose watchers the test drives: each WatchAll hands out the next.
type fakeKV struct {
	jetstream.KeyValue
	mu   sync.Mutex
	next []*fakeWatcher
}

func (kv *fakeKV) WatchAll(context.Context, ...jetstream.WatchOpt) (jetstream.KeyWatcher, error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	w := kv.next[0]
	kv.next = kv.next[1:]
	return w, nil
}

func (kv *fakeKV) left() int { kv.mu.Lock(); defer kv.mu.Unlock(); return len(kv.next) }

type fakeWatcher struct {
	ch   chan jetstream.KeyValueEntry // unbuffered: a send returns once the entry is taken
	stop sync.Once
}

func newFakeWatcher() *fakeWatcher { return &fakeWatcher{ch: make(chan jetstream.KeyValueEntry)} }

func (w *fakeWatcher) Updates() <-chan jetstream.KeyValueEntry { return w.ch }
func (w *fakeWatcher) Stop() error                             { w.stop.Do(func() { close(w.ch) }); return nil }

type fakeEntry struct {
	key, value string
	rev        uint64
}

func (e fakeEntry) Bucket() string                  { return "b" }
func (e fakeEntry) Key() string                     { return e.key }
func (e fakeEntry) Value() []byte                   { return []byte(e.value) }
func (e fakeEntry) Revision() uint64                { return e.rev }
func (e fakeEntry) Created() time.Time              { return time.Time{} }
func (e fakeEntry) Delta() uint64                   { return 0 }
func (e fakeEntry) Operation() jetstream.KeyValueOp { return jetstream.KeyValuePut }

// After a reconnection the buckets are read again by a new watcher while the
// old one still runs. An entry the old one hands after the new one read a
// later value of that key is stale: it must not be applied over it (a stale
// lock entry would lock or lift an account wrongly).
func TestRewatchDropsTheOldWatchersStaleEntries(t *testing.T) {
	old, fresh := newFakeWatcher(), newFakeWatcher()
	kv := &fakeKV{next: []*fakeWatcher{old, fresh}}
	n := &Node{opt: Options{Post: func(f func()) { f() }, Log: func(string, error) {}}}
	var mu sync.Mutex
	got := map[string]string{}
	value := func(k string) string { mu.Lock(); defer mu.Unlock(); return got[k] }
	record := func(e jetstream.KeyValueEntry) { mu.Lock(); got[e.Key()] = string(e.Value()); mu.Unlock() }

	go func() { old.ch <- fakeEntry{"k", "v1", 1}; old.ch <- nil }()
	require.NoError(t, n.watchAll(kv, record, record))
	require.Equal(t, "v1", value("k"))

	done := make(chan struct{})
	go func() { n.rewatch(); close(done) }()
	fresh.ch <- fakeEntry{"k", "v3", 3} // the new watcher reads the bucket as it is now
	old.ch <- fakeEntry{"k", "v2", 2}   // the old one catches up late
	old.ch <- fakeEntry{"other", "x", 4}
	assert.Eventually(t, func() bool { return value("other") == "x" }, 5*time.Second, time.Millisecond,
		"a newer entry from the old watcher still counts")
	fresh.ch <- nil
	<-done
	assert.Equal(t, "v3", value("k"), "the stale entry is dropped")

	fresh.ch <- fakeEntry{"other", "x", 4} // the new watcher's copy of what the old one handed
	fresh.ch <- fakeEntry{"k", "v5", 5}
	assert.Eventually(t, func() bool { return value("k") == "v5" }, 5*time.Second, time.Millisecond, "later entries follow")
	n.stopWatches()
}

// A NATS store lost and made again restarts the bucket's revisions; the
// entries that follow are dropped until they pass the old ones. The re-read
// after the reconnection notices, and says so (once per bucket read).
func TestRewatchSaysWhenRevisionsWentBack(t *testing.T) {
	first, back, same, raced := newFakeWatcher(), newFakeWatcher(), newFakeWatcher(), newFakeWatcher()
	kv := &fakeKV{next: []*fakeWatcher{first, back, same, raced}}
	var mu sync.Mutex
	var logged []string
	handed := map[string]uint64{}
	n := &Node{opt: Options{Post: func(f func()) { f() }, Log: func(what string, _ error) {
		mu.Lock()
		logged = append(logged, what)
		mu.Unlock()
	}}}
	record := func(e jetstream.KeyValueEntry) { mu.Lock(); handed[e.Key()] = e.Revision(); mu.Unlock() }
	go func() { first.ch <- fakeEntry{"k", "v5", 5}; first.ch <- fakeEntry{"j", "x", 6}; first.ch <- nil }()
	require.NoError(t, n.watchAll(kv, record, record))

	reread := func(w *fakeWatcher, entries ...fakeEntry) []string {
		done := make(chan struct{})
		go func() { n.rewatch(); close(done) }()
		if w == raced { // the old watcher hands a change made while the new one starts
			require.Eventually(t, func() bool { return kv.left() == 0 }, 5*time.Second, time.Millisecond)
			same.ch <- fakeEntry{"k", "v8", 8}
			require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return handed["k"] == 8 }, 5*time.Second, time.Millisecond)
		}
		for _, e := range entries {
			w.ch <- e
		}
		w.ch <- nil
		<-done
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(logged)
	}
	got := reread(back, fakeEntry{"k", "v1", 1}, fakeEntry{"j", "y", 2})
	require.Len(t, got, 1)
	assert.Contains(t, got[0], "bucket b: revisions went back")
	assert.Contains(t, got[0], "restart every node")
	assert.Len(t, reread(same, fakeEntry{"k", "v5", 5}, fakeEntry{"j", "x", 6}), 1, "a bucket as it was says nothing")
	assert.Len(t, reread(raced, fakeEntry{"k", "v7", 7}, fakeEntry{"j", "x", 6}), 1,
		"nor one read just before a change the old watcher handed first")
	n.stopWatches()
}

// Each reconnection asks for a re-read of every bucket; on a flapping link
// those asked for while one runs make one more, not one each.
func TestRewatchesCoalesce(t *testing.T) {
	first, r1, r2, r3 := newFakeWatcher(), newFakeWatcher(), newFakeWatcher(), newFakeWatcher()
	kv := &fakeKV{next: []*fakeWatcher{first, r1, r2, r3}}
	n := &Node{opt: Options{Post: func(f func()) { f() }, Log: func(string, error) {}}}
	nothing := func(jetstream.KeyValueEntry) {}
	go func() { first.ch <- nil }()
	require.NoError(t, n.watchAll(kv, nothing, nothing))

	n.rewatchWanted()
	require.Eventually(t, func() bool { return kv.left() == 2 }, 5*time.Second, time.Millisecond, "a re-read starts")
	for range 5 { // reconnections while it reads
		n.rewatchWanted()
	}
	r1.ch <- nil
	require.Eventually(t, func() bool { return kv.left() == 1 }, 5*time.Second, time.Millisecond, "one more re-read follows")
	r2.ch <- nil
	require.Eventually(t, func() bool {
		n.watches.mu.Lock()
		defer n.watches.mu.Unlock()
		return !n.watches.rereading
	}, 5*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond) // a third would have asked for its watcher by now
	assert.Equal(t, 1, kv.left(), "and no third")
	n.stopWatches()
}
