// The streaming form: a tag taken while the message is written, so that a
// sealer can XOR its plaintext with the pad and MAC the result in one pass.
package poly1305avx2

import (
	"crypto/subtle"
	"encoding/binary"
)

// A Stream computes one Poly1305 tag over everything written to it, four
// blocks at a time where the CPU has the vector kernel. Its four lanes hold
// interleaved Horner sums that multiply before they add: after n whole
// chunks lane j is the sum over chunks k of block 4k+j times r^(4(n-1-k)),
// so Sum multiplies lane j by r^(4-j) to line the lanes up with the serial
// polynomial, then takes the bytes short of a chunk one block at a time.
//
// Ask UseStream first: for a short message, XOR then Sum is faster, and without
// the kernel the lanes in Go are slower still.
type Stream struct {
	lanes [5][4]uint64 // limb k of lane j at [k][j], the kernel's layout
	tab   [9][4]uint64 // r^4 in every lane: limbs 0-4, then 5 times limbs 1-4
	fin   [9][4]uint64 // lane j's last multiplier, r^(4-j), laid out as tab
	r     limbs
	buf   [64]byte // bytes short of a whole chunk
	n     int
	key   *[KeySize]byte

	goLanes bool // the lanes in Go even where the kernel runs (tests)
}

// UseStream reports whether a message of n bytes is sealed fastest by a Stream.
func UseStream(n int) bool { return hasVec && n >= minStream }

// minStream is where a Stream's XOR and tag in one pass start to beat XOR
// then Sum, on an AMD EPYC with AVX2 and pad read cold (BenchmarkSeal): they
// tie at 768 bytes; the Stream is 8 % faster at 1 KiB, 14 % at 2 KiB, 21 % at
// 8 KiB and 37 % at 64 KiB. Its own cost over Sum's is the final multiply.
const minStream = 1024

// Init starts s on a fresh tag under the one-time key, which it keeps
// (unread) until Sum.
func (s *Stream) Init(key *[KeySize]byte) {
	s.r = clamp(key)
	s.key = key
	s.lanes = [5][4]uint64{}
	s.n = 0
	s.goLanes = false
	r := &s.r
	fr := fives(r)
	r2 := mul(r, r, &fr)
	f2 := fives(&r2)
	r3 := mul(&r2, r, &fr)
	r4 := mul(&r2, &r2, &f2)
	for k := range 5 {
		v := r4[k]
		s.tab[k] = [4]uint64{v, v, v, v}
		s.fin[k] = [4]uint64{r4[k], r3[k], r2[k], r[k]}
	}
	for k := 1; k < 5; k++ {
		v := 5 * r4[k]
		s.tab[4+k] = [4]uint64{v, v, v, v}
		s.fin[4+k] = [4]uint64{5 * r4[k], 5 * r3[k], 5 * r2[k], 5 * r[k]}
	}
}

// Write adds p to the message.
func (s *Stream) Write(p []byte) {
	s.write(nil, p, nil)
}

// XORWrite sets dst to src XOR pad (like crypto/subtle.XORBytes: dst and pad
// at least as long as src; dst may be src itself, no other overlap) and adds
// dst to the message, reading each byte once.
func (s *Stream) XORWrite(dst, src, pad []byte) {
	s.write(dst[:len(src)], src, pad[:len(src)])
}

// write is Write (pad nil) and XORWrite: a chunk begun by earlier writes is
// filled first, then the whole chunks go through the lanes, and the rest
// waits in the chunk buffer.
func (s *Stream) write(dst, src, pad []byte) {
	if s.n > 0 {
		k := min(len(src), 64-s.n)
		if pad != nil {
			subtle.XORBytes(dst[:k], src[:k], pad[:k])
			copy(s.buf[s.n:], dst[:k])
			dst, pad = dst[k:], pad[k:]
		} else {
			copy(s.buf[s.n:], src[:k])
		}
		src = src[k:]
		if s.n += k; s.n < 64 {
			return
		}
		s.lanesXOR(nil, s.buf[:], nil)
		s.n = 0
	}
	if whole := len(src) &^ 63; whole > 0 {
		if pad != nil {
			s.lanesXOR(dst[:whole], src[:whole], pad[:whole])
			dst, pad = dst[whole:], pad[whole:]
		} else {
			s.lanesXOR(nil, src[:whole], nil)
		}
		src = src[whole:]
	}
	if pad != nil {
		subtle.XORBytes(dst, src, pad)
		src = dst
	}
	s.n = copy(s.buf[:], src)
}

// Sum writes the tag of everything written since Init. s must be started
// again (Init) before another message.
func (s *Stream) Sum(out *[TagSize]byte) {
	var h limbs
	s.lanesFinal(&h)
	h.carry()
	fr := fives(&s.r)
	rest := s.buf[:s.n]
	for len(rest) > 0 {
		var blk [16]byte
		top := uint64(hibit)
		if n := copy(blk[:], rest); n < 16 {
			blk[n], top = 1, 0
		}
		rest = rest[min(16, len(rest)):]
		m := split(binary.LittleEndian.Uint64(blk[0:]), binary.LittleEndian.Uint64(blk[8:]), top)
		for k := range h {
			h[k] += m[k]
		}
		h = mul(&h, &s.r, &fr)
	}
	finish(out, &h, s.key)
}

// lanesGeneric is the kernel in Go: for each 64-byte chunk of src, XOR it
// with pad into dst (with no pad the chunk is src's and dst is not written),
// multiply every lane by r^4 and add the chunk's blocks, one a lane, each
// with its 2^128 bit.
func lanesGeneric(lanes *[5][4]uint64, tab *[9][4]uint64, dst, src, pad []byte) {
	var r limbs
	var f [4]uint64
	for k := range r {
		r[k] = tab[k][0]
	}
	for k := range f {
		f[k] = tab[5+k][0]
	}
	var c [64]byte
	for ; len(src) >= 64; src = src[64:] {
		copy(c[:], src)
		if pad != nil {
			subtle.XORBytes(c[:], c[:], pad[:64])
			copy(dst, c[:])
			dst, pad = dst[64:], pad[64:]
		}
		for j := range 4 {
			var l limbs
			for k := range l {
				l[k] = lanes[k][j]
			}
			l = mul(&l, &r, &f)
			m := split(binary.LittleEndian.Uint64(c[16*j:]), binary.LittleEndian.Uint64(c[16*j+8:]), hibit)
			for k := range l {
				lanes[k][j] = l[k] + m[k]
			}
		}
	}
}

// lanesFinalGeneric is the kernel's last step in Go: lane j times its row of
// fin, carried, and the lanes summed into h.
func lanesFinalGeneric(lanes *[5][4]uint64, fin *[9][4]uint64, h *limbs) {
	*h = limbs{}
	for j := range 4 {
		var l, f limbs
		var ff [4]uint64
		for k := range l {
			l[k], f[k] = lanes[k][j], fin[k][j]
		}
		for k := range ff {
			ff[k] = fin[5+k][j]
		}
		l = mul(&l, &f, &ff)
		for k := range h {
			h[k] += l[k]
		}
	}
}
