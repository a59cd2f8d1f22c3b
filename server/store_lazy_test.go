// Room history and cursors wait for a commit; durable writes and reads do not.
package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// A batch of history alone does not commit in the iteration that queued it
// (no fsync per room message), but when due; a durable write queued
// meanwhile takes it along at once; a read of history sees it whatever.
func TestHistoryWaitsForItsCommit(t *testing.T) {
	l, _ := plainLoop(t, Config{HistorySize: 10})
	h, s := l.hub, l.hub.store
	onDisk := func() int {
		n := 0
		require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
			if b := tx.Bucket(bktHistory).Bucket([]byte("dev")); b != nil {
				n = b.Stats().KeyN
			}
			return nil
		}))
		return n
	}

	l.now = time.Now().UnixNano()
	s.appendHistory("dev", msgText("one"), 1)
	s.putCursor("acct", "dev", 1)
	commits := s.commits
	assert.False(t, h.commit(), "history alone waits")
	assert.Equal(t, commits, s.commits)
	assert.Equal(t, 0, onDisk())

	l.now += int64(lazyDelay)
	assert.False(t, h.commit(), "due: commits behind the loop, waking nothing")
	s.join()
	assert.Equal(t, commits+1, s.commits)
	assert.Equal(t, 1, onDisk())

	s.appendHistory("dev", msgText("two"), 2)
	s.do(func(tx *bolt.Tx) error { return nil }) // a write that may not wait
	assert.True(t, h.commit(), "a durable write takes the history along")
	assert.Equal(t, 2, onDisk())

	s.appendHistory("dev", msgText("three"), 3)
	assert.False(t, h.commit())
	assert.Len(t, s.history("dev", 10, 0), 3, "a read commits what waits first")
	assert.Equal(t, 3, onDisk())
	assert.Equal(t, uint64(1), s.cursor("acct", "dev"))

	// A read in the middle of a request commits, but wakes no waiter there:
	// they run at the iteration's commit, as always.
	woke := false
	s.do(func(tx *bolt.Tx) error { return nil })
	s.after(func(err error) { woke = err == nil })
	s.appendHistory("dev", msgText("four"), 4)
	assert.Len(t, s.history("dev", 10, 0), 4)
	assert.False(t, woke, "no waiter runs inside the read")
	assert.True(t, h.commit())
	assert.True(t, woke, "the iteration's commit wakes it")
}
