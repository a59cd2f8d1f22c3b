package server

import (
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/bundle"
	"padchat/otp"
	"padchat/wire"
)

// TestPeerLookupsReadNoDisk: what an unauthenticated peer can ask for (a pad
// id in a first frame, a plain-text name, a DM's recipient) is answered from
// the in-memory index, never from the users directory. An account written to
// disk without telling the daemon (no admin-socket sync) stays unknown to all
// three; once synced it is found. A daemon that rescanned the directory on a
// miss lets mallory in at the first step (checked by hand with a rescan put
// back into authenticate).
func TestPeerLookupsReadNoDisk(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	provision(t, l, "alice", 1<<20)
	// Written as `padchatd user add` writes it, but the daemon is not told.
	require.NoError(t, writeAccount(l.cfg.DataDir, "mallory", 1<<20, "x", "", "", nil))
	require.Nil(t, l.hub.acct.user("mallory"))

	pad, err := otp.OpenPad(bundle.Path(BundleDir(l.cfg.DataDir, "mallory"), bundle.SendPad))
	require.NoError(t, err)
	snd, err := otp.OpenSender(pad, pad.Path()+bundle.StateSuffix, otp.SenderOptions{NoLock: true})
	require.NoError(t, err)
	t.Cleanup(func() { snd.Close(); pad.Close() })

	// A first frame on mallory's pad: the one refusal, as for any unknown pad.
	n := attachNative(t, l, snd)
	hello := n.frame(t, wire.Append(nil, &wire.Msg{Op: wire.OpHello, Text: []byte("x")}))
	n.p.send(string(hello))
	assert.Empty(t, n.p.recv(), "the refusal waits for refusalDelay")
	n.p.c.h.onDeadline(n.p.c, n.p.c.lastRead+int64(refusalDelay))
	l.beforeSleep()
	assert.Equal(t, string(refusal), n.p.recv())
	assert.True(t, n.p.c.closed || n.p.c.dying, "refused connection closes")

	// The name is not an account's; a DM to it has no recipient.
	assert.False(t, l.hub.isAccount("mallory"))
	var dmErr error
	l.hub.dm(nil, []byte("mallory"), []byte("hi"), func(_ uint32, err error) { dmErr = err })
	assert.ErrorIs(t, dmErr, ErrNoSuchUser)

	// The admin path makes it known.
	_, err = l.hub.acct.sync("mallory")
	require.NoError(t, err)
	assert.True(t, l.hub.isAccount("mallory"))
	n2 := attachNative(t, l, snd)
	n2.p.send(string(n2.frame(t, wire.Append(nil, &wire.Msg{Op: wire.OpHello, Text: []byte("x")}))))
	require.Same(t, l.hub.acct.user("mallory").session, n2.p.c.h, "synced account authenticates")
}

// The pad gauges come from the accounts whose pads are open, not from a walk
// of every account: a closed one leaves the set, a removed one is not shown.
func TestPadLeftOnlyForOpenAccounts(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	a := l.hub.acct
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		provision(t, l, name, 64<<10)
	}
	assert.Empty(t, a.padLeft(), "four accounts, no pad open")
	alice, bob := a.user("alice"), a.user("bob")
	require.NoError(t, alice.open(a))
	require.NoError(t, bob.open(a))
	left := a.padLeft()
	assert.Len(t, left, 2)
	byName := func() map[string][2]int64 {
		m := map[string][2]int64{}
		for _, p := range a.padLeft() {
			m[p.User] = p.Left
		}
		return m
	}
	want := [2]int64{alice.receiver.Remaining(), alice.sender.Remaining()}
	assert.Equal(t, want, byName()["alice"])
	require.NoError(t, alice.park()) // idle: its pads close, its gauge stays
	assert.Equal(t, want, byName()["alice"])
	require.NoError(t, alice.open(a))

	bob.close()
	assert.Equal(t, []string{"alice"}, slices.Collect(maps.Keys(byName())))
	assert.Len(t, a.opened, 1, "bob left the set")

	a.evict(alice, wire.ByeRemoved, "gone") // no session: its pads close at once
	assert.Empty(t, a.padLeft())
	assert.Empty(t, a.opened)
}

// Once every opened account is parked, the once-a-second snapshot reuses the
// last gauges instead of building them again: an idle crowd makes no garbage
// (at 19,000 sessions a fresh slice a second grew the idle heap by megabytes
// between GCs). A reopen, a new account or an eviction shows at once.
func TestPadLeftKeptWhileAllParked(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	a := l.hub.acct
	var users []*User
	for _, name := range []string{"alice", "bob", "carol"} {
		provision(t, l, name, 64<<10)
		u := a.user(name)
		require.NoError(t, u.open(a))
		users = append(users, u)
	}
	require.Len(t, a.padLeft(), 3)
	alice := users[0]
	for _, u := range users {
		require.NoError(t, u.park())
	}
	parked := a.padLeft()
	require.Len(t, parked, 3)
	assert.Zero(t, testing.AllocsPerRun(20, func() { a.padLeft() }), "all parked: nothing built")

	// A reopen and a frame sealed with alice's recv pad: her gauge moves.
	require.NoError(t, alice.open(a))
	_, err := alice.sender.Seal(nil, make([]byte, 100), otp.ToClient, &otp.Session{})
	require.NoError(t, err)
	byName := func() map[string][2]int64 {
		m := map[string][2]int64{}
		for _, p := range a.padLeft() {
			m[p.User] = p.Left
		}
		return m
	}
	was := parked[slices.IndexFunc(parked, func(p PadLeft) bool { return p.User == "alice" })].Left
	now := byName()["alice"]
	assert.Equal(t, alice.sender.Remaining(), now[1], "open: built afresh")
	assert.Less(t, now[1], was[1], "the frame's pad is spent")
	require.NoError(t, alice.sender.Reserve())
	require.NoError(t, alice.park())
	a.padLeft()
	assert.Zero(t, testing.AllocsPerRun(20, func() { a.padLeft() }), "parked again")

	a.evict(users[1], wire.ByeRemoved, "gone") // parked, no session
	assert.NotContains(t, byName(), "bob", "an eviction shows at once")
}
