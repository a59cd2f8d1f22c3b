// Direct messages: stored in the recipient's mailbox, pushed in order, removed on ack (as the message service does).
package server

import (
	"padchat/wire"
)

// mailbox is where direct messages and their receipts wait for the account
// they are for. One is chosen at start: the store's bbolt file (localMail,
// mail_local.go) or, with --nats, a JetStream stream every node shares
// (streamMail, cluster_mail.go). Both run on the loop goroutine and hold mail
// records (store_mail.go); the hub's dm, pump and ack know neither.
type mailbox interface {
	// put stores a DM from `from` in to's mailbox and calls done with its id
	// once it is durable, or with the error that kept it from being so.
	put(from string, to *User, text []byte, done func(id uint32, err error))
	// pump hands s, through Hub.deliverMail, the records of its mailbox it
	// has not had yet, in order, from its cursor on.
	pump(s *native)
	// ack deletes the record stored under key, which by acknowledged. For a
	// DM, its sender gets the receipt: stored in the sender's mailbox at the
	// latest when the DM is deleted, so it is never lost between the two.
	ack(by *native, ref mailRef, key uint64)
	// ended: s's session is over.
	ended(s *native)
}

// newMailbox picks the mailbox for this process, once.
func newMailbox(h *Hub) mailbox {
	if h.l.node != nil {
		return &streamMail{h: h, node: h.l.node, follows: map[*native]*follow{}, started: h.l.now}
	}
	return &localMail{h: h, boxes: h.store.mail}
}

// mailRef names a delivered, not yet acknowledged message in a session.
type mailRef struct {
	from    string
	id      uint32
	receipt bool // a delivery receipt: from is the recipient of the sender's DM
}

// maxInflight bounds the delivered-but-unacknowledged messages of a session, so
// a big mailbox streams in as the client acknowledges instead of flooding it.
const maxInflight = 1024

// mailRoom says whether s may take another mail record now: fewer than
// maxInflight unacknowledged, and its output not past half the limit.
func (h *Hub) mailRoom(s *native) bool {
	return len(s.some().inflight) < maxInflight && s.c.pending() <= h.cfg.OutLimit/2 && !s.c.dying
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
	if h.cfg.LogMessages {
		h.l.log.Info().Str("to", u.Name).Msgf("<%s>: %s", from.name(), text)
	}
	h.mail.put(from.name(), u, text, done)
}

// pumpUser pushes u's mail if u is online; a gone (removed) account has none.
func (h *Hub) pumpUser(u *User) {
	if u != nil && !u.gone && u.session != nil {
		h.pump(u.session)
	}
}

// pump pushes the next stored messages of s's mailbox, in order, while the
// session has room for them.
func (h *Hub) pump(s *native) { h.mail.pump(s) }

// deliverMail pushes the mail record stored under key to s and keeps it in
// flight until s acknowledges it. A DM whose id is its key's (stream
// sequences: streamMail) has it set from key.
func (h *Hub) deliverMail(s *native, key uint64, rec []byte, idFromKey bool) {
	var msg wire.Msg
	if !decodeMail(rec, &msg) {
		h.l.log.Error().Str("user", s.user.Name).Uint64("key", key).Msg("corrupt mail record skipped")
		return
	}
	if idFromKey && msg.Op == wire.OpDirect {
		msg.ID = mailID(key)
	}
	r := s.more()
	if r.inflight == nil {
		r.inflight = map[mailRef]uint64{}
	}
	r.inflight[mailRef{string(msg.User), msg.ID, msg.Op == wire.OpDelivered}] = key
	s.deliver(&msg, h.encode(&msg))
}

// ack removes an acknowledged message from by's mailbox and gets the receipt
// to its sender (the message service's SEND MESS ACK).
func (h *Hub) ack(by *native, from []byte, id uint32, flags uint8) {
	ref := mailRef{string(from), id, flags&wire.FlagReceipt != 0}
	inflight := by.some().inflight
	key, ok := inflight[ref]
	if !ok {
		return // a duplicate ack, or one for a message of an earlier session
	}
	delete(inflight, ref)
	h.mail.ack(by, ref, key)
}

// sessionEnded lets s's mailbox and, in cluster mode, its sending pad go.
func (h *Hub) sessionEnded(s *native) {
	h.mail.ended(s)
	h.clusterEnded(s)
}

// commit ends the iteration's store batch; the waiters it wakes queue
// replies. It reports whether it committed on the loop (so its waiters may
// have queued more to flush). A batch of writes that may wait (Store.doLazy)
// waits, on a timer, until it is due, then commits behind the loop
// (store_behind.go).
func (h *Hub) commit() bool {
	h.store.reap()
	if due := h.store.due(h.l.now); due != 0 {
		if h.l.now >= due {
			return h.store.commitBehind()
		}
		if h.commitAt != due {
			h.commitAt = due
			h.l.setTimer(h.commitTimer, due)
		}
		return false
	}
	return h.store.commit()
}

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
