// The native session: handshake, sealing requests, and turning the server's messages into lines.
package client

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"padchat/internal/bundle"
	"padchat/otp"
	"padchat/wire"
)

// request is what the client remembers about a request until its reply.
type request struct {
	kind cmdKind
	name string // the room or user it was about
	prev string // join: the room to fall back to if the join fails
}

func randomNonce(n *[otp.NonceSize]byte) { rand.Read(n[:]) } // crypto/rand never fails; it aborts instead

// onItem handles one unit of the server's stream.
func (c *client) onItem(it item) {
	switch it.kind {
	case itemGreeting:
		c.greeted = true
		c.sess.Server = it.nonce
		c.send(&wire.Msg{Op: wire.OpHello, Text: []byte(HelloText)})
	case itemRefusal:
		c.fail(refusalError(it.code, it.text))
	case itemFrame:
		c.onFrame(it.frame)
	}
}

// refusalError words a clear refusal; padchatd's texts may already say why
// in the same words, which are not repeated.
func refusalError(code byte, text string) error {
	why := "authentication failed"
	switch code {
	case wire.RefuseBusy:
		why = "server busy"
	case wire.RefuseShutdown:
		why = "server shutting down"
	}
	return fmt.Errorf("%s: %s%.0w", why, strings.TrimPrefix(clean([]byte(text)), why+": "), errRefusedClear)
}

// errRefusedClear marks a refusal in clear, before a first frame verified.
var errRefusedClear = errors.New("refused")

func (c *client) onFrame(frame []byte) {
	plain, err := c.recv.Open(c.opened[:0], frame, otp.ToClient, &c.sess)
	if err != nil {
		c.fail(fmt.Errorf("frame from server rejected: %w", err))
		return
	}
	c.opened = plain[:0]
	if !c.warnedRecv && c.recv.Low() {
		c.warnedRecv = true
		c.scr.println(c.r.alert("warning: receive pad running low: %d bytes left; ask the operator for a new bundle soon", c.recv.Remaining()))
	}
	var m wire.Msg
	if err := wire.Decode(plain, &m); err != nil {
		c.fail(fmt.Errorf("bad message from server: %w", err))
		return
	}
	c.handle(&m)
}

// send seals m with the next sequence number and queues it. Running out of
// send pad ends the session: there is no other cipher to fall back to.
func (c *client) send(m *wire.Msg) (seq uint32, ok bool) {
	if c.done {
		return 0, false
	}
	c.seq++
	m.Seq = c.seq
	c.plain = wire.Append(c.plain[:0], m)
	out, err := c.sender.Seal(c.out, c.plain, otp.ToServer, &c.sess)
	if err != nil {
		if ex, isEx := errors.AsType[*otp.ExhaustedError](err); isEx {
			c.scr.println(c.r.alert("send pad exhausted: %d bytes left; ask the operator for a new bundle (padchatd user add ...)", ex.Left))
			c.fail(fmt.Errorf("send pad exhausted: %w", err))
			return 0, false
		}
		c.fail(fmt.Errorf("sealing a frame: %w", err))
		return 0, false
	}
	c.out = out
	if !c.warnedSend && c.sender.Low() {
		c.warnedSend = true
		c.scr.println(c.r.alert("warning: send pad running low: %d bytes left; ask the operator for a new bundle soon", c.sender.Remaining()))
	}
	return m.Seq, true
}

// quit starts the orderly end: OpQuit, then up to quitWait for the server to
// close. Before the session is up there is nothing to say goodbye to.
func (c *client) quit() {
	if c.quitting || c.done {
		return
	}
	if !c.welcomed {
		c.fail(errInterrupted)
		return
	}
	c.quitting = true
	c.quitDeadline = time.Now().Add(quitWait)
	c.send(&wire.Msg{Op: wire.OpQuit})
}

// handle turns one message from the server into lines and replies.
func (c *client) handle(m *wire.Msg) {
	switch m.Op {
	case wire.OpWelcome:
		c.onWelcome(m)
	case wire.OpOK:
		c.onOK(m)
	case wire.OpError:
		c.onError(m)
	case wire.OpMessage:
		c.notePlain(string(m.Room), m.Flags)
		c.scr.println(c.r.roomMessage(m))
	case wire.OpDirect:
		c.onDirect(m)
	case wire.OpJoined:
		// Our own joins and parts are reported from the OK replies.
		if string(m.User) != c.user {
			c.scr.println(c.r.notice("%s joined %s", c.r.name(m.User), clean(m.Room)))
		}
	case wire.OpParted:
		if string(m.User) != c.user {
			c.scr.println(c.partedLine(m))
		}
	case wire.OpRooms:
		c.scr.println(c.r.rooms(m.Text))
	case wire.OpUsers:
		c.scr.println(c.r.users(m.Room, m.Text))
	case wire.OpDelivered:
		c.scr.println(c.r.notice("delivered to %s (id %d)", c.r.name(m.User), m.ID))
	case wire.OpSrvPing:
		c.send(&wire.Msg{Op: wire.OpPong, ID: m.ID})
	case wire.OpHandle:
		if err := bundle.SaveHandle(c.cfg.Bundle, m.Text); err != nil {
			c.scr.println(c.r.alert("warning: cannot keep the session handle (the next connect names the pad): %v", err))
		}
	case wire.OpBye:
		c.scr.println(c.r.notice("server closing: %s", clean(m.Text)))
		c.quitting, c.done = true, true
	}
	// Other ops are from a newer server; ignoring them keeps old clients working.
}

func (c *client) partedLine(m *wire.Msg) string {
	switch reason := string(m.Text); reason {
	case "quit":
		return c.r.notice("%s quit", c.r.name(m.User))
	case "", "left":
		return c.r.notice("%s left %s", c.r.name(m.User), clean(m.Room))
	default:
		return c.r.notice("%s left %s (%s)", c.r.name(m.User), clean(m.Room), clean(m.Text))
	}
}

func (c *client) onWelcome(m *wire.Msg) {
	if c.welcomed {
		return
	}
	c.welcomed = true
	if len(m.User) > 0 {
		c.user = string(m.User)
	}
	c.scr.println(c.r.notice("%s", clean(m.Text)))
	if err := c.startInput(); err != nil {
		c.fail(fmt.Errorf("terminal: %w", err))
		return
	}
	c.join(c.cfg.Room)
}

func (c *client) onOK(m *wire.Msg) {
	req, ok := c.pending[m.Seq]
	if !ok {
		return
	}
	delete(c.pending, m.Seq)
	switch req.kind {
	case cmdJoin:
		c.scr.println(c.r.notice("joined %s", req.name))
		c.notePlain(req.name, m.Flags)
	case cmdPart:
		c.scr.println(c.r.notice("left %s", req.name))
	case cmdMsg:
		c.scr.println(c.r.notice("sent to %s (id %d)", c.r.name([]byte(req.name)), m.ID))
	}
}

func (c *client) onError(m *wire.Msg) {
	req := c.pending[m.Seq]
	delete(c.pending, m.Seq)
	text := clean(m.Text)
	if text == "" {
		text = fmt.Sprintf("error %d", m.ID)
	}
	c.scr.println(c.r.alert("%s", text))
	// A failed join leaves the user where they were.
	if req.kind == cmdJoin {
		c.joined = remove(c.joined, req.name)
		if c.room == req.name {
			c.setRoom(req.prev)
		}
	}
}

// notePlain warns once per room that plain-text members can read it.
func (c *client) notePlain(room string, flags uint8) {
	if flags&wire.FlagPlain == 0 || c.plainSeen[room] {
		return
	}
	c.plainSeen[room] = true
	c.scr.println(c.r.notice("%s is NOT encrypted: plain-text members can read it", clean([]byte(room))))
}

// onDirect shows a direct message unless it was shown before (the server
// redelivers until it sees our ack), records it, and always acks it.
func (c *client) onDirect(m *wire.Msg) {
	sender := string(m.User)
	if c.seen.fresh(sender, m.ID) {
		c.scr.println(c.r.direct(m))
		if err := c.seen.mark(sender, m.ID); err != nil {
			c.scr.println(c.r.alert("warning: %v", err))
		}
	}
	c.send(&wire.Msg{Op: wire.OpAck, User: m.User, ID: m.ID})
}

func (c *client) setRoom(room string) {
	c.room = room
	if c.tty != nil {
		c.tty.prompt = "> "
		if room != "" {
			c.tty.prompt = "[" + room + "]> "
		}
		c.tty.edited()
	}
}
