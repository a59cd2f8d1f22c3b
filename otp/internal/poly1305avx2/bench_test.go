// The MAC alone, x/crypto against the vector path, at frame sizes seen in use.
package poly1305avx2

import (
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
