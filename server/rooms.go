// The rooms protocol ("Wassop", docs/DIALECTS.md): JOIN, ROOM, LIST_ROOMS, MESSAGE, EXIT, QUIT, in Spanish.
package server

import (
	"bytes"
	"errors"
	"fmt"

	"padchat/wire"
)

func init() {
	registerDialect(dialect{Protocol{Name: "rooms", Help: "rooms (\"Wassop\") listener `address` (plain text)"},
		startLines("rooms", newWassop)})
}

// Replies and notices, as the protocol's RFC and its client expect them. Every
// reply is one write ending in "\n"; the client compares reply.strip().
const (
	roomsOK         = "OK\n"
	roomsTaken      = "ERROR: Username ya en uso\n"
	roomsBadUser    = "ERROR: Nombre de usuario no válido (1-32 de A-Z a-z 0-9 _ . -)\n"
	roomsAgain      = "ERROR: Ya te has unido como %s\n"
	roomsNeedJoin   = "ERROR: Primero envía JOIN <usuario>\n"
	roomsRooms      = "Salas disponibles:\n"
	roomsRoomLine   = "%s (%d)\n"
	roomsJoined     = "Te has unido a la sala %s.\n"
	roomsBadRoom    = "ERROR: Nombre de sala no válido (1-32 de A-Z a-z 0-9 _ . -, sin espacios)\n"
	roomsEncrypted  = "ERROR: La sala %s es cifrada y no admite clientes sin cifrar\n"
	roomsLeft       = "Has salido de la sala %s.\n"
	roomsNoRoom     = "ERROR: No estás en ninguna sala\n"
	roomsNotThere   = "ERROR: No estás en la sala %s\n"
	roomsTooLong    = "ERROR: Mensaje demasiado largo (máximo %d bytes)\n"
	roomsUnknown    = "ERROR: Comando desconocido\n"
	roomsLongLine   = "ERROR: Línea demasiado larga\n"
	roomsBadText    = "ERROR: Texto no válido (se espera UTF-8 sin caracteres de control)\n"
	roomsTimeout    = "ERROR: Tiempo de espera agotado\n"
	roomsNoticeJoin = "%s se ha unido a la sala.\n"
	roomsNoticeLeft = "%s ha salido de la sala.\n"
	roomsNoticeQuit = "%s ha salido del chat.\n"
)

// The emoji commands.
var roomsEmoji = map[string]string{"LOVE": "❤️", "LIKE": "👍", "DISLIKE": "👎"}

// wassop is one rooms connection. After JOIN it is online; it is in at most
// one room at a time, as the protocol says (ROOM moves it, EXIT takes it out).
type wassop struct {
	plainUser
	h     *Hub
	c     *Conn
	split lineSplitter
	room  *Room
}

func newWassop(h *Hub, c *Conn) handler {
	// A line holds a command word, a space and at most MaxMessage of text.
	return &wassop{h: h, c: c, split: lineSplitter{max: h.cfg.MaxMessage + 64}}
}

func (w *wassop) onData(c *Conn, b []byte) int {
	return w.split.feed(c, b, w.command, w.fail)
}

// command runs one line: a command word, then its argument after one space.
func (w *wassop) command(line []byte) {
	verb, arg, _ := bytes.Cut(line, []byte{' '})
	cmd := string(bytes.ToUpper(verb))
	switch cmd {
	case "":
		if len(bytes.TrimSpace(line)) == 0 {
			return // blank line
		}
	case "JOIN":
		w.join(bytes.TrimSpace(arg))
		return
	case "LIST_ROOMS", "REFR":
		w.listRooms()
		return
	case "QUIT":
		w.c.kill(ReasonClientQuit)
		return
	}
	if w.nick == "" {
		w.reply(roomsNeedJoin)
		return
	}
	switch cmd {
	case "ROOM":
		w.enter(bytes.TrimSpace(arg))
	case "MESSAGE":
		if len(bytes.TrimSpace(arg)) > 0 {
			w.say(arg)
		}
	case "LOVE", "LIKE", "DISLIKE":
		w.say([]byte(roomsEmoji[cmd]))
	case "EXIT":
		w.exit(bytes.TrimSpace(arg))
	default:
		w.reply(roomsUnknown)
	}
}

func (w *wassop) join(name []byte) {
	if w.nick != "" {
		w.reply(roomsAgain, w.nick)
		return
	}
	switch err := w.h.claimName(w, name); {
	case err == nil:
	case errors.Is(err, errNameTaken):
		w.reply(roomsTaken)
		return
	default:
		w.reply(roomsBadUser)
		return
	}
	w.nick = string(name)
	w.reply(roomsOK)
	w.h.l.log.Info().Str("dialect", "rooms").Str("user", w.nick).Str("remote", w.c.remote).Msg("connected")
}

// listRooms shows the rooms a plain client may enter: plain ones. Encrypted
// rooms are not listed; their names are their members' business. The shared
// plain room is kept open for the other dialects even when empty; it is listed
// only while someone is in it, as a room a rooms client made would be. In
// cluster mode the rooms and members are every node's.
func (w *wassop) listRooms() {
	b := append([]byte(nil), roomsRooms...)
	for _, r := range w.h.roomCounts() {
		if r.plain && (r.members > 0 || !r.keep) {
			b = fmt.Appendf(b, roomsRoomLine, r.name, r.members)
		}
	}
	replyAlone(w.c, b)
}

// enter is ROOM: it creates the room or joins it, leaving the current one.
func (w *wassop) enter(name []byte) {
	h := w.h
	if w.room != nil && w.room.name == string(name) {
		w.reply(roomsJoined, w.room.name)
		return
	}
	r, err := h.plainRoom(name)
	switch {
	case err == nil:
	case errors.Is(err, errEncryptedRoom):
		w.reply(roomsEncrypted, name)
		return
	default:
		w.reply(roomsBadRoom)
		return
	}
	if w.room != nil {
		h.part(w, w.room.nameB, "left")
	}
	if _, err := h.join(w, r.nameB); err != nil {
		w.room = nil
		w.reply(roomsBadRoom)
		return
	}
	w.room = r
	w.reply(roomsJoined, r.name)
}

func (w *wassop) say(text []byte) {
	if w.room == nil {
		w.reply(roomsNoRoom)
		return
	}
	if _, err := w.h.say(w, w.room.nameB, text, 0); errors.Is(err, ErrTooLong) {
		w.reply(roomsTooLong, w.h.cfg.MaxMessage)
	}
}

// exit is EXIT [room]: its client names the room it leaves.
func (w *wassop) exit(name []byte) {
	switch {
	case w.room == nil:
		w.reply(roomsNoRoom)
	case len(name) > 0 && string(name) != w.room.name:
		w.reply(roomsNotThere, name)
	default:
		r := w.room
		w.room = nil
		w.h.part(w, r.nameB, "left")
		w.reply(roomsLeft, r.name)
	}
}

// roomsFormat writes room events; only the current room's reach a rooms member.
var roomsFormat = plainFormat{kind: sharedWassop, eol: "\n",
	joined: roomsNoticeJoin, left: roomsNoticeLeft, quit: roomsNoticeQuit}

func (w *wassop) deliver(m *wire.Msg, _ []byte) { w.h.deliverPlain(w.c, &roomsFormat, m) }

// reply answers a command in a write of its own (see replyAlone).
func (w *wassop) reply(format string, args ...any) {
	if len(args) == 0 {
		replyAlone(w.c, []byte(format))
		return
	}
	replyAlone(w.c, fmt.Appendf(nil, format, args...))
}

func (w *wassop) fail(err error) {
	if errors.Is(err, errLineTooLong) {
		w.c.queue([]byte(roomsLongLine))
	} else {
		w.c.queue([]byte(roomsBadText))
	}
	w.h.l.log.Warn().Str("dialect", "rooms").Str("remote", w.c.remote).Err(err).Msg("closing connection")
	w.c.kill(ReasonProtocol)
}

func (w *wassop) onDeadline(c *Conn, now int64) int64 {
	auth, idle, next := plainDeadlines(w.h.cfg, c, now, w.nick != "")
	switch {
	case auth:
		c.queue([]byte(roomsTimeout))
		c.kill(ReasonAuthTimeout)
	case idle:
		c.queue([]byte(roomsTimeout))
		c.kill(ReasonIdle)
	}
	return next
}

func (w *wassop) onClose(c *Conn) {
	if w.nick == "" {
		return
	}
	w.h.leave(w, "quit")
	w.room = nil
	w.h.l.log.Info().Str("dialect", "rooms").Str("user", w.nick).Str("remote", c.remote).
		Stringer("reason", c.reason).Msg("disconnected")
}
