// Burning: used pad is zeroed in the file, unused pad is untouched and still works.
package otp

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func zeroUpTo(tb testing.TB, path string, from, to int64) (zero bool, tailRandom bool) {
	tb.Helper()
	b, err := os.ReadFile(path)
	require.NoError(tb, err)
	tail := b[to:min(int64(len(b)), to+4096)]
	return bytes.Count(b[from:to], []byte{0}) == int(to-from), len(tail) > 0 && bytes.Count(tail, []byte{0}) < len(tail)/8
}

func TestBurn(t *testing.T) {
	sendPad := newPad(t, 1<<20)
	recvPad := copyPad(t, sendPad)
	s, sPath := newSenderT(t, sendPad, SenderOptions{Burn: true, ReserveStep: 4096})
	r, _ := newReceiverT(t, recvPad, ReceiverOptions{Burn: true})
	sess := newSession()

	for i := range 3 {
		msg := bytes.Repeat([]byte{byte(i + 1)}, 1000)
		frame := seal(t, s, msg, ToServer, sess) // Reserve burns what earlier frames used
		got, err := r.Open(nil, frame, ToServer, sess)
		require.NoError(t, err)
		assert.Equal(t, msg, got)
	}
	zero, _ := zeroUpTo(t, sendPad.Path(), FirstOffset, s.Next())
	assert.False(t, zero, "the last frame's pad is burned only at the next Reserve or Close")
	require.NoError(t, s.Close())
	zero, random := zeroUpTo(t, sendPad.Path(), FirstOffset, s.Next())
	assert.True(t, zero, "sender burned everything it used")
	assert.True(t, random, "and nothing after it")
	head, err := ReadPadID(sendPad.Path())
	require.NoError(t, err)
	assert.Equal(t, sendPad.ID(), head, "the naming bytes are never burned")

	require.NoError(t, r.Save())
	zero, random = zeroUpTo(t, recvPad.Path(), FirstOffset, r.Expected())
	assert.True(t, zero, "receiver burned everything it accepted")
	assert.True(t, random)

	// Unburned pad still seals and opens after a restart.
	s, err = OpenSender(sendPad, sPath, SenderOptions{Burn: true})
	require.NoError(t, err)
	frame := seal(t, s, []byte("after the burn"), ToServer, sess)
	got, err := r.Open(nil, frame, ToServer, sess)
	require.NoError(t, err)
	assert.Equal(t, "after the burn", string(got))
	require.NoError(t, s.Close())
}

// After a crash the pad skipped up to the reserved mark is burned on reopen.
func TestBurnAfterCrash(t *testing.T) {
	pad := newPad(t, 1<<20)
	s, path := newSenderT(t, pad, SenderOptions{Burn: true, ReserveStep: 8192})
	seal(t, s, make([]byte, 100), ToServer, newSession())
	mark := s.reserved
	crash(s)
	s, err := OpenSender(pad, path, SenderOptions{Burn: true})
	require.NoError(t, err)
	defer s.Close()
	zero, random := zeroUpTo(t, pad.Path(), FirstOffset, mark)
	assert.True(t, zero)
	assert.True(t, random)
}
