// Package poly1305avx2 computes otp's frame tags, Poly1305 of two whole blocks
// (the session nonces) and a message, four blocks at a time with AVX2 where the
// message is long enough for that to pay, and with golang.org/x/crypto/poly1305
// otherwise and on every other GOARCH. Sum tags a message already in memory; a
// Stream (stream.go) tags one as it is written, and can XOR it with the pad on
// the way, so a sealer reads its pad and text once.
//
// The vector code splits the blocks into four interleaved Horner sums, one per
// 64-bit lane: each lane adds its block of a 64-byte chunk and multiplies by
// r^4, except at the last chunk, where each lane multiplies by the power of r
// that makes the four sums add up to the ordinary serial polynomial. It is the
// method of Goll and Gueron ("Vectorization of Poly1305 message authentication
// code", ITNG 2015), written here for this package. Numbers are held as five
// 26-bit limbs so that VPMULUDQ's 32x32-bit products, and sums of five of
// them, fit a 64-bit lane.
package poly1305avx2

import (
	"encoding/binary"

	//lint:ignore SA1019 poly1305 is meant here as the building block: each tag's key is fresh pad, used once
	"golang.org/x/crypto/poly1305"
)

const (
	TagSize = 16
	KeySize = 32
)

// minVec is where the vector path stops losing to x/crypto's scalar one (an
// AMD EPYC with AVX2: they tie at 1.5 KiB, the vector is 16 % faster at 2 KiB
// and 35 % at 8 KiB). Below it, the per-key table of r's powers costs more
// than the lanes save.
const minVec = 1536

// Sum writes to out the Poly1305 tag of a || b || msg under the one-time key.
func Sum(out *[TagSize]byte, key *[KeySize]byte, a, b *[16]byte, msg []byte) {
	if hasVec && len(msg) >= minVec {
		sumVec(out, key, a, b, msg, true)
		return
	}
	sumScalar(out, key, a, b, msg)
}

func sumScalar(out *[TagSize]byte, key *[KeySize]byte, a, b *[16]byte, msg []byte) {
	m := poly1305.New(key)
	m.Write(a[:])
	m.Write(b[:])
	m.Write(msg)
	m.Sum(out[:0])
}

// sumVec is Sum by way of the four lanes: chunks4 if kernel, else the Go
// version (for the tests). The lanes need a first and a last chunk, so
// messages of 32 bytes or fewer go to x/crypto.
func sumVec(out *[TagSize]byte, key *[KeySize]byte, a, b *[16]byte, msg []byte, kernel bool) {
	if len(msg) <= 32 {
		sumScalar(out, key, a, b, msg)
		return
	}
	r := clamp(key)
	var first, last [64]byte
	var tab table
	mid, q := layout(&first, &last, &tab, a, b, msg)
	tab.powers(&r, q)
	var h limbs
	if kernel {
		chunks4(&h, &tab, &first, mid, &last)
	} else {
		chunksGeneric(&h, &tab, &first, mid, &last)
	}
	finish(out, &h, key)
}

// layout splits a || b || msg into 64-byte chunks: first (a, b and msg's first
// 32 bytes), mid (whole chunks of msg, read in place) and last (the 1 to 4
// blocks left, the last one padded with a 1 byte and zeros if short, then
// zeros). It sets tab's 2^128 bits for the last chunk's lanes and returns mid
// and the number of blocks in last.
func layout(first, last *[64]byte, tab *table, a, b *[16]byte, msg []byte) (mid []byte, q int) {
	copy(first[0:], a[:])
	copy(first[16:], b[:])
	copy(first[32:], msg[:32])
	rest := msg[32:]
	nmid := (len(rest) - 1) / 64 // at least one byte is left for last
	mid, rest = rest[:64*nmid], rest[64*nmid:]
	copy(last[:], rest)
	q = (len(rest) + 15) / 16
	for j := range q {
		tab[rowTop][j] = hibit
	}
	if n := len(rest) % 16; n != 0 {
		last[len(rest)] = 1
		tab[rowTop][q-1] = 0
	}
	return mid, q
}

// clamp returns r, the key's first half with the bits Poly1305 clears cleared.
func clamp(key *[KeySize]byte) limbs {
	lo := binary.LittleEndian.Uint64(key[0:]) & 0x0ffffffc0fffffff
	hi := binary.LittleEndian.Uint64(key[8:]) & 0x0ffffffc0ffffffc
	return split(lo, hi, 0)
}

// table holds, one value per 64-bit lane, the multipliers of the chunks as
// limbs 0-4 and 5 times limbs 1-4: every chunk's but the last two, r^4 (rows
// 0-8); the last but one's (rows 9-17); the last's (rows 18-26); then the last
// chunk's 2^128 bits (row 27).
type table [28][4]uint64

const (
	rowPenult = 9
	rowLast   = 18
	rowTop    = 27
)

// powers fills rows 0-26 for a last chunk of q blocks, so that each block ends
// up multiplied by r^(T-i+1), i its place among the T blocks. Lane j < q of
// the last chunk holds block T-q+j+1: it multiplies by r^(q-j) there and by
// r^4 in every chunk before. A lane j >= q has no block in the last chunk; its
// block in the chunk before (number T-q-4+j+1) wants r^(4+q-j), which it gets
// there, times 1 in the last chunk.
func (tab *table) powers(r *limbs, q int) {
	var p [5]limbs // p[i] = r^i
	p[0] = limbs{1}
	p[1] = *r
	s := [4]uint64{5 * r[1], 5 * r[2], 5 * r[3], 5 * r[4]}
	p[2] = mul(r, r, &s)
	s2 := [4]uint64{5 * p[2][1], 5 * p[2][2], 5 * p[2][3], 5 * p[2][4]}
	p[3] = mul(&p[2], r, &s)
	p[4] = mul(&p[2], &p[2], &s2) // not from p[3], so the two can overlap
	var penult, last [4]*limbs
	for j := range 4 {
		if j < q {
			penult[j], last[j] = &p[4], &p[q-j]
		} else {
			penult[j], last[j] = &p[4+q-j], &p[0]
		}
	}
	// Row by row, so that whole rows are stored at once.
	for k := range 5 {
		v := p[4][k]
		tab[k] = [4]uint64{v, v, v, v}
		tab[rowPenult+k] = [4]uint64{penult[0][k], penult[1][k], penult[2][k], penult[3][k]}
		tab[rowLast+k] = [4]uint64{last[0][k], last[1][k], last[2][k], last[3][k]}
	}
	for k := 1; k < 5; k++ {
		tab[4+k] = [4]uint64{5 * p[4][k], 5 * p[4][k], 5 * p[4][k], 5 * p[4][k]}
		tab[rowPenult+4+k] = [4]uint64{5 * penult[0][k], 5 * penult[1][k], 5 * penult[2][k], 5 * penult[3][k]}
		tab[rowLast+4+k] = [4]uint64{5 * last[0][k], 5 * last[1][k], 5 * last[2][k], 5 * last[3][k]}
	}
}
