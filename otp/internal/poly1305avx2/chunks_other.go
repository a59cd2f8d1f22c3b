//go:build !amd64 || purego

// Elsewhere than amd64 there is no vector code: Sum takes x/crypto's path, and
// chunks4 is the Go version for the tests.
package poly1305avx2

const hasVec = false

func chunks4(h *limbs, tab *table, first *[64]byte, mid []byte, last *[64]byte) {
	chunksGeneric(h, tab, first, mid, last)
}

func lanesXOR(lanes *[5][4]uint64, tab *[9][4]uint64, dst, src, pad []byte) {
	lanesGeneric(lanes, tab, dst, src, pad)
}

func lanesFinal(lanes *[5][4]uint64, fin *[9][4]uint64, h *limbs) {
	lanesFinalGeneric(lanes, fin, h)
}
