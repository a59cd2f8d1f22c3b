package server

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"padchat/internal/bundle"
	"padchat/otp"
	"padchat/poller"
	"padchat/wire"
)

// gateUser is a provisioned user with an authenticated native session on a
// socketpair, and the client's side of its send pad.
type gateUser struct {
	name string
	n    *nativeClient
	u    *User
}

func gateLogin(t *testing.T, l *Loop, name string) *gateUser {
	t.Helper()
	return gateLoginPad(t, l, name, 1<<20)
}

// gateLoginPad is gateLogin with pads of size bytes.
func gateLoginPad(t *testing.T, l *Loop, name string, size int64) *gateUser {
	t.Helper()
	return gateSession(t, l, name, bundleSender(t, l, name, size))
}

// bundleSender provisions name with pads of size bytes and opens the
// client's side of its send pad.
func bundleSender(t *testing.T, l *Loop, name string, size int64) *otp.Sender {
	t.Helper()
	provision(t, l, name, size)
	pad, err := otp.OpenPad(bundle.Path(BundleDir(l.cfg.DataDir, name), bundle.SendPad))
	require.NoError(t, err)
	snd, err := otp.OpenSender(pad, pad.Path()+bundle.StateSuffix, otp.SenderOptions{NoLock: true})
	require.NoError(t, err)
	t.Cleanup(func() { snd.Close(); pad.Close() })
	return snd
}

// gateSession opens a (further) session of a provisioned user.
func gateSession(t *testing.T, l *Loop, name string, snd *otp.Sender) *gateUser {
	t.Helper()
	return gateHello(t, l, name, attachNative(t, l, snd))
}

// gateHello authenticates n, a greeted native client, as name.
func gateHello(t *testing.T, l *Loop, name string, n *nativeClient) *gateUser {
	t.Helper()
	g := &gateUser{name: name, n: n}
	g.send(t, &wire.Msg{Op: wire.OpHello, Text: []byte("gate")})
	awaitInput(g.n.p.c.fd)
	g.n.p.c.read()
	l.beforeSleep()
	g.u = l.hub.acct.byName[name]
	require.NotNil(t, g.u)
	require.Same(t, g.u.session, g.n.p.c.h, "session authenticated")
	return g
}

// send writes one sealed client frame to the socket; the server reads it when told.
func (g *gateUser) send(t *testing.T, m *wire.Msg) {
	_, err := unix.Write(g.n.p.fd, g.n.frame(t, wire.Append(nil, m)))
	require.NoError(t, err)
}

// durable is the reserved mark of the server's sending pad for g, as on disk.
func (g *gateUser) durable(t *testing.T) int64 {
	st, err := otp.ReadState(g.u.recvPad.Path() + bundle.StateSuffix)
	require.NoError(t, err)
	return st.Mark
}

// frameEnds walks whole frames in b (after the greeting, so b starts at a
// header) and returns the pad offset each one's pad use ends at.
func frameEnds(t *testing.T, b []byte) []int64 {
	var ends []int64
	for len(b) > 0 {
		require.GreaterOrEqual(t, len(b), otp.HeaderSize, "partial frame header")
		require.True(t, bytes.HasPrefix(b, []byte("PC")), "frame magic")
		off := int64(binary.BigEndian.Uint64(b[20:28]))
		n := int(binary.BigEndian.Uint32(b[28:32]))
		ends = append(ends, off+otp.PadCost(n))
		size := otp.HeaderSize + n + otp.TagSize
		require.GreaterOrEqual(t, len(b), size, "partial frame")
		b = b[size:]
	}
	return ends
}

// TestGateWritableSameBatch is issue 12 finding 1: a fan-out to bob needs pad
// past bob's durable mark, and bob's socket reports Writable in the same batch
// of events as the Say that causes it. No byte of that pad may reach bob
// before the mark on disk covers it, on that path or any later one.
func TestGateWritableSameBatch(t *testing.T) {
	l, _ := plainLoop(t, Config{ReserveStep: 64})
	alice, bob := gateLogin(t, l, "alice"), gateLogin(t, l, "bob")
	for _, g := range []*gateUser{alice, bob} {
		g.send(t, &wire.Msg{Op: wire.OpJoin, Room: []byte("r")})
		g.n.p.c.read()
		l.beforeSleep()
	}
	bob.n.p.recv()
	for _, e := range frameEnds(t, []byte(bob.n.p.recv())) {
		assert.LessOrEqual(t, e, bob.durable(t))
	}

	// A Say whose relay to bob runs past bob's durable mark.
	headroom := bob.durable(t) - bob.u.sender.Next()
	require.Less(t, headroom, int64(l.cfg.MaxMessage), "step grew past a message: cannot cross the mark")
	text := bytes.Repeat([]byte("x"), int(headroom)+1)
	alice.send(t, &wire.Msg{Op: wire.OpSay, Seq: 9, Room: []byte("r"), Text: text})

	// One batch of events: alice readable, then bob writable.
	for _, c := range []*Conn{alice.n.p.c, bob.n.p.c} {
		m := poller.Readable
		if c == bob.n.p.c {
			m = poller.Writable
		}
		l.dispatch(poller.Event{Fd: c.fd, Tag: c.tag(), Mask: m})
	}
	early := frameEnds(t, []byte(bob.n.p.recv()))
	mark := bob.durable(t)
	for _, e := range early {
		assert.LessOrEqual(t, e, mark, "a frame left before its pad use was durable")
	}

	l.beforeSleep()
	late := frameEnds(t, []byte(bob.n.p.recv()))
	require.NotEmpty(t, append(early, late...), "the message reached bob")
	mark = bob.durable(t)
	for _, e := range late {
		assert.LessOrEqual(t, e, mark)
	}
}

// TestGateHoldsWithoutReservation takes the reservation away (the reserve hook
// does nothing, as if its write had failed) and checks that the gate alone
// keeps sealed frames past the durable mark in: at the end-of-iteration flush,
// and in the last words (Bye) of a session replaced by a newer one, written as
// its connection is reaped. With the reservation back, the held frames go out.
func TestGateHoldsWithoutReservation(t *testing.T) {
	l, _ := plainLoop(t, Config{ReserveStep: 64})
	alice, bob := gateLogin(t, l, "alice"), gateLogin(t, l, "bob")
	for _, g := range []*gateUser{alice, bob} {
		g.send(t, &wire.Msg{Op: wire.OpJoin, Room: []byte("r")})
		g.n.p.c.read()
		l.beforeSleep()
	}
	bob.n.p.recv()
	l.reserve = func() {}

	headroom := bob.durable(t) - bob.u.sender.Next()
	require.Less(t, headroom, int64(l.cfg.MaxMessage))
	alice.send(t, &wire.Msg{Op: wire.OpSay, Seq: 9, Room: []byte("r"), Text: bytes.Repeat([]byte("x"), int(headroom)+1)})
	alice.n.p.c.read()
	l.beforeSleep()
	require.Greater(t, bob.u.sender.Next(), bob.durable(t), "sealed past the durable mark")
	assert.Empty(t, frameEnds(t, []byte(bob.n.p.recv())), "end-of-iteration flush wrote unreserved pad")

	// A second session of bob replaces the first, whose Bye follows the held
	// frame; the old connection is reaped (written, closed) in that iteration.
	old := bob.n.p
	bob2 := gateSession(t, l, "bob", bob.n.snd)
	require.True(t, old.c.closed, "replaced session reaped")
	mark := bob.durable(t)
	for _, e := range frameEnds(t, []byte(old.recv())) {
		assert.LessOrEqual(t, e, mark, "reaped connection wrote unreserved pad")
	}
	assert.Empty(t, frameEnds(t, []byte(bob2.n.p.recv())), "new session's welcome is held too")

	l.reserve = l.hub.reservePads
	l.beforeSleep()
	got := frameEnds(t, []byte(bob2.n.p.recv()))
	require.NotEmpty(t, got, "held welcome released once reserved")
	mark = bob.durable(t)
	for _, e := range got {
		assert.LessOrEqual(t, e, mark)
	}
}

// TestFrameCarriesSeveralMessages is protocol v2 both ways: one client frame
// with three requests is handled whole, and the three replies of that loop
// iteration come back sealed as one frame.
func TestFrameCarriesSeveralMessages(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	alice := gateLogin(t, l, "alice")
	rcv := openRecv(t, l, "alice")
	alice.n.p.recv() // the welcome: the receiver allows the gap

	var plain []byte
	for i, m := range []wire.Msg{{Op: wire.OpJoin, Room: []byte("r")}, {Op: wire.OpSay, Room: []byte("r"), Text: []byte("hi")}, {Op: wire.OpPing}} {
		m.Seq = uint32(10 + i)
		plain = wire.Append(plain, &m)
	}
	_, err := unix.Write(alice.n.p.fd, alice.n.frame(t, plain))
	require.NoError(t, err)
	alice.n.p.c.read()
	l.beforeSleep()

	out := []byte(alice.n.p.recv())
	require.Len(t, frameEnds(t, out), 1, "one frame for the iteration's replies")
	opened, err := rcv.Open(nil, out, otp.ToClient, &alice.n.sess)
	require.NoError(t, err)
	var seqs []uint32
	var m wire.Msg
	for rest := opened; len(rest) > 0; {
		rest, err = wire.DecodeNext(rest, &m)
		require.NoError(t, err)
		assert.Equal(t, wire.OpOK, m.Op, "reply to %d: %s", m.Seq, m.Text)
		seqs = append(seqs, m.Seq)
	}
	assert.Equal(t, []uint32{10, 11, 12}, seqs)
}
