// Package otp seals and opens padchat frames with one-time pads and one-time Poly1305 tags.
//
// Frame (after a greeting in which each side sends a fresh 16-byte nonce in clear):
//
//	magic "PC" | version u8 | direction u8 | pad id [16] | offset u64 | length u32   32 bytes, clear
//	ciphertext [length] = plaintext XOR pad[offset+32 : offset+32+length]
//	tag [16]            = Poly1305(key = pad[offset : offset+32],
//	                               client nonce || server nonce || header || ciphertext)
//
// A frame consumes PadCost(length) = 32+length pad bytes. The first 32 bytes of a
// pad only name it (PadID) and are never key, so offsets start at FirstOffset.
//
// The no-reuse rule: a pad byte may leave this process inside a frame at most once,
// ever. A Sender therefore keeps a durable "reserved" mark ahead of its next
// offset. Seal may run past the durable mark in memory; the caller must call
// Reserve (which writes the state file durably) before any frame sealed past the
// old mark leaves the process. The event loop does this once per iteration,
// before it flushes; a crash before then loses only frames nobody saw. After a
// crash a Sender resumes at the reserved mark: it may waste pad, never reuse it.
//
// What the rest of padchat must uphold for this to hold:
//   - Each side draws its greeting nonce from crypto/rand for every connection:
//     a receiver's protection against replayed frames is its own fresh nonce.
//   - One pad, one sealing end: provisioning gives the client's copy of its send
//     pad a RoleSend state and the server's copy RoleRecv, and the other way
//     round for the recv pad. A pad sealed with at both ends is a two-time pad.
//   - A bundle lives on one machine and its state is never restored from a
//     backup or snapshot. Nothing here can prevent a second copy; a Receiver
//     reports it (ErrPadReused) when the copy's frames reach it.
package otp

import (
	"encoding/hex"
)

const (
	Version     = 1
	HeaderSize  = 32
	TagSize     = 16
	NonceSize   = 16
	KeySize     = 32
	IDSize      = 16
	Overhead    = HeaderSize + TagSize // wire bytes per frame beyond the plaintext
	FirstOffset = 32                   // pad bytes [0,32) only name the pad
	// DefaultMaxFrame bounds the plaintext length of one frame.
	DefaultMaxFrame = 1 << 20
)

// PadCost is the number of pad bytes one frame of n plaintext bytes consumes.
func PadCost(n int) int64 { return KeySize + int64(n) }

// Direction says who sealed a frame; a receiver rejects frames of the wrong one.
type Direction uint8

const (
	ToServer Direction = 1 // client → server, sealed with the user's "send" pad
	ToClient Direction = 2 // server → client, sealed with the user's "recv" pad
)

// PadID names a pad: SHA-256 of its first 32 bytes, truncated to 16.
type PadID [IDSize]byte

func (id PadID) String() string { return hex.EncodeToString(id[:]) }

// ParsePadID reads the hex form written by String.
func ParsePadID(s string) (PadID, error) {
	var id PadID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != IDSize {
		return id, ErrBadPadID
	}
	copy(id[:], b)
	return id, nil
}

// Session holds the two greeting nonces every tag of a connection is bound to.
// Client and Server stay first: the tag reads them as one 32-byte block.
type Session struct {
	Client [NonceSize]byte
	Server [NonceSize]byte
	// Label, when not zero, stands in the header's pad-id field of every frame
	// of the session, both ways, instead of the pad id: a one-time random
	// handle, so an observer cannot link a user's sessions by the pad id.
	// Open then accepts only frames that carry it (the tag covers it too).
	Label PadID
}

// headerID is what the session's frames carry in the pad-id field.
func (s *Session) headerID(pad *PadID) *PadID {
	if s.Label != (PadID{}) {
		return &s.Label
	}
	return pad
}
