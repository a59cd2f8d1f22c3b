// The four-lane method in Go: what chunks4 computes, for other CPUs and as the
// tests' second opinion on the assembly.
package poly1305avx2

import "encoding/binary"

// chunksGeneric sets h to the sum of the four lanes after first, mid's 64-byte
// chunks and last; every limb is left below 2^28+2^8.
func chunksGeneric(h *limbs, tab *table, first *[64]byte, mid []byte, last *[64]byte) {
	var lanes [4]limbs
	all := [4]uint64{hibit, hibit, hibit, hibit}
	step := func(c []byte, top *[4]uint64, row int) {
		for j := range lanes {
			m := split(binary.LittleEndian.Uint64(c[16*j:]), binary.LittleEndian.Uint64(c[16*j+8:]), top[j])
			for k := range m {
				lanes[j][k] += m[k]
			}
			var r limbs
			var s [4]uint64
			for k := range r {
				r[k] = tab[row+k][j]
			}
			for k := range s {
				s[k] = tab[row+5+k][j]
			}
			lanes[j] = mul(&lanes[j], &r, &s)
		}
	}
	n := len(mid)/64 + 2
	for i := range n {
		c, top, row := mid[:min(64, len(mid))], &all, 0
		switch {
		case i == 0:
			c = first[:]
		case i == n-1:
			c, top = last[:], &tab[rowTop]
		default:
			mid = mid[64:]
		}
		switch i {
		case n - 2:
			row = rowPenult
		case n - 1:
			row = rowLast
		}
		step(c, top, row)
	}
	*h = limbs{}
	for j := range lanes {
		for k := range h {
			h[k] += lanes[j][k]
		}
	}
}
