package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/cluster"
	"padchat/internal/pcclient"
	"padchat/server"
	"padchat/wire"
)

// afterNATSRestart bounds a wait for what follows NATS coming back: the
// nodes reconnect (every 250 ms), then read the buckets again, which may
// itself take up to 10 s (cluster's rewatchFor) while JetStream starts.
const afterNATSRestart = 30 * time.Second

// A copied bundle caught on node 1 is refused by node 2 too: the lock is in
// the cluster's lock bucket, node 2 closes the session it had at once, refuses
// the next login with the lock's reason, and an unlock on node 2 lets the
// bundle in again on node 1.
func TestClusterLockOnOneNodeHoldsOnAll(t *testing.T) {
	// Small reserve steps: each node's sessions claim their own range of
	// alice's 1 MiB receive pad, and a lost race skips only a step.
	c := startClusterWith(t, 2, 1<<20, []string{"--pad-reserve", "16KiB", "--pad-reserve-max", "16KiB"}, "alice")
	dir := server.BundleDir(c.master, "alice")
	stale := filepath.Join(t.TempDir(), "copy")
	require.NoError(t, exec.Command("cp", "-r", dir, stale).Run())

	a := c.dial(0, "alice") // node 1 sees her send pad move on
	request(t, a, wire.Msg{Op: wire.OpPing})
	a.Close()
	on2 := c.dial(1, "alice")
	request(t, on2, wire.Msg{Op: wire.OpPing})

	_, err := pcclient.Dial(c.nodes[0].addr, stale)
	require.Error(t, err, "node 1 has had these pad bytes: the copy is refused")
	c.nodes[0].waitLog("PAD REUSE DETECTED")

	bye := expect(t, on2, "node 2 ends the locked account's session", isOp(wire.OpBye))
	assert.Equal(t, wire.ByeLocked, wire.ByeReason(bye.ID))
	c.nodes[1].waitLog("account locked by another node")

	_, err = pcclient.Dial(c.nodes[1].addr, dir)
	require.ErrorIs(t, err, pcclient.ErrRefused, "node 2 refuses the locked bundle")
	assert.Contains(t, err.Error(), "user locked: pad reuse detected: this bundle was used from two places")
	assert.Contains(t, err.Error(), "bye 6", "a final Bye with ByeLocked")

	out, err := runBin("padchatd", "user", "unlock", "alice", "--data", c.nodes[1].data)
	require.NoError(t, err, out)
	assert.Contains(t, out, "user alice unlocked")
	lock1 := filepath.Join(c.nodes[0].data, "users", "alice", "LOCKED")
	waitFor(t, 10*time.Second, func() bool {
		_, err := os.Stat(lock1)
		return os.IsNotExist(err)
	}, "node 1 drops its lock file once node 2 unlocked\n%s", c.nodes[0].logs)
	back, err := pcclient.Dial(c.nodes[0].addr, dir)
	require.NoError(t, err, "unlocked on every node\n%s", c.nodes[0].logs)
	request(t, back, wire.Msg{Op: wire.OpPing})
	back.Close()
	again, err := pcclient.Dial(c.nodes[1].addr, dir)
	require.NoError(t, err, "and on the node that unlocked")
	again.Close()
}

// A copy of alice's bundle used on node 2 after the real one was used on
// node 1 replays pad node 1 accepted: node 2 knows how far that was from the
// receive mark bucket, catches the reuse, and the lock reaches node 1.
func TestClusterCopiedBundleCaughtOnAnotherNode(t *testing.T) {
	c := startClusterWith(t, 2, 1<<20, []string{"--pad-reserve", "16KiB", "--pad-reserve-max", "16KiB"}, "alice")
	dir := server.BundleDir(c.master, "alice")
	stale := filepath.Join(t.TempDir(), "copy")
	require.NoError(t, exec.Command("cp", "-r", dir, stale).Run())

	a := c.dial(0, "alice")
	for range 3 {
		request(t, a, wire.Msg{Op: wire.OpPing})
	}
	a.Close()
	kv, err := c.jetStream().KeyValue(context.Background(), cluster.RecvBucket)
	require.NoError(t, err)
	waitFor(t, 10*time.Second, func() bool {
		e, err := kv.Get(context.Background(), sendPadID(t, dir).String())
		return err == nil && len(e.Value()) > 0 && string(e.Value()) != "0"
	}, "node 1 shares how far it accepted alice's frames")

	_, err = pcclient.Dial(c.nodes[1].addr, stale)
	require.ErrorIs(t, err, pcclient.ErrRefused, "node 2 never saw these frames, but the bucket says node 1 did")
	assert.Contains(t, err.Error(), "user locked: pad reuse detected")
	c.nodes[1].waitLog("PAD REUSE DETECTED")

	waitFor(t, 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(c.nodes[0].data, "users", "alice", "LOCKED"))
		return err == nil
	}, "node 1 takes node 2's lock")
	_, err = pcclient.Dial(c.nodes[0].addr, dir)
	require.ErrorIs(t, err, pcclient.ErrRefused, "the real bundle too, until the operator acts")
	assert.Contains(t, err.Error(), "user locked")
}

// Locks hold when NATS is away. A lock set on node 1 while NATS is down
// reaches node 2 once NATS is back (node 1 retries until the bucket has it),
// although the bucket holds an older unlock of that bundle; and a node
// restarting with a lock file the bucket lacks keeps the lock and shares it.
func TestClusterLockSetWhileNATSDownHolds(t *testing.T) {
	c := startClusterWith(t, 2, 1<<20, []string{"--pad-reserve", "16KiB", "--pad-reserve-max", "16KiB"}, "alice")
	dir := server.BundleDir(c.master, "alice")
	var copies [2]string
	for i := range copies {
		copies[i] = filepath.Join(t.TempDir(), "copy")
		require.NoError(t, exec.Command("cp", "-r", dir, copies[i]).Run())
	}
	lock1 := filepath.Join(c.nodes[0].data, "users", "alice", "LOCKED")
	lock2 := filepath.Join(c.nodes[1].data, "users", "alice", "LOCKED")
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	unlock := func() {
		out, err := runBin("padchatd", "user", "unlock", "alice", "--data", c.nodes[1].data)
		require.NoError(t, err, out)
		waitFor(t, 10*time.Second, func() bool { return !exists(lock1) && !exists(lock2) }, "every node follows the unlock")
	}

	a := c.dial(0, "alice")
	request(t, a, wire.Msg{Op: wire.OpPing})
	a.Close()
	// A first lock and unlock, with NATS up: the bucket keeps the unlock.
	_, err := pcclient.Dial(c.nodes[0].addr, copies[0])
	require.Error(t, err, "node 1 has had these pad bytes: the copy is refused")
	waitFor(t, 10*time.Second, func() bool { return exists(lock2) }, "node 2 takes the lock")
	unlock()

	c.nats.Stop()
	_, err = pcclient.Dial(c.nodes[0].addr, copies[1])
	require.Error(t, err, "the second copy is refused too")
	require.True(t, exists(lock1))
	// The first attempt to share the lock has given up (its request timed out).
	c.nodes[0].waitLog("lock not shared")
	c.nats.Restart(t)

	waitFor(t, afterNATSRestart, func() bool { return exists(lock2) },
		"node 2 learns the lock node 1 set while NATS was down\n%s", c.nodes[0].logs)
	_, err = pcclient.Dial(c.nodes[1].addr, dir)
	require.ErrorIs(t, err, pcclient.ErrRefused, "node 2 refuses the locked bundle")
	assert.Contains(t, err.Error(), "bye 6", "a final Bye with ByeLocked")
	unlock()

	// Node 1 dies just after locking alice again, before it could share the
	// lock: its lock file is newer than the bucket's unlock.
	c.nodes[0].kill9()
	require.NoError(t, os.WriteFile(lock1, []byte("pad reuse detected: set while NATS was unreachable"), 0o600))
	c.nodes[0].start()
	_, err = pcclient.Dial(c.nodes[0].addr, dir)
	require.ErrorIs(t, err, pcclient.ErrRefused, "the restarted node keeps its lock\n%s", c.nodes[0].logs)
	assert.Contains(t, err.Error(), "set while NATS was unreachable")
	waitFor(t, 10*time.Second, func() bool { return exists(lock2) }, "and shares it at start")
}

// An unlock made while NATS is unreachable is not lost: the node that took
// it tries again until the bucket has it, then every node lifts the lock, and
// the buckets' re-read after the reconnection does not bring it back; a node
// restarted before NATS had it sends it again.
func TestClusterUnlockWhileNATSDownReachesEveryNode(t *testing.T) {
	c := startClusterWith(t, 2, 1<<20, []string{"--pad-reserve", "16KiB", "--pad-reserve-max", "16KiB"}, "alice")
	dir := server.BundleDir(c.master, "alice")
	stale := filepath.Join(t.TempDir(), "copy")
	require.NoError(t, exec.Command("cp", "-r", dir, stale).Run())
	lock1 := filepath.Join(c.nodes[0].data, "users", "alice", "LOCKED")
	lock2 := filepath.Join(c.nodes[1].data, "users", "alice", "LOCKED")
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	lockAndUnlockWhileNATSDown := func() {
		t.Helper()
		_, err := pcclient.Dial(c.nodes[0].addr, stale)
		require.Error(t, err, "node 1 has had these pad bytes: the copy is refused")
		waitFor(t, 10*time.Second, func() bool { return exists(lock2) }, "node 2 takes the lock")
		c.nats.Stop()
		told := strings.Count(c.nodes[1].logs.String(), "unlock not shared")
		out, err := runBin("padchatd", "user", "unlock", "alice", "--data", c.nodes[1].data)
		require.NoError(t, err, out)
		require.False(t, exists(lock2), "node 2 lifts its lock at once")
		waitFor(t, 10*time.Second, func() bool { return strings.Count(c.nodes[1].logs.String(), "unlock not shared") > told },
			"node 2 says the unlock is not shared yet\n%s", c.nodes[1].logs)
	}
	unlockedEverywhere := func() {
		t.Helper()
		waitFor(t, afterNATSRestart, func() bool { return !exists(lock1) },
			"node 1 follows the unlock made on node 2 while NATS was down\n%s", c.nodes[1].logs)
		assert.False(t, exists(lock2), "node 2 took no lock back from the bucket")
		for i := range c.nodes {
			s, err := pcclient.Dial(c.nodes[i].addr, dir)
			require.NoError(t, err, "unlocked on node %d\n%s", i+1, c.nodes[i].logs)
			request(t, s, wire.Msg{Op: wire.OpPing})
			s.Close()
		}
	}

	a := c.dial(0, "alice")
	request(t, a, wire.Msg{Op: wire.OpPing})
	a.Close()

	// Node 2 keeps trying while NATS is away.
	lockAndUnlockWhileNATSDown()
	c.nats.Restart(t)
	waitFor(t, afterNATSRestart, func() bool { return strings.Contains(c.nodes[1].logs.String(), "unlock shared with every node") },
		"node 2 says the unlock got through\n%s", c.nodes[1].logs)
	unlockedEverywhere()

	// Node 2 dies before NATS is back, and starts again once it is.
	lockAndUnlockWhileNATSDown()
	c.nodes[1].kill9()
	c.nats.Restart(t)
	c.nodes[1].start()
	unlockedEverywhere()
}
