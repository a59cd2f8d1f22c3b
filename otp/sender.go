// The Sender: seals frames with a pad, never using a pad byte twice, even across crashes.
package otp

import (
	"crypto/subtle"
	"fmt"
	"math"
	"time"

	"padchat/otp/internal/poly1305avx2"
)

// SenderOptions tune a Sender; zero values take the defaults.
type SenderOptions struct {
	// ReserveStep is the smallest reserve-ahead step (default 1 MiB). The step
	// doubles while reservations come less than a second apart, so a busy pad
	// makes few durable writes, and halves again when they are a minute apart.
	// A crash wastes at most one step of pad.
	ReserveStep int64
	// MaxReserveStep caps the adaptive step (default 256 MiB).
	MaxReserveStep int64
	// LowWater: Low reports true once Remaining is below it (default: under
	// 10 % of the pad or about 1,000 messages, whichever is more).
	LowWater int64
	// Burn zeroes used pad in the pad file at Reserve and Close.
	Burn bool
	// MaxFrame bounds the plaintext of one frame (default DefaultMaxFrame).
	MaxFrame int
	// NoLock skips the state file's flock and keeps it closed between writes,
	// so an idle pad holds no descriptor. Only for a caller that guarantees no
	// other process opens the pad (padchatd holds a lock on its data dir).
	NoLock bool
	// Claim, when set, shares the reserve mark with other processes (cluster
	// mode): a reservation counts only once Claim.Advance won it, and the Sender
	// starts at the shared mark when that lies past its own.
	Claim Claimer
}

const (
	defaultReserveStep    = 1 << 20
	defaultMaxReserveStep = 256 << 20
	reserveSoon           = time.Second
	reserveIdle           = time.Minute
)

// Sender seals frames with one pad. It belongs to one goroutine.
//
// next is where the next frame's key starts; reserved is the durable mark no
// sealed frame may pass before it leaves the process.
type Sender struct {
	pad      *Pad
	st       *stateFile // nil only in tests that need no disk
	next     int64
	reserved int64
	maxFrame int
	lowWater int64

	step, minStep, maxStep int64
	lastReserve            time.Time
	now                    func() time.Time
	closed                 bool

	claim  Claimer // nil: the local state file alone holds the mark
	rev    uint64  // revision of the shared mark this Sender last saw or won
	unsure bool    // an Advance's outcome is unknown: rejoin before reserving
}

// OpenSender opens the RoleSend state at statePath for pad, locks it, and resumes
// at its durable reserved mark: whatever was sealed before a crash lies below it.
func OpenSender(pad *Pad, statePath string, opt SenderOptions) (*Sender, error) {
	if pad.closed() {
		return nil, ErrClosed
	}
	s, err := newSender(pad, opt)
	if err != nil {
		return nil, err
	}
	if s.st, err = openStateFile(statePath, pad, RoleSend, opt.Burn, opt.NoLock); err != nil {
		return nil, err
	}
	s.next, s.reserved = s.st.st.mark, s.st.st.mark
	if s.claim = opt.Claim; s.claim != nil {
		if err := s.joinClaim(); err != nil {
			s.st.close()
			return nil, err
		}
	}
	// Pad between the last burn and the mark was used or skipped by a crash.
	if err := s.st.save(s.reserved, s.next); err != nil {
		s.st.close()
		return nil, err
	}
	return s, nil
}

func newSender(pad *Pad, opt SenderOptions) (*Sender, error) {
	maxFrame, err := frameLimit(opt.MaxFrame)
	if err != nil {
		return nil, err
	}
	s := &Sender{pad: pad, next: FirstOffset, reserved: FirstOffset, maxFrame: maxFrame,
		lowWater: lowWater(opt.LowWater, pad.Size()), now: time.Now}
	s.minStep = cmp0(opt.ReserveStep, defaultReserveStep)
	s.maxStep = max(cmp0(opt.MaxReserveStep, defaultMaxReserveStep), s.minStep)
	s.step = s.minStep
	return s, nil
}

// cmp0 returns v, or def when v is not positive.
func cmp0(v, def int64) int64 {
	if v <= 0 {
		return def
	}
	return v
}

func frameLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultMaxFrame, nil
	case limit < 0 || int64(limit) > math.MaxUint32:
		return 0, fmt.Errorf("otp: frame limit %d out of range", limit)
	}
	return limit, nil
}

func lowWater(v, size int64) int64 {
	if v > 0 {
		return v
	}
	return max(size/10, lowMessages*messageCost)
}

// A pad is low (by default) under 10 % of its size or about lowMessages
// messages, whichever is more; a message costs about messageCost bytes
// (one 100-byte message in its own frame: header, fields, tag).
const (
	lowMessages = 1000
	messageCost = HeaderSize + TagSize + 140
)

// MessagesLeft estimates how many 100-byte messages left bytes of pad carry.
func MessagesLeft(left int64) int64 { return max(left, 0) / messageCost }

// Seal appends one frame (header, ciphertext, tag) of plaintext to dst and returns
// the extended slice; it allocates only if dst lacks capacity. On error dst comes
// back unchanged. plaintext may sit exactly where the ciphertext will go
// (dst[len(dst)+HeaderSize:]) to seal in place; any other overlap gives ErrOverlap.
//
// Seal may run past the durable reserved mark; Pending then reports true and
// Reserve must succeed before the frame leaves the process.
func (s *Sender) Seal(dst, plaintext []byte, dir Direction, sess *Session) ([]byte, error) {
	n := len(plaintext)
	if err := s.check(n, dir, sess); err != nil {
		return dst, err
	}
	all, out := grow(dst, HeaderSize+n+TagSize)
	body := out[HeaderSize : HeaderSize+n]
	if inexactOverlap(body, plaintext) || inexactOverlap(out[:HeaderSize], plaintext) {
		return dst, ErrOverlap
	}
	s.seal(out, [][]byte{plaintext}, dir, sess)
	return all, nil
}

// SealParts is Seal of the concatenation of parts, which are only read:
// the ciphertext is written straight into dst's new room, whatever that held, so
// a relay that shares one plaintext among many recipients makes no copy of it
// per recipient; the XOR pass is the copy. No part may overlap the new frame.
func (s *Sender) SealParts(dst []byte, parts [][]byte, dir Direction, sess *Session) ([]byte, error) {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if err := s.check(n, dir, sess); err != nil {
		return dst, err
	}
	all, out := grow(dst, HeaderSize+n+TagSize)
	for _, p := range parts {
		if len(p) > 0 && (&p[0] == &out[0] || inexactOverlap(out, p)) {
			return dst, ErrOverlap
		}
	}
	s.seal(out, parts, dir, sess)
	return all, nil
}

// check refuses a frame of n plaintext bytes that cannot be sealed now.
func (s *Sender) check(n int, dir Direction, sess *Session) error {
	switch {
	case s.closed || s.pad.closed():
		return ErrClosed
	case n > s.maxFrame:
		return ErrFrameTooLarge
	case !dir.valid():
		return ErrBadFrame
	case sess == nil:
		return ErrNoSession
	}
	if left, cost := s.pad.size-s.next, PadCost(n); left < cost {
		return &ExhaustedError{Left: left, Need: cost}
	}
	return nil
}

// seal writes out's header, the parts' ciphertext after it and the tag at its
// end, and moves past the pad they used. A frame long enough for the vector
// MAC is XORed and tagged in one pass over the pad (poly1305avx2.Stream);
// the rest XOR first, then take the tag.
func (s *Sender) seal(out []byte, parts [][]byte, dir Direction, sess *Session) {
	off := s.next
	n := len(out) - HeaderSize - TagSize
	putHeader(out, dir, sess.headerID(&s.pad.id), off, n)
	key := (*[KeySize]byte)(s.pad.data[off : off+KeySize])
	pad := s.pad.data[off+KeySize : off+PadCost(n)]
	body := out[HeaderSize : HeaderSize+n]
	var tag [TagSize]byte
	if poly1305avx2.UseStream(HeaderSize + n) {
		var st poly1305avx2.Stream
		st.Init(key)
		st.Write(sess.Client[:])
		st.Write(sess.Server[:])
		st.Write(out[:HeaderSize])
		// A short part costs the stream more than it saves: short parts are
		// XORed alone, and their run is tagged from body while it is in cache.
		at, tagged := 0, 0
		for _, p := range parts {
			if len(p) >= fuseMin {
				st.Write(body[tagged:at])
				st.XORWrite(body[at:], p, pad[at:])
				at += len(p)
				tagged = at
				continue
			}
			subtle.XORBytes(body[at:], p, pad[at:])
			if at += len(p); at-tagged >= fuseMin {
				st.Write(body[tagged:at])
				tagged = at
			}
		}
		st.Write(body[tagged:at])
		st.Sum(&tag)
	} else {
		for _, p := range parts {
			subtle.XORBytes(body, p, pad)
			body, pad = body[len(p):], pad[len(p):]
		}
		frameTag(&tag, key[:], sess, out[:HeaderSize+n])
	}
	copy(out[HeaderSize+n:], tag[:])
	s.next += PadCost(n)
}

// fuseMin is the shortest part worth XORing inside the tag's pass
// (BenchmarkSealParts64KiB: parts of a message or two lose to XOR then tag).
const fuseMin = 512

// Pending reports whether sealed pad lies beyond the durable reserved mark.
func (s *Sender) Pending() bool { return s.next > s.reserved }

// Remaining is the number of pad bytes left for frames.
func (s *Sender) Remaining() int64 { return s.pad.size - s.next }

// Low reports whether Remaining has fallen below the low-water mark: time to warn
// the user and provision a new pad.
func (s *Sender) Low() bool { return s.Remaining() < s.lowWater }

// Next is the pad offset the next frame will start at.
func (s *Sender) Next() int64 { return s.next }

// Durable is the reserved mark as last written durably: a frame whose pad use
// ends at or below it may leave the process, one that ends past it may not.
func (s *Sender) Durable() int64 { return s.reserved }

// Close records next as the durable mark, so a clean shutdown wastes no pad, and
// releases the lock. Nothing sealed lies at or past next, so lowering the mark to
// it is as safe as keeping it; every frame sealed so far may leave afterwards.
// The Pad stays open.
func (s *Sender) Close() error { return s.shut(false) }

// Park closes a Sender whose pad goes idle and will be opened again (OpenSender):
// like Close it lowers the mark to next, so the reopened Sender resumes where
// this one stopped and no reserve step is wasted, but it writes that record
// without a sync. Lowering needs none: every frame sealed so far ends at or
// below next, and a crash that loses the record leaves the durable higher mark,
// which wastes pad and never reuses it. Frames still Pending get a durable
// reservation first, as Close gives them. With Burn the burn still syncs.
func (s *Sender) Park() error { return s.shut(true) }

// shut records next as the mark (lazily: see Park) and closes.
func (s *Sender) shut(lazy bool) error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.st == nil {
		return nil
	}
	err := s.st.record(s.next, s.next, lazy)
	if err == nil {
		s.reserved = s.next
	}
	if cerr := s.st.close(); err == nil {
		err = cerr
	}
	return err
}
