// Shared plain-text output: one event's bytes queued by reference on every member, in order, through a full kernel buffer.
package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// linePeers attaches line-chat clients named after names, all in the plain room.
func linePeers(t *testing.T, l *Loop, names ...string) []*plainPeer {
	var ps []*plainPeer
	for _, n := range names {
		p := attachLineChat(t, l)
		l.beforeSleep()
		p.send(n + "\n")
		ps = append(ps, p)
	}
	for _, p := range ps {
		p.recv()
	}
	return ps
}

// readOnly lets the server read what was written to p, without the end of
// the iteration: what it queues stays queued.
func (p *plainPeer) readOnly(s string) {
	p.tb.Helper()
	_, err := unix.Write(p.fd, []byte(s))
	require.NoError(p.tb, err)
	p.c.read()
}

func TestSharedEventsOneMemory(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	ps := linePeers(t, l, "alice", "bob", "carol")
	a, b, c := ps[0], ps[1], ps[2]

	a.readOnly("one\ntwo\nthree\n")
	for _, p := range []*plainPeer{b, c} {
		require.Len(t, p.c.shared, 1, "back-to-back events of one iteration are one write")
		assert.Empty(t, p.c.out, "nothing copied into the member's own buffer")
	}
	assert.Same(t, &b.c.shared[0][0], &c.c.shared[0][0], "both members queue the same bytes")
	want := "alice: one\nalice: two\nalice: three\n"
	assert.Equal(t, len(want), b.c.pending())
	l.beforeSleep()
	assert.Equal(t, want, b.recv())
	assert.Equal(t, want, c.recv())
	assert.Empty(t, a.recv(), "no echo to the sender")
	assert.Nil(t, b.c.out)
	assert.Empty(t, b.c.shared)
	assert.Zero(t, b.c.sharedN)
}

// A reply queued after shared events leaves after them, as it was queued.
func TestSharedEventsKeepOrder(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	ps := linePeers(t, l, "alice", "bob")
	a, b := ps[0], ps[1]

	a.readOnly("first\n")
	b.readOnly(strings.Repeat("x", l.cfg.MaxMessage+1) + "\n") // its own error reply
	a.readOnly("second\n")
	l.beforeSleep()
	assert.Equal(t, "alice: first\n[SERVER] Message too long (max 4096 bytes).\nalice: second\n", b.recv())
}

// A member whose kernel buffer fills keeps the rest queued by reference and
// gets every byte, in order, once it reads; one that never reads is cut off
// at the output limit as before.
func TestSharedEventsFullKernelBuffer(t *testing.T) {
	l, _ := plainLoop(t, Config{OutLimit: 1 << 20})
	ps := linePeers(t, l, "alice", "bob")
	a, b := ps[0], ps[1]
	require.NoError(t, unix.SetsockoptInt(b.c.fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096))

	var want strings.Builder
	for i := 0; !b.c.writable; i++ {
		require.Less(t, i, 10000, "the kernel buffer never filled")
		line := fmt.Sprintf("message %d %s", i, strings.Repeat("y", 200))
		a.send(line + "\n")
		want.WriteString("alice: " + line + "\n")
	}
	for range 5 { // more while it waits
		a.send("late\n")
		want.WriteString("alice: late\n")
	}
	require.NotEmpty(t, b.c.shared)

	var got strings.Builder
	for i := 0; b.c.pending() > 0; i++ {
		require.Less(t, i, 10000)
		got.WriteString(b.recv())
		b.c.flush() // what Writable does
	}
	got.WriteString(b.recv())
	assert.Equal(t, want.String(), got.String())
	assert.False(t, b.c.writable)
	assert.False(t, b.c.dying)
}

func TestSharedEventsSlowConsumer(t *testing.T) {
	l, _ := plainLoop(t, Config{OutLimit: 64 << 10})
	ps := linePeers(t, l, "alice", "bob")
	a, b := ps[0], ps[1]
	require.NoError(t, unix.SetsockoptInt(b.c.fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4096))
	for i := 0; i < 10000 && !b.c.closed; i++ {
		a.send(strings.Repeat("z", 1000) + "\n")
	}
	require.True(t, b.c.closed, "a reader that never reads is cut off")
	assert.Equal(t, ReasonSlowConsumer, b.c.reason)
	assert.Nil(t, b.c.shared, "a closed conn lets go of the shared bytes")
	assert.False(t, a.c.dying)
}
