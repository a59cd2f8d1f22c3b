// Parking an idle pad's Sender and Receiver and opening them again.
package otp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A parked Sender writes its mark back down to next: the Sender opened after
// it resumes exactly where the last frame ended, neither before (pad used
// twice) nor a reserve step later (pad wasted).
func TestSenderParkWritesMarkBack(t *testing.T) {
	pad := newPad(t, 1<<20)
	statePath := pad.Path() + ".state"
	require.NoError(t, InitState(statePath, pad.ID(), RoleSend))
	opt := SenderOptions{NoLock: true, ReserveStep: 64 << 10}
	s, err := OpenSender(pad, statePath, opt)
	require.NoError(t, err)
	sess := newSession()
	seal(t, s, make([]byte, 100), ToClient, sess)
	end := s.Next()
	info, err := ReadState(statePath)
	require.NoError(t, err)
	require.Greater(t, info.Mark, end, "reserved ahead")

	require.NoError(t, s.Park())
	info, err = ReadState(statePath)
	require.NoError(t, err)
	assert.Equal(t, end, info.Mark, "the mark is written back to next")
	_, err = s.Seal(nil, []byte("x"), ToClient, sess)
	assert.ErrorIs(t, err, ErrClosed)

	s2, err := OpenSender(pad, statePath, opt)
	require.NoError(t, err)
	defer s2.Close()
	assert.Equal(t, end, s2.Next())
	assert.False(t, s2.Pending())
}

// Frames sealed past the durable mark when the Sender parks get a durable
// reservation: a lazy write may only ever lower a Sender's mark.
func TestSenderParkPendingRaisesDurably(t *testing.T) {
	pad := newPad(t, 1<<20)
	s, statePath := newSenderT(t, pad, SenderOptions{NoLock: true, ReserveStep: 4096})
	sess := newSession()
	_, err := s.Seal(nil, make([]byte, 10000), ToClient, sess)
	require.NoError(t, err)
	require.True(t, s.Pending())
	end := s.Next()
	require.NoError(t, s.Park())
	info, err := ReadState(statePath)
	require.NoError(t, err)
	assert.Equal(t, end, info.Mark)
	assert.Equal(t, end, s.Durable())
}

// A parked Receiver records Expected, and Resume carries its session's checks
// over to the Receiver opened next: a gap is still ErrGap and a replay of the
// session's own frame still ErrReplay, where a Receiver that knew nothing of
// the session would call that replay pad reuse (and lock the user).
func TestReceiverParkResume(t *testing.T) {
	pad := newPad(t, 1<<20)
	snd, _ := newSenderT(t, pad, SenderOptions{})
	rpad := copyPad(t, pad)
	statePath := rpad.Path() + ".state"
	require.NoError(t, InitState(statePath, rpad.ID(), RoleRecv))
	opt := ReceiverOptions{NoLock: true, Contiguous: true}
	r, err := OpenReceiver(rpad, statePath, opt)
	require.NoError(t, err)
	sess := newSession()
	f1 := seal(t, snd, []byte("one"), ToServer, sess)
	_, err = r.Open(nil, f1, ToServer, sess)
	require.NoError(t, err)
	base, ok := r.SessionBase()
	require.True(t, ok)
	expected := r.Expected()
	require.NoError(t, r.Park())
	info, err := ReadState(statePath)
	require.NoError(t, err)
	assert.Equal(t, expected, info.Mark)

	reopen := func(resume bool) *Receiver {
		r, err := OpenReceiver(rpad, statePath, opt)
		require.NoError(t, err)
		t.Cleanup(func() { r.Close() })
		if resume {
			r.Resume(sess, base)
		}
		return r
	}
	_, err = reopen(true).Open(nil, f1, ToServer, sess)
	assert.ErrorIs(t, err, ErrReplay)
	assert.NotErrorIs(t, err, ErrPadReused)
	_, err = reopen(false).Open(nil, f1, ToServer, sess)
	assert.ErrorIs(t, err, ErrPadReused, "without Resume the same replay reads as reuse")

	seal(t, snd, []byte("dropped"), ToServer, sess)
	f3 := seal(t, snd, []byte("three"), ToServer, sess)
	_, err = reopen(true).Open(nil, f3, ToServer, sess)
	assert.ErrorIs(t, err, ErrGap)
}
