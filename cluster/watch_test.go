package cluster

import (
	"context"
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
	next []*fakeWatcher
}

func (kv *fakeKV) WatchAll(context.Context, ...jetstream.WatchOpt) (jetstream.KeyWatcher, error) {
	w := kv.next[0]
	kv.next = kv.next[1:]
	return w, nil
}

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
