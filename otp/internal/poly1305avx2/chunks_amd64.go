//go:build amd64 && !purego

// The AVX2 kernel's Go side: the CPU check and the call.
package poly1305avx2

import "golang.org/x/sys/cpu"

// hasVec is decided once at start; x/sys/cpu's HasAVX2 includes the OS saving
// the YMM registers.
var hasVec = cpu.X86.HasAVX2

// blocksAVX2 is chunksGeneric in AVX2 (chunks_amd64.s).
//
//go:noescape
func blocksAVX2(h *limbs, tab *table, first *[64]byte, mid []byte, last *[64]byte)

func chunks4(h *limbs, tab *table, first *[64]byte, mid []byte, last *[64]byte) {
	if hasVec {
		blocksAVX2(h, tab, first, mid, last)
		return
	}
	chunksGeneric(h, tab, first, mid, last)
}

// lanesAVX2 is lanesGeneric in AVX2 (stream_amd64.s).
//
//go:noescape
func lanesAVX2(lanes *[5][4]uint64, tab *[9][4]uint64, dst, src, pad []byte)

func lanesXOR(lanes *[5][4]uint64, tab *[9][4]uint64, dst, src, pad []byte) {
	if hasVec {
		lanesAVX2(lanes, tab, dst, src, pad)
		return
	}
	lanesGeneric(lanes, tab, dst, src, pad)
}

// lanesFinalAVX2 is lanesFinalGeneric in AVX2 (chunks_amd64.s).
//
//go:noescape
func lanesFinalAVX2(lanes *[5][4]uint64, fin *[9][4]uint64, h *limbs)

func lanesFinal(lanes *[5][4]uint64, fin *[9][4]uint64, h *limbs) {
	if hasVec {
		lanesFinalAVX2(lanes, fin, h)
		return
	}
	lanesFinalGeneric(lanes, fin, h)
}
