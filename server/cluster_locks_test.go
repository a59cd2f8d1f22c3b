package server

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
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

// aliceOnANode is a cluster node's loop (on a NATS server of the test's own)
// with the account alice, once its start's reconciliation ran, and a client
// of the lock bucket.
func aliceOnANode(t *testing.T) (*Loop, *bytes.Buffer, jetstream.KeyValue, *User) {
	t.Helper()
	e := natstest.Start(t, "")
	l, logs := plainLoop(t, Config{Cluster: cluster.Options{URL: e.URL, Node: "n1", CA: e.CA, Cert: e.Cert, Key: e.Key}})
	provision(t, l, "alice", 1<<16)
	settle(l, 50*time.Millisecond) // the start's reconciliation
	return l, logs, lockKV(t, e), l.hub.acct.user("alice")
}

// unlockByHand does what `padchatd user unlock` does: the lock's files go
// (its mark first), then the daemon hears of it.
func unlockByHand(t *testing.T, l *Loop, u *User) {
	t.Helper()
	for _, f := range []string{lockSharedFile, lockFile} {
		require.NoError(t, os.RemoveAll(filepath.Join(u.dir, f)))
	}
	require.Equal(t, "ok unlocked", l.adminCommand("sync "+u.Name))
}

// A lock set here while the Create of an earlier lock of the same bundle is
// on its way, with the operator's unlock between the two, is a new lock: the
// answer to the first Create must not mark it as held by the bucket, and the
// bucket's unlock of the first must not lift it. It stays here, and reaches
// the bucket.
func TestClusterLockSetWhileEarlierLockUnderWayStays(t *testing.T) {
	l, _, kv, alice := aliceOnANode(t)
	pad := alice.sendID.String()

	// Pad reuse: lock 1, its Create sent. Its answer waits in the loop's
	// queue (the loop is busy) while the bucket takes it.
	require.NoError(t, alice.lock("pad reuse detected: first copy"))
	l.hub.shareLock(alice)
	require.Eventually(t, func() bool { _, err := kv.Get(context.Background(), pad); return err == nil },
		5*time.Second, 5*time.Millisecond, "the bucket takes lock 1")

	// The operator unlocks (as `padchatd user unlock` does), and the copy is
	// seen again: lock 2, a new LOCKED file.
	unlockByHand(t, l, alice)
	time.Sleep(20 * time.Millisecond) // another file time than lock 1's
	second := "pad reuse detected: second copy"
	require.NoError(t, alice.lock(second))
	l.hub.shareLock(alice)

	w := l.copies
	require.Eventually(t, func() bool {
		l.runPosted()
		l.hub.retryLocks()
		e := w.locks[pad]
		return len(w.pending) == 0 && len(w.sharing) == 0 && lockWasShared(alice) && e.Why != "" && e.Rev == w.held[pad]
	}, 10*time.Second, 5*time.Millisecond,
		"lock 2 is known to be held by the bucket, and the watcher has shown the bucket up to that entry")
	assert.Equal(t, second, alice.lockWhy, "lock 2 stands")
	_, err := os.Stat(filepath.Join(alice.dir, lockFile))
	require.NoError(t, err, "lock 2's file stays")
	en, err := kv.Get(context.Background(), pad)
	require.NoError(t, err, "the bucket ends locked: every node refuses the bundle")
	assert.NotEmpty(t, en.Value())

	// An unlock now lifts it everywhere, this node included.
	unlockByHand(t, l, alice)
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
	l, _, kv, alice := aliceOnANode(t)
	pad := alice.sendID.String()

	require.NoError(t, alice.lock("pad reuse detected"))
	l.hub.shareLock(alice)
	require.Eventually(t, func() bool { _, err := kv.Get(context.Background(), pad); return err == nil },
		5*time.Second, 5*time.Millisecond, "the bucket takes the lock")
	unlockByHand(t, l, alice)
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

// gateBucket stands between the loop and the lock bucket: it keeps each
// request, and the test answers it when it likes.
type gateBucket struct {
	locks   []func(rev uint64, err error)
	unlocks []gatedUnlock
}

type gatedUnlock struct {
	rev  uint64
	done func(error)
}

func (b *gateBucket) Lock(_, _ string, done func(uint64, error)) { b.locks = append(b.locks, done) }
func (b *gateBucket) Unlock(_ string, rev uint64, done func(error)) {
	b.unlocks = append(b.unlocks, gatedUnlock{rev, done})
}

// gatedLoop is a cluster node's loop whose lock requests stop at a gate.
func gatedLoop(t *testing.T) (*Loop, *bytes.Buffer, *gateBucket, *User) {
	l, logs, _, alice := aliceOnANode(t)
	b := &gateBucket{}
	l.copies.bucket = b
	return l, logs, b, alice
}

// A lock only set here (not shared: NATS unreachable) and lifted by the
// operator names no bucket entry. Another node's lock of the same bundle,
// which this node has not seen yet, must survive the unlock: an unlock with
// no revision is a plain delete in nats.go, and would lift it everywhere.
func TestClusterUnlockOfUnsharedLockLiftsNoOtherLock(t *testing.T) {
	l, _, kv, alice := aliceOnANode(t)
	pad := alice.sendID.String()

	require.NoError(t, alice.lock("pad reuse detected here"))
	// Node 2 sees the copy: its lock is in the bucket, and the watcher's
	// entry for it waits in this loop's queue.
	other := "pad reuse detected on node 2"
	rev, err := kv.Create(context.Background(), pad, []byte(other))
	require.NoError(t, err)
	unlockByHand(t, l, alice)

	require.Eventually(t, func() bool {
		l.runPosted()
		l.hub.retryLocks()
		return l.copies.locks[pad].Rev >= rev && len(l.copies.sharing) == 0
	}, 10*time.Second, 5*time.Millisecond, "the watcher shows node 2's lock")
	settle(l, 100*time.Millisecond)
	en, err := kv.Get(context.Background(), pad)
	require.NoError(t, err, "node 2's lock stays in the bucket")
	assert.Equal(t, rev, en.Revision())
	assert.Equal(t, other, alice.lockWhy, "and holds here too")
	assert.Empty(t, l.copies.pending)
}

// The operator's unlock while this node's lock is on its way lifts that
// lock's entry once its answer gives the revision. If the lock's request
// failed there is no revision: nothing is sent (not a delete of whatever the
// bucket holds by then).
func TestClusterUnlockAfterFailedLockSendsNoBlindDelete(t *testing.T) {
	l, logs, b, alice := gatedLoop(t)
	require.NoError(t, alice.lock("pad reuse detected"))
	l.hub.shareLock(alice)
	require.Len(t, b.locks, 1)
	unlockByHand(t, l, alice)
	b.locks[0](0, errors.New("nats: timeout"))
	l.hub.retryLocks()
	assert.Empty(t, b.unlocks, "no unlock without a revision")
	assert.Empty(t, l.copies.pending)
	assert.NoFileExists(t, filepath.Join(alice.dir, unlockFile))
	assert.Contains(t, logs.String(), "unlock not sent")
}

// An unlock the bucket refuses because a later entry came first is never
// dropped in silence: a later lock is reported ("overtaken"), a later unlock
// counts as shared, whichever of the refusal and the watcher's entry comes
// first; either way it is not sent again.
func TestClusterUnlockOvertakenIsTold(t *testing.T) {
	for _, c := range []struct {
		name       string
		later      cluster.LockEntry
		seenBefore bool
		log        string
	}{
		{"lock seen after the refusal", cluster.LockEntry{Why: "pad reuse detected on node 2", Rev: 7}, false, "unlock overtaken by a later lock"},
		{"lock seen before the refusal", cluster.LockEntry{Why: "pad reuse detected on node 2", Rev: 7}, true, "unlock overtaken by a later lock"},
		{"unlock seen after the refusal", cluster.LockEntry{Rev: 8}, false, "unlock shared with every node"},
		{"unlock seen before the refusal", cluster.LockEntry{Rev: 8}, true, "unlock shared with every node"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, logs, b, alice := gatedLoop(t)
			pad := alice.sendID.String()
			l.hub.onSharedLock(pad, cluster.LockEntry{Why: "pad reuse detected", Rev: 3})
			require.Equal(t, "pad reuse detected", alice.lockWhy)
			unlockByHand(t, l, alice)
			require.Len(t, b.unlocks, 1)
			require.Equal(t, uint64(3), b.unlocks[0].rev)
			b.unlocks[0].done(errors.New("nats: connection closed"))
			require.Contains(t, logs.String(), "unlock not shared yet")
			l.hub.retryLocks()
			require.Len(t, b.unlocks, 2)

			if c.seenBefore {
				l.hub.onSharedLock(pad, c.later)
			}
			b.unlocks[1].done(cluster.ErrLockChanged)
			l.hub.retryLocks()
			if !c.seenBefore {
				l.hub.onSharedLock(pad, c.later)
			}
			l.hub.retryLocks()
			assert.Len(t, b.unlocks, 2, "not sent again")
			assert.Contains(t, logs.String(), c.log)
			assert.Empty(t, l.copies.pending)
			assert.Empty(t, l.copies.told)
			assert.Equal(t, c.later.Why, alice.lockWhy)
			assert.NoFileExists(t, filepath.Join(alice.dir, unlockFile))
		})
	}
}

// A renew replaces the account's files under the same users/NAME: the old
// account's changes still on their way must not touch the new account's
// files (stamp its lock as shared, lift it, keep an unlock file in it).
func TestClusterChangesOfARenewedAccountLeaveTheNewOnesFiles(t *testing.T) {
	l, _, b, old := gatedLoop(t)
	oldPad := old.sendID.String()
	require.NoError(t, old.lock("pad reuse detected: old bundle"))
	l.hub.shareLock(old)
	require.Len(t, b.locks, 1)
	unlockByHand(t, l, old) // waits for the lock's answer
	_, err := RenewUser(l.cfg.DataDir, "alice", 1<<16, "x", "", nil)
	require.NoError(t, err)
	require.Equal(t, "ok renewed", l.adminCommand("sync alice"))
	renewed := l.hub.acct.user("alice")
	require.NotSame(t, old, renewed)
	require.Equal(t, old.dir, renewed.dir)
	require.NoError(t, renewed.lock("pad reuse detected: new bundle, not shared yet"))

	b.locks[0](5, nil) // the old lock's answer: the unlock lifts revision 5
	assert.NoFileExists(t, filepath.Join(renewed.dir, unlockFile), "no unlock file for the old pad in the new account")
	require.Len(t, b.unlocks, 1)
	l.copies.locks[oldPad] = cluster.LockEntry{Rev: 6}
	b.unlocks[0].done(nil)

	// Another lock of the old bundle answered after an unlock elsewhere.
	l.copies.pending[oldPad] = &lockChange{u: old}
	l.hub.sendChange(oldPad)
	require.Len(t, b.locks, 2)
	l.copies.locks[oldPad] = cluster.LockEntry{Rev: 9}
	b.locks[1](8, nil)

	assert.Equal(t, "pad reuse detected: new bundle, not shared yet", renewed.lockWhy)
	assert.FileExists(t, filepath.Join(renewed.dir, lockFile), "the new account's lock stays")
	assert.False(t, lockWasShared(renewed), "and is not marked as held by the bucket")
	assert.NoFileExists(t, filepath.Join(renewed.dir, lockSharedFile))
}

// An UNLOCK.pending that does not name the account's pad (left by the
// account before a renew, or written by an older padchatd), or cannot be
// read, is dropped at start with a warning, and the bucket's lock applies.
func TestClusterUntrustedUnlockFileDropped(t *testing.T) {
	l, logs, kv, alice := aliceOnANode(t)
	pad := alice.sendID.String()
	why := "pad reuse detected on node 2"
	rev, err := kv.Create(context.Background(), pad, []byte(why))
	require.NoError(t, err)
	require.Eventually(t, func() bool { l.runPosted(); return l.copies.locks[pad].Rev == rev },
		10*time.Second, 5*time.Millisecond)

	for _, content := range []string{
		strconv.FormatUint(rev+4, 10),                                       // a bare revision: whose pad?
		"00112233445566778899aabbccddeeff " + strconv.FormatUint(rev+4, 10), // another pad's
		"garbage",
	} {
		for _, f := range []string{lockSharedFile, lockFile} {
			require.NoError(t, os.RemoveAll(filepath.Join(alice.dir, f)))
		}
		alice.lockWhy = ""
		require.NoError(t, os.WriteFile(filepath.Join(alice.dir, unlockFile), []byte(content), 0o600))
		l.hub.reconcileLocks()
		assert.Equal(t, why, l.copies.bucketWhy(pad), "%q: the bucket's lock is not held back", content)
		assert.Equal(t, why, alice.lockWhy, "%q: and is written here", content)
		assert.NoFileExists(t, filepath.Join(alice.dir, unlockFile), "%q", content)
		assert.Empty(t, l.copies.pending, "%q", content)
	}
	assert.Contains(t, logs.String(), unlockFile+" dropped")
}
