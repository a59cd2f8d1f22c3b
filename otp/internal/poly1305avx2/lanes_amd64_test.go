//go:build amd64 && !purego

package poly1305avx2

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// The assembly (lanesXOR and lanesFinal where the CPU has AVX2) and the Go
// lanes agree, from lanes left unreduced by a previous call, and write the
// same ciphertext.
func TestLanesAVX2MatchesGo(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'l', 'a', 'n'}))
	for range 500 {
		var key [KeySize]byte
		fill(rng, key[:])
		var s Stream
		s.Init(&key)
		var lanes [5][4]uint64
		for k := range lanes {
			for j := range lanes[k] {
				lanes[k][j] = rng.Uint64N(1<<27 + 1<<11) // the bound a call leaves
			}
		}
		n := 64 * rng.IntN(40)
		src, pad := make([]byte, n), make([]byte, n)
		fill(rng, src, pad)
		goLanes, asmLanes := lanes, lanes
		goDst, asmDst := make([]byte, n), make([]byte, n)
		if rng.IntN(4) == 0 { // no pad: the chunks are src's, dst untouched
			goDst, asmDst, pad = nil, nil, nil
		}
		lanesGeneric(&goLanes, &s.tab, goDst, src, pad)
		lanesXOR(&asmLanes, &s.tab, asmDst, src, pad)
		require.Equal(t, goDst, asmDst)
		// The lanes may differ in how far they are carried: compare them
		// multiplied out (the final step of Sum).
		require.Equal(t, laneValues(&goLanes), laneValues(&asmLanes), "n %d", n)

		var goH, asmH limbs
		lanesFinalGeneric(&goLanes, &s.fin, &goH)
		lanesFinal(&goLanes, &s.fin, &asmH)
		var goTag, asmTag [TagSize]byte
		finish(&goTag, &goH, &key)
		finish(&asmTag, &asmH, &key)
		require.Equal(t, goTag, asmTag, "final step, n %d", n)
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
