// What each native request does: a hub call, then an OK, an event or a named error.
package server

import (
	"padchat/wire"
)

func (n *native) command(m *wire.Msg) {
	h := n.h
	seq := m.Seq
	if m.Op != wire.OpSay {
		h.flushRun() // a run spans Says alone: nothing else happens within one (roomRun)
	}
	switch m.Op {
	case wire.OpJoin:
		r, err := h.join(n, m.Room)
		if err != nil {
			n.replyErr(seq, err)
			return
		}
		n.reply(seq, 0, "joined "+r.name, r.plain)
		if r.topic != nil {
			n.send(r.topicMsg())
		}
		// Only what this account has not had: an idle reconnect to a
		// quiet room costs no pad for history. The cursor moves again when
		// the account leaves the room (Hub.part, Hub.leave).
		if h.l.node != nil {
			h.clusterJoined(n, r)
			return
		}
		key := n.user.key()
		h.replayHistory(n, r, h.cfg.HistorySize, h.store.cursor(key, r.name))
		h.store.putCursor(key, r.name, r.hist)
	case wire.OpPart:
		n.result(seq, 0, h.part(n, m.Room, "left"))
	case wire.OpList:
		n.send(&wire.Msg{Op: wire.OpRooms, Seq: seq, Text: []byte(h.listRooms())})
	case wire.OpWho:
		names, err := h.who(m.Room)
		if err != nil {
			n.replyErr(seq, err)
			return
		}
		n.send(&wire.Msg{Op: wire.OpUsers, Seq: seq, Room: m.Room, Text: []byte(names)})
	case wire.OpSay:
		id, err := h.say(n, m.Room, m.Text, m.Flags)
		n.result(seq, id, err)
	case wire.OpDM:
		h.dm(n, m.User, m.Text, func(id uint32, err error) {
			if n.user != nil {
				n.result(seq, id, err)
			}
		})
	case wire.OpAck:
		h.ack(n, m.User, m.ID, m.Flags)
	case wire.OpHistory:
		r := h.rooms[string(m.Room)]
		if r == nil || !r.has(n) {
			n.replyErr(seq, ErrNotInRoom)
			return
		}
		if h.l.node != nil {
			h.clusterHistory(n, r, int(m.ID))
		} else {
			h.replayHistory(n, r, int(m.ID), 0)
		}
		n.reply(seq, 0, "", false)
	case wire.OpTopic:
		t, err := h.setTopic(n, m.Room, m.Text)
		if err != nil {
			n.replyErr(seq, err)
			return
		}
		n.reply(seq, 0, t, false)
	case wire.OpAway:
		if len(m.Text) > h.cfg.MaxMessage {
			n.replyErr(seq, ErrTooLong)
			return
		}
		if !validText(m.Text) {
			n.replyErr(seq, ErrBadText)
			return
		}
		n.more().away = string(m.Text)
		n.reply(seq, 0, "", false)
	case wire.OpPing:
		n.reply(seq, 0, "pong", false)
	case wire.OpPong:
	case wire.OpQuit:
		n.reply(seq, 0, "bye", false)
		h.leave(n, "quit")
		n.c.kill(ReasonClientQuit)
	case wire.OpFileOffer, wire.OpFileChunk, wire.OpFileAccept, wire.OpFileReject, wire.OpFileGot, wire.OpFileDone:
		h.files.command(n, m)
	case wire.OpHello:
		n.replyErr(seq, ErrBadRequest)
	default:
		n.fail(ReasonProtocol, nil)
	}
}

func (n *native) reply(seq, id uint32, text string, plain bool) {
	m := wire.Msg{Op: wire.OpOK, Seq: seq, ID: id, Text: []byte(text)}
	if plain {
		m.Flags |= wire.FlagPlain
	}
	n.send(&m)
}

func (n *native) replyErr(seq uint32, err error) {
	n.send(&wire.Msg{Op: wire.OpError, Seq: seq, ID: uint32(codeOf(err)), Text: []byte(err.Error())})
}

func (n *native) result(seq, id uint32, err error) {
	if err != nil {
		n.replyErr(seq, err)
		return
	}
	n.reply(seq, id, "", false)
}
