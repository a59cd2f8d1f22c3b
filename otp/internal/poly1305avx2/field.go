// Arithmetic modulo 2^130-5 on five 26-bit limbs, the vector kernel's number form.
package poly1305avx2

import (
	"encoding/binary"
	"math/bits"
)

const (
	mask26 = 1<<26 - 1
	hibit  = 1 << 24 // 2^128, the bit every whole block carries, in limb 4
)

// limbs is a number as 26-bit limbs, low first; a limb may run over 26 bits
// between carries.
type limbs [5]uint64

// split turns the 128-bit number hi:lo, plus top (hibit or 0), into limbs.
func split(lo, hi, top uint64) limbs {
	return limbs{
		lo & mask26,
		lo >> 26 & mask26,
		(lo>>52 | hi<<12) & mask26,
		hi >> 14 & mask26,
		hi>>40 | top,
	}
}

// mul returns a*b mod 2^130-5, carried so that every limb is below 2^26 but
// limb 1, which may be up to 2^10 over. s is fives(b). The limbs of a must be
// below 2^27+2^6 and those of b below 2^26+2^10 for the sums to fit 64 bits
// (they stay below 2^58).
func mul(a, b *limbs, s *[4]uint64) limbs {
	d0 := a[0]*b[0] + a[1]*s[3] + a[2]*s[2] + a[3]*s[1] + a[4]*s[0]
	d1 := a[0]*b[1] + a[1]*b[0] + a[2]*s[3] + a[3]*s[2] + a[4]*s[1]
	d2 := a[0]*b[2] + a[1]*b[1] + a[2]*b[0] + a[3]*s[3] + a[4]*s[2]
	d3 := a[0]*b[3] + a[1]*b[2] + a[2]*b[1] + a[3]*b[0] + a[4]*s[3]
	d4 := a[0]*b[4] + a[1]*b[3] + a[2]*b[2] + a[3]*b[1] + a[4]*b[0]
	d1 += d0 >> 26
	d2 += d1 >> 26
	d3 += d2 >> 26
	d4 += d3 >> 26
	h0 := d0&mask26 + d4>>26*5
	return limbs{h0 & mask26, d1&mask26 + h0>>26, d2 & mask26, d3 & mask26, d4 & mask26}
}

// fives returns 5 times limbs 1-4 of b: mul's s for b.
func fives(b *limbs) [4]uint64 { return [4]uint64{5 * b[1], 5 * b[2], 5 * b[3], 5 * b[4]} }

// carry moves each limb's bits above 26 into the next, those of limb 4 into
// limb 0 times 5; afterwards limbs 1-4 are below 2^26, limb 0 is over by at
// most 5*(h[4]>>26).
func (h *limbs) carry() {
	h[1] += h[0] >> 26
	h[0] &= mask26
	h[2] += h[1] >> 26
	h[1] &= mask26
	h[3] += h[2] >> 26
	h[2] &= mask26
	h[4] += h[3] >> 26
	h[3] &= mask26
	h[0] += h[4] >> 26 * 5
	h[4] &= mask26
}

// finish writes (h mod 2^130-5) + s mod 2^128, s being the key's second half.
// h's limbs must be below 2^32.
func finish(out *[TagSize]byte, h *limbs, key *[KeySize]byte) {
	// Twice round the ring: afterwards limbs 1-4 are below 2^26 and limb 0 at
	// most 5 over (the second pass carries out of limb 4 only if limbs 1-4
	// were all full, which leaves limb 1 at 0); one more step leaves h < 2^130.
	h.carry()
	h.carry()
	h[1] += h[0] >> 26
	h[0] &= mask26

	// g = h - p = h + 5 - 2^130; keep g unless that went below zero, without a branch.
	var g limbs
	c := uint64(5)
	for i := range 4 {
		g[i] = h[i] + c
		c = g[i] >> 26
		g[i] &= mask26
	}
	g[4] = h[4] + c - 1<<26
	keepH := -(g[4] >> 63) // all ones when h < p
	for i := range h {
		h[i] = h[i]&keepH | g[i]&mask26&^keepH
	}

	lo := h[0] | h[1]<<26 | h[2]<<52
	hi := h[2]>>12 | h[3]<<14 | h[4]<<40
	lo, c = bits.Add64(lo, binary.LittleEndian.Uint64(key[16:]), 0)
	hi += binary.LittleEndian.Uint64(key[24:]) + c
	binary.LittleEndian.PutUint64(out[0:], lo)
	binary.LittleEndian.PutUint64(out[8:], hi)
}
