// The Receiver: checks, verifies and decrypts frames sealed with a peer's pad.
package otp

import (
	"crypto/subtle"
	"encoding/binary"
)

// ReceiverOptions tune a Receiver; zero values take the defaults.
type ReceiverOptions struct {
	MaxFrame int   // bound on a frame's plaintext (default DefaultMaxFrame)
	Burn     bool  // zero accepted pad in the pad file at Save and Close
	LowWater int64 // Low reports true below it (default as SenderOptions.LowWater)
	// Contiguous rejects (ErrGap) a frame that does not start where the previous
	// one of the same session ended. Gaps are legitimate only where a sender
	// restarted, which always begins a new session; within one, a gap means
	// someone on the path deleted frames. Off by default: it holds only while the
	// peer seals with this pad for one session at a time.
	Contiguous bool
	// NoLock: as SenderOptions.NoLock.
	NoLock bool
}

// Receiver opens frames sealed with one pad. It belongs to one goroutine.
type Receiver struct {
	pad        *Pad
	st         *stateFile // nil only in tests that need no disk
	expected   int64
	maxFrame   int
	lowWater   int64
	contiguous bool
	closed     bool

	// The session of the last accepted frame, and Expected before its first
	// frame: pad below that cannot belong to any frame of the session.
	sess   Session
	inSess bool
	base   int64
}

// OpenReceiver opens the RoleRecv state at statePath for pad and locks it.
func OpenReceiver(pad *Pad, statePath string, opt ReceiverOptions) (*Receiver, error) {
	if pad.closed() {
		return nil, ErrClosed
	}
	r, err := newReceiver(pad, opt)
	if err != nil {
		return nil, err
	}
	if r.st, err = openStateFile(statePath, pad, RoleRecv, opt.Burn, opt.NoLock); err != nil {
		return nil, err
	}
	r.expected = r.st.st.mark
	return r, nil
}

func newReceiver(pad *Pad, opt ReceiverOptions) (*Receiver, error) {
	maxFrame, err := frameLimit(opt.MaxFrame)
	if err != nil {
		return nil, err
	}
	return &Receiver{pad: pad, expected: FirstOffset, maxFrame: maxFrame,
		lowWater: lowWater(opt.LowWater, pad.Size()), contiguous: opt.Contiguous}, nil
}

// Open checks one whole frame, verifies its tag and appends its plaintext to dst.
// The checks run in this order, all before the pad is read: magic, version,
// direction and size (ErrBadFrame), pad id or the session's Label (ErrWrongPad), length (ErrFrameTooLarge),
// offset below Expected (ErrReplay, or ErrPadReused, see there), a gap within the
// session if Contiguous (ErrGap), frame running past the pad's end (ErrBadFrame:
// no sender can make one). Then the tag is compared in constant time (ErrForged).
// Only a frame that passes everything is decrypted and moves Expected past it.
// On error dst comes back unchanged and nothing advances. dst's new bytes may
// start exactly at the ciphertext (frame[HeaderSize:]) to open in place; other
// overlap: ErrOverlap.
func (r *Receiver) Open(dst, frame []byte, dir Direction, sess *Session) ([]byte, error) {
	switch {
	case r.closed || r.pad.closed():
		return dst, ErrClosed
	case sess == nil:
		return dst, ErrNoSession
	case len(frame) < Overhead || frame[0] != magic0 || frame[1] != magic1 ||
		frame[hdrVersion] != Version || !dir.valid() || frame[hdrDir] != byte(dir):
		return dst, ErrBadFrame
	case PadID(frame[hdrID:hdrOffset]) != *sess.headerID(&r.pad.id):
		return dst, ErrWrongPad // with a Label set, the bare pad id is wrong too
	}
	length := binary.BigEndian.Uint32(frame[hdrLength:])
	if uint64(length) > uint64(r.maxFrame) {
		return dst, ErrFrameTooLarge
	}
	n := int(length)
	if len(frame) != Overhead+n {
		return dst, ErrBadFrame
	}
	off := binary.BigEndian.Uint64(frame[hdrOffset:])
	cost := uint64(PadCost(n))
	sameSess := r.inSess && r.sess == *sess
	switch {
	case off < uint64(r.expected):
		return dst, r.replayed(frame, off, cost, sameSess, sess)
	case r.contiguous && sameSess && off != uint64(r.expected):
		return dst, ErrGap
	case off > uint64(r.pad.size) || uint64(r.pad.size)-off < cost:
		return dst, ErrBadFrame
	}
	if !r.verify(frame, off, sess) {
		return dst, ErrForged
	}
	all, out := grow(dst, n)
	ct := frame[HeaderSize : HeaderSize+n]
	if inexactOverlap(out, ct) {
		return dst, ErrOverlap
	}
	subtle.XORBytes(out, ct, r.pad.data[off+KeySize:off+cost])
	if !sameSess {
		r.sess, r.inSess, r.base = *sess, true, r.expected
	}
	r.expected = int64(off + cost)
	return all, nil
}

func (r *Receiver) verify(frame []byte, off uint64, sess *Session) bool {
	body := frame[:len(frame)-TagSize]
	var tag [TagSize]byte
	frameTag(&tag, r.pad.data[off:off+KeySize], sess, body)
	return subtle.ConstantTimeCompare(tag[:], frame[len(body):]) == 1
}

// replayed tells a replay from pad reuse. A frame below Expected whose tag holds
// for this session's nonces was sealed for this session; if it also lies below
// everything this session had accepted, its pad was used before in an earlier
// session: the sender reused pad. Replays from the network carry old nonces and
// fail the tag; reordered frames of this session lie above its base.
func (r *Receiver) replayed(frame []byte, off, cost uint64, sameSess bool, sess *Session) error {
	base := r.expected
	if sameSess {
		base = r.base
	}
	if off < FirstOffset || off >= uint64(base) || uint64(r.pad.size)-off < cost || !r.verify(frame, off, sess) {
		return ErrReplay
	}
	return ErrPadReused
}

// Expected is the lowest pad offset a next frame may start at.
func (r *Receiver) Expected() int64 { return r.expected }

// Remaining is the pad after Expected: the peer's supply as seen from here.
func (r *Receiver) Remaining() int64 { return r.pad.size - r.expected }

// Low reports whether Remaining has fallen below the low-water mark.
func (r *Receiver) Low() bool { return r.Remaining() < r.lowWater }

// Save makes Expected durable (and burns the pad below it if asked to). It is
// cheap when nothing changed. Losing it to a crash only lets a peer's old frames
// pass the offset check again, and every tag is bound to this connection's fresh
// nonce, so those still fail; saving lazily is therefore safe.
func (r *Receiver) Save() error {
	if r.closed {
		return ErrClosed
	}
	if r.st == nil {
		return nil
	}
	return r.st.save(r.expected, r.expected)
}

// Close saves and releases the lock. The Pad stays open.
func (r *Receiver) Close() error { return r.shut(false) }

// Park closes a Receiver whose pad goes idle, recording Expected without a
// sync (Save is lazy anyway: see there). SessionBase first, to Resume the
// session on the Receiver that opens the pad next.
func (r *Receiver) Park() error { return r.shut(true) }

func (r *Receiver) shut(lazy bool) error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.st == nil {
		return nil
	}
	err := r.st.record(r.expected, r.expected, lazy)
	if cerr := r.st.close(); err == nil {
		err = cerr
	}
	return err
}

// Follow raises Expected to mark when another process holding a copy of this
// pad accepted frames up to there (cluster mode), so that a copy of the
// sender using that range again is caught here as pad reuse. Call it before a
// session's first frame, not during a session.
func (r *Receiver) Follow(mark int64) {
	if !r.closed && mark > r.expected && mark <= r.pad.size {
		r.expected = mark
	}
}

// SessionBase is Expected as it was before the current session's first frame,
// and whether a session has begun.
func (r *Receiver) SessionBase() (base int64, ok bool) { return r.base, r.inSess }

// Resume continues, on a freshly opened Receiver, session sess that an earlier
// Receiver of the same pad (parked since) accepted frames of from base on. The
// session keeps its checks across the reopen: a gap within it is still ErrGap,
// and a replay of one of its own frames still ErrReplay, not pad reuse.
func (r *Receiver) Resume(sess *Session, base int64) {
	r.sess, r.inSess, r.base = *sess, true, min(base, r.expected)
}
