package poly1305avx2

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The kernel (AVX2 where the CPU has it) and the lanes in Go agree, from lanes
// left unreduced by a previous call, and write the same ciphertext.
func TestLanesKernelMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'l', 'a', 'n'}))
	for range 500 {
		var key [KeySize]byte
		fill(rng, key[:])
		var kern, inGo Stream
		kern.Init(&key)
		inGo.Init(&key)
		inGo.goLanes = true
		for k := range kern.lanes {
			for j := range kern.lanes[k] {
				kern.lanes[k][j] = rng.Uint64N(1<<27 + 1<<11) // the bound a call leaves
			}
		}
		inGo.lanes = kern.lanes
		n := 64 * rng.IntN(40)
		src, pad := make([]byte, n), make([]byte, n)
		fill(rng, src, pad)
		kernDst, goDst := make([]byte, n), make([]byte, n)
		if rng.IntN(4) == 0 { // no pad: the chunks are src's, dst untouched
			kernDst, goDst, pad = nil, nil, nil
		}
		kern.lanesXOR(kernDst, src, pad)
		inGo.lanesXOR(goDst, src, pad)
		require.Equal(t, goDst, kernDst)
		// The lanes may differ in how far they are carried: compare them
		// reduced.
		require.Equal(t, laneValues(&inGo.lanes), laneValues(&kern.lanes), "n %d", n)

		kern.lanes = inGo.lanes
		var kernH, goH limbs
		kern.lanesFinal(&kernH)
		inGo.lanesFinal(&goH)
		var kernTag, goTag [TagSize]byte
		finish(&kernTag, &kernH, &key)
		finish(&goTag, &goH, &key)
		require.Equal(t, goTag, kernTag, "final step, n %d", n)
	}
}

// laneValues reduces each lane mod 2^130-5 to compare numbers, not limbs.
func laneValues(l *[5][4]uint64) [4][TagSize]byte {
	var out [4][TagSize]byte
	var zero [KeySize]byte
	for j := range 4 {
		var h limbs
		for k := range h {
			h[k] = l[k][j]
		}
		finish(&out[j], &h, &zero)
	}
	return out
}
