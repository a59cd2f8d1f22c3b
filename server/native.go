// The native dialect: greeting, OTP frames, and the session of one authenticated user.
package server

import (
	"crypto/rand"
	"errors"

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
type native struct {
	h        *Hub
	c        *Conn
	st       nativeState
	sess     otp.Session
	user     *User // nil until the first frame authenticated
	rooms    []*Room
	inflight map[mailRef]uint64
	mailNext uint64 // mailbox key of the last message pushed
	pinged   bool
	lowSent  bool
}

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
func (n *native) onData(c *Conn, b []byte) int {
	used := 0
	for !c.dying && !c.closed {
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
	var err error
	// The plaintext lives in the hub's scratch buffer: a Msg must not outlive
	// this call, which keeps idle sessions free of buffers.
	h := n.h
	h.plain, err = n.user.receiver.Open(h.plain[:0], f, otp.ToServer, &n.sess)
	if err != nil {
		n.openFailed(err)
		return
	}
	n.user.touch(h.l.now)
	var m wire.Msg
	if err := wire.Decode(h.plain, &m); err != nil {
		n.fail(ReasonProtocol, err)
		return
	}
	n.h.l.stats.msgsIn++
	n.command(&m)
}

func (n *native) authenticate(f []byte) {
	h := n.h
	id := otp.PeekPadID(f)
	u := h.acct.lookup(id)
	if u != nil && u.locked() != "" {
		n.refuse(wire.RefuseBadFrame, "authentication failed: user locked: "+u.locked(), ReasonAuthFailed, nil)
		return
	}
	if u == nil {
		n.refuse(wire.RefuseUnknownPad, "authentication failed: this server holds no such pad", ReasonAuthFailed, nil)
		return
	}
	if err := u.open(h.acct); err != nil {
		n.refuse(wire.RefuseBadFrame, "authentication failed: server cannot open this user's pads", ReasonAuthFailed, err)
		return
	}
	var err error
	h.plain, err = u.receiver.Open(h.plain[:0], f, otp.ToServer, &n.sess)
	var m wire.Msg
	if err == nil {
		u.touch(h.l.now)
		h.l.stats.msgsIn++
		err = wire.Decode(h.plain, &m)
	}
	if err == nil && m.Op != wire.OpHello {
		err = errors.New("first frame is not hello")
	}
	if errors.Is(err, otp.ErrPadReused) {
		n.user = u
		n.openFailed(err)
		n.user = nil
		return
	}
	if err != nil {
		n.refuse(wire.RefuseBadFrame, "authentication failed: first frame did not verify", ReasonAuthFailed, err)
		return
	}
	if old := u.session; old != nil {
		old.bye(wire.ByeReplaced, "replaced by a newer session of this account")
		old.c.kill(ReasonReplaced)
		h.leave(old, "quit")
		old.user = nil
	}
	n.user, u.session = u, n
	h.online[u.Name] = n
	h.l.log.Info().Str("user", u.Name).Str("remote", n.c.remote).Msg("connected")
	if h.cfg.LogMessages {
		h.l.log.Info().Msgf("[SERVER] Client: %s connected!", u.Name)
	}
	n.send(&wire.Msg{Op: wire.OpWelcome, User: []byte(u.Name), Text: []byte(h.cfg.Welcome)})
	h.pump(n)
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
		Msg("PAD REUSE DETECTED: a second copy of this user's bundle is sending; user locked, re-provision it")
	if lerr := u.lock("pad reuse detected: a copy of this bundle is in use elsewhere; ask the operator to re-provision"); lerr != nil {
		n.h.l.log.Error().Err(lerr).Str("user", u.Name).Msg("cannot write lock file")
	}
	if u.session != nil && u.session != n {
		u.session.bye(wire.ByeLocked, "account locked: this bundle was used from two places")
		u.session.c.kill(ReasonForged)
	}
	n.fail(ReasonForged, err)
}

// refuse answers an unauthenticated peer in clear and closes.
func (n *native) refuse(code byte, text string, r Reason, err error) {
	n.c.queue(wire.AppendRefusal(nil, code, text))
	n.fail(r, err)
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

// deliver seals an event for this session with the user's recv pad.
func (n *native) deliver(m *wire.Msg, enc []byte) {
	if enc == nil {
		enc = n.h.encode(m)
	}
	n.seal(enc)
}

func (n *native) send(m *wire.Msg) {
	m.Time = n.h.l.now
	n.deliver(m, nil)
}

func (n *native) seal(plain []byte) {
	c, u := n.c, n.user
	if c.dying || u == nil {
		return
	}
	var err error
	c.out, err = u.sender.Seal(c.outBuf(), plain, otp.ToClient, &n.sess)
	if err != nil {
		n.fail(ReasonPadExhausted, err)
		return
	}
	n.h.l.stats.msgsOut++
	u.touch(n.h.l.now)
	if u.sender.Pending() {
		n.h.queueReserve(u)
	}
	if !u.warned && u.sender.Low() {
		u.warned = true
		n.h.l.log.Warn().Str("user", u.Name).Int64("left", u.sender.Remaining()).Msg("recv pad running low: re-provision the user")
	}
	c.queued()
}

func (n *native) bye(r wire.ByeReason, why string) {
	if n.user != nil {
		n.send(&wire.Msg{Op: wire.OpBye, ID: uint32(r), Text: []byte(why)})
	}
}

func (n *native) onTick(c *Conn, now int64) {
	h := n.h
	idle := now - c.lastRead
	switch {
	case n.user == nil && now-c.created > int64(h.cfg.AuthTimeout):
		n.fail(ReasonAuthTimeout, nil)
	case idle > int64(h.cfg.IdleTimeout):
		n.bye(wire.ByeIdle, "idle timeout")
		n.fail(ReasonIdle, nil)
	case idle > int64(h.cfg.IdleTimeout)/2 && !n.pinged && n.user != nil:
		n.pinged = true
		n.send(&wire.Msg{Op: wire.OpSrvPing})
	case idle < int64(h.cfg.IdleTimeout)/2:
		n.pinged = false
	}
}

func (n *native) onClose(c *Conn) {
	u := n.user
	if u == nil {
		return
	}
	how := "quit"
	n.h.leave(n, how)
	if u.session == n {
		u.session = nil
	}
	n.h.l.log.Info().Str("user", u.Name).Str("remote", c.remote).Stringer("reason", c.reason).Msg("disconnected")
	n.user = nil
}
