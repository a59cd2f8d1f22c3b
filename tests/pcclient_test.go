// The test client's own costs: sealing into a caller's buffer, opening frames in place.
package tests

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/otp"
	"padchat/wire"
)

// A client that seals into its own buffer allocates nothing per message: the
// paced benchmark's publisher, when it did, ran the GC in the measured phase.
func TestAppendSealAllocatesNothing(t *testing.T) {
	d := startServer(t)
	alice := dial(t, d, "alice")
	join(t, alice, "lobby")
	m := wire.Msg{Op: wire.OpSay, Room: []byte("lobby"), Text: make([]byte, 100)}
	buf := make([]byte, 0, 4<<10)
	var err error
	allocs := testing.AllocsPerRun(500, func() {
		if _, e := alice.AppendSeal(buf[:0], &m); e != nil {
			err = e
		}
	})
	require.NoError(t, err)
	assert.Zero(t, allocs, "allocations per sealed message")
}

// Frames that fit the reader's buffer are opened where they lie, longer ones
// (a 4,096-byte text, the default --max-message, is longer) where the client
// read them, in a buffer of its own: both give the message, and one after the
// other keep their order.
func TestRecvSmallAndLargeFrames(t *testing.T) {
	d := startServer(t)
	alice, bob := dial(t, d, "alice"), dial(t, d, "bob")
	join(t, alice, "lobby")
	join(t, bob, "lobby")
	texts := [][]byte{[]byte("short"), bytes.Repeat([]byte("L"), 4096), []byte("short again"), bytes.Repeat([]byte("M"), 4096)}
	for _, text := range texts {
		require.Equal(t, wire.OpOK, request(t, alice, wire.Msg{Op: wire.OpSay, Room: []byte("lobby"), Text: text}).Op)
	}
	for i, text := range texts {
		got := expect(t, bob, "message", func(m *wire.Msg) bool { return m.Op == wire.OpMessage })
		assert.Equal(t, text, got.Text, "message %d", i)
	}
}

// A frame over the reader's buffer that carries several messages gives each
// whole and in order, and the frames after it, read into the same buffer,
// theirs: a message's bytes stay where the frame was opened until all of the
// frame's messages are used up.
func TestRecvLargeFrameOfSeveralMessages(t *testing.T) {
	d := startServer(t)
	alice, bob := dial(t, d, "alice"), dial(t, d, "bob")
	join(t, alice, "lobby")
	join(t, bob, "lobby")
	largest := 0
	bob.OnFrame = func(dir otp.Direction, _ int64, n int) {
		if dir == otp.ToClient {
			largest = max(largest, n)
		}
	}
	// Two rounds of six 2,000-byte Says, each round in one write: the daemon
	// reads a round at once and gives bob one frame of six messages.
	var texts [][]byte
	for round := range 2 {
		var buf []byte
		for i := range 6 {
			text := bytes.Repeat([]byte{byte('a' + 6*round + i)}, 2000)
			texts = append(texts, text)
			var err error
			buf, err = alice.AppendSeal(buf, &wire.Msg{Op: wire.OpSay, Room: []byte("lobby"), Text: text})
			require.NoError(t, err)
		}
		_, err := alice.Conn().Write(buf)
		require.NoError(t, err)
	}
	for i, text := range texts {
		got := expect(t, bob, "message", func(m *wire.Msg) bool { return m.Op == wire.OpMessage })
		assert.Equal(t, text, got.Text, "message %d", i)
	}
	assert.Greater(t, largest, 4<<10, "no frame over the reader's buffer: the test did not test it")
}
