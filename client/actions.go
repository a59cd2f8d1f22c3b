// Acting on what the user typed: each command becomes one request, or a local line.
package client

import "padchat/wire"

// maxMessageBytes is the server's default limit on one message's text; a
// longer line is refused here, with a message, and never cut.
const maxMessageBytes = 4096

// queuedLine is a line typed while disconnected.
type queuedLine struct {
	text     string
	verbatim bool // pasted: a message whatever it starts with
}

// input carries out one finished line. A verbatim line (one that starts with
// pasted text) is a message for the room even if it reads like a command.
func (c *client) input(line string, verbatim bool) {
	if !c.welcomed && c.link.everUp {
		// Disconnected: the line waits for the rejoin, in order.
		if len(c.link.queued) == 0 {
			c.scr.println(c.r.notice("not connected: the line will be sent after reconnecting"))
		}
		c.link.queued = append(c.link.queued, queuedLine{line, verbatim})
		return
	}
	if verbatim {
		c.say(command{kind: cmdSay, text: line})
		return
	}
	c.onLine(line)
}

// onLine parses and carries out one typed input line.
func (c *client) onLine(line string) {
	cmd, err := parseCommand(line)
	if err != nil {
		c.warn("%v", err)
		return
	}
	switch cmd.kind {
	case cmdSay, cmdMe:
		if c.query != "" && cmd.kind == cmdSay {
			c.directMsg(c.query, cmd.text, line)
			return
		}
		c.say(cmd)
	case cmdJoin:
		c.join(cmd.name)
	case cmdPart:
		room := cmd.name
		if room == "" {
			room = c.room
		}
		if room == "" {
			c.warn("not in a room")
			return
		}
		// Like /join, /part moves on at once, so the next lines go where the user expects.
		if c.request(&wire.Msg{Op: wire.OpPart, Room: []byte(room)}, request{kind: cmdPart, name: room}) {
			c.joined = remove(c.joined, room)
			if room == c.room {
				c.switchRoom(lastOr(c.joined, ""))
				if c.room == "" {
					c.scr.println(c.r.notice("not in a room now: /join ROOM"))
				} else {
					c.scr.println(c.r.notice("current room is now %s", c.room))
				}
			}
		}
	case cmdMsg:
		c.directMsg(cmd.name, cmd.text, line)
	case cmdNames:
		if c.room == "" {
			c.warn("not in a room: /join ROOM first")
			return
		}
		c.send(&wire.Msg{Op: wire.OpWho, Room: []byte(c.room)})
	case cmdClear:
		if c.tty != nil {
			c.tty.w.WriteString("\x1b[H\x1b[2J")
			c.tty.drawn = false
			c.tty.edited()
		}
	case cmdQuery:
		c.query = cmd.name
		if c.query == "" {
			c.scr.println(c.r.notice("lines go to %s again", orNone(c.room)))
		} else {
			c.scr.println(c.r.notice("lines go to %s as direct messages; /query alone to return to %s", cmd.name, orNone(c.room)))
		}
		c.setRoom(c.room)
	case cmdTopic:
		if c.room == "" {
			c.warn("not in a room: /join ROOM first")
			return
		}
		c.request(&wire.Msg{Op: wire.OpTopic, Room: []byte(c.room), Text: []byte(cmd.text)}, request{kind: cmdTopic, name: c.room, text: cmd.text})
	case cmdAway:
		c.request(&wire.Msg{Op: wire.OpAway, Text: []byte(cmd.text)}, request{kind: cmdAway, text: cmd.text})
	case cmdList:
		c.send(&wire.Msg{Op: wire.OpList})
	case cmdWho:
		c.send(&wire.Msg{Op: wire.OpWho, Room: []byte(cmd.name)})
	case cmdHistory:
		if c.room == "" {
			c.warn("not in a room: /join ROOM first")
			return
		}
		c.send(&wire.Msg{Op: wire.OpHistory, Room: []byte(c.room), ID: cmd.n})
	case cmdHelp:
		c.scr.println(c.r.notice("%s", helpText()))
	case cmdQuit:
		c.quit()
	case cmdSend:
		c.sendFile(cmd.name, cmd.text)
	case cmdAccept, cmdReject:
		c.answerOffer(cmd.n, cmd.kind == cmdAccept)
	}
}

func orNone(room string) string {
	if room == "" {
		return "no room"
	}
	return room
}

// directMsg sends a DM; it is echoed when the server has taken it (onOK),
// so a DM to a user who does not exist shows only the error.
func (c *client) directMsg(user, text, line string) {
	if n := len(text); n > maxMessageBytes {
		c.warn("message too long: %d bytes, the limit is %d; not sent", n, maxMessageBytes)
		c.dlv.lost++
		return
	}
	if c.request(&wire.Msg{Op: wire.OpDM, User: []byte(user), Text: []byte(text)}, request{kind: cmdMsg, name: user, text: text}) {
		c.track(c.seq, true, line)
	}
}

// say sends a line (or a /me action, or an emoji) to the current room. The
// server does not echo it back, so on a TTY the client shows it itself.
func (c *client) say(cmd command) {
	if c.room == "" {
		c.warn("not in a room: /join ROOM first")
		return
	}
	if n := len(cmd.text); n > maxMessageBytes {
		c.warn("message too long: %d bytes, the limit is %d; not sent", n, maxMessageBytes)
		c.dlv.lost++
		return
	}
	m := wire.Msg{Op: wire.OpSay, Room: []byte(c.room), Text: []byte(cmd.text)}
	if cmd.kind == cmdMe {
		m.Flags = wire.FlagMe
	}
	seq, ok := c.send(&m)
	if !ok {
		return
	}
	c.track(seq, false, cmd.text)
	if c.tty != nil {
		m.User = []byte(c.user)
		c.scr.println(c.r.roomMessage(&m))
	}
}

// join switches the current room at once, so the lines typed right after
// /join go to the new room; a failed join switches back (onError).
func (c *client) join(room string) {
	if c.request(&wire.Msg{Op: wire.OpJoin, Room: []byte(room)}, request{kind: cmdJoin, name: room, prev: c.room}) {
		c.joined = append(remove(c.joined, room), room)
		c.switchRoom(room)
	}
}

// request sends m and remembers req until the reply with its sequence number.
func (c *client) request(m *wire.Msg, req request) bool {
	seq, ok := c.send(m)
	if ok {
		c.pending[seq] = req
	}
	return ok
}

func remove(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func lastOr(list []string, def string) string {
	if len(list) == 0 {
		return def
	}
	return list[len(list)-1]
}
