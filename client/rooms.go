// Rooms on a terminal: which one is current, unread counts, the marker on return, and the status line.
package client

import (
	"fmt"
	"strings"

	"padchat/otp"
	"padchat/wire"
)

// typicalMessage is the pad a chat line costs, frame and message header
// included, for the status line's estimate of messages left.
const typicalMessage = otp.Overhead + wire.HeaderSize + 60

// switchRoom makes room current; coming back to a room with unread lines
// prints a marker, so the eye finds where the new part starts.
func (c *client) switchRoom(room string) {
	if room != c.room && room != "" && c.unread[room] > 0 {
		c.scr.println(c.r.notice("──── %d unread in %s ────", c.unread[room], room))
	}
	delete(c.unread, room)
	c.setRoom(room)
}

// countUnread notes a message for a room that is not the current one.
func (c *client) countUnread(room string) {
	if c.tty != nil && room != c.room {
		c.unread[room]++
		c.statusChanged()
	}
}

func (c *client) statusChanged() {
	if c.tty != nil {
		c.tty.status = c.statusLine()
		c.tty.edited()
	}
}

// statusLine: connection state, the rooms (current first, unread counts),
// and the pad left each way as a number of typical messages.
func (c *client) statusLine() string {
	var b strings.Builder
	switch {
	case c.welcomed:
		b.WriteString("online")
	case c.link.everUp:
		b.WriteString("reconnecting…")
	default:
		b.WriteString("connecting…")
	}
	if c.query != "" {
		b.WriteString(" | to " + c.query + " (dm)")
	}
	b.WriteString(" | ")
	if c.room == "" {
		b.WriteString("no room")
	} else {
		b.WriteString("[" + c.room + "]")
	}
	for _, r := range c.joined {
		if r == c.room {
			continue
		}
		b.WriteString(" " + r)
		if n := c.unread[r]; n > 0 {
			fmt.Fprintf(&b, "(%d)", n)
		}
	}
	if bars := c.bars(); bars != "" {
		b.WriteString(" | " + bars)
	}
	if c.sender != nil && c.recv != nil {
		fmt.Fprintf(&b, " | pad ≈ %s msgs out, %s in", approx(c.sender.Remaining()/typicalMessage), approx(c.recv.Remaining()/typicalMessage))
	}
	return b.String()
}

// approx prints a count the way a status line should: 950, 12k, 3.4M.
func approx(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprint(n)
	case n < 10_000:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	case n < 1_000_000:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprintf("%.1fM", float64(n)/1e6)
}

// showRoomMessage prints a room message; one that names the user is
// highlighted and rings the bell, one for another room counts as unread.
func (c *client) showRoomMessage(m *wire.Msg) {
	line := c.r.roomMessage(m)
	if m.Flags&wire.FlagHistory == 0 && mentions(m.Text, c.user) {
		line = c.r.highlight(line)
		c.bell()
	}
	c.scr.println(line)
	if m.Flags&wire.FlagHistory == 0 {
		c.countUnread(string(m.Room))
	}
}

// mentions reports whether text names user as a word, in any case.
func mentions(text []byte, user string) bool {
	if user == "" {
		return false
	}
	s, u := strings.ToLower(string(text)), strings.ToLower(user)
	for i := 0; ; {
		j := strings.Index(s[i:], u)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(u)
		if (j == 0 || !nameByte(s[j-1])) && (end == len(s) || !nameByte(s[end])) {
			return true
		}
		i = j + 1
	}
}

func nameByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_' || b == '-' || b == '.'
}

// shownBefore reports whether m is history this session has already shown:
// a rejoin after a reconnect replays the room's recent messages, and only
// the ones missed while offline are news. Room message ids grow per room.
func (c *client) shownBefore(m *wire.Msg) bool {
	room := string(m.Room)
	last, known := c.lastID[room]
	if m.ID == 0 {
		return false
	}
	if m.Flags&wire.FlagHistory != 0 && known && !serialAfter(m.ID, last) {
		return true
	}
	if !known || serialAfter(m.ID, last) {
		c.lastID[room] = m.ID
	}
	return false
}
