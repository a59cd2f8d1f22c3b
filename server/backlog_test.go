package server

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"padchat/internal/bundle"
	"padchat/otp"
	"padchat/poller"
	"padchat/wire"
)

// TestBacklogSealedAsTheSocketDrains floods a member whose socket takes little
// more than a window: what the socket cannot take must wait unsealed (no pad
// spent on it), and as the reader drains, every message must arrive once, in
// order, in frames that open with the user's pad and never end past the mark
// that was durable when they arrived. A second and third wave arrive while
// the backlog waits, so the arena is compacted under held spans.
func TestBacklogSealedAsTheSocketDrains(t *testing.T) {
	l, _ := plainLoop(t, Config{OutLimit: 64 << 20})
	alice, bob, in := backlogPair(t, l)

	const perFrame, text = 12, 4000
	next := 0
	wave := func(frames int) int {
		queued := 0
		for f := 0; f < frames; f++ {
			var plain []byte
			for i := 0; i < perFrame; i++ {
				m := wire.Msg{Op: wire.OpSay, Room: []byte("r"), Text: sayText(next, text)}
				next++
				plain = wire.Append(plain, &m)
				queued += text
			}
			_, err := unix.Write(alice.n.p.fd, alice.n.frame(t, plain))
			require.NoError(t, err)
			alice.n.p.c.read()
			l.beforeSleep()
		}
		return queued
	}

	start := bob.u.sender.Next()
	queued := wave(50) // 2.4 MB for bob
	c := bob.n.p.c
	require.Positive(t, c.later, "the backlog past what the socket takes waits unsealed")
	spent := bob.u.sender.Next() - start
	assert.Less(t, spent, int64(queued/4), "pad spent on %d B while %d B wait", spent, c.later)
	assert.LessOrEqual(t, len(c.out), 2*(sealAhead+l.cfg.MaxFrame), "out is bounded, not the backlog")

	// Drain part, flood again while bob still holds spans, twice.
	total := queued
	for w := 0; w < 2; w++ {
		for i := 0; i < 40; i++ {
			in.drain()
			l.dispatch(poller.Event{Fd: c.fd, Tag: c.tag(), Mask: poller.Writable})
			l.beforeSleep()
		}
		t.Logf("wave %d: arena %d B, bob's backlog %d B, %d B arrived", w, len(l.hub.arena), c.later, in.last*text)
		require.Positive(t, c.later, "still behind")
		total += wave(30)
		assert.Less(t, len(l.hub.arena), total-in.last*text/2, "arena compacted under held spans")
	}
	for i := 0; i < 10000 && (c.pending() > 0 || in.last < next-1); i++ {
		in.drain()
		l.dispatch(poller.Event{Fd: c.fd, Tag: c.tag(), Mask: poller.Writable})
		l.beforeSleep()
	}
	in.drain()
	assert.Equal(t, next-1, in.last, "every message arrived")
	assert.Zero(t, c.pending())
	assert.Zero(t, c.later)
	assert.Empty(t, in.buf, "no partial frame left")
	assert.Equal(t, bob.u.sender.Next(), in.padEnd, "pad spent exactly on the frames that left")
}

// sayText is message i's text: its number, then filler to size.
func sayText(i, size int) []byte {
	b := fmt.Appendf(nil, "m%07d ", i)
	return append(b, bytes.Repeat([]byte{byte('a' + i%26)}, size-len(b))...)
}

// openRecv opens the client's side of name's receive pad.
func openRecv(t *testing.T, l *Loop, name string) *otp.Receiver {
	t.Helper()
	pad, err := otp.OpenPad(bundle.Path(BundleDir(l.cfg.DataDir, name), bundle.RecvPad))
	require.NoError(t, err)
	rcv, err := otp.OpenReceiver(pad, pad.Path()+bundle.StateSuffix, otp.ReceiverOptions{NoLock: true})
	require.NoError(t, err)
	t.Cleanup(func() { rcv.Close(); pad.Close() })
	return rcv
}

// frameReader reads a member's socket, opens each whole frame and checks the
// room messages in it come in order.
type frameReader struct {
	t        *testing.T
	g        *gateUser
	rcv      *otp.Receiver
	buf      []byte
	last     int   // number of the last message seen; -1 before the first
	padEnd   int64 // where the last frame's pad use ended
	seen     bool
	byeAfter bool // a Bye came after the last room message
}

func (r *frameReader) drain() {
	r.buf = append(r.buf, r.g.n.p.recv()...)
	r.lastMsg()
}

// lastMsg opens the whole frames in buf, checks them and returns the last
// message in them.
func (r *frameReader) lastMsg() wire.Msg {
	t := r.t
	mark := r.g.durable(t)
	var m wire.Msg
	for len(r.buf) >= otp.HeaderSize {
		size, err := otp.FrameLen(r.buf, 0)
		require.NoError(t, err)
		if len(r.buf) < size {
			break
		}
		f := r.buf[:size]
		end := int64(binary.BigEndian.Uint64(f[20:28])) + otp.PadCost(size-otp.Overhead)
		require.LessOrEqual(t, end, mark, "a frame left before its pad use was durable")
		plain, err := r.rcv.Open(nil, f, otp.ToClient, &r.g.n.sess)
		require.NoError(t, err)
		r.padEnd = end
		for rest := plain; len(rest) > 0; {
			rest, err = wire.DecodeNext(rest, &m)
			require.NoError(t, err)
			if m.Op == wire.OpBye {
				r.byeAfter = true
			}
			var i int
			if _, err := fmt.Sscanf(string(m.Text), "m%07d ", &i); err != nil || m.Op != wire.OpMessage {
				continue
			}
			want := 0
			if r.seen {
				want = r.last + 1
			}
			require.Equal(t, want, i, "message order")
			require.Equal(t, sayText(i, len(m.Text)), m.Text, "message %d intact", i)
			r.last, r.seen, r.byeAfter = i, true, false
		}
		r.buf = r.buf[size:]
	}
	return m
}

// backlogPair logs alice and bob into room r and shrinks bob's socket buffer,
// so that a flood leaves him behind; it returns them and a reader of bob's
// socket, past the join's replies (the receiver allows the gap before them).
func backlogPair(t *testing.T, l *Loop) (alice, bob *gateUser, in *frameReader) {
	t.Helper()
	return backlogJoin(t, l, gateLoginPad(t, l, "alice", 64<<20), gateLoginPad(t, l, "bob", 64<<20))
}

// backlogJoin is backlogPair with the sessions given.
func backlogJoin(t *testing.T, l *Loop, alice, bob *gateUser) (_, _ *gateUser, in *frameReader) {
	t.Helper()
	for _, g := range []*gateUser{alice, bob} {
		g.send(t, &wire.Msg{Op: wire.OpJoin, Room: []byte("r")})
		awaitInput(g.n.p.c.fd)
		g.n.p.c.read()
		l.beforeSleep()
	}
	require.NoError(t, unix.SetsockoptInt(bob.n.p.c.fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 16<<10))
	in = &frameReader{t: t, g: bob, rcv: openRecv(t, l, "bob"), last: -1}
	in.drain()
	return alice, bob, in
}

// backlogFlood has alice say msgs messages of 4,000 bytes to bob (backlogPair),
// so that he falls behind with a backlog; it returns bob and his reader.
func backlogFlood(t *testing.T, l *Loop, msgs int) (*gateUser, *frameReader) {
	t.Helper()
	alice, bob, in := backlogPair(t, l)
	floodSays(t, l, alice, msgs)
	return bob, in
}

// floodSays has alice say msgs messages of 4,000 bytes in room r, 12 to a frame.
func floodSays(t *testing.T, l *Loop, alice *gateUser, msgs int) {
	t.Helper()
	const text = 4000
	for i := 0; i < msgs; i += 12 {
		var plain []byte
		for k := i; k < i+12; k++ {
			plain = wire.Append(plain, &wire.Msg{Op: wire.OpSay, Room: []byte("r"), Text: sayText(k, text)})
		}
		_, err := unix.Write(alice.n.p.fd, alice.n.frame(t, plain))
		require.NoError(t, err)
		alice.n.p.c.read()
		l.beforeSleep()
	}
}

// readToEOF reads fd until the peer closes it, waiting while it has nothing.
func readToEOF(fd int) []byte {
	var b []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, buf)
		if n == 0 && err == nil {
			return b
		}
		if n > 0 {
			b = append(b, buf[:n]...)
		}
		if err != nil {
			unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 100)
		}
	}
}

// TestBacklogLeavesAtShutdown: a member still behind when the daemon stops
// gets its whole backlog, then its Bye, if it reads within the grace period.
func TestBacklogLeavesAtShutdown(t *testing.T) {
	l, _ := plainLoop(t, Config{OutLimit: 64 << 20})
	const msgs = 600
	bob, in := backlogFlood(t, l, msgs)
	require.Positive(t, bob.n.p.c.later, "a backlog waits when the daemon stops")

	// The reader runs beside shutdown, which waits for the socket to drain.
	got := make(chan []byte)
	go func() { got <- readToEOF(bob.n.p.fd) }()
	l.shutdown()
	in.buf = <-got
	in.lastMsg()
	assert.Equal(t, msgs-1, in.last, "the whole backlog left before the close")
	assert.True(t, in.byeAfter, "and the Bye after it")
	assert.Empty(t, in.buf, "no partial frame")
}

// TestBacklogCutForTheBye: a member still behind when its session is ended
// (here its account removed) never gets the backlog, but gets its Bye right
// after what was staged for its socket: in order, sealed, under the durable
// mark. Queued behind the backlog instead, the Bye was never sealed.
func TestBacklogCutForTheBye(t *testing.T) {
	l, _ := plainLoop(t, Config{OutLimit: 64 << 20})
	const msgs = 600
	bob, in := backlogFlood(t, l, msgs)
	c := bob.n.p.c
	require.Positive(t, c.later, "a backlog waits")
	in.drain()
	// Room in the socket for what is staged and the Bye; the backlog would not fit.
	require.NoError(t, unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20))

	l.hub.acct.evict(bob.u, wire.ByeRemoved, "removed by the operator")
	l.beforeSleep()
	require.True(t, c.closed, "the session ended")
	in.buf = append(in.buf, readToEOF(bob.n.p.fd)...)
	m := in.lastMsg()
	assert.True(t, in.byeAfter, "the Bye came after the last message")
	assert.Equal(t, wire.OpBye, m.Op, "and last")
	assert.Equal(t, uint32(wire.ByeRemoved), m.ID, "with its reason")
	assert.Less(t, in.last, msgs-1, "the backlog was not sent")
	assert.Empty(t, in.buf, "no partial frame")
}

// TestShutdownSkipsASlowConsumer: a member cut off as a slow consumer when
// the daemon stops has its output dropped, neither sealed nor waited on, so
// the members after it still get their Bye within the grace period. Waited
// on, bob (who reads nothing) held shutdown for all of it and carol was
// closed without her Bye.
func TestShutdownSkipsASlowConsumer(t *testing.T) {
	l, _ := plainLoop(t, Config{OutLimit: 64 << 20})
	bob, _ := backlogFlood(t, l, 600)
	require.Positive(t, bob.n.p.c.later, "bob is behind")
	carol := gateLogin(t, l, "carol")
	require.Greater(t, carol.n.p.c.fd, bob.n.p.c.fd, "shutdown comes to carol after bob")
	in := &frameReader{t: t, g: carol, rcv: openRecv(t, l, "carol"), last: -1}
	in.drain()
	bob.n.p.c.kill(ReasonSlowConsumer)

	got := make(chan []byte)
	go func() { got <- readToEOF(carol.n.p.fd) }()
	l.shutdown()
	in.buf = append(in.buf, <-got...)
	m := in.lastMsg()
	assert.Equal(t, wire.OpBye, m.Op, "carol got her Bye")
	assert.Equal(t, uint32(wire.ByeShutdown), m.ID, "with its reason")
}

// TestByeLingersForAFullSocket: a member behind when its session is ended,
// whose socket is full, still gets its Bye once it reads again: the session
// ends at once, but the socket lingers with what passed the gate (what was
// staged, then the Bye) until it is written. Closed at once instead, the
// socket lost the Bye. The peer still sends meanwhile (its pings, acks):
// the lingering socket drains that, shuts its side once the tail is out, and
// closes when the peer closes its own.
func TestByeLingersForAFullSocket(t *testing.T) {
	l, bob, in, g := removedBehind(t)
	_, err := unix.Write(bob.n.p.fd, []byte("input the session will never read"))
	require.NoError(t, err)
	got := make(chan []byte)
	go func() {
		b := readToEOF(bob.n.p.fd)
		unix.Shutdown(bob.n.p.fd, unix.SHUT_WR) // the client closes after the Bye
		got <- b
	}()
	for i := 0; i < 1000 && !g.done; i++ {
		n, err := l.p.Wait(l.events, 10*time.Millisecond)
		require.NoError(t, err)
		for _, ev := range l.events[:n] {
			l.dispatch(ev)
		}
	}
	require.True(t, g.done, "the tail was written and the peer closed")
	in.buf = append(in.buf, <-got...)
	m := in.lastMsg()
	assert.True(t, in.byeAfter, "the Bye came after the last message")
	assert.Equal(t, wire.OpBye, m.Op, "and last")
	assert.Equal(t, uint32(wire.ByeRemoved), m.ID, "with its reason")
	assert.Less(t, in.last, backlogMsgs-1, "the backlog was not sent")
	assert.Empty(t, in.buf, "no partial frame")
	l.tick()
	assert.Empty(t, l.lingerers, "a lingerer done is forgotten")
}

// TestLingerEndsWhenItsTimeIsUp: a lingering socket whose peer never reads
// again is closed after lingerFor, by the housekeeping tick.
func TestLingerEndsWhenItsTimeIsUp(t *testing.T) {
	l, bob, _, g := removedBehind(t)
	l.now += int64(lingerFor) - 1
	l.tick()
	require.False(t, g.done, "still within its time")
	l.now++
	l.tick()
	assert.True(t, g.done, "closed when its time is up")
	assert.Empty(t, l.lingerers)
	assert.NotContains(t, l.watchers, g.sock)
	assert.NotEmpty(t, readToEOF(bob.n.p.fd), "the peer reads what was written, then EOF")
}

const backlogMsgs = 600

// removedBehind floods bob (backlogFlood) until his socket is full, then
// removes his account: his session ends and his socket lingers.
func removedBehind(t *testing.T) (*Loop, *gateUser, *frameReader, *lingerer) {
	t.Helper()
	l, _ := plainLoop(t, Config{OutLimit: 64 << 20})
	bob, in := backlogFlood(t, l, backlogMsgs)
	return l, bob, in, evictBehind(t, l, bob)
}

// evictBehind removes bob's account while he is behind with a full socket:
// his session ends at once and his socket lingers.
func evictBehind(t *testing.T, l *Loop, bob *gateUser) *lingerer {
	t.Helper()
	c := bob.n.p.c
	require.Positive(t, c.later, "a backlog waits")
	require.True(t, c.writable, "bob's socket is full")

	l.hub.acct.evict(bob.u, wire.ByeRemoved, "removed by the operator")
	l.beforeSleep()
	require.True(t, c.closed, "the session ended at once")
	assert.Nil(t, bob.u.session)
	g, ok := l.watchers[c.fd].(*lingerer)
	require.True(t, ok, "its socket lingers")
	require.Equal(t, []*lingerer{g}, l.lingerers)
	return g
}

// TestAckThenCloseInOneRead: a session that acknowledges a DM and then
// breaks the protocol in the same read is closed before the store commits
// the ack; the commit's callback must not reach through the session's user,
// which the close cleared. It did, and panicked the daemon (found by
// FuzzNativeCommands).
func TestAckThenCloseInOneRead(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	alice, bob := gateLoginPad(t, l, "alice", 8<<20), gateLoginPad(t, l, "bob", 8<<20)
	bob.send(t, &wire.Msg{Op: wire.OpDM, User: []byte("alice"), Text: []byte("hi")})
	bob.n.p.c.read()
	l.beforeSleep()
	an := alice.n.p.c.h.(*native)
	require.Len(t, an.some().inflight, 1, "the DM reached alice")
	var ref mailRef
	for ref = range an.some().inflight {
	}
	plain := wire.Append(nil, &wire.Msg{Op: wire.OpAck, User: []byte(ref.from), ID: ref.id})
	plain = append(plain, 0xff, 0xff, 0xff) // then bytes that are no message
	_, err := unix.Write(alice.n.p.fd, alice.n.frame(t, plain))
	require.NoError(t, err)
	alice.n.p.c.read()
	require.True(t, alice.n.p.c.dying, "the bad bytes end the session")
	l.beforeSleep()
	require.True(t, alice.n.p.c.closed)
	left := 0
	l.hub.mail.(*localMail).boxes.scan(alice.u.key(), 0, func(uint64, []byte) bool { left++; return true })
	assert.Zero(t, left, "the ack still took the DM out of her mailbox")
}

// TestStagedAfterUnsentBytes: a session that ends while its socket is full
// has its last part staged after the bytes the socket has not taken yet
// (bye, Conn.kill). Only the staged frames are held back for their seal;
// the unsent bytes before them, sealed and reserved long ago, may still
// leave. Counted as held too, they waited for the new frames' seal.
func TestStagedAfterUnsentBytes(t *testing.T) {
	l, _ := plainLoop(t, Config{OutLimit: 64 << 20})
	bob, _ := backlogFlood(t, l, backlogMsgs)
	c := bob.n.p.c
	require.True(t, c.writable, "bob's socket is full")
	require.Positive(t, c.later, "a backlog waits")
	require.Less(t, c.outPos, len(c.out), "bytes the socket has not taken")
	require.Zero(t, c.held, "all of them sealed and reserved")
	unsent := len(c.out)
	require.True(t, c.s.stage(c))
	assert.Equal(t, len(c.out)-unsent, c.held, "held: the staged frames only")
}
