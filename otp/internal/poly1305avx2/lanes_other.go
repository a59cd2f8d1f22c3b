//go:build !amd64 || purego

// Elsewhere than amd64 there is no vector code: Sum takes x/crypto's path,
// and a Stream (sealing does not ask for one here) runs its lanes in Go.
package poly1305avx2

const hasVec = false

func (s *Stream) lanesXOR(dst, src, pad []byte) {
	lanesGeneric(&s.lanes, &s.tab, dst, src, pad)
}

func (s *Stream) lanesFinal(h *limbs) {
	lanesFinalGeneric(&s.lanes, &s.fin, h)
}
