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
	text string // msg: what was sent, echoed once the server has it

	rejoin bool // join: back into a room after a reconnect, said once for all
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
		if c.byHandle && !c.welcomed {
			// The handle was not known (any more): once more, by pad id.
			c.byHandle = false
			c.closeSocket()
			c.link.state, c.link.retryAt = linkWait, time.Now()
			return
		}
		// Busy or shutting down: come back later. Refused credentials are final.
		if c.link.everUp && (it.code == wire.RefuseBusy || it.code == wire.RefuseShutdown) {
			c.drop(refusalError(it.code, it.text).Error())
			return
		}
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

func (c *client) onFrame(frame []byte) {
	plain, err := c.recv.Open(c.opened[:0], frame, otp.ToClient, &c.sess)
	if err != nil {
		c.fail(fmt.Errorf("frame from server rejected: %w", err))
		return
	}
	c.opened = plain[:0]
	if !c.warnedRecv && c.recv.Low() {
		c.warnedRecv = true
		c.scr.println(c.r.alert("warning: receive pad running low: %d bytes left (~%d messages); ask the operator for a new bundle soon (padchatd user renew %s)", c.recv.Remaining(), otp.MessagesLeft(c.recv.Remaining()), c.user))
	}
	// A frame carries one or more messages back to back (protocol v2).
	var m wire.Msg
	for rest := plain; len(rest) > 0 && !c.done; {
		if rest, err = wire.DecodeNext(rest, &m); err != nil {
			c.fail(fmt.Errorf("bad message from server: %w", err))
			return
		}
		c.handle(&m)
	}
}

// quitReserve is the send pad kept for the goodbye: a message that would
// leave less is refused, so /quit always fits.
const quitReserve = otp.HeaderSize + otp.TagSize + 64

// send seals m with the next sequence number and queues it. A message the
// send pad cannot carry (with quitReserve to spare) is refused on its own:
// the session stays, for a shorter message or /quit.
func (c *client) send(m *wire.Msg) (seq uint32, ok bool) {
	if c.done {
		return 0, false
	}
	m.Seq = c.seq + 1
	c.plain = wire.Append(c.plain[:0], m)
	need := int64(otp.HeaderSize + len(c.plain) + otp.TagSize)
	if left := c.sender.Remaining(); m.Op != wire.OpQuit && left-need < quitReserve {
		c.warn("not sent: that needs %d bytes of send pad and %d are left (%d kept for /quit); send something shorter or /quit. A new bundle: ask the operator (padchatd user renew %s)",
			need, left, quitReserve, c.user)
		if m.Op == wire.OpSay || m.Op == wire.OpDM {
			c.dlv.lost++
		}
		return 0, false
	}
	c.seq++
	out, err := c.sender.Seal(c.out, c.plain, otp.ToServer, &c.sess)
	if err != nil {
		if ex, isEx := errors.AsType[*otp.ExhaustedError](err); isEx {
			c.warn("send pad exhausted: %d bytes left; ask the operator for a new bundle (padchatd user renew %s)", ex.Left, c.user)
			c.fail(fmt.Errorf("send pad exhausted: %w", err))
			return 0, false
		}
		c.fail(fmt.Errorf("sealing a frame: %w", err))
		return 0, false
	}
	c.out = out
	if !c.warnedSend && c.sender.Low() {
		c.warnedSend = true
		c.warn("warning: send pad running low: %d bytes left (~%d messages); ask the operator for a new bundle soon (padchatd user renew %s)", c.sender.Remaining(), otp.MessagesLeft(c.sender.Remaining()), c.user)
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
		if c.link.everUp { // between sessions: nothing to say goodbye to
			c.done = true
			return
		}
		c.fail(errInterrupted)
		return
	}
	c.askConfirm() // the reply to it tells the exit status that the last lines arrived
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
		if c.shownBefore(m) {
			break
		}
		c.noteNick(string(m.User))
		c.notePlain(string(m.Room), m.Flags)
		if !c.emit("message", m) {
			c.showRoomMessage(m)
		}
	case wire.OpDirect:
		c.onDirect(m)
	case wire.OpJoined:
		// Our own joins and parts are reported from the OK replies.
		if string(m.User) != c.user {
			c.noteNick(string(m.User))
			if !c.emit("joined", m) {
				c.scr.println(c.r.notice("%s joined %s", c.r.name(m.User), clean(m.Room)))
			}
		}
	case wire.OpParted:
		if string(m.User) != c.user && !c.emit("parted", m) {
			c.scr.println(c.partedLine(m))
		}
	case wire.OpRooms:
		c.confirmBefore(m.Seq, true)
		for line := range strings.SplitSeq(string(m.Text), "\n") {
			if room, _, _ := strings.Cut(line, "\t"); wire.CheckName(room) == nil {
				c.knownRooms[room] = true
			}
		}
		if !c.emit("rooms", m) {
			c.scr.println(c.r.rooms(m.Text))
		}
	case wire.OpUsers:
		c.confirmBefore(m.Seq, true)
		for line := range strings.SplitSeq(string(m.Text), "\n") {
			n, _, _ := strings.Cut(line, "\t") // "name\taway: text" for an away user
			c.noteNick(n)
		}
		if !c.emit("users", m) {
			c.scr.println(c.r.users(m.Room, m.Text))
		}
	case wire.OpTopicIs:
		if !c.emit("topic", m) {
			c.scr.println(c.r.notice("%s", c.r.topic(m.Room, m.Text, m.User)))
		}
	case wire.OpDelivered:
		if !c.emit("delivered", m) {
			c.scr.println(c.r.notice("delivered to %s (id %d)", c.r.name(m.User), m.ID))
		}
		if m.Flags&wire.FlagReceipt != 0 { // kept for us while we were away: it may go now
			c.send(&wire.Msg{Op: wire.OpAck, Flags: wire.FlagReceipt, User: m.User, ID: m.ID})
		}
	case wire.OpFileAcked:
		c.fileAcked(m)
	case wire.OpFileOffered:
		c.onFileOffered(m)
	case wire.OpFileData:
		c.onFileData(m)
	case wire.OpFileReceipt:
		c.fileReceipt(m)
	case wire.OpFileFailed:
		c.fileFailed(m)
	case wire.OpSrvPing:
		c.send(&wire.Msg{Op: wire.OpPong, ID: m.ID})
	case wire.OpHandle:
		if err := bundle.SaveHandle(c.cfg.Bundle, m.Text); err != nil {
			c.scr.println(c.r.alert("warning: cannot keep the session handle (the next connect names the pad): %v", err))
		}
	case wire.OpBye:
		if reason := wire.ByeReason(m.ID); reason.Final() || !c.link.everUp {
			c.fail(byeError(reason, clean(m.Text)))
			return
		}
		// Not final: the server closes next, and the client reconnects.
		c.scr.println(c.r.notice("server closing: %s", clean(m.Text)))
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
	if c.link.everUp {
		c.rejoined()
		return
	}
	c.link.everUp = true
	c.scr.println(c.r.notice("%s", clean(m.Text)))
	if err := c.startInput(); err != nil {
		c.fail(fmt.Errorf("terminal: %w", err))
		return
	}
	c.inputOn = true
	c.join(c.cfg.Room)
}

func (c *client) onOK(m *wire.Msg) {
	c.confirmBefore(m.Seq, true)
	if c.offerAnswered(m) {
		return
	}
	req, ok := c.pending[m.Seq]
	if !ok {
		return
	}
	delete(c.pending, m.Seq)
	switch req.kind {
	case cmdJoin:
		if req.rejoin {
			c.rejoinAnswered()
		} else {
			c.scr.println(c.r.notice("joined %s", req.name))
		}
		c.notePlain(req.name, m.Flags)
		if !req.rejoin && c.tty != nil {
			// Who is there, said once on arrival (scripts see joins as they happen).
			c.send(&wire.Msg{Op: wire.OpWho, Room: []byte(req.name)})
		}
	case cmdPart:
		c.scr.println(c.r.notice("left %s", req.name))
	case cmdTopic:
		// A topic set comes back as a TopicIs event to every member, us too.
		if req.text == "" && !c.emit("topic", &wire.Msg{Room: []byte(req.name), Text: m.Text}) {
			if len(m.Text) == 0 {
				c.scr.println(c.r.notice("%s has no topic", clean([]byte(req.name))))
			} else {
				c.scr.println(c.r.notice("%s", c.r.topic([]byte(req.name), m.Text, nil)))
			}
		}
	case cmdAway:
		if req.text == "" {
			c.scr.println(c.r.notice("you are back"))
		} else {
			c.scr.println(c.r.notice("you are away: %s", clean([]byte(req.text))))
		}
	case cmdMsg:
		// Echoed only now: a DM to a user who does not exist gets an error instead.
		if c.tty != nil {
			c.scr.println(c.r.sentDirect(c.user, req.name, req.text))
		}
		if !c.emit("sent", &wire.Msg{User: []byte(req.name), Text: []byte(req.text), ID: m.ID}) {
			c.scr.println(c.r.notice("sent to %s (id %d)", c.r.name([]byte(req.name)), m.ID))
		}
	}
}

func (c *client) onError(m *wire.Msg) {
	c.confirmBefore(m.Seq, false)
	if c.offerAnswered(m) {
		return
	}
	req := c.pending[m.Seq]
	delete(c.pending, m.Seq)
	text := clean(m.Text)
	if text == "" {
		text = fmt.Sprintf("error %d", m.ID)
	}
	c.warn("%s", text)
	// A failed join leaves the user where they were.
	if req.kind == cmdJoin {
		if req.rejoin {
			c.rejoinAnswered()
		}
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
	c.noteNick(sender)
	if c.seen.fresh(sender, m.ID) {
		if !c.emit("direct", m) {
			c.scr.println(c.r.highlight(c.r.direct(m)))
			c.bell()
		}
		if err := c.seen.mark(sender, m.ID); err != nil {
			c.warn("warning: %v", err)
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
		if c.query != "" {
			c.tty.prompt = "[→" + c.query + "]> "
		}
		if c.link.everUp && !c.welcomed {
			c.tty.prompt = "(offline) " + c.tty.prompt
		}
		c.tty.status = c.statusLine()
		c.tty.edited()
	}
}
