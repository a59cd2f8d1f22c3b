// Frame headers, the one-time tag, and the checks a stream decoder needs before buffering.
package otp

import (
	"encoding/binary"
	"unsafe"

	"padchat/otp/internal/poly1305avx2"
)

const magic0, magic1 = 'P', 'C'

// Header field offsets.
const (
	hdrVersion = 2
	hdrDir     = 3
	hdrID      = 4
	hdrOffset  = hdrID + IDSize
	hdrLength  = hdrOffset + 8
)

func putHeader(h []byte, dir Direction, id *PadID, offset int64, n int) {
	h[0], h[1], h[hdrVersion], h[hdrDir] = magic0, magic1, Version, byte(dir)
	copy(h[hdrID:hdrOffset], id[:])
	binary.BigEndian.PutUint64(h[hdrOffset:], uint64(offset))
	binary.BigEndian.PutUint32(h[hdrLength:], uint32(n))
}

func (d Direction) valid() bool { return d == ToServer || d == ToClient }

// FrameLen checks a frame header (magic, version, length within maxFrame; maxFrame
// <= 0 means DefaultMaxFrame) and returns the size of the whole frame, so a stream
// decoder knows how much to buffer before it allocates anything. Callers pass at
// least HeaderSize bytes; fewer give ErrBadFrame. Direction and pad are left to Open.
func FrameLen(hdr []byte, maxFrame int) (int, error) {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	if len(hdr) < HeaderSize || hdr[0] != magic0 || hdr[1] != magic1 || hdr[hdrVersion] != Version {
		return 0, ErrBadFrame
	}
	n := binary.BigEndian.Uint32(hdr[hdrLength:])
	if uint64(n) > uint64(maxFrame) {
		return 0, ErrFrameTooLarge
	}
	return HeaderSize + int(n) + TagSize, nil
}

// PeekPadID returns the pad id field of a header without checking anything else
// (the server finds a connection's user by it); the zero id if hdr is too short.
func PeekPadID(hdr []byte) PadID {
	var id PadID
	if len(hdr) >= hdrOffset {
		copy(id[:], hdr[hdrID:hdrOffset])
	}
	return id
}

// frameTag computes Poly1305 with the one-time key over client nonce || server
// nonce || msg (header and ciphertext). The nonces are two whole Poly1305 blocks,
// so feeding them apart from msg costs nothing over one contiguous buffer. Long
// frames take the AVX2 code where the CPU has it, the rest x/crypto/poly1305;
// poly1305avx2 decides. The receiver tags every frame here; a sender only its
// short ones, as it tags a long one while XORing it (Sender.seal).
func frameTag(out *[TagSize]byte, key []byte, sess *Session, msg []byte) {
	poly1305avx2.Sum(out, (*[KeySize]byte)(key), &sess.Client, &sess.Server, msg)
}

// grow extends dst by n bytes, reallocating only when its capacity is short, and
// returns the whole slice and the n new bytes.
func grow(dst []byte, n int) (all, tail []byte) {
	total := len(dst) + n
	if cap(dst) >= total {
		all = dst[:total]
	} else {
		// Double, as append does: a connection's output buffer gathers many
		// frames per loop iteration, and a 25% step made it regrow (copy, clear,
		// fault in) several times in every one of them.
		all = make([]byte, total, max(total, 2*cap(dst)))
		copy(all, dst)
	}
	return all, all[len(dst):]
}

// inexactOverlap reports whether x and y share memory other than by starting at
// the same byte, which subtle.XORBytes would panic on (crypto/internal/alias).
func inexactOverlap(x, y []byte) bool {
	if len(x) == 0 || len(y) == 0 || &x[0] == &y[0] {
		return false
	}
	xs, ys := uintptr(unsafe.Pointer(&x[0])), uintptr(unsafe.Pointer(&y[0]))
	return xs <= ys+uintptr(len(y)-1) && ys <= xs+uintptr(len(x)-1)
}
