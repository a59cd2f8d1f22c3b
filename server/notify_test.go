// What keeps a room event (its history record) takes it before the fan-out moves or reuses the arena.
package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"padchat/wire"
)

// TestHistoryKeepsTheSayAMemberClosedUnder: a Say delivered member by member
// (no run: the hub's own say, outside a session's read) reaches a member past
// the output limit whose peer is gone: the early write seals, reserves (which
// emptied the arena, no span being held) and fails, and the member's part was
// encoded where the Say lay. The member after got the part's bytes under the
// Say's length (a truncated message), and with the history taken after the
// fan-out (the order before 73e1bde) the room kept the part as its message.
// The arena now waits for the fan-out (recycleArena).
func TestHistoryKeepsTheSayAMemberClosedUnder(t *testing.T) {
	l, _ := plainLoop(t, Config{OutLimit: 2 << 10, HistorySize: 100})
	users := roomR(t, l, "alice", "bob", "carol") // the room's order
	alice, bob, carol := users[0], users[1], users[2]
	in := hears(t, l, carol)
	require.NoError(t, unix.Close(bob.n.p.fd)) // bob's peer is gone: his next write fails

	text := "m00 " + strings.Repeat("x", 3000) // past the output limit: each member writes early
	_, err := l.hub.say(alice.n.p.c.h.(member), []byte("r"), []byte(text), 0)
	require.NoError(t, err)
	require.True(t, bob.n.p.c.closed, "bob's write failed")

	hist := l.hub.store.hist.runs["r"]
	require.NotNil(t, hist)
	require.Len(t, hist.ends, 1, "one record waits for the commit")
	var m wire.Msg
	_, err = wire.DecodeNext(hist.buf[:hist.ends[0]], &m)
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("%d %.12s %d", wire.OpMessage, text, len(text)),
		fmt.Sprintf("%d %.12s %d", m.Op, m.Text, len(m.Text)), "the history keeps the Say")
	l.beforeSleep()
	got := in.read()
	assert.Contains(t, got, fmt.Sprintf("67 r alice %.12s", text), "carol got the Say whole")
	assert.Contains(t, got, "70 r bob quit", "and heard bob go")
}
