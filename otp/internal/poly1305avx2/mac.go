// Package poly1305avx2 computes otp's frame tags, Poly1305 of two whole blocks
// (the session nonces) and a message, four blocks at a time with AVX2 where the
// message is long enough for that to pay, and with golang.org/x/crypto/poly1305
// otherwise and on every other GOARCH. Sum tags a message already in memory; a
// Stream (stream.go) tags one as it is written, and can XOR it with the pad on
// the way, so a sealer reads its pad and text once. Sum's vector path is a
// Stream.
//
// The vector code splits the blocks into four interleaved Horner sums, one per
// 64-bit lane: for each 64-byte chunk every lane multiplies by r^4 and adds its
// block, and at the end each lane multiplies by the power of r that makes the
// four sums add up to the ordinary serial polynomial. It is the method of Goll
// and Gueron ("Vectorization of Poly1305 message authentication code", ITNG
// 2015), written here for this package. Numbers are held as five 26-bit limbs
// so that VPMULUDQ's 32x32-bit products, and sums of five of them, fit a
// 64-bit lane.
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

// minVec is where Sum's vector path stops losing to x/crypto's scalar one (an
// AMD EPYC with AVX2, BenchmarkSum: x/crypto is 2 % faster at 1.5 KiB, the
// vector 8 % faster at 2 KiB and 33 % at 8 KiB). Below it, the per-key powers
// of r and the final multiply cost more than the lanes save.
const minVec = 2048

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

// sumVec is Sum by way of a Stream: the AVX2 kernel if kernel and the CPU has
// it, else the lanes in Go (for the tests).
func sumVec(out *[TagSize]byte, key *[KeySize]byte, a, b *[16]byte, msg []byte, kernel bool) {
	var s Stream
	s.Init(key)
	s.goLanes = !kernel
	s.Write(a[:])
	s.Write(b[:])
	s.Write(msg)
	s.Sum(out)
}

// clamp returns r, the key's first half with the bits Poly1305 clears cleared.
func clamp(key *[KeySize]byte) limbs {
	lo := binary.LittleEndian.Uint64(key[0:]) & 0x0ffffffc0fffffff
	hi := binary.LittleEndian.Uint64(key[8:]) & 0x0ffffffc0ffffffc
	return split(lo, hi, 0)
}
