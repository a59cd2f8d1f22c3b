// Differential tests: every path of Sum against x/crypto/poly1305 over a || b || msg.
package poly1305avx2

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	//lint:ignore SA1019 the reference these tests hold the vector code to
	"golang.org/x/crypto/poly1305"
)

// paths are the ways this package can compute a tag; each must equal x/crypto's.
var paths = []struct {
	name string
	sum  func(out *[TagSize]byte, key *[KeySize]byte, a, b *[16]byte, msg []byte)
}{
	{"Sum", Sum},
	{"vector", func(out *[TagSize]byte, key *[KeySize]byte, a, b *[16]byte, msg []byte) {
		sumVec(out, key, a, b, msg, true) // the AVX2 kernel where the CPU has it, at every length
	}},
	{"lanes in Go", func(out *[TagSize]byte, key *[KeySize]byte, a, b *[16]byte, msg []byte) {
		sumVec(out, key, a, b, msg, false)
	}},
}

func reference(key *[KeySize]byte, a, b *[16]byte, msg []byte) [TagSize]byte {
	var out [TagSize]byte
	poly1305.Sum(&out, bytes.Join([][]byte{a[:], b[:], msg}, nil), key)
	return out
}

// checkAll fails t unless every path gives x/crypto's tag; label names the case.
func checkAll(t *testing.T, label string, key *[KeySize]byte, a, b *[16]byte, msg []byte) {
	t.Helper()
	want := reference(key, a, b, msg)
	for _, p := range paths {
		var got [TagSize]byte
		p.sum(&got, key, a, b, msg)
		if got != want {
			require.Failf(t, "tag differs from x/crypto", "%s path, %s, len %d, key %x: got %x want %x",
				p.name, label, len(msg), key[:], got, want)
		}
	}
}

func TestEveryLengthRandom(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'l', 'e', 'n'}))
	buf := make([]byte, 4200)
	for n := 0; n <= len(buf); n++ {
		var key [KeySize]byte
		var a, b [16]byte
		fill(rng, key[:], a[:], b[:], buf[:n])
		checkAll(t, "random", &key, &a, &b, buf[:n])
	}
}

// Keys at the edges of the arithmetic: every bit clamping leaves in r, r = 0,
// r = 1, s = 0 and s = 2^128-1 (the final addition's carry out of bit 127).
func edgeKeys() map[string][KeySize]byte {
	keys := map[string][KeySize]byte{}
	var k [KeySize]byte
	for i := range 16 {
		k[i] = 0xff // clamping keeps exactly the bits it allows
	}
	keys["r max, s 0"] = k
	for i := 16; i < 32; i++ {
		k[i] = 0xff
	}
	keys["r max, s max"] = k
	keys["all ones"] = k
	var z [KeySize]byte
	keys["zero"] = z
	for i := 16; i < 32; i++ {
		z[i] = 0xff
	}
	keys["r 0, s max"] = z
	var one [KeySize]byte
	one[0] = 1
	keys["r 1"] = one
	return keys
}

func TestEdgeKeysAndCarryMessages(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'e', 'd', 'g', 'e'}))
	ff := bytes.Repeat([]byte{0xff}, 4200)
	zero := make([]byte, 4200)
	random := make([]byte, 4200)
	fill(rng, random)
	var aff, bff [16]byte
	copy(aff[:], ff)
	copy(bff[:], ff)
	lengths := []int{}
	for n := 0; n <= 1100; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 2047, 2048, 2049, 4095, 4096, 4097, 4200)
	for name, key := range edgeKeys() {
		for _, n := range lengths {
			checkAll(t, name+", all 0xff", &key, &aff, &bff, ff[:n])
			checkAll(t, name+", zeros", &key, &[16]byte{}, &[16]byte{}, zero[:n])
			checkAll(t, name+", random", &key, &aff, &[16]byte{}, random[:n])
		}
	}
}

// Messages that are not 8- or 32-byte aligned, and the tag of a slice is that
// of its bytes only (nothing read past its end).
func TestUnalignedSlices(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'u', 'n', 'a'}))
	buf := make([]byte, 8300)
	fill(rng, buf)
	var key [KeySize]byte
	var a, b [16]byte
	for off := range 33 {
		for _, n := range []int{63, 64, 65, 127, 128, 129, 1000, 1024, 8192} {
			fill(rng, key[:], a[:], b[:])
			checkAll(t, "unaligned", &key, &a, &b, buf[off:off+n])
		}
	}
}

// The vector path's lengths are chosen by minVec; Sum must agree at and
// around it whatever it is.
func TestSumAroundThreshold(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'m', 'i', 'n'}))
	buf := make([]byte, minVec+200)
	for n := max(0, minVec-100); n <= len(buf); n++ {
		var key [KeySize]byte
		var a, b [16]byte
		fill(rng, key[:], a[:], b[:], buf[:n])
		want := reference(&key, &a, &b, buf[:n])
		var got [TagSize]byte
		Sum(&got, &key, &a, &b, buf[:n])
		require.Equal(t, want, got, "len %d", n)
	}
}

func TestSumDoesNotAllocate(t *testing.T) {
	var key [KeySize]byte
	var a, b [16]byte
	var out [TagSize]byte
	msg := make([]byte, 8192)
	for _, n := range []int{150, len(msg)} {
		allocs := testing.AllocsPerRun(100, func() { Sum(&out, &key, &a, &b, msg[:n]) })
		require.Zero(t, allocs, "len %d", n)
	}
}

// FuzzSum holds every path to x/crypto's tag for arbitrary keys and messages.
func FuzzSum(f *testing.F) {
	edge := edgeKeys()
	for _, n := range []int{0, 1, 15, 16, 63, 64, 65, 200, 1023, 1024, 1025, 4100} {
		k := edge["all ones"]
		f.Add(k[:], bytes.Repeat([]byte{0xff}, n))
		k = edge["r max, s 0"]
		f.Add(k[:], bytes.Repeat([]byte{byte(n)}, n))
	}
	f.Fuzz(func(t *testing.T, key, msg []byte) {
		var k [KeySize]byte
		copy(k[:], key)
		var a, b [16]byte
		copy(a[:], key)
		copy(b[:], msg)
		checkAll(t, "fuzz", &k, &a, &b, msg)
	})
}

func fill(rng *rand.Rand, bufs ...[]byte) {
	for _, b := range bufs {
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
	}
}
