// A session's Label: frames carry it instead of the pad id, and only frames that carry it open.
package otp

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func labelled() *Session {
	s := newSession()
	copy(s.Label[:], randBytes(IDSize))
	return s
}

func TestLabelReplacesPadID(t *testing.T) {
	pad := newPad(t, 1<<20)
	s, _ := newSenderT(t, pad, SenderOptions{})
	r, _ := newReceiverT(t, pad, ReceiverOptions{})
	sess := labelled()
	frame := seal(t, s, []byte("hello"), ToServer, sess)
	assert.Equal(t, sess.Label, PeekPadID(frame), "the label is in the clear, not the pad id")
	assert.NotContains(t, string(frame), string(pad.ID().bytes()), "the pad id appears nowhere")
	got, err := r.Open(nil, frame, ToServer, sess)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(got))
}

// An attacker who rewrites the header id, or a receiver that expects another
// label or none, gets nothing opened and nothing advanced.
func TestLabelMismatchRejected(t *testing.T) {
	pad := newPad(t, 1<<20)
	s, _ := newSenderT(t, pad, SenderOptions{})
	r, _ := newReceiverT(t, pad, ReceiverOptions{})
	sess := labelled()
	frame := seal(t, s, []byte("hello"), ToServer, sess)

	plain := *sess
	plain.Label = PadID{}
	other := *sess
	other.Label[0] ^= 1
	for name, try := range map[string]*Session{"no label": &plain, "another label": &other} {
		_, err := r.Open(nil, frame, ToServer, try)
		assert.ErrorIs(t, err, ErrWrongPad, name)
	}
	// The pad id written over the label: the id check passes for a receiver
	// without a label, but the tag covered the label and fails.
	swapped := append([]byte(nil), frame...)
	id := pad.ID()
	copy(swapped[hdrID:hdrOffset], id[:])
	_, err := r.Open(nil, swapped, ToServer, &plain)
	assert.ErrorIs(t, err, ErrForged)
	// A label written over a frame sealed with the pad id fails the same way.
	unlabelled := seal(t, s, []byte("hi"), ToServer, &plain)
	copy(unlabelled[hdrID:hdrOffset], sess.Label[:])
	_, err = r.Open(nil, unlabelled, ToServer, sess)
	assert.ErrorIs(t, err, ErrForged)
	assert.Equal(t, int64(FirstOffset), r.Expected(), "nothing advanced")

	got, err := r.Open(nil, frame, ToServer, sess)
	require.NoError(t, err, "the genuine frame still opens")
	assert.Equal(t, "hello", string(got))
}

func (id PadID) bytes() []byte { return id[:] }

// FuzzOpenLabel: with a Label, Open accepts exactly the frames Seal made
// for that labelled session.
func FuzzOpenLabel(f *testing.F) {
	rng := rand.NewChaCha8([32]byte{'l', 'a', 'b', 'e', 'l'})
	pad := deterministicPad(f, rng, 1<<16)
	s, err := newSender(pad, SenderOptions{MaxFrame: 1024})
	require.NoError(f, err)
	sess := &Session{Client: [NonceSize]byte{1}, Server: [NonceSize]byte{2}, Label: PadID{9, 9, 9}}
	plain := &Session{Client: sess.Client, Server: sess.Server}
	sealed := map[string]bool{}
	for i, n := range []int{0, 1, 17, 100} {
		msg := make([]byte, n)
		rng.Read(msg)
		use := sess
		if i%2 == 1 {
			use = plain // seeds sealed without the label must not open with it
		}
		frame, err := s.Seal(nil, msg, ToServer, use)
		require.NoError(f, err)
		if use == sess {
			sealed[string(frame)] = true
		}
		f.Add(frame)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		r, err := newReceiver(pad, ReceiverOptions{MaxFrame: 1024})
		require.NoError(t, err)
		if _, err := r.Open(nil, frame, ToServer, sess); err == nil {
			require.True(t, sealed[string(frame)], "accepted a frame not sealed for this label: %x", frame)
		}
	})
}
