package server

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/wire"
)

// parkLogin logs a native session of a new account name in on l; it returns
// the client, the server's session and the account.
func parkLogin(t *testing.T, l *Loop, name string) (*nativeClient, *native, *User) {
	t.Helper()
	g := gateLogin(t, l, name)
	g.n.p.recv()
	return g.n, g.n.p.c.h.(*native), g.u
}

// A first frame that opens a user's pads and then fails (here a bad tag)
// is still a use of them: the user is listed for the cool timer at the open,
// so its pads close when idle, not only at its eviction. Listed at each
// touch instead, as before, alice's pads stayed open for good.
func TestRefusedFirstFrameStillCools(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	l.stopTimer(l.tickTimer)
	snd := bundleSender(t, l, "alice", 1<<20)
	t0 := l.now
	n := attachNative(t, l, snd)
	f := n.frame(t, wire.Append(nil, &wire.Msg{Op: wire.OpHello, Text: []byte("x")}))
	f[len(f)-1] ^= 1 // a bad tag
	n.p.send(string(f))
	u := l.hub.acct.user("alice")
	require.Nil(t, n.p.c.h.(*native).user, "refused")
	require.NotNil(t, u.sender, "the frame opened alice's pads")
	assert.Contains(t, l.hub.hot, u, "listed for the cool timer")
	advance(l, t0, refusalDelay)
	advance(l, t0, padIdle)
	assert.Nil(t, u.sender, "alice's pads closed after padIdle")
	assert.Empty(t, l.hub.hot)
}

// A parked account that is removed leaves the open set at once, with or
// without a session (the session's end drops it); and a parked session whose
// files went without a hold first ends with the eviction's reason, not a
// store error, though no Bye can be sealed.
func TestParkedUserRemovedLeavesOpenSet(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	l.stopTimer(l.tickTimer)
	a := l.hub.acct
	provision(t, l, "bob", 64<<10)
	bob := a.user("bob")
	require.NoError(t, bob.open(a))
	require.NoError(t, bob.park())
	require.Contains(t, a.opened, bob)
	a.evict(bob, wire.ByeRemoved, "gone")
	assert.NotContains(t, a.opened, bob, "evicted while parked, no session")

	t0 := l.now
	n, s, alice := parkLogin(t, l, "alice")
	advance(l, t0, padIdle)
	require.True(t, alice.parked, "idle: parked")
	require.NoError(t, os.RemoveAll(filepath.Join(usersDir(l.cfg.DataDir), "alice")))
	_, err := a.sync("alice")
	require.NoError(t, err)
	l.beforeSleep()
	assert.True(t, s.c.closed)
	assert.Equal(t, ReasonRemoved, s.c.reason, "the eviction's reason")
	assert.Empty(t, n.p.recv(), "no pad left to seal a Bye with")
	assert.NotContains(t, a.opened, alice, "gone with its session")
	assert.Empty(t, a.padLeft())
}

// `user list` shows a parked session's figures as the daemon's (live), with
// what was left when its pads closed.
func TestListShowsParkedSessionLive(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	l.stopTimer(l.tickTimer)
	t0 := l.now
	_, _, alice := parkLogin(t, l, "alice")
	want := [2]int64{alice.receiver.Remaining(), alice.sender.Remaining()}
	advance(l, t0, padIdle)
	require.True(t, alice.parked)
	list := l.hub.acct.list()
	require.Len(t, list, 1)
	assert.Equal(t, UserInfo{Name: "alice", State: "online", SendLeft: want[0], RecvLeft: want[1], Live: true}, list[0])
}

// The admin command hold, sent by user remove and renew before they touch
// the files, opens a parked session's pads and keeps them open for holdFor,
// so the sync that follows seals the Bye with them.
func TestHoldReopensParkedPadsForTheBye(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	l.stopTimer(l.tickTimer)
	t0 := l.now
	n, s, alice := parkLogin(t, l, "alice")
	advance(l, t0, padIdle)
	require.True(t, alice.parked)

	assert.Equal(t, "ok held", l.adminCommand("hold alice"))
	assert.NotNil(t, alice.sender, "open again")
	advance(l, t0, 2*padIdle+holdFor-time.Millisecond)
	require.NotNil(t, alice.sender, "held open for holdFor")
	require.NoError(t, os.RemoveAll(filepath.Join(usersDir(l.cfg.DataDir), "alice")))
	assert.Equal(t, "ok removed; its session was closed", l.adminCommand("sync alice"))
	l.beforeSleep()
	assert.Equal(t, ReasonRemoved, s.c.reason)
	assert.NotEmpty(t, n.p.recv(), "the sealed Bye")
	assert.Equal(t, "ok no session", l.adminCommand("hold alice"))
}

// The default connection limit is the fd limit less what the daemon keeps
// for the rest, and half of a small limit.
func TestMaxConnsFromFDLimit(t *testing.T) {
	for _, c := range []struct {
		nofile uint64
		want   int
	}{{20000, 19488}, {1024, 512}, {64, 32}, {1 << 62, 1<<31 - 1}} {
		assert.Equal(t, c.want, maxConnsFor(c.nofile), "ulimit -n %d", c.nofile)
	}
	var cfg Config
	cfg.setDefaults()
	assert.Equal(t, DefaultMaxConns(), cfg.MaxConns)
}

// A session whose parked pads are reopened soon after their last use (a
// member of a room whose messages come 3 s apart) keeps them open longer
// each time, its pages still released after padIdle; after a long quiet it
// parks after padIdle again.
func TestWokenSoonStaysOpenLonger(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	l.stopTimer(l.tickTimer)
	t0 := l.now
	_, s, alice := parkLogin(t, l, "alice")
	deliver := func(at time.Duration) {
		advance(l, t0, at)
		s.send(&wire.Msg{Op: wire.OpSrvPing})
		l.beforeSleep()
	}
	advance(l, t0, padIdle)
	require.True(t, alice.parked)
	deliver(3 * time.Second) // reopened 3 s after the last use
	assert.Equal(t, uint8(1), alice.stay)
	advance(l, t0, 3*time.Second+padIdle)
	assert.False(t, alice.hot, "pages released after padIdle")
	assert.False(t, alice.parked, "open for 2*padIdle")
	deliver(6 * time.Second) // the next message finds it open
	assert.False(t, alice.parked)
	assert.Equal(t, uint8(1), alice.stay)
	advance(l, t0, 6*time.Second+2*padIdle)
	assert.True(t, alice.parked, "parked after 2*padIdle of quiet")

	deliver(6*time.Second + 2*padIdle + padIdle<<stayMax) // a long quiet
	assert.Equal(t, uint8(0), alice.stay)
	advance(l, t0, 6*time.Second+3*padIdle+padIdle<<stayMax)
	assert.True(t, alice.parked, "parks after padIdle again")
}

// handBackLoop is a loop without the housekeeping tick whose hand-backs
// are counted in *gave, and open provisions and opens the accounts
// u<from>…u<from+n-1> on it.
func handBackLoop(t *testing.T) (l *Loop, gave *int, open func(from, n int)) {
	l, _ = plainLoop(t, Config{})
	l.stopTimer(l.tickTimer)
	gave = new(int)
	l.hub.giveBack = func() { *gave++ }
	return l, gave, func(from, n int) {
		for i := from; i < from+n; i++ {
			name := fmt.Sprintf("u%04d", i)
			provision(t, l, name, 16<<10)
			require.NoError(t, l.hub.acct.user(name).open(l.hub.acct))
		}
	}
}

// Memory that parking freed is handed back once a crowd went idle, at most
// once per returnEvery while others may still park; a crowd parked sooner
// with nothing else left to park is handed back at once, and one parked
// while users are in use once returnEvery has passed, not forgotten until
// the next crowd.
func TestParkedCrowdHandedBackOnceMore(t *testing.T) {
	l, n, open := handBackLoop(t)
	h := l.hub
	crowd := func(from int) { open(from, parkReturn) }
	t0 := l.now
	crowd(0)
	advance(l, t0, padIdle)
	require.Equal(t, 1, *n, "the first crowd parked and was handed back")

	t1 := l.now
	crowd(parkReturn)
	advance(l, t1, padIdle)
	require.Nil(t, h.acct.user(fmt.Sprintf("u%04d", parkReturn)).sender, "the second crowd parked")
	assert.Equal(t, 2, *n, "nothing else to park: the second crowd is handed back at once")

	// A third crowd parks while a user in use keeps the cool timer going:
	// its hand-back waits for returnEvery, as more may be about to park.
	t2 := l.now
	busy := h.acct.user("u0000")
	require.NoError(t, busy.open(h.acct))
	crowd(2 * parkReturn)
	for l.now < t2+int64(padIdle)*3/2 {
		h.opened(busy, false) // a use every half padIdle
		advance(l, l.now, padIdle/2)
	}
	require.Nil(t, h.acct.user(fmt.Sprintf("u%04d", 2*parkReturn)).sender, "the third crowd parked")
	require.NotNil(t, busy.sender, "the user in use did not")
	assert.Equal(t, 2, *n, "not twice within returnEvery while others may park")
	advance(l, t1, padIdle+returnEvery)
	assert.Equal(t, 3, *n, "the third crowd handed back when returnEvery passed")
}

// Crowds that settle one right after another are not handed back back to
// back: each hand-back is a forced GC, so the second waits for
// returnSettled after the first.
func TestSettledCrowdsHandedBackApart(t *testing.T) {
	l, n, open := handBackLoop(t)
	t0 := l.now
	open(0, parkReturn)
	advance(l, t0, returnSettled/2)
	open(parkReturn, parkReturn)
	advance(l, t0, padIdle)
	require.Equal(t, 1, *n, "the first crowd parked and was handed back")
	advance(l, t0, padIdle+returnSettled/2)
	require.Nil(t, l.hub.acct.user(fmt.Sprintf("u%04d", parkReturn)).sender, "the second crowd parked")
	assert.Equal(t, 1, *n, "not again within returnSettled")
	advance(l, t0, padIdle+returnSettled)
	assert.Equal(t, 2, *n, "the second crowd handed back once returnSettled passed")
}

// The last of a login burst parks after the first of it was handed back:
// once no one is left to park, what it left goes back at once, not
// returnEvery later (padchat-bench idle samples 5 s after its dials).
func TestLastOfABurstHandedBackWhenItParks(t *testing.T) {
	l, n, open := handBackLoop(t)
	h := l.hub
	t0 := l.now
	open(0, parkReturn)
	advance(l, t0, padIdle/2)
	open(parkReturn, parkReturn) // the rest of the burst, half padIdle later
	advance(l, t0, padIdle)
	require.Equal(t, 1, *n, "the first half parked and was handed back")
	advance(l, t0, padIdle*3/2)
	require.Nil(t, h.acct.user(fmt.Sprintf("u%04d", 2*parkReturn-1)).sender, "the last of the burst parked")
	assert.Equal(t, 2, *n, "handed back when the last parked, well within returnEvery")
}
