// The MAC alone, x/crypto against the vector path, at frame sizes seen in use.
package poly1305avx2

import (
	"crypto/subtle"
	"fmt"
	"testing"

	//lint:ignore SA1019 the scalar MAC the vector path is measured against
	"golang.org/x/crypto/poly1305"
)

func BenchmarkSum(b *testing.B) {
	var key [KeySize]byte
	var x, y [16]byte
	var out [TagSize]byte
	for i := range key {
		key[i] = byte(i)
	}
	for _, n := range []int{150, 512, 768, 1024, 1536, 2048, 8192} {
		msg := make([]byte, n)
		b.Run(fmt.Sprintf("xcrypto/%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				m := poly1305.New(&key)
				m.Write(x[:])
				m.Write(y[:])
				m.Write(msg)
				m.Sum(out[:0])
			}
		})
		b.Run(fmt.Sprintf("vector/%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				sumVec(&out, &key, &x, &y, msg, true)
			}
		})
		b.Run(fmt.Sprintf("Sum/%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				Sum(&out, &key, &x, &y, msg)
			}
		})
	}
}

// BenchmarkSeal is a sealer's pass over a frame: XOR of the text with pad,
// then the tag, as two passes (XORBytes, Sum) or one (Stream). The pad is
// read once, from a buffer far larger than the caches, as a sealer reads it.
func BenchmarkSeal(b *testing.B) {
	var key [KeySize]byte
	var x, y [16]byte
	var out [TagSize]byte
	pad := make([]byte, 512<<20)
	for i := range pad {
		pad[i] = byte(i)
	}
	for _, n := range []int{512, 768, 1024, 1536, 2048, 8192, 65536} {
		text := make([]byte, n)
		frame := make([]byte, 32+n)
		at := 0
		next := func() []byte {
			if at+n > len(pad) {
				at = 0
			}
			at += n
			return pad[at-n : at]
		}
		b.Run(fmt.Sprintf("two-pass/%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				subtle.XORBytes(frame[32:], text, next())
				Sum(&out, &key, &x, &y, frame)
			}
		})
		b.Run(fmt.Sprintf("stream/%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			var s Stream
			for b.Loop() {
				s.Init(&key)
				s.Write(x[:])
				s.Write(y[:])
				s.Write(frame[:32])
				s.XORWrite(frame[32:], text, next())
				s.Sum(&out)
			}
		})
	}
}
