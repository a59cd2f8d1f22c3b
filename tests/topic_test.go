// /topic and /away over the native protocol, against the real daemon.
package tests

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/wire"
)

// A topic set by a member reaches every member, is shown to a joiner right
// after its join (before the history), and is still there after a restart.
func TestTopicSetShownAndKept(t *testing.T) {
	d := startServer(t)
	alice, bob := dial(t, d, "alice"), dial(t, d, "bob")
	join(t, alice, "dev")
	join(t, bob, "dev")

	r := request(t, alice, wire.Msg{Op: wire.OpTopic, Room: []byte("dev")})
	require.Equal(t, wire.OpOK, r.Op, "%s", r.Text)
	assert.Empty(t, string(r.Text), "no topic yet")

	r = request(t, alice, wire.Msg{Op: wire.OpTopic, Room: []byte("dev"), Text: []byte("release friday")})
	require.Equal(t, wire.OpOK, r.Op, "%s", r.Text)
	assert.Equal(t, "release friday", string(r.Text))
	ev := expect(t, bob, "topic event", isOp(wire.OpTopicIs))
	assert.Equal(t, "dev", string(ev.Room))
	assert.Equal(t, "alice", string(ev.User))
	assert.Equal(t, "release friday", string(ev.Text))
	assert.NotZero(t, ev.Time)
	request(t, alice, wire.Msg{Op: wire.OpSay, Room: []byte("dev"), Text: []byte("hello")})

	// A joiner: OK, then the topic, then the history.
	carol := dial(t, d, "carol")
	seq, err := carol.Send(&wire.Msg{Op: wire.OpJoin, Room: []byte("dev")})
	require.NoError(t, err)
	var got []wire.Op
	expect(t, carol, "join, topic, history", func(m *wire.Msg) bool {
		switch m.Op {
		case wire.OpOK:
			if m.Seq == seq {
				got = append(got, m.Op)
			}
		case wire.OpTopicIs:
			assert.Equal(t, "release friday", string(m.Text))
			assert.Equal(t, "alice", string(m.User))
			got = append(got, m.Op)
		case wire.OpMessage:
			got = append(got, m.Op)
			return true
		}
		return false
	})
	assert.Equal(t, []wire.Op{wire.OpOK, wire.OpTopicIs, wire.OpMessage}, got)

	// Asking reads it without changing it.
	r = request(t, carol, wire.Msg{Op: wire.OpTopic, Room: []byte("dev")})
	assert.Equal(t, "release friday", string(r.Text))

	alice.Close()
	bob.Close()
	carol.Close()
	require.NoError(t, d.stop())
	d.start()
	dave := dial(t, d, "dave")
	join(t, dave, "dev")
	ev = expect(t, dave, "topic kept across restart", isOp(wire.OpTopicIs))
	assert.Equal(t, "release friday", string(ev.Text))
	assert.Equal(t, "alice", string(ev.User))
}

// Only a member sets a topic; a topic is one line of UTF-8 within the message limit.
func TestTopicRefused(t *testing.T) {
	d := startServer(t)
	alice, mallory := dial(t, d, "alice"), dial(t, d, "mallory")
	join(t, alice, "dev")

	r := request(t, mallory, wire.Msg{Op: wire.OpTopic, Room: []byte("dev"), Text: []byte("pwned")})
	require.Equal(t, wire.OpError, r.Op)
	assert.Equal(t, uint32(wire.CodeNotInRoom), r.ID)
	r = request(t, mallory, wire.Msg{Op: wire.OpTopic, Room: []byte("nosuch"), Text: []byte("x")})
	assert.Equal(t, uint32(wire.CodeNoSuchRoom), r.ID)

	r = request(t, alice, wire.Msg{Op: wire.OpTopic, Room: []byte("dev"), Text: []byte("two\nlines")})
	assert.Equal(t, wire.OpError, r.Op)
	r = request(t, alice, wire.Msg{Op: wire.OpTopic, Room: []byte("dev"), Text: []byte{0xff, 'x'}})
	assert.Equal(t, wire.OpError, r.Op)
	r = request(t, alice, wire.Msg{Op: wire.OpTopic, Room: []byte("dev"), Text: []byte(strings.Repeat("x", 4097))})
	assert.Equal(t, uint32(wire.CodeTooLong), r.ID)

	r = request(t, alice, wire.Msg{Op: wire.OpTopic, Room: []byte("dev")})
	require.Equal(t, wire.OpOK, r.Op)
	assert.Empty(t, string(r.Text), "nothing refused was set")
}

// /away marks the user in /who, for a room and for everyone online; empty is back.
func TestAwayInWho(t *testing.T) {
	d := startServer(t)
	alice, bob := dial(t, d, "alice"), dial(t, d, "bob")
	join(t, alice, "dev")
	join(t, bob, "dev")

	r := request(t, alice, wire.Msg{Op: wire.OpAway, Text: []byte("lunch")})
	require.Equal(t, wire.OpOK, r.Op, "%s", r.Text)
	r = request(t, bob, wire.Msg{Op: wire.OpWho, Room: []byte("dev")})
	assert.Equal(t, "alice\taway: lunch\nbob", string(r.Text))
	r = request(t, bob, wire.Msg{Op: wire.OpWho})
	assert.Equal(t, "alice\taway: lunch\nbob", string(r.Text))

	r = request(t, alice, wire.Msg{Op: wire.OpAway, Text: []byte("a\tb")})
	assert.Equal(t, wire.OpError, r.Op, "a tab would break the list")

	request(t, alice, wire.Msg{Op: wire.OpAway})
	r = request(t, bob, wire.Msg{Op: wire.OpWho, Room: []byte("dev")})
	assert.Equal(t, "alice\nbob", string(r.Text))
}
