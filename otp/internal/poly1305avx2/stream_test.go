package poly1305avx2

import (
	"bytes"
	"crypto/subtle"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// streamSeal is a sealer's use of a Stream: the nonces and a header written
// plain, then the text XORed with the pad in the pieces cuts gives, in place
// if inPlace. It returns the ciphertext and the tag.
func streamSeal(key *[KeySize]byte, a, b *[16]byte, hdr, text, pad []byte, cuts []int, inPlace bool) ([]byte, [TagSize]byte) {
	var s Stream
	s.Init(key)
	s.Write(a[:])
	s.Write(b[:])
	s.Write(hdr)
	ct := make([]byte, len(text))
	src := text
	if inPlace {
		copy(ct, text)
		src = ct
	}
	at := 0
	for _, c := range append(cuts, len(text)) {
		if c < at {
			continue
		}
		s.XORWrite(ct[at:c], src[at:c], pad[at:c])
		at = c
	}
	var tag [TagSize]byte
	s.Sum(&tag)
	return ct, tag
}

// checkStream fails t unless the stream's ciphertext is text XOR pad and its
// tag is x/crypto's over a || b || hdr || ciphertext.
func checkStream(t *testing.T, key *[KeySize]byte, a, b *[16]byte, hdr, text, pad []byte, cuts []int) {
	t.Helper()
	want := make([]byte, len(text))
	subtle.XORBytes(want, text, pad)
	wantTag := reference(key, a, b, append(append([]byte{}, hdr...), want...))
	for _, inPlace := range []bool{false, true} {
		ct, tag := streamSeal(key, a, b, hdr, text, pad, cuts, inPlace)
		require.Equal(t, want, ct, "ciphertext, len %d, header %d, cuts %v", len(text), len(hdr), cuts)
		require.Equal(t, wantTag, tag, "tag, len %d, header %d, cuts %v, in place %v", len(text), len(hdr), cuts, inPlace)
	}
}

func TestStreamEveryLength(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'s', 't', 'r'}))
	text := make([]byte, 1200)
	pad := make([]byte, len(text))
	for n := 0; n <= len(text); n++ {
		var key [KeySize]byte
		var a, b [16]byte
		hdr := make([]byte, rng.IntN(70))
		fill(rng, key[:], a[:], b[:], hdr, text[:n], pad[:n])
		checkStream(t, &key, &a, &b, hdr, text[:n], pad[:n], nil)
	}
}

// Text written in many pieces, of every size around a chunk, tags the same as
// in one.
func TestStreamPieces(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'p', 'c', 's'}))
	for range 3000 {
		n := rng.IntN(5000)
		text, pad := make([]byte, n), make([]byte, n)
		var key [KeySize]byte
		var a, b [16]byte
		hdr := make([]byte, rng.IntN(40))
		fill(rng, key[:], a[:], b[:], hdr, text, pad)
		var cuts []int
		for at := 0; at < n; {
			at += 1 + rng.IntN([]int{3, 70, 200, 1500}[rng.IntN(4)])
			cuts = append(cuts, min(at, n))
		}
		checkStream(t, &key, &a, &b, hdr, text, pad, cuts)
	}
}

func TestStreamEdgeKeys(t *testing.T) {
	ff := bytes.Repeat([]byte{0xff}, 3000)
	zero := make([]byte, 3000)
	var aff [16]byte
	copy(aff[:], ff)
	for name, key := range edgeKeys() {
		for _, n := range []int{0, 1, 16, 63, 64, 65, 127, 128, 129, 1024, 2047, 3000} {
			t.Run(name, func(t *testing.T) {
				// All-ones ciphertext (text ff, pad zero) and all-zero (text and pad ff).
				checkStream(t, &key, &aff, &aff, ff[:16], ff[:n], zero[:n], []int{n / 3, n / 2})
				checkStream(t, &key, &aff, &[16]byte{}, nil, ff[:n], ff[:n], nil)
			})
		}
	}
}

func TestStreamDoesNotAllocate(t *testing.T) {
	var key [KeySize]byte
	var a, b [16]byte
	var out [TagSize]byte
	text := make([]byte, 8192)
	pad := make([]byte, len(text))
	var s Stream
	allocs := testing.AllocsPerRun(100, func() {
		s.Init(&key)
		s.Write(a[:])
		s.Write(b[:])
		s.XORWrite(text, text, pad)
		s.Sum(&out)
	})
	require.Zero(t, allocs)
}

// FuzzStream holds the stream's ciphertext and tag to XORBytes and x/crypto
// for arbitrary keys, headers, texts and cuts.
func FuzzStream(f *testing.F) {
	k := edgeKeys()["all ones"]
	for _, n := range []int{0, 1, 63, 64, 65, 200, 1100, 4100} {
		f.Add(k[:], uint8(n%50), bytes.Repeat([]byte{0xff}, n), uint16(n/3))
	}
	f.Fuzz(func(t *testing.T, key []byte, hdrLen uint8, text []byte, cut uint16) {
		var kk [KeySize]byte
		copy(kk[:], key)
		var a, b [16]byte
		copy(a[:], key)
		copy(b[:], text)
		hdr := bytes.Repeat([]byte{hdrLen}, int(hdrLen)%80)
		pad := make([]byte, len(text))
		for i := range pad {
			pad[i] = byte(i*7) ^ kk[i%KeySize]
		}
		checkStream(t, &kk, &a, &b, hdr, text, pad, []int{min(int(cut), len(text))})
	})
}

// Write alone (no pad) in pieces tags as x/crypto does.
func TestStreamWritePieces(t *testing.T) {
	rng := rand.New(rand.NewChaCha8([32]byte{'w', 'r', 't'}))
	for range 2000 {
		msg := make([]byte, rng.IntN(3000))
		var key [KeySize]byte
		var a, b [16]byte
		fill(rng, key[:], a[:], b[:], msg)
		var s Stream
		s.Init(&key)
		s.Write(a[:])
		s.Write(b[:])
		for p := msg; len(p) > 0; {
			k := min(len(p), 1+rng.IntN(300))
			s.Write(p[:k])
			p = p[k:]
		}
		var got [TagSize]byte
		s.Sum(&got)
		require.Equal(t, reference(&key, &a, &b, msg), got, "len %d", len(msg))
	}
}
