package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"padchat/otp"
	"padchat/wire"
)

// eventLog reads a member's socket and lists the room events in it, in order.
type eventLog struct {
	t   *testing.T
	g   *gateUser
	rcv *otp.Receiver
	buf []byte
	got []string
}

func (e *eventLog) read() []string {
	e.buf = append(e.buf, e.g.n.p.recv()...)
	for len(e.buf) >= otp.HeaderSize {
		size, err := otp.FrameLen(e.buf, 0)
		require.NoError(e.t, err)
		require.GreaterOrEqual(e.t, len(e.buf), size, "partial frame")
		plain, err := e.rcv.Open(nil, e.buf[:size], otp.ToClient, &e.g.n.sess)
		require.NoError(e.t, err)
		var m wire.Msg
		for rest := plain; len(rest) > 0; {
			rest, err = wire.DecodeNext(rest, &m)
			require.NoError(e.t, err)
			switch m.Op {
			case wire.OpMessage, wire.OpJoined, wire.OpParted, wire.OpTopicIs, wire.OpDirect:
				e.got = append(e.got, fmt.Sprintf("%d %s %s %.12s", m.Op, m.Room, m.User, m.Text))
			}
		}
		e.buf = e.buf[size:]
	}
	return e.got
}

// TestRoomRunKeepsEachMembersOrder: alice's Says of one read are queued on
// the other members as a run (roomRun), and a join, a topic, a part and Says
// to another room in the same read must still reach each member in the
// order a delivery per message gives; a run longer than a chunk (here the
// smallest frame limit, 5 KiB) arrives whole and in order.
func TestRoomRunKeepsEachMembersOrder(t *testing.T) {
	l, _ := plainLoop(t, Config{MaxMessage: 4 << 10, MaxFrame: 1})
	require.Equal(t, 5<<10, l.hub.laterFrame(), "a chunk of the run")
	users := map[string]*gateUser{}
	logs := map[string]*eventLog{}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		users[name] = gateLoginPad(t, l, name, 8<<20)
	}
	joins := map[string][]string{"alice": {"r"}, "bob": {"r", "s"}, "carol": {"r"}, "dave": {"s"}}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		g := users[name]
		for _, room := range joins[name] {
			g.send(t, &wire.Msg{Op: wire.OpJoin, Room: []byte(room)})
			g.n.p.c.read()
			l.beforeSleep()
		}
		logs[name] = &eventLog{t: t, g: g, rcv: openRecv(t, l, name)}
	}
	for _, e := range logs {
		e.got = e.got[:0]
		e.read()
		e.got = nil
	}

	long := strings.Repeat("x", 1000)
	var msgs [][]byte // alice's input, one wire message each
	add := func(m *wire.Msg) { msgs = append(msgs, wire.Append(nil, m)) }
	say := func(room, text string) { add(&wire.Msg{Op: wire.OpSay, Room: []byte(room), Text: []byte(text)}) }
	var want []string   // what bob and carol hear in r, and bob and dave in s, in order
	for i := range 20 { // ~20 KiB: four chunks and more
		say("r", fmt.Sprintf("a%02d%s", i, long))
		want = append(want, fmt.Sprintf("67 r alice a%02d%.9s", i, long))
	}
	add(&wire.Msg{Op: wire.OpJoin, Room: []byte("s")})
	want = append(want, "69 s alice ")
	say("s", "b0")
	want = append(want, "67 s alice b0")
	say("r", "a20")
	say("r", "a21")
	want = append(want, "67 r alice a20", "67 r alice a21")
	add(&wire.Msg{Op: wire.OpTopic, Room: []byte("r"), Text: []byte("t1")})
	want = append(want, "77 r alice t1")
	say("r", "a22")
	want = append(want, "67 r alice a22")
	add(&wire.Msg{Op: wire.OpPart, Room: []byte("r")})
	want = append(want, "70 r alice left")
	say("s", "b1")
	want = append(want, "67 s alice b1")
	// One write, one read: every message above is handled in one onData,
	// in as many frames as the frame limit takes.
	a := users["alice"]
	var frames, plain []byte
	for _, m := range msgs {
		if len(plain)+len(m) > l.cfg.MaxFrame {
			frames, plain = append(frames, a.n.frame(t, plain)...), nil
		}
		plain = append(plain, m...)
	}
	frames = append(frames, a.n.frame(t, plain)...)
	_, err := unix.Write(a.n.p.fd, frames)
	require.NoError(t, err)
	a.n.p.c.read()
	l.beforeSleep()

	only := func(rooms ...string) []string {
		var out []string
		for _, w := range want {
			for _, r := range rooms {
				if strings.HasPrefix(w[3:], r+" ") {
					out = append(out, w)
				}
			}
		}
		return out
	}
	require.Equal(t, only("r", "s"), logs["bob"].read(), "bob, in r and s")
	require.Equal(t, only("r"), logs["carol"].read(), "carol, in r")
	require.Equal(t, only("s"), logs["dave"].read(), "dave, in s")
	require.Equal(t, []string{"77 r alice t1"}, logs["alice"].read(), "alice hears only the topic of her own")
	require.Zero(t, l.hub.run.r, "no run left after the read")
}

// TestRoomRunGoesBeforeADelivery: an event for one member queued while a run
// is open (in the loop: a delivery set off by the sender's command), or one
// fanned out to the room, follows the run's messages for that member.
func TestRoomRunGoesBeforeADelivery(t *testing.T) {
	l, bob, in := runPair(t)
	h, an := l.hub, l.hub.session("alice")
	h.run.on = true
	for i := range 3 {
		_, err := h.say(an, []byte("r"), fmt.Appendf(nil, "m%d", i), 0)
		require.NoError(t, err)
	}
	require.NotNil(t, h.run.r, "the Says form a run")
	bob.deliver(&wire.Msg{Op: wire.OpDirect, User: []byte("carol"), Text: []byte("dm")}, nil)
	// And any other fan-out, here a topic set by no command of alice's.
	_, err := h.say(an, []byte("r"), []byte("m3"), 0)
	require.NoError(t, err)
	_, err = h.setTopic(an, []byte("r"), []byte("t1"))
	require.NoError(t, err)
	h.run.on = false
	h.flushRun()
	l.beforeSleep()
	require.Equal(t, []string{"67 r alice m0", "67 r alice m1", "67 r alice m2", "68  carol dm",
		"67 r alice m3", "77 r alice t1"}, in.read())
}

// TestRoomRunSurvivesTheArenaRecycled: an early write in the middle of a read
// (Conn.queued past the output limit) runs the reserve hook, which recycles
// the arena; a run not yet handed out holds its bytes there like a span, and
// moves with them when the arena is compacted.
func TestRoomRunSurvivesTheArenaRecycled(t *testing.T) {
	l, _, in := runPair(t)
	h, an := l.hub, l.hub.session("alice")
	// What earlier reads left in the arena, held by nobody: compaction drops it.
	h.arena = append(h.arena, make([]byte, 2*arenaCompact)...)
	h.run.on = true
	for i := range 3 {
		_, err := h.say(an, []byte("r"), fmt.Appendf(nil, "m%d", i), 0)
		require.NoError(t, err)
	}
	require.NotNil(t, h.run.r, "the Says form a run")
	h.recycleArena()
	require.Less(t, len(h.arena), arenaCompact, "the arena was compacted")
	clear(h.arena[len(h.arena):cap(h.arena)]) // as the arena's reuse would, later
	h.run.on = false
	h.flushRun()
	l.beforeSleep()
	require.Equal(t, []string{"67 r alice m0", "67 r alice m1", "67 r alice m2"}, in.read())
}

// runPair has alice and bob in room r, and returns the loop, bob's session
// and a log of what bob hears from now on.
func runPair(t *testing.T) (*Loop, *native, *eventLog) {
	l, _ := plainLoop(t, Config{})
	bob := roomR(t, l, "alice", "bob")[1]
	return l, bob.n.p.c.h.(*native), hears(t, l, bob)
}

// roomR logs names in and has them join room r, in that order.
func roomR(t *testing.T, l *Loop, names ...string) []*gateUser {
	t.Helper()
	var users []*gateUser
	for _, name := range names {
		g := gateLoginPad(t, l, name, 8<<20)
		g.send(t, &wire.Msg{Op: wire.OpJoin, Room: []byte("r")})
		g.n.p.c.read()
		l.beforeSleep()
		users = append(users, g)
	}
	return users
}

// hears returns a log of what g hears from now on.
func hears(t *testing.T, l *Loop, g *gateUser) *eventLog {
	in := &eventLog{t: t, g: g, rcv: openRecv(t, l, g.u.Name)}
	in.read()
	in.got = nil
	return in
}

// TestRoomRunReachesMembersAfterOneClosed: a member whose connection fails
// while a run is handed out (an early write past the output limit, to a peer
// that is gone) leaves the room under the walk; the member after it must
// still get the whole run. Walking r.members itself, the part moved bob into
// carol's place and he got none of it.
func TestRoomRunReachesMembersAfterOneClosed(t *testing.T) {
	l, _ := plainLoop(t, Config{OutLimit: 8 << 10, HistorySize: 100})
	users := roomR(t, l, "alice", "carol", "bob") // the room's order
	alice, carol, bob := users[0], users[1], users[2]
	in := hears(t, l, bob)
	require.NoError(t, unix.Close(carol.n.p.fd)) // carol's peer is gone: her next write fails

	var plain []byte
	var want []string
	for i := range 12 { // 12 KB: past the output limit, so each member writes early
		text := fmt.Sprintf("m%02d %s", i, strings.Repeat("x", 1000))
		plain = wire.Append(plain, &wire.Msg{Op: wire.OpSay, Room: []byte("r"), Text: []byte(text)})
		want = append(want, fmt.Sprintf("67 r alice %.12s", text))
	}
	_, err := unix.Write(alice.n.p.fd, alice.n.frame(t, plain))
	require.NoError(t, err)
	alice.n.p.c.read()
	l.beforeSleep()
	require.True(t, carol.n.p.c.closed, "carol's write failed")
	assert.Less(t, l.hub.store.cursor(carol.u.key(), "r"), l.hub.rooms["r"].hist,
		"carol's history cursor does not claim the run she never got")
	got := in.read()
	require.Contains(t, got, "70 r carol quit", "bob heard carol go")
	var msgs []string
	for _, e := range got {
		if strings.HasPrefix(e, "67 ") {
			msgs = append(msgs, e)
		}
	}
	require.Equal(t, want, msgs, "bob got the whole run, in order")
}

// TestRoomRunChunksFitTheFrameLimit: under the smallest frame limit a daemon
// takes (the message limit and 1 KiB), a run's chunk must still fit one
// frame: two Says of 3.5 KB in one read are two frames, not one that the
// seal refuses (which ended every member's session as "pad exhausted").
func TestRoomRunChunksFitTheFrameLimit(t *testing.T) {
	l, _ := plainLoop(t, Config{MaxMessage: 4 << 10, MaxFrame: 1})
	require.Equal(t, 5<<10, l.cfg.MaxFrame)
	users := roomR(t, l, "alice", "bob")
	alice, bob := users[0], users[1]
	in := hears(t, l, bob)
	var frames []byte // a frame each (alice's frames have the limit too), one write
	var want []string
	for i := range 2 {
		text := fmt.Sprintf("m%02d %s", i, strings.Repeat("y", 3500))
		frames = append(frames, alice.n.frame(t, wire.Append(nil, &wire.Msg{Op: wire.OpSay, Room: []byte("r"), Text: []byte(text)}))...)
		want = append(want, fmt.Sprintf("67 r alice %.12s", text))
	}
	_, err := unix.Write(alice.n.p.fd, frames)
	require.NoError(t, err)
	alice.n.p.c.read()
	l.beforeSleep()
	require.False(t, bob.n.p.c.dying || bob.n.p.c.closed, "bob's session goes on")
	require.Equal(t, want, in.read())
}
