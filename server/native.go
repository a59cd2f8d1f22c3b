// The native dialect: greeting, OTP frames, and the session of one authenticated user.
package server

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"padchat/otp"
	"padchat/wire"
)

// nativeState is where the decoder stands in the byte stream.
type nativeState uint8

const (
	stGreeting nativeState = iota // waiting for the client's greeting
	stFrames                      // waiting for whole frames
)

// native is one native connection; after its first frame, one user's session.
//
// What push touches for every delivery comes first (h, c, pad, the spans,
// the backlog and the frame state), so it lies in the object's first two
// cache lines; the session's nonces and the rest follow.
type native struct {
	h *Hub
	c *Conn

	// Output is queued as plaintext and sealed at flush (protocol v2): see push and seal.
	pad *User // whose recv pad seals this conn's output; kept when the session is replaced, for its Bye
	// spans are the plaintext of the unsealed frames, in order, as places in
	// the hub's arena: c.out holds only their room, filled by seal's XOR.
	spans  []span
	spanAt int // spans[:spanAt] are sealed
	// later is what is queued but not staged: the plaintext sizes of frames
	// that have spans but no room in c.out yet, in order after the room
	// frames. stage gives them room once c.out has drained, at most sealAhead
	// at a time, so pad is spent, memory taken and a frame sealed only for
	// what is about to be written (Conn.later counts them).
	later     []int
	from      int  // offset in c.out of the first unsealed frame
	openAt    int  // offset in c.out of the open frame, which takes more messages
	open      bool // a frame is open
	unsealed  bool // c.out[from:] holds plaintext frames
	broken    bool // a seal failed: nothing held may ever leave
	exhausted bool // the pad reached byeReserve: only the goodbye leaves
	holding   bool // in h.holders
	ending    bool // the Bye is queued: it goes after what is staged, never into later
	st        nativeState
	pinged    bool
	end       int64 // pad offset the last sealed frame ends at

	sess   otp.Session
	user   *User // nil until the first frame authenticated
	rooms  []*Room
	rare   *nativeRare // what few sessions use; nil until one does (more)
	rxBase int64       // the Receiver's session base while the user is parked (User.park, open); -1: none
}

// nativeRare holds the session state that most sessions never set: mail in
// flight, an away message, a refusal. Kept apart so that an idle session,
// which has none of it, costs a 208-byte object, not a 256-byte one
// (TestIdleSessionSizes).
type nativeRare struct {
	inflight map[mailRef]uint64
	mailNext uint64    // mailbox key of the last message pushed
	away     string    // away message; empty: here (not stored)
	refused  *refusing // set once refused: see refuse
}

// more is n's rare state, made on first use.
func (n *native) more() *nativeRare {
	if n.rare == nil {
		n.rare = &nativeRare{}
	}
	return n.rare
}

// some is n's rare state to read, by value (the zero one if it has none), so
// that no write can go through it to state other sessions read: writes take
// more.
func (n *native) some() nativeRare {
	if n.rare == nil {
		return nativeRare{}
	}
	return *n.rare
}

// span is a run of bytes in the hub's arena (or solo).
type span struct {
	off, n int
	solo   bool
}

// frameRoom is the zeroed room for a header or a tag around a frame's plaintext.
var frameRoom [otp.HeaderSize]byte

func newNative(h *Hub, c *Conn) handler {
	n := &native{h: h, c: c}
	rand.Read(n.sess.Server[:])
	c.queue(wire.AppendGreeting(nil, n.sess.Server))
	return n
}

func (n *native) name() string {
	if n.user == nil {
		return ""
	}
	return n.user.Name
}
func (n *native) plain() bool      { return false }
func (n *native) joined() *[]*Room { return &n.rooms }

// onData consumes the greeting, then whole frames; a partial frame waits.
// The Says of one read may form a room run (roomRun), which goes out before
// it returns.
func (n *native) onData(c *Conn, b []byte) int {
	if n.some().refused != nil {
		return len(b) // refused: nothing more is read into the session
	}
	h := n.h
	h.run.on = true
	used := n.frames(c, b)
	h.run.on = false
	h.flushRun()
	return used
}

// frames is onData's work: the greeting, then whole frames.
func (n *native) frames(c *Conn, b []byte) int {
	used := 0
	for !c.dying && !c.closed && n.some().refused == nil {
		rest := b[used:]
		switch n.st {
		case stGreeting:
			if len(rest) < wire.GreetingSize {
				return used
			}
			nonce, err := wire.ParseGreeting(rest[:wire.GreetingSize])
			if err != nil {
				c.kill(ReasonProtocol)
				return used
			}
			n.sess.Client = nonce
			used += wire.GreetingSize
			n.st = stFrames
		case stFrames:
			if len(rest) < otp.HeaderSize {
				return used
			}
			size, err := otp.FrameLen(rest[:otp.HeaderSize], n.h.cfg.MaxFrame)
			if err != nil {
				n.fail(ReasonBadFrame, err)
				return used
			}
			if len(rest) < size {
				return used
			}
			n.frame(rest[:size])
			used += size
		}
	}
	return used
}

// frame opens one frame; the first one also says who the peer is.
func (n *native) frame(f []byte) {
	if n.user == nil {
		n.authenticate(f)
		return
	}
	if !n.unpark(n.user) {
		return
	}
	var err error
	// The plaintext lives in the hub's scratch buffer: a Msg must not outlive
	// this call, which keeps idle sessions free of buffers.
	h := n.h
	h.plain, err = n.user.receiver.Open(h.plain[:0], f, otp.ToServer, &n.sess)
	if err != nil {
		n.openFailed(err)
		return
	}
	h.touch(n.user)
	// A frame carries one or more messages back to back (protocol v2).
	var m wire.Msg
	for rest := h.plain; len(rest) > 0 && !n.c.dying && !n.c.closed; {
		if rest, err = wire.DecodeNext(rest, &m); err != nil {
			n.fail(ReasonProtocol, err)
			return
		}
		h.l.stats.msgsIn++
		n.command(&m)
	}
}

func (n *native) authenticate(f []byte) {
	h := n.h
	id := otp.PeekPadID(f)
	if pad, ok := h.handles.lookup(id); ok {
		// A handle: this session's frames carry it, both ways.
		n.sess.Label, id = id, pad
	}
	u := h.acct.lookup(id)
	if u == nil {
		n.refuse(errors.New("no such pad"))
		return
	}
	if err := u.open(h.acct); err != nil {
		n.refuse(fmt.Errorf("cannot open the user's pads: %w", err))
		return
	}
	h.followRecv(u)
	var err error
	h.plain, err = u.receiver.Open(h.plain[:0], f, otp.ToServer, &n.sess)
	var m wire.Msg
	if err == nil {
		h.touch(u)
		h.l.stats.msgsIn++
		err = wire.Decode(h.plain, &m)
	}
	if err == nil && m.Op != wire.OpHello {
		err = errors.New("first frame is not hello")
	}
	if err == nil || errors.Is(err, otp.ErrPadReused) {
		h.rejoinPad(u) // the peer holds the pad: whatever it hears is sealed
	}
	if errors.Is(err, otp.ErrPadReused) {
		n.user, n.pad = u, u
		n.openFailed(err)
		n.user = nil
		return
	}
	if err != nil {
		n.refuse(err)
		return
	}
	// The peer holds the pad: now, and only now, it may hear why it is
	// turned away, sealed.
	if why := h.locked(u); why != "" {
		n.user, n.pad = u, u
		n.finalBye(wire.ByeLocked, "user locked: "+why)
		n.fail(ReasonAuthFailed, errors.New("user locked"))
		return
	}
	// One namespace: claimName refuses a plain-text member an account's name,
	// but the operator may add an account (admin socket) whose name a
	// plain-text member holds already: the native login waits until it is free.
	if m := h.online[u.Name]; m != nil && m.plain() {
		n.user, n.pad = u, u
		n.finalBye(wire.ByeUnspecified, "the name "+u.Name+" is held by a plain-text member; try again later")
		n.fail(ReasonAuthFailed, errors.New("name held by a plain-text member"))
		return
	}
	if n.sess.Label != (otp.PadID{}) {
		h.handles.consume(h.store, n.sess.Label, u)
	}
	n.pad = u
	if old := u.session; old != nil {
		old.bye(wire.ByeReplaced, "replaced by a newer session of this account")
		old.c.kill(ReasonReplaced)
		h.leave(old, "quit")
		h.mail.ended(old) // onClose will not: the session has no user by then
		old.user = nil
	}
	h.startSession(u, n)
	h.l.log.Info().Str("user", u.Name).Str("remote", n.c.remote).Msg("connected")
	if h.cfg.LogMessages {
		h.l.log.Info().Msgf("[SERVER] Client: %s connected!", u.Name)
	}
	n.send(&wire.Msg{Op: wire.OpWelcome, User: []byte(u.Name), Text: []byte(h.cfg.Welcome)})
	n.sendHandle()
	h.pump(n)
	h.files.online(n)
}

// openFailed closes the connection over a frame that did not open. A frame
// that proves a second copy of the user's pad is in use locks the user: two
// senders on one pad have already leaked plaintext, and more traffic leaks more.
func (n *native) openFailed(err error) {
	if !errors.Is(err, otp.ErrPadReused) {
		n.fail(ReasonForged, err)
		return
	}
	u := n.user
	n.h.l.log.Error().Str("user", u.Name).Str("remote", n.c.remote).
		Msg("PAD REUSE DETECTED: a second copy of this user's bundle is sending; user locked: padchatd user renew NAME (or unlock once the copy is gone)")
	if lerr := u.lock("pad reuse detected: this bundle was used from two places (a copy is in use elsewhere); ask the operator for a new bundle (padchatd user renew " + u.Name + ")"); lerr != nil {
		n.h.l.log.Error().Err(lerr).Str("user", u.Name).Msg("cannot write lock file")
	}
	n.h.shareLock(u)
	if u.session != nil && u.session != n {
		u.session.bye(wire.ByeLocked, "account locked: this bundle was used from two places")
		u.session.c.kill(ReasonForged)
	}
	// The frame's tag held for this session: its sender holds the pad (a
	// rewound state or a copied bundle) and is told why, not just cut off.
	n.finalBye(wire.ByeLocked, "user locked: pad reuse detected: this bundle's send pad was used before (a copy or a restored backup); ask the operator for a new bundle (padchatd user renew "+u.Name+")")
	n.fail(ReasonForged, err)
}

// unpark opens u's pads again if they were parked while the session was
// idle; a failure (files gone or replaced: the account was removed or renewed)
// ends the session, as nothing can be sealed or opened for it any more.
func (n *native) unpark(u *User) bool {
	if !u.parked {
		return true
	}
	if err := u.open(n.h.acct); err != nil {
		n.fail(ReasonStoreError, fmt.Errorf("reopening idle pads: %w", err))
		return false
	}
	return true
}

// refusal is the one answer a peer gets before its first frame verified,
// whatever failed (no such pad, a bad tag, a removed user, pads the server
// cannot open): a peer that has proved nothing learns nothing, not even
// whether the pad id it sent is known here. The cause is logged.
var refusal = wire.AppendRefusal(nil, wire.RefuseBadFrame,
	"authentication failed: the server could not verify this bundle (unknown, renewed or removed?)")

// refusalDelay is how long after the first frame arrived its refusal goes
// out, whatever failed. Looking a pad up, opening its files the first time and
// checking a tag take different times (BenchmarkFirstFrameRefusal: ~0.2 ms more
// for a known pad opened cold); the delay runs from the read, so it is meant to
// cover them, and it slows a peer trying pad ids. Measured with it, a cold
// known pad still answers ~0.2 ms later on average: something after the read
// still depends on the cause (not yet found).
const refusalDelay = time.Second

// refusing is a refused peer's pending answer: when it goes out, and why
// (for the log). Kept out of native itself, which every session carries.
type refusing struct {
	at    int64
	cause error
}

// refuse answers an unauthenticated peer in clear, after refusalDelay, and closes.
func (n *native) refuse(cause error) {
	r := &refusing{at: n.c.lastRead + int64(refusalDelay), cause: cause}
	n.more().refused = r
	n.h.l.setConnTimer(n.c, r.at)
}

// finalBye seals a last Bye with a final reason to an authenticated peer.
func (n *native) finalBye(r wire.ByeReason, why string) {
	n.send(&wire.Msg{Op: wire.OpBye, ID: uint32(r), Text: []byte(why)})
}

// fail closes the connection for a protocol or crypto fault, logged once.
func (n *native) fail(r Reason, err error) {
	ev := n.h.l.log.Warn().Str("remote", n.c.remote).Stringer("reason", r)
	if n.user != nil {
		ev = ev.Str("user", n.user.Name)
	}
	ev.AnErr("cause", err).Msg("closing connection")
	n.c.kill(r)
}

// deliver queues an event for this session; it is sealed at flush. A run of
// Says this session is not the sender of goes first (roomRun).
func (n *native) deliver(m *wire.Msg, enc []byte) {
	if h := n.h; h.run.r != nil && n != h.run.skip {
		h.fanning++ // enc, if encoded already, stays where it lies (recycleArena)
		h.flushRun()
		h.fanning--
	}
	if enc == nil {
		enc = n.h.encodeOne(m)
	}
	n.push(enc)
}

func (n *native) send(m *wire.Msg) {
	m.Time = n.h.l.now
	n.deliver(m, nil)
}

// push queues one wire message: a place in the backlog (postpone), or after
// a Bye that ends the session, room in the open frame (makeRoom); its bytes
// stay in the arena as a span either way. The gate holds them back until
// stage, seal and the reservation.
func (n *native) push(msg []byte) {
	if n.accepts() {
		n.queueSpan(n.h.arenaSpan(msg), 1)
	}
}

// accepts reports whether output may be queued: the session lives and its
// pad is open (unparked if need be).
func (n *native) accepts() bool {
	c, u := n.c, n.pad
	return !c.dying && !c.closed && u != nil && !n.broken && n.unpark(u)
}

// queueSpan queues sp, msgs whole wire messages in the arena or solo (one,
// or a chunk of a room run: flushRun), as push describes.
func (n *native) queueSpan(sp span, msgs int) {
	c := n.c
	if !n.ending {
		n.postpone(sp.n)
	} else {
		n.makeRoom(c.outBuf(), sp.n)
	}
	n.addSpan(sp)
	n.h.l.stats.msgsOut += uint64(msgs)
	n.h.touch(n.pad)
	c.queued()
}

// makeRoom appends room for a message of size bytes to the open frame,
// opening one (its header room first) when there is none or the message
// would take it past the frame limit. Room, not a copy: seal writes the
// ciphertext there straight from the arena, where a room event lies once for
// all. Only an ending session's Bye (and anything after it) takes this way:
// it must follow what is staged, and a dying session stages nothing more.
func (n *native) makeRoom(out []byte, size int) {
	c := n.c
	if n.open && len(out)-n.openAt-otp.HeaderSize+size > n.h.cfg.MaxFrame {
		out = n.closeFrame(out)
	}
	if !n.open {
		if !n.unsealed {
			n.from, n.unsealed = len(out), true
		}
		n.openAt, n.open = len(out), true
		out = append(out, frameRoom[:otp.HeaderSize]...)
		c.held += otp.HeaderSize
	}
	c.out = c.room(out, size)
	c.held += size
}

// sealAhead bounds the output a session stages into c.out at a time: the
// rest waits as spans of the arena (later), neither sealed nor copied, until
// the socket has taken what was staged, so a backlog costs no pad, no
// per-member buffer and no cache-cold seal of bytes the socket cannot take
// yet.
const sealAhead = 64 << 10

// laterFrame is the most plaintext one frame of the backlog takes: within
// the frame limit, and with its header and tag within sealAhead, so that
// stage fits it whole. A room run is handed out in chunks of it (flushRun).
func (h *Hub) laterFrame() int { return min(h.cfg.MaxFrame, sealAhead-otp.Overhead) }

// postpone counts a message of size bytes into the backlog, in the last
// later frame while it fits (its span follows the others: push). No frame
// is open here: only an ending session opens one (makeRoom), and it never
// postpones again.
func (n *native) postpone(size int) {
	c := n.c
	if k := len(n.later); k > 0 && n.later[k-1]+size <= n.h.laterFrame() {
		n.later[k-1] += size
		c.later += size
	} else {
		n.later = append(n.later, size)
		c.later += otp.Overhead + size
	}
}

// stage gives room in c.out to the next later frames, up to sealAhead, and
// reports whether it did; it is called once the socket has drained c.out,
// or when the session ends (Conn.kill, bye). flushAll seals them
// (Conn.sealNow) and the gate lets them out once reserved. As the flush
// stages only into a drained out, a member's frames are sealed and written in
// one go, and the buffer goes back to the pool for the next member while it
// is in cache: a fan-out to 1,000 members reuses a few buffers, not one each.
func (n *native) stage(c *Conn) bool {
	if len(n.later) == 0 || n.broken || c.dying || c.closed || n.unsealed {
		return false
	}
	k, need := 0, 0
	for k < len(n.later) && (k == 0 || need+otp.Overhead+n.later[k] <= sealAhead) {
		need += otp.Overhead + n.later[k]
		k++
	}
	out := c.outBuf()
	if c.outPos == len(out) {
		out, c.outPos = out[:0], 0
	}
	from := len(out)
	switch {
	case cap(out)-from >= need:
	case from == 0:
		// One buffer of the size the frames take, a power of two so that the
		// pool hands it to the next one: not a doubling from 4 KiB, whose
		// steps a flood to 1,000 members paid as fresh memory each.
		c.l.putBuf(out)
		out = make([]byte, 0, 1<<bits.Len(uint(need-1)))
	default: // after what the socket has not taken (Conn.kill)
		out = c.room(out, need)[:from]
	}
	n.from, n.unsealed = from, true
	for _, size := range n.later[:k] {
		at := len(out)
		out = out[:at+otp.Overhead+size]
		binary.BigEndian.PutUint32(out[at+otp.HeaderSize-4:], uint32(size))
	}
	c.later -= need
	c.out = out
	c.held += need
	if k == len(n.later) {
		n.later = n.later[:0]
	} else {
		n.later = n.later[:copy(n.later, n.later[k:])]
	}
	c.markDirty()
	return true
}

// dropLater forgets the backlog; its spans are the caller's to drop (all of
// them, or the last: cutBacklog).
func (n *native) dropLater() {
	n.c.later = 0
	n.later = n.later[:0]
}

// cutBacklog forgets the backlog and its spans, the last of n.spans, so that
// what is pushed next follows what is staged in c.out.
func (n *native) cutBacklog() {
	cut := 0
	for _, size := range n.later {
		cut += size
	}
	for cut > 0 {
		k := len(n.spans) - 1
		if sp := &n.spans[k]; sp.n > cut {
			sp.n -= cut
			break
		}
		cut -= n.spans[k].n
		n.spans = n.spans[:k]
	}
	n.dropLater()
}

// addSpan queues sp after the spans held, as part of the last one when it
// continues it (a member's messages of one room lie back to back).
func (n *native) addSpan(sp span) {
	if k := len(n.spans); k > n.spanAt && n.spans[k-1].solo == sp.solo && n.spans[k-1].off+n.spans[k-1].n == sp.off {
		n.spans[k-1].n += sp.n
		return
	}
	if !n.holding {
		n.holding = true
		n.h.holders = append(n.h.holders, n)
	}
	n.spans = append(n.spans, sp)
}

// frameParts puts in h.parts the arena bytes of the next size bytes of
// plaintext, taking them off the front of n.spans[spanAt:].
func (n *native) frameParts(size int) [][]byte {
	h := n.h
	parts := h.parts[:0]
	for size > 0 && n.spanAt < len(n.spans) {
		sp := &n.spans[n.spanAt]
		k := min(size, sp.n)
		from := h.arena
		if sp.solo {
			from = h.solo
		}
		parts = append(parts, from[sp.off:sp.off+k])
		size -= k
		if sp.off, sp.n = sp.off+k, sp.n-k; sp.n == 0 {
			n.spanAt++
		}
	}
	h.parts = parts
	return parts
}

// closeFrame ends the open frame: its plaintext length goes where the header
// will be, and room for the tag follows, so each frame seals in place.
func (n *native) closeFrame(out []byte) []byte {
	binary.BigEndian.PutUint32(out[n.openAt+otp.HeaderSize-4:], uint32(len(out)-n.openAt-otp.HeaderSize))
	n.open = false
	n.c.held += otp.TagSize
	return append(out, frameRoom[:otp.TagSize]...)
}

// seal turns the held plaintext frames into sealed ones in place, one pass
// over the pad per connection per iteration, and notes the pad for the
// loop's reserve hook. A seal that fails (pad exhausted) closes the session;
// its plaintext never leaves.
func (n *native) seal(c *Conn) {
	if !n.unsealed || n.broken {
		return
	}
	if n.open {
		c.out = n.closeFrame(c.out)
	}
	n.unsealed = false
	u := n.pad
	snd := u.sender
	if snd != nil && !n.exhausted && snd.Remaining()-int64(len(c.out)-n.from) < byeReserve {
		n.exhausted = true
		n.padExhausted(c)
	}
	for p := n.from; p < len(c.out); {
		size := int(binary.BigEndian.Uint32(c.out[p+otp.HeaderSize-4:]))
		parts := n.frameParts(size)
		var err error
		if snd == nil {
			err = otp.ErrClosed
		} else {
			_, err = snd.SealParts(c.out[:p], parts, otp.ToClient, &n.sess)
		}
		clear(parts)
		if err != nil {
			n.broken = true
			n.fail(ReasonPadExhausted, err)
			return
		}
		p += otp.HeaderSize + size + otp.TagSize
	}
	if len(n.later) == 0 {
		n.spans, n.spanAt = n.spans[:0], 0
	} else if n.spanAt > 0 { // the backlog keeps its spans
		n.spans, n.spanAt = n.spans[:copy(n.spans, n.spans[n.spanAt:])], 0
	}
	n.end = snd.Next()
	if snd.Pending() {
		n.h.queueReserve(u)
	}
	if !u.warned && snd.Low() {
		u.warned = true
		n.h.l.log.Warn().Str("user", u.Name).Int64("left", snd.Remaining()).Msg("recv pad running low: give the user a new bundle (padchatd user renew NAME)")
	}
}

// byeReserve is the end of each server→client pad kept for the goodbye that
// says it ran out (padExhausted).
const byeReserve = otp.HeaderSize + otp.TagSize + 256

// padExhausted replaces what is queued, which would eat into byeReserve,
// with a Bye that says why and what helps, and ends the session. Called
// from seal with the frames closed; the Bye is sealed by the same pass.
func (n *native) padExhausted(c *Conn) {
	left := n.pad.sender.Remaining()
	c.held -= len(c.out) - n.from
	c.out = c.out[:n.from]
	n.spans, n.spanAt = n.spans[:0], 0
	n.dropLater()
	n.bye(wire.ByePadExhausted, fmt.Sprintf("your receive pad is used up (%d bytes left); ask the operator for a new bundle: padchatd user renew %s", left, n.pad.Name))
	if n.open {
		c.out = n.closeFrame(c.out)
	}
	n.unsealed = false
	n.h.l.log.Warn().Str("user", n.pad.Name).Int64("left", left).Msg("recv pad exhausted: session closed with its reason (padchatd user renew NAME)")
	c.kill(ReasonPadExhausted)
}

// durable is the gate's question: may the held bytes leave? Only when all
// are sealed and the pad under the last frame is durably reserved.
func (n *native) durable(c *Conn) bool {
	if n.unsealed || n.broken || n.pad == nil || n.pad.sender == nil {
		return false
	}
	return n.end <= n.pad.sender.Durable()
}

// bye queues the goodbye that tells the client why its session ends.
// A session ended now (replaced, removed, locked, idle) never gets its
// backlog: the Bye follows what is staged, so it is sealed and written with
// it. At shutdown the loop lingers to write the backlog first (Loop.shutdown).
func (n *native) bye(r wire.ByeReason, why string) {
	if n.user != nil && n.pad != nil {
		if r != wire.ByeShutdown {
			// The Bye follows what was queued before it, up to sealAhead.
			n.stage(n.c)
			n.cutBacklog()
			n.ending = true
		}
		n.send(&wire.Msg{Op: wire.OpBye, ID: uint32(r), Text: []byte(why)})
	}
}

// onDeadline: authenticate within AuthTimeout; a session silent for half the
// IdleTimeout is pinged once, and closed when silent for all of it.
func (n *native) onDeadline(c *Conn, now int64) int64 {
	if r := n.some().refused; r != nil {
		if now < r.at {
			return r.at
		}
		c.queue(refusal)
		n.fail(ReasonAuthFailed, r.cause)
		return 0
	}
	auth, idle := c.created+int64(n.h.cfg.AuthTimeout), int64(n.h.cfg.IdleTimeout)
	switch {
	case n.user == nil && now >= auth:
		n.fail(ReasonAuthTimeout, nil)
		return 0
	case now-c.lastRead >= idle:
		n.bye(wire.ByeIdle, "idle timeout")
		n.fail(ReasonIdle, nil)
		return 0
	}
	// Pinged, the deadline is the close: passing it alive means the peer
	// spoke since the ping.
	n.pinged = false
	if n.user != nil && now-c.lastRead >= idle/2 {
		n.pinged = true
		n.send(&wire.Msg{Op: wire.OpSrvPing})
	}
	next := c.lastRead + idle
	if ping := c.lastRead + idle/2; !n.pinged && ping > now {
		next = ping
	}
	if n.user == nil {
		next = min(next, auth)
	}
	return next
}

func (n *native) onClose(c *Conn) {
	u := n.user
	if u == nil {
		return
	}
	how := "quit"
	n.h.leave(n, how)
	n.h.sessionEnded(n)
	if u.session == n {
		n.h.endSession(u)
		if u.gone {
			n.h.acct.shut(u)
		}
	}
	n.h.l.log.Info().Str("user", u.Name).Str("remote", c.remote).Stringer("reason", c.reason).Msg("disconnected")
	n.user = nil
}
