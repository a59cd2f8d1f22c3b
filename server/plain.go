// Plain-text members: what the classroom dialects share — names, clean text, line splitting, replies.
package server

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"padchat/wire"
)

// startLines is the start of a line protocol (dialects.go): a TCP listener
// whose connections get newConn's handlers.
func startLines(name string, newConn func(*Hub, *Conn) handler) func(*Loop, string) error {
	return func(l *Loop, addr string) error {
		ln, err := l.listen(addr, func(c *Conn) handler { return newConn(l.hub, c) })
		if err != nil {
			return err
		}
		l.log.Info().Str("dialect", name).Str("addr", ln.addr.String()).Msg("dialect listening")
		return nil
	}
}

// plainUser is the hub side of a plain-text client: its name and its rooms.
// Each dialect embeds it and adds deliver, which formats events its own way.
type plainUser struct {
	nick  string
	rooms []*Room
}

func (p *plainUser) name() string     { return p.nick }
func (p *plainUser) plain() bool      { return true }
func (p *plainUser) joined() *[]*Room { return &p.rooms }

// plainFormat is how a dialect writes room events: a message as "user: text"
// (or "* user text" for an action) then eol, the notices as formats of the
// user's name. Deliveries go through the hub (plainEvent), which formats an
// event once for every member of a kind.
type plainFormat struct {
	kind               int    // sharedLineChat…: members of one kind share the bytes
	eol                string // after a message
	joined, left, quit string // notices: a member joined, left the room, left the chat
}

// append appends m as f writes it; false for an event f does not show.
func (f *plainFormat) append(b []byte, m *wire.Msg) ([]byte, bool) {
	switch m.Op {
	case wire.OpMessage:
		if m.Flags&wire.FlagMe != 0 {
			b = append(b, "* "...)
			b = append(b, m.User...)
			b = append(b, ' ')
		} else {
			b = append(b, m.User...)
			b = append(b, ": "...)
		}
		b = appendClean(b, m.Text)
		b = append(b, f.eol...)
	case wire.OpJoined:
		b = fmt.Appendf(b, f.joined, m.User)
	case wire.OpParted:
		if string(m.Text) == "left" {
			b = fmt.Appendf(b, f.left, m.User)
		} else {
			b = fmt.Appendf(b, f.quit, m.User)
		}
	default:
		return b, false
	}
	return b, true
}

// The kinds of plain-text members that read an event in the same bytes.
const (
	sharedLineChat = iota
	sharedWassop
	sharedUDP
	sharedKinds
)

// plainShared holds, per kind, the bytes of the notify in progress. They are
// formatted once (fmt and UTF-8 cleaning) into a chunk that is never written
// again, so every member's Conn queues the same memory (queueShared) and a
// member's events of one iteration lie back to back there. A chunk is let go
// when full; the last Conn that holds part of it keeps it alive.
type plainShared struct {
	kinds   [sharedKinds]sharedEvent
	scratch []byte // an event outside a notify (history replay), formatted each time
}

type sharedEvent struct {
	event uint64 // the notify b belongs to
	b     []byte // in chunk
	chunk []byte
}

// sharedChunk is the size of the memory shared events are formatted into.
const sharedChunk = 64 << 10

// plainEvent returns m as f writes it; ok is false for an event f does not
// show. Within a notify the bytes are shared by every member of f's kind and
// never change (shared: queue them with queueShared); outside one they are
// scratch, valid until the next call.
func (h *Hub) plainEvent(f *plainFormat, m *wire.Msg) (b []byte, shared, ok bool) {
	s := &h.formatted.kinds[f.kind]
	if h.event != 0 && s.event == h.event {
		return s.b, true, s.b != nil
	}
	b, ok = f.append(h.formatted.scratch[:0], m)
	h.formatted.scratch = b[:0]
	if h.event == 0 {
		return b, false, ok
	}
	s.event, s.b = h.event, nil
	if !ok {
		return nil, true, false
	}
	if cap(s.chunk)-len(s.chunk) < len(b) {
		s.chunk = make([]byte, 0, max(sharedChunk, len(b)))
	}
	at := len(s.chunk)
	s.chunk = append(s.chunk, b...)
	s.b = s.chunk[at:len(s.chunk)] // its capacity runs on into the chunk: see queueShared
	return s.b, true, true
}

// deliverPlain queues room event m on c as f writes it.
func (h *Hub) deliverPlain(c *Conn, f *plainFormat, m *wire.Msg) {
	if c.dying || c.closed {
		return
	}
	switch b, shared, ok := h.plainEvent(f, m); {
	case !ok:
	case shared:
		c.queueShared(b)
	default:
		c.queue(b)
	}
}

// claimName puts m online as name. Plain and native users share one
// namespace, and a provisioned native user's name is never given to a plain
// client even while that user is offline: otherwise a plain client could
// pass for an encrypted one.
func (h *Hub) claimName(m member, name []byte) error {
	if !wire.ValidName(name) {
		return errNameInvalid
	}
	if h.online[string(name)] != nil || h.isAccount(string(name)) {
		return errNameTaken
	}
	h.online[string(name)] = m
	return nil
}

func (h *Hub) isAccount(name string) bool {
	return h.acct.user(name) != nil // the index the admin socket keeps current
}

// plainRoom is where a plain member may go: an existing plain room, or a new
// one that becomes plain (and closed to native members) as it is created. A
// room that already carries encrypted traffic is refused: its members were
// promised that nothing they say leaves the daemon in clear.
func (h *Hub) plainRoom(name []byte) (*Room, error) {
	if !wire.ValidName(name) {
		return nil, ErrBadName
	}
	r, err := h.room(name, true)
	if err != nil {
		return nil, err
	}
	if len(r.members) == 0 && !r.keep {
		r.plain = true // created just now, or an empty leftover: it is ours
	}
	if !r.plain {
		return nil, errEncryptedRoom
	}
	return r, nil
}

// checkText accepts UTF-8 without control characters other than tab: plain
// clients print what they receive, so an escape sequence or a stray newline
// from one client must not reach another's terminal.
func checkText(b []byte) error {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if (r == utf8.RuneError && n <= 1) || isControl(r) && r != '\t' {
			return errBadText
		}
		b = b[n:]
	}
	return nil
}

// isControl is C0, DEL and C1: what a terminal may take as a command.
func isControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }

// appendClean appends text for a plain-text reader: invalid UTF-8 becomes
// U+FFFD and control characters a space, so that text from a native client
// (which may hold newlines) cannot forge lines such as "bob: ...".
func appendClean(dst, text []byte) []byte {
	for len(text) > 0 {
		r, n := utf8.DecodeRune(text)
		switch {
		case r == utf8.RuneError && n <= 1:
			dst = utf8.AppendRune(dst, utf8.RuneError)
		case isControl(r):
			dst = append(dst, ' ')
		default:
			dst = append(dst, text[:n]...)
		}
		text = text[n:]
	}
	return dst
}

// lineState is where a lineSplitter stands.
type lineState uint8

const (
	// lineUnframed: no newline seen yet. The course programs send each message
	// with one send() and no newline, so the bytes of one read that end
	// without a newline are taken as one whole message.
	lineUnframed lineState = iota
	// lineFramed: the peer has ended a message with '\n' (nc, telnet, the
	// rooms client): from now on a message ends only at '\n', however
	// the bytes arrive.
	lineFramed
)

// lineSplitter cuts plain-text input into messages. It is resumable: whatever
// it does not consume is offered again, with more bytes, after the next read.
//
// Limit of the unframed rule: a message split by TCP across two reads
// becomes two messages, and two quick sends that arrive in one read become
// one. Interactive clients do neither; a client that cares ends its lines.
type lineSplitter struct {
	st      lineState
	max     int // longest message accepted, in bytes, without its "\r\n"
	scanned int // bytes at the front of the pending input known to hold no '\n'
}

// next returns the first message in b and the bytes it used (message plus
// terminator); used == 0 means b holds no whole message yet. b must end where
// a read ended (Conn offers it so), since that is where an unframed message
// ends.
func (s *lineSplitter) next(b []byte) (msg []byte, used int, err error) {
	if i := bytes.IndexByte(b[s.scanned:], '\n'); i >= 0 {
		i += s.scanned
		s.scanned = 0
		s.st = lineFramed
		msg = bytes.TrimSuffix(b[:i], []byte{'\r'})
		if len(msg) > s.max {
			return nil, 0, errLineTooLong
		}
		return msg, i + 1, nil
	}
	if len(b) > s.max+1 { // +1: room for the '\r' of a "\r\n" still to come
		return nil, 0, errLineTooLong
	}
	if s.st != lineUnframed || len(b) == 0 {
		s.scanned = len(b)
		return nil, 0, nil
	}
	s.scanned = 0
	msg = bytes.TrimSuffix(b, []byte{'\r'})
	if len(msg) > s.max {
		return nil, 0, errLineTooLong
	}
	return msg, len(b), nil
}

// feed runs line on each whole, checked message in b and returns the bytes
// used: the onData of a line protocol. Bad text or an over-long line goes to
// fail instead, and ends the feed, as does a line that closed the Conn.
func (s *lineSplitter) feed(c *Conn, b []byte, line func([]byte), fail func(error)) int {
	used := 0
	for !c.dying && !c.closed {
		msg, n, err := s.next(b[used:])
		if err != nil {
			fail(err)
			return used
		}
		if n == 0 {
			break
		}
		used += n
		if err := checkText(msg); err != nil {
			fail(err)
			return used
		}
		line(msg)
	}
	return used
}

// replyAlone writes b as a write(2) of its own: what is already queued goes
// out first, and room traffic queued later waits for the next flush. The rooms protocol
// clients read each reply with one recv() and compare it whole. When the
// kernel buffer is full the reply queues behind the earlier output instead:
// a client that does not read cannot be helped.
func replyAlone(c *Conn, b []byte) {
	if c.dying || c.closed {
		return
	}
	if c.pending() > 0 {
		c.flush()
		if c.closed {
			return
		}
		if c.pending() > 0 {
			c.queue(b)
			return
		}
	}
	c.out = append(c.outBuf(), b...)
	c.flush()
	if !c.closed && c.pending() > 0 {
		c.queued()
	}
}

// plainDeadlines is a plain-text connection's part of onDeadline: whether it
// failed to name itself within AuthTimeout or was silent for IdleTimeout at
// now, and else when to look again.
func plainDeadlines(cfg *Config, c *Conn, now int64, named bool) (auth, idle bool, next int64) {
	authAt, idleAt := c.created+int64(cfg.AuthTimeout), c.lastRead+int64(cfg.IdleTimeout)
	switch {
	case !named && now >= authAt:
		return true, false, 0
	case now >= idleAt:
		return false, true, 0
	case named:
		return false, false, idleAt
	}
	return false, false, min(authAt, idleAt)
}
