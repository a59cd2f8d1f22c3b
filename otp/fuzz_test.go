// Fuzz targets: Open never accepts a frame Seal did not make; the state parser is strict.
package otp

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzOpen feeds arbitrary bytes to a fresh Receiver. Seeds are real frames; the
// only inputs that may open are those exact frames.
func FuzzOpen(f *testing.F) {
	// Every fuzz worker process runs this setup, and the coordinator hands them
	// its seeds: pad and plaintexts must be the same in all of them.
	rng := rand.NewChaCha8([32]byte{'f', 'u', 'z', 'z'})
	pad := deterministicPad(f, rng, 1<<16)
	s, err := newSender(pad, SenderOptions{MaxFrame: 1024})
	require.NoError(f, err)
	sess := &Session{Client: [NonceSize]byte{1}, Server: [NonceSize]byte{2}}
	sealed := map[string]bool{}
	for i, n := range []int{0, 1, 15, 16, 17, 100, 1000} {
		dir := ToServer
		if i%3 == 2 {
			dir = ToClient
		}
		msg := make([]byte, n)
		rng.Read(msg)
		frame, err := s.Seal(nil, msg, dir, sess)
		require.NoError(f, err)
		sealed[string(frame)] = true
		f.Add(frame)
	}
	f.Add([]byte("PC\x01\x01"))
	f.Fuzz(func(t *testing.T, frame []byte) {
		for _, dir := range []Direction{ToServer, ToClient} {
			r, err := newReceiver(pad, ReceiverOptions{MaxFrame: 1024})
			require.NoError(t, err)
			dst := make([]byte, 1, 8)
			got, err := r.Open(dst, frame, dir, sess)
			if err != nil {
				assert.Equal(t, dst, got)
				assert.Equal(t, int64(FirstOffset), r.Expected(), "rejected frame advanced")
				continue
			}
			require.True(t, sealed[string(frame)], "accepted a frame Seal never made: %x", frame)
			assert.Equal(t, len(frame)-Overhead, len(got)-1)
			n, err := FrameLen(frame, 1024)
			require.NoError(t, err)
			assert.Equal(t, len(frame), n)
		}
	})
}

// deterministicPad writes a pad from rng: the same in every process, unlike CreatePad's.
func deterministicPad(tb testing.TB, rng *rand.ChaCha8, size int) *Pad {
	b := make([]byte, size)
	rng.Read(b)
	path := filepath.Join(tb.TempDir(), "fuzz.pad")
	require.NoError(tb, os.WriteFile(path, b, 0o600))
	return openPad(tb, path)
}

// FuzzState: parseState never panics, and what it accepts re-serialises to the
// same record.
func FuzzState(f *testing.F) {
	st := state{id: PadID{7}, role: RoleRecv, seq: 4, mark: 1 << 30, burned: 1 << 20}
	prev := st
	prev.seq, prev.mark = 3, 1<<29
	f.Add(marshalState(st))
	f.Add(twoSlots(prev, st))
	f.Add(marshalState(state{role: RoleSend, mark: FirstOffset, burned: FirstOffset}))
	f.Add(make([]byte, stateSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseState(b)
		if err != nil {
			require.ErrorIs(t, err, ErrBadState)
			return
		}
		again, err := parseState(marshalState(got))
		require.NoError(t, err)
		require.Equal(t, got, again)
		if got.seq == math.MaxInt64 {
			return
		}
		// Writing the next record beside it keeps the file valid and picks it.
		b2 := append([]byte(nil), b...)
		next := got
		next.seq++
		next.mark = max(next.mark, next.burned)
		encodeSlot(b2[next.seq%2*slotSize:], next)
		after, err := parseState(b2)
		require.NoError(t, err)
		require.Equal(t, next, after)
	})
}
