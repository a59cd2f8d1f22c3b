package cluster_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/cluster"
	"padchat/internal/natstest"
)

// An unlock that names no bucket entry (revision 0: the node never saw one
// for the pad) is not sent: nats.go would send it as a plain delete, lifting
// a lock another node set meanwhile on every node.
func TestUnlockWithoutRevisionLiftsNothing(t *testing.T) {
	e := natstest.Start(t, "")
	n1, n2 := connect(t, e, "n1"), connect(t, e, "n2")
	const pad = "deadbeef"
	locked := make(chan uint64, 1)
	n2.Lock(pad, "pad reuse detected on n2", func(rev uint64, err error) {
		assert.NoError(t, err)
		locked <- rev
	})
	rev := <-locked
	require.NotZero(t, rev)

	unlocked := make(chan error, 1)
	n1.Unlock(pad, 0, func(err error) { unlocked <- err })
	require.ErrorIs(t, <-unlocked, cluster.ErrNoRevision)

	seen, err := n1.WatchLocks(func(string, cluster.LockEntry) {})
	require.NoError(t, err)
	assert.Equal(t, cluster.LockEntry{Why: "pad reuse detected on n2", Rev: rev}, seen[pad], "n2's lock stays")

	n1.Unlock(pad, rev, func(err error) { unlocked <- err })
	require.NoError(t, <-unlocked, "an unlock of the entry seen lifts it")
}
