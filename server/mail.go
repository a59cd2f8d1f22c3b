// Direct messages: stored in the recipient's mailbox, pushed in order, removed on ack (as the message service does).
package server

import (
	"encoding/binary"

	"padchat/wire"
)

// mailRef names a delivered, not yet acknowledged message in a session.
type mailRef struct {
	from    string
	id      uint32
	receipt bool // a delivery receipt: from is the recipient of the sender's DM
}

// maxInflight bounds the delivered-but-unacknowledged messages of a session, so
// a big mailbox streams in as the client acknowledges instead of flooding it.
const maxInflight = 1024

// mail record: receipt bit 7 + from_len u8 | from | id u32 | time i64 | text.
// A direct message comes from `from`; a receipt (bit 7 set, no text) says
// that `from` received the mailbox owner's message id.
const mailReceipt = 0x80

func encodeMail(from string, id uint32, t int64, text []byte) []byte {
	return appendMail(make([]byte, 0, 13+len(from)+len(text)), 0, from, id, t, text)
}

func appendMail(b []byte, kind byte, from string, id uint32, t int64, text []byte) []byte {
	b = append(b, kind|byte(len(from)))
	b = append(b, from...)
	b = binary.BigEndian.AppendUint32(b, id)
	b = binary.BigEndian.AppendUint64(b, uint64(t))
	return append(b, text...)
}

// decodeMail fills m as the event the record is: OpDirect or, for a receipt,
// OpDelivered with FlagReceipt.
func decodeMail(b []byte, m *wire.Msg) bool {
	if len(b) < 1 || len(b) < 1+int(b[0]&^mailReceipt)+12 {
		return false
	}
	n := int(b[0] &^ mailReceipt)
	m.Op = wire.OpDirect
	if b[0]&mailReceipt != 0 {
		m.Op, m.Flags = wire.OpDelivered, wire.FlagReceipt
	}
	m.User = b[1 : 1+n]
	m.ID = binary.BigEndian.Uint32(b[1+n:])
	m.Time = int64(binary.BigEndian.Uint64(b[5+n:]))
	m.Text = b[13+n:]
	return true
}

// dm stores a direct message for `to` and calls done with its id once it is
// durable, or with the error that kept it from being so.
func (h *Hub) dm(from member, to, text []byte, done func(id uint32, err error)) {
	switch {
	case len(text) == 0:
		done(0, ErrEmpty)
		return
	case len(text) > h.cfg.MaxMessage:
		done(0, ErrTooLong)
		return
	case h.store.usable() != nil:
		done(0, ErrUnavailable)
		return
	}
	u := h.acct.user(string(to))
	if u == nil {
		done(0, ErrNoSuchUser)
		return
	}
	if h.l.node != nil {
		h.clusterDM(from, u.key(), text, done)
		return
	}
	id := h.store.nextDMID(from.name())
	rec := encodeMail(from.name(), id, h.l.now, text)
	rcpt := u.key()
	if h.cfg.LogMessages {
		h.l.log.Info().Str("to", u.Name).Msgf("<%s>: %s", from.name(), text)
	}
	h.store.mailPut(bktMail, rcpt, rec)
	h.store.after(func(err error) {
		if err != nil {
			done(0, ErrUnavailable)
			return
		}
		done(id, nil)
		h.pumpUser(u)
	})
}

// pumpUser pushes u's mail if u is online; a gone (removed) account has none.
func (h *Hub) pumpUser(u *User) {
	if u != nil && !u.gone && u.session != nil {
		h.pump(u.session)
	}
}

// pump pushes the next stored messages of s's mailbox, in order, while the
// session has room for them.
func (h *Hub) pump(s *native) {
	if h.l.node != nil {
		h.clusterPump(s)
		return
	}
	if s.c.dying || len(s.inflight) >= maxInflight {
		return
	}
	var msg wire.Msg
	h.store.mailScan(bktMail, s.user.key(), s.mailNext+1, func(key uint64, v []byte) bool {
		if len(s.inflight) >= maxInflight || s.c.pending() > h.cfg.OutLimit/2 || s.c.dying {
			return false
		}
		s.mailNext = key
		msg = wire.Msg{}
		if !decodeMail(v, &msg) {
			h.l.log.Error().Str("user", s.user.Name).Uint64("key", s.mailNext).Msg("corrupt mail record skipped")
			return true
		}
		if s.inflight == nil {
			s.inflight = map[mailRef]uint64{}
		}
		s.inflight[mailRef{string(msg.User), msg.ID, msg.Op == wire.OpDelivered}] = s.mailNext
		s.deliver(&msg, h.encode(&msg))
		return true
	})
}

// ack removes an acknowledged message from by's mailbox and, once that is
// durable, tells its sender (the message service's SEND MESS ACK). A sender
// who is offline finds the receipt in its own mailbox, written in the same
// transaction, so it is never lost between the two.
func (h *Hub) ack(by *native, from []byte, id uint32, flags uint8) {
	ref := mailRef{string(from), id, flags&wire.FlagReceipt != 0}
	key, ok := by.inflight[ref]
	if !ok {
		return // a duplicate ack, or one for a message of an earlier session
	}
	delete(by.inflight, ref)
	rcpt := by.user.Name
	if h.l.node != nil {
		h.clusterAck(rcpt, ref, key)
		return
	}
	rcptKey := by.user.key()
	sender := h.acct.user(ref.from)
	// Receipts are not acknowledged with receipts; a receipt for a sender
	// who has gone (removed) has nowhere to wait.
	keep := !ref.receipt && sender != nil && sender.session == nil
	var receipt []byte
	if keep {
		receipt = appendMail(nil, mailReceipt, rcpt, id, h.l.now, nil)
	}
	// Both in the same batch, so in one transaction.
	h.store.mailDelete(bktMail, rcptKey, key)
	if keep {
		h.store.mailPut(bktMail, sender.key(), receipt)
	}
	h.store.after(func(err error) {
		if err != nil {
			return
		}
		switch {
		case keep:
			h.pumpUser(sender) // back in the meantime
		case !ref.receipt && sender != nil && sender.session != nil:
			sender.session.deliver(&wire.Msg{Op: wire.OpDelivered, User: []byte(rcpt), ID: id, Time: h.l.now}, nil)
		}
		if by.user.session == by {
			h.pump(by)
		}
	})
}

// commit ends the iteration's store batch; the waiters it wakes queue
// replies. It reports whether there was anything to commit.
func (h *Hub) commit() bool { return h.store.commit() }

// replayHistory sends m up to n of the room's last messages after seq after,
// marked as history.
func (h *Hub) replayHistory(m member, r *Room, n int, after uint64) {
	if n <= 0 || n > h.cfg.HistorySize {
		n = h.cfg.HistorySize
	}
	var msg wire.Msg
	for _, rec := range h.store.history(r.name, n, after) {
		if wire.Decode(rec, &msg) != nil {
			continue
		}
		msg.Flags |= wire.FlagHistory
		m.deliver(&msg, h.encode(&msg))
	}
}
