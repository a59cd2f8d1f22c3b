package server

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/cluster"
	"padchat/internal/natstest"
)

// lockKV is a client of the test's NATS server of its own, on the lock bucket.
func lockKV(t *testing.T, e *natstest.Env) jetstream.KeyValue {
	t.Helper()
	nc, err := nats.Connect(e.URL, nats.Secure(e.ClientTLS(t)))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	kv, err := js.KeyValue(context.Background(), cluster.LockBucket)
	require.NoError(t, err)
	return kv
}

// settle runs the loop's side of the cluster by hand (this loop has no
// goroutine of its own): what nats.go's goroutines posted, and the
// heartbeat's retries, for d.
func settle(l *Loop, d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		l.runPosted()
		l.hub.retryLocks()
	}
}

// A lock set here while the Create of an earlier lock of the same bundle is
// on its way, with the operator's unlock between the two, is a new lock: the
// answer to the first Create must not mark it as held by the bucket, and the
// bucket's unlock of the first must not lift it. It stays here, and reaches
// the bucket.
func TestClusterLockSetWhileEarlierLockUnderWayStays(t *testing.T) {
	e := natstest.Start(t, "")
	l, _ := plainLoop(t, Config{Cluster: cluster.Options{URL: e.URL, Node: "n1", CA: e.CA, Cert: e.Cert, Key: e.Key}})
	kv := lockKV(t, e)
	provision(t, l, "alice", 1<<16)
	settle(l, 50*time.Millisecond) // the start's reconciliation
	alice := l.hub.acct.user("alice")
	pad := alice.sendID.String()

	// Pad reuse: lock 1, its Create sent. Its answer waits in the loop's
	// queue (the loop is busy) while the bucket takes it.
	require.NoError(t, alice.lock("pad reuse detected: first copy"))
	l.hub.shareLock(alice)
	require.Eventually(t, func() bool { _, err := kv.Get(context.Background(), pad); return err == nil },
		5*time.Second, 5*time.Millisecond, "the bucket takes lock 1")

	// The operator unlocks (as `padchatd user unlock` does), and the copy is
	// seen again: lock 2, a new LOCKED file.
	for _, f := range []string{lockSharedFile, lockFile} {
		require.NoError(t, os.RemoveAll(filepath.Join(alice.dir, f)))
	}
	require.Equal(t, "ok unlocked", l.adminCommand("sync alice"))
	time.Sleep(20 * time.Millisecond) // another file time than lock 1's
	second := "pad reuse detected: second copy"
	require.NoError(t, alice.lock(second))
	l.hub.shareLock(alice)

	settle(l, time.Second)
	assert.Equal(t, second, alice.lockWhy, "lock 2 stands")
	_, err := os.Stat(filepath.Join(alice.dir, lockFile))
	require.NoError(t, err, "lock 2's file stays")
	var why string
	require.Eventually(t, func() bool {
		l.runPosted()
		l.hub.retryLocks()
		en, err := kv.Get(context.Background(), pad)
		if err == nil {
			why = string(en.Value())
		}
		return err == nil
	}, 5*time.Second, 10*time.Millisecond, "the bucket ends locked: every node refuses the bundle")
	assert.NotEmpty(t, why)
	assert.True(t, lockWasShared(alice), "and lock 2 is known to be held by it")
	assert.Empty(t, l.copies.pending, "nothing left to share")

	// An unlock now lifts it everywhere, this node included.
	for _, f := range []string{lockSharedFile, lockFile} {
		require.NoError(t, os.RemoveAll(filepath.Join(alice.dir, f)))
	}
	require.Equal(t, "ok unlocked", l.adminCommand("sync alice"))
	require.Eventually(t, func() bool {
		l.runPosted()
		_, err := kv.Get(context.Background(), pad)
		return errors.Is(err, jetstream.ErrKeyNotFound)
	}, 5*time.Second, 10*time.Millisecond, "the unlock reaches the bucket")
	settle(l, 100*time.Millisecond)
	assert.Empty(t, alice.lockWhy)
	assert.Empty(t, l.copies.bucketWhy(pad), "nothing refuses her here")
}

// The operator's unlock while the lock's own Create is on its way lifts that
// lock once the Create has answered: the bucket ends unlocked, and neither
// the Create's answer nor the watcher's echo of it locks her here again.
func TestClusterUnlockWhileLockUnderWayLiftsIt(t *testing.T) {
	e := natstest.Start(t, "")
	l, _ := plainLoop(t, Config{Cluster: cluster.Options{URL: e.URL, Node: "n1", CA: e.CA, Cert: e.Cert, Key: e.Key}})
	kv := lockKV(t, e)
	provision(t, l, "alice", 1<<16)
	settle(l, 50*time.Millisecond)
	alice := l.hub.acct.user("alice")
	pad := alice.sendID.String()

	require.NoError(t, alice.lock("pad reuse detected"))
	l.hub.shareLock(alice)
	require.Eventually(t, func() bool { _, err := kv.Get(context.Background(), pad); return err == nil },
		5*time.Second, 5*time.Millisecond, "the bucket takes the lock")
	for _, f := range []string{lockSharedFile, lockFile} {
		require.NoError(t, os.RemoveAll(filepath.Join(alice.dir, f)))
	}
	require.Equal(t, "ok unlocked", l.adminCommand("sync alice"))
	assert.Empty(t, l.copies.bucketWhy(pad), "a login here meanwhile is not refused by the bucket's copy")

	require.Eventually(t, func() bool {
		l.runPosted()
		l.hub.retryLocks()
		_, err := kv.Get(context.Background(), pad)
		return errors.Is(err, jetstream.ErrKeyNotFound)
	}, 5*time.Second, 10*time.Millisecond, "the unlock reaches the bucket after the lock")
	settle(l, 200*time.Millisecond)
	assert.Empty(t, alice.lockWhy)
	assert.NoFileExists(t, filepath.Join(alice.dir, lockFile))
	assert.NoFileExists(t, filepath.Join(alice.dir, unlockFile), "nothing left to send at a restart")
	assert.Empty(t, l.copies.pending)
}
