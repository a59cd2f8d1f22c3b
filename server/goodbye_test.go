package server

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"padchat/wire"
)

// A shutdown Bye that closes its connection at once (the early write past
// the output limit fails) takes that session off Hub.sessions while goodbye
// walks it: every other session still gets its Bye, and nothing panics.
func TestGoodbyeWhileASessionCloses(t *testing.T) {
	const limit = 64 << 10
	l, _ := plainLoop(t, Config{OutLimit: limit})
	alice := gateLogin(t, l, "alice")
	bob := gateLogin(t, l, "bob")
	carol := gateLogin(t, l, "carol")
	h := l.hub
	require.Len(t, h.sessions, 3)
	n, c := alice.n.p.c.h.(*native), alice.n.p.c
	unix.Close(alice.n.p.fd) // the peer is gone: the next write fails
	text := bytes.Repeat([]byte("x"), 100)
	for c.pending() < limit-300 {
		n.send(&wire.Msg{Op: wire.OpMessage, Room: []byte("r"), User: []byte("bob"), Text: text})
	}
	for c.pending() < limit-40 { // within one Bye of the limit
		n.send(&wire.Msg{Op: wire.OpMessage, Text: []byte("y")})
	}
	require.False(t, c.dying || c.closed)
	bobWas, carolWas := bob.n.p.c.pending(), carol.n.p.c.pending()

	h.goodbye()
	assert.True(t, c.closed, "alice's Bye went out early and failed")
	assert.Len(t, h.sessions, 2)
	assert.Greater(t, bob.n.p.c.pending(), bobWas, "bob has his Bye")
	assert.Greater(t, carol.n.p.c.pending(), carolWas, "carol has hers")
}
