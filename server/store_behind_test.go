// A lazy batch commits behind the loop, and everything after it waits for it to land.
package server

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// heldLazy queues a lazy write that, once its transaction runs it, says so on
// started and holds until release closes; it then notes "lazy" in order.
func heldLazy(s *Store, order *[]string, started, release chan struct{}) {
	s.doLazy(func(tx *bolt.Tx) error {
		close(started)
		<-release
		*order = append(*order, "lazy")
		return tx.Bucket(bktCursors).Put([]byte("acct\x00dev"), u64(7))
	})
}

func waitFor(t *testing.T, ch chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("the lazy batch's transaction never started")
	}
}

// A due batch of history commits on a goroutine: the loop's commit returns
// while its transaction is still held open.
func TestLazyCommitRunsBehindTheLoop(t *testing.T) {
	l, _ := plainLoop(t, Config{HistorySize: 10})
	h, s := l.hub, l.hub.store
	var order []string
	started, release := make(chan struct{}), make(chan struct{})
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	heldLazy(s, &order, started, release)
	l.now = time.Now().UnixNano()
	assert.False(t, h.commit(), "not due yet")
	l.now += int64(lazyDelay)

	returned := make(chan bool, 1)
	go func() { returned <- h.commit() }()
	select {
	case woke := <-returned:
		assert.False(t, woke, "a lazy batch wakes nothing")
	case <-time.After(10 * time.Second):
		t.Fatal("the due history commit held the loop until its transaction ended")
	}
	waitFor(t, started) // it does run, off the loop
	require.NotNil(t, s.behind)
	close(release)
	released = true
	s.join()
	assert.Equal(t, []string{"lazy"}, order)
	assert.Equal(t, uint64(7), s.cursor("acct", "dev"))
}

// While the lazy batch is in its transaction, a read that must see it waits
// for it, and the next durable commit runs only after it landed: history
// and cursors keep their order with what follows them.
func TestLazyCommitLandsBeforeReadsAndCommits(t *testing.T) {
	l, _ := plainLoop(t, Config{HistorySize: 10})
	h, s := l.hub, l.hub.store
	var order []string
	started, release := make(chan struct{}), make(chan struct{})
	heldLazy(s, &order, started, release)
	l.now = time.Now().UnixNano()
	h.commit()
	l.now += int64(lazyDelay)
	h.commit()
	waitFor(t, started)
	// The release comes later than the read below starts, so a read that did
	// not wait would see no cursor; one that waits sees it however late.
	go func() {
		time.Sleep(50 * time.Millisecond)
		close(release)
	}()
	assert.Equal(t, uint64(7), s.cursor("acct", "dev"), "a read waits for the lazy batch in flight")

	// The next batch: lazy again, then a durable write takes it along on the
	// loop, and only after the one behind the loop landed.
	started2, release2 := make(chan struct{}), make(chan struct{})
	heldLazy(s, &order, started2, release2)
	h.commit()
	l.now += int64(lazyDelay)
	h.commit()
	waitFor(t, started2)
	s.do(func(tx *bolt.Tx) error {
		order = append(order, "durable")
		return nil
	})
	woke := false
	s.after(func(err error) { woke = err == nil })
	go func() {
		time.Sleep(50 * time.Millisecond)
		close(release2)
	}()
	assert.True(t, h.commit())
	assert.Nil(t, s.behind, "the commit took in the outcome of the one behind the loop first")
	assert.True(t, woke)
	assert.Equal(t, []string{"lazy", "lazy", "durable"}, order)
}

// A lazy batch that fails behind the loop breaks the store for what follows:
// the next durable write's waiter gets the error, not a false "committed".
func TestLazyCommitFailureBreaksTheStore(t *testing.T) {
	l, _ := plainLoop(t, Config{HistorySize: 10})
	h, s := l.hub, l.hub.store
	s.doLazy(func(*bolt.Tx) error { return errors.New("disk gone") })
	l.now = time.Now().UnixNano()
	h.commit()
	l.now += int64(lazyDelay)
	h.commit()
	var got error
	s.do(func(*bolt.Tx) error { return nil })
	s.after(func(err error) { got = err })
	h.commit()
	assert.ErrorIs(t, got, ErrStoreBroken)
	assert.ErrorIs(t, s.usable(), ErrStoreBroken)
}
