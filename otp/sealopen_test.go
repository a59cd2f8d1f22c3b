// Round trips and the Receiver's rejections of tampered, replayed and misdirected frames.
package otp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTripSizes(t *testing.T) {
	pad := newPad(t, 4<<20)
	s, _ := newSenderT(t, pad, SenderOptions{})
	r, _ := newReceiverT(t, pad, ReceiverOptions{})
	sess := newSession()
	for _, n := range []int{0, 1, 31, 32, 33, 100, 4096, 65535, DefaultMaxFrame} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			msg := randBytes(n)
			off := s.Next()
			frame := seal(t, s, msg, ToServer, sess)
			require.Len(t, frame, Overhead+n)
			size, err := FrameLen(frame, 0)
			require.NoError(t, err)
			assert.Equal(t, len(frame), size)
			assert.Equal(t, pad.ID(), PeekPadID(frame))
			assert.Equal(t, uint64(off), binary.BigEndian.Uint64(frame[hdrOffset:]))

			prefix := []byte("keep")
			got, err := r.Open(prefix, frame, ToServer, sess)
			require.NoError(t, err)
			assert.Equal(t, append([]byte("keep"), msg...), got)
			assert.Equal(t, off+PadCost(n), r.Expected())
		})
	}
}

func TestOversizeFrame(t *testing.T) {
	pad := newPad(t, 1<<16)
	s, _ := newSenderT(t, pad, SenderOptions{MaxFrame: 100})
	r, _ := newReceiverT(t, pad, ReceiverOptions{MaxFrame: 50})
	sess := newSession()
	_, err := s.Seal(nil, make([]byte, 101), ToServer, sess)
	require.ErrorIs(t, err, ErrFrameTooLarge)
	frame := seal(t, s, make([]byte, 51), ToServer, sess)
	_, err = FrameLen(frame, 50)
	assert.ErrorIs(t, err, ErrFrameTooLarge)
	_, err = r.Open(nil, frame, ToServer, sess)
	assert.ErrorIs(t, err, ErrFrameTooLarge)
}

// Every single-bit flip anywhere in a frame must be rejected without advancing.
func TestEveryBitFlipRejected(t *testing.T) {
	pad := newPad(t, 1<<16)
	s, _ := newSenderT(t, pad, SenderOptions{})
	r, _ := newReceiverT(t, pad, ReceiverOptions{})
	sess := newSession()
	frame := seal(t, s, randBytes(40), ToServer, sess)

	region := func(i int) (string, []error) {
		switch {
		case i < hdrID:
			return "magic/version/direction", []error{ErrBadFrame}
		case i < hdrOffset:
			return "pad id", []error{ErrWrongPad}
		case i < hdrLength:
			return "offset", []error{ErrReplay, ErrBadFrame, ErrForged}
		case i < HeaderSize:
			return "length", []error{ErrFrameTooLarge, ErrBadFrame}
		case i < len(frame)-TagSize:
			return "ciphertext", []error{ErrForged}
		}
		return "tag", []error{ErrForged}
	}
	dst := make([]byte, 3, 64)
	for bit := range len(frame) * 8 {
		bad := append([]byte(nil), frame...)
		bad[bit/8] ^= 1 << (bit % 8)
		name, want := region(bit / 8)
		got, err := r.Open(dst, bad, ToServer, sess)
		require.Error(t, err, "bit %d (%s) accepted", bit, name)
		assert.Contains(t, want, unwrapSentinel(err), "bit %d (%s): %v", bit, name, err)
		assert.Equal(t, dst, got)
		require.Equal(t, int64(FirstOffset), r.Expected(), "bit %d advanced Expected", bit)
	}
	_, err := r.Open(nil, frame, ToServer, sess)
	require.NoError(t, err, "the untouched frame still opens")
}

func unwrapSentinel(err error) error {
	for _, s := range []error{ErrBadFrame, ErrWrongPad, ErrReplay, ErrFrameTooLarge, ErrForged} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

func TestRejections(t *testing.T) {
	pad := newPad(t, 1<<16)
	other := newPad(t, 1<<16)
	s, _ := newSenderT(t, pad, SenderOptions{})
	sess := newSession()
	f1 := seal(t, s, []byte("one"), ToServer, sess)
	f2 := seal(t, s, []byte("two"), ToServer, sess)
	toClient := seal(t, s, []byte("three"), ToClient, sess)

	pastEnd := append([]byte(nil), f1...)
	binary.BigEndian.PutUint64(pastEnd[hdrOffset:], uint64(pad.Size()-PadCost(3)+1))
	huge := append([]byte(nil), f1...)
	binary.BigEndian.PutUint64(huge[hdrOffset:], ^uint64(0)-10)
	flippedDir := append([]byte(nil), toClient...)
	flippedDir[hdrDir] = byte(ToServer)

	tests := []struct {
		name    string
		pad     *Pad
		first   [][]byte // opened successfully beforehand
		frame   []byte
		dir     Direction
		sess    *Session
		wantErr error
	}{
		{"replay in the same session", pad, [][]byte{f1}, f1, ToServer, sess, ErrReplay},
		{"offset regression", pad, [][]byte{f2}, f1, ToServer, sess, ErrReplay},
		{"replay into a new session", pad, nil, f1, ToServer, newSession(), ErrForged},
		{"past the end of the pad", pad, nil, pastEnd, ToServer, sess, ErrBadFrame},
		{"offset near 2^64", pad, nil, huge, ToServer, sess, ErrBadFrame},
		{"wrong pad", other, nil, f1, ToServer, sess, ErrWrongPad},
		{"wrong direction", pad, nil, toClient, ToServer, sess, ErrBadFrame},
		{"direction rewritten", pad, nil, flippedDir, ToServer, sess, ErrForged},
		{"truncated", pad, nil, f1[:len(f1)-1], ToServer, sess, ErrBadFrame},
		{"trailing byte", pad, nil, append(append([]byte(nil), f1...), 0), ToServer, sess, ErrBadFrame},
		{"header only", pad, nil, f1[:HeaderSize], ToServer, sess, ErrBadFrame},
		{"no session", pad, nil, f1, ToServer, nil, ErrNoSession},
		{"invalid direction", pad, nil, f1, Direction(7), sess, ErrBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newReceiverT(t, tt.pad, ReceiverOptions{})
			for _, f := range tt.first {
				_, err := r.Open(nil, f, ToServer, sess)
				require.NoError(t, err)
			}
			before := r.Expected()
			_, err := r.Open(nil, tt.frame, tt.dir, tt.sess)
			assert.ErrorIs(t, err, tt.wantErr)
			assert.Equal(t, before, r.Expected())
		})
	}
}

// A recorded session replayed into a new one fails even against a receiver whose
// state was lost: the tags are bound to the old nonces.
func TestReplayIntoNewSessionWithFreshState(t *testing.T) {
	pad := newPad(t, 1<<16)
	s, _ := newSenderT(t, pad, SenderOptions{})
	old := newSession()
	var recorded [][]byte
	r1, _ := newReceiverT(t, pad, ReceiverOptions{})
	for i := range 5 {
		f := seal(t, s, fmt.Appendf(nil, "message %d", i), ToServer, old)
		recorded = append(recorded, f)
		_, err := r1.Open(nil, f, ToServer, old)
		require.NoError(t, err)
	}
	r2, _ := newReceiverT(t, pad, ReceiverOptions{})
	fresh := &Session{Client: old.Client, Server: newSession().Server} // attacker replays the client nonce too
	for _, f := range recorded {
		_, err := r2.Open(nil, f, ToServer, fresh)
		assert.ErrorIs(t, err, ErrForged)
	}
	assert.Equal(t, int64(FirstOffset), r2.Expected())
}

func TestContiguous(t *testing.T) {
	pad := newPad(t, 1<<16)
	s, _ := newSenderT(t, pad, SenderOptions{})
	r, _ := newReceiverT(t, pad, ReceiverOptions{Contiguous: true})
	a, b := newSession(), newSession()
	fa1 := seal(t, s, []byte("a1"), ToServer, a)
	seal(t, s, []byte("a2 dropped on the way"), ToServer, a)
	fa3 := seal(t, s, []byte("a3"), ToServer, a)
	seal(t, s, []byte("lost in a crash"), ToServer, a)
	fb1 := seal(t, s, []byte("b1"), ToServer, b)

	_, err := r.Open(nil, fa1, ToServer, a)
	require.NoError(t, err)
	_, err = r.Open(nil, fa3, ToServer, a)
	require.ErrorIs(t, err, ErrGap)
	_, err = r.Open(nil, fb1, ToServer, b)
	require.NoError(t, err, "a new session may start after a gap")
}

func TestInPlaceAndOverlap(t *testing.T) {
	pad := newPad(t, 1<<16)
	s, _ := newSenderT(t, pad, SenderOptions{})
	r, _ := newReceiverT(t, pad, ReceiverOptions{})
	sess := newSession()
	msg := []byte("sealed where it lies")
	buf := make([]byte, 0, 256)
	inPlace := buf[HeaderSize : HeaderSize+len(msg)]
	copy(inPlace, msg)
	frame, err := s.Seal(buf, inPlace, ToServer, sess)
	require.NoError(t, err)
	_, err = s.Seal(buf, buf[HeaderSize+1:HeaderSize+5], ToServer, sess)
	require.ErrorIs(t, err, ErrOverlap)

	got, err := r.Open(frame[:HeaderSize], frame, ToServer, sess)
	require.NoError(t, err)
	assert.Equal(t, msg, got[HeaderSize:])
}

// SealParts seals the parts back to back, reading them only: the frame opens
// to their concatenation, whatever its room held, and a part inside the
// new frame is refused.
func TestSealParts(t *testing.T) {
	pad := newPad(t, 1<<16)
	s, _ := newSenderT(t, pad, SenderOptions{})
	r, _ := newReceiverT(t, pad, ReceiverOptions{})
	sess := newSession()
	shared := []byte("one copy for every recipient|")
	parts := [][]byte{shared[:4], {}, shared[4:], []byte("tail")}
	garbage := bytes.Repeat([]byte{0xAA}, 256)
	frame, err := s.SealParts(garbage[:0], parts, ToServer, sess)
	require.NoError(t, err)
	assert.Equal(t, "one copy for every recipient|", string(shared), "parts are not written")
	got, err := r.Open(nil, frame, ToServer, sess)
	require.NoError(t, err)
	assert.Equal(t, "one copy for every recipient|tail", string(got))

	buf := make([]byte, 0, 256)
	_, err = s.SealParts(buf, [][]byte{buf[HeaderSize : HeaderSize+8]}, ToServer, sess)
	require.ErrorIs(t, err, ErrOverlap)
	_, err = s.SealParts(buf, [][]byte{buf[:8]}, ToServer, sess)
	require.ErrorIs(t, err, ErrOverlap)
}

// Long frames are XORed and tagged in one pass (poly1305avx2.Stream), with
// short parts XORed apart: whatever the mix of part sizes, each frame opens
// to the parts' concatenation, and a flipped ciphertext bit is refused.
func TestSealPartsLongFrames(t *testing.T) {
	pad := newPad(t, 1<<22)
	s, _ := newSenderT(t, pad, SenderOptions{})
	r, _ := newReceiverT(t, pad, ReceiverOptions{})
	sess := newSession()
	rng := mrand.New(mrand.NewPCG(1, 2))
	plain := make([]byte, 20000)
	for i := range plain {
		plain[i] = byte(rng.Uint32())
	}
	for round := range 60 {
		var parts [][]byte
		total := rng.IntN(len(plain))
		for p := plain[:total]; len(p) > 0; {
			k := min(len(p), 1+rng.IntN([]int{40, 600, 3000}[rng.IntN(3)]))
			parts, p = append(parts, p[:k]), p[k:]
		}
		frame, err := s.SealParts(nil, parts, ToServer, sess)
		require.NoError(t, err)
		if round%10 == 9 && total > 0 {
			bad := bytes.Clone(frame)
			bad[HeaderSize+rng.IntN(total)] ^= 1
			_, err := r.Open(nil, bad, ToServer, sess)
			require.Error(t, err, "round %d: a flipped bit opened", round)
			continue
		}
		got, err := r.Open(nil, frame, ToServer, sess)
		require.NoError(t, err, "round %d, %d bytes in %d parts", round, total, len(parts))
		require.Equal(t, plain[:total], got, "round %d", round)
	}
}

// A second copy of a sender (a copied bundle, a restored snapshot) seals new
// frames with pad an earlier session used: the receiver says so.
func TestPadReuseDetected(t *testing.T) {
	pad := newPad(t, 1<<16)
	s, path := newSenderT(t, pad, SenderOptions{})
	r, _ := newReceiverT(t, pad, ReceiverOptions{})
	snapshot, err := os.ReadFile(path)
	require.NoError(t, err)

	a := newSession()
	for range 3 {
		_, err := r.Open(nil, seal(t, s, []byte("from the original"), ToServer, a), ToServer, a)
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	require.NoError(t, os.WriteFile(path, snapshot, 0o600)) // the state rolls back
	clone, err := OpenSender(pad, path, SenderOptions{})
	require.NoError(t, err)
	defer clone.Close()

	b := newSession()
	_, err = r.Open(nil, seal(t, clone, []byte("from the clone"), ToServer, b), ToServer, b)
	require.ErrorIs(t, err, ErrPadReused)
	require.ErrorIs(t, err, ErrReplay, "callers that know only ErrReplay still reject it")
}
