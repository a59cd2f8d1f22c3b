//go:build amd64 && !purego

// The AVX2 kernel's Go side: the CPU check and the calls.
package poly1305avx2

import "golang.org/x/sys/cpu"

// hasVec is decided once at start; x/sys/cpu's HasAVX2 includes the OS saving
// the YMM registers.
var hasVec = cpu.X86.HasAVX2

// lanesAVX2 is lanesGeneric in AVX2 (lanes_amd64.s).
//
//go:noescape
func lanesAVX2(lanes *[5][4]uint64, tab *[9][4]uint64, dst, src, pad []byte)

// lanesFinalAVX2 is lanesFinalGeneric in AVX2 (lanes_amd64.s).
//
//go:noescape
func lanesFinalAVX2(lanes *[5][4]uint64, fin *[9][4]uint64, h *limbs)

// lanesXOR runs s's lanes over whole chunks (lanesGeneric says how).
func (s *Stream) lanesXOR(dst, src, pad []byte) {
	if hasVec && !s.goLanes {
		lanesAVX2(&s.lanes, &s.tab, dst, src, pad)
		return
	}
	lanesGeneric(&s.lanes, &s.tab, dst, src, pad)
}

// lanesFinal ends s's lanes into h (lanesFinalGeneric says how).
func (s *Stream) lanesFinal(h *limbs) {
	if hasVec && !s.goLanes {
		lanesFinalAVX2(&s.lanes, &s.fin, h)
		return
	}
	lanesFinalGeneric(&s.lanes, &s.fin, h)
}
