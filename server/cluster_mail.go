// Cluster mode's direct messages: mailboxes in a JetStream stream (cluster/mail.go).
package server

import (
	"strconv"

	"padchat/cluster"
)

// streamMail keys each record by its stream sequence, which is also a DM's
// id. A session follows its mailbox: every record stored in it, on whichever
// node, reaches the session, with no cursor kept in padchat.
type streamMail struct {
	h       *Hub
	node    *cluster.Node
	follows map[*native]*follow // sessions following their mailbox
	seq     uint64              // DMs stored by this process
	started int64               // start time, part of the DMs' message ids
}

// follow is a session's subscription to its mailbox in the stream, and the
// records it brought that wait for room: as locally, a session has at most
// maxInflight unacknowledged records, and the subscription pauses while
// maxInflight more wait, so a big mailbox streams in as the client acks.
type follow struct {
	stop   func()
	gen    int    // subscriptions so far: a record from an earlier one is ignored
	last   uint64 // stream sequence of the last record received
	queue  []mailRecord
	paused bool
}

type mailRecord struct {
	seq uint64
	rec []byte
}

// mailID is the DM id of a stream sequence; like every padchat id it wraps to 1, not 0.
func mailID(seq uint64) uint32 {
	if id := uint32(seq); id != 0 {
		return id
	}
	return 1
}

// put stores the DM in the mailbox of to's account key (a re-added name has
// another); its id is the record's stream sequence, known once JetStream has
// it. The recipient's follow, wherever it is, delivers it.
func (m *streamMail) put(from string, to *User, text []byte, done func(id uint32, err error)) {
	h, box := m.h, to.key()
	rec := encodeMail(from, 0, h.l.now, text)
	m.seq++
	msgID := m.node.Name() + "-" + strconv.FormatInt(m.started, 36) + "-" + strconv.FormatUint(m.seq, 36)
	m.node.Store(box, rec, msgID, func(seq uint64, err error) {
		if err != nil {
			h.l.log.Error().Err(err).Str("mailbox", box).Msg("cluster: DM not stored")
			done(0, ErrUnavailable)
			return
		}
		done(mailID(seq), nil)
	})
}

// pump makes sure s follows its mailbox and delivers what waits while s has room.
func (m *streamMail) pump(s *native) {
	if s.user == nil || s.c.dying {
		return
	}
	if fl := m.follows[s]; fl != nil {
		m.drain(s, fl)
		return
	}
	fl := &follow{}
	m.follows[s] = fl
	m.follow(s, fl)
}

// follow subscribes s to its mailbox from the record after the last one received.
func (m *streamMail) follow(s *native, fl *follow) {
	fl.gen++
	gen := fl.gen
	fl.stop = m.node.Follow(s.user.key(), fl.last+1, func(seq uint64, rec []byte) {
		if m.follows[s] != fl || fl.gen != gen || seq <= fl.last {
			return // the session ended, an earlier subscription, or a record had already
		}
		fl.last = seq
		fl.queue = append(fl.queue, mailRecord{seq, rec})
		m.drain(s, fl)
	})
}

// drain delivers waiting records while s has room for them (the limits of
// the local pump), and pauses or resumes the subscription.
func (m *streamMail) drain(s *native, fl *follow) {
	for len(fl.queue) > 0 && m.h.mailRoom(s) {
		r := fl.queue[0]
		fl.queue[0] = mailRecord{}
		fl.queue = fl.queue[1:]
		m.h.deliverMail(s, r.seq, r.rec, true)
	}
	switch {
	case !fl.paused && len(fl.queue) >= maxInflight:
		fl.stop()
		fl.paused = true
	case fl.paused && len(fl.queue) < maxInflight/2:
		fl.paused = false
		m.follow(s, fl)
	}
}

// clusterForget deletes a removed account's mailbox and history cursors in
// JetStream, as the store forgets its local ones.
func (h *Hub) clusterForget(account string) {
	if h.l.node != nil {
		h.l.node.Forget(account)
	}
}

// ack removes the record from the stream; for a DM, the receipt goes to the
// sender's mailbox first (the sender's follow delivers it, wherever it is),
// so a crash between the two repeats the receipt (de-duplicated by its
// message id) rather than losing it.
func (m *streamMail) ack(by *native, ref mailRef, seq uint64) {
	h, rcpt := m.h, by.user.Name
	if fl := m.follows[by]; fl != nil {
		defer m.drain(by, fl)
	}
	remove := func() {
		m.node.Remove(seq, func(err error) {
			if err != nil {
				h.l.log.Error().Err(err).Str("user", rcpt).Uint64("seq", seq).Msg("cluster: acked mail not removed")
			}
		})
	}
	sender := h.acct.user(ref.from)
	if ref.receipt || sender == nil {
		remove()
		return
	}
	rec := appendMail(nil, mailReceipt, rcpt, ref.id, h.l.now, nil)
	msgID := "receipt-" + strconv.FormatUint(seq, 10)
	m.node.Store(sender.key(), rec, msgID, func(_ uint64, err error) {
		if err != nil {
			h.l.log.Error().Err(err).Str("user", ref.from).Msg("cluster: receipt not stored; the DM stays for redelivery")
			return
		}
		remove()
	})
}

// ended stops s's subscription.
func (m *streamMail) ended(s *native) {
	if fl := m.follows[s]; fl != nil {
		fl.stop()
		delete(m.follows, s)
	}
}

// rejoinPad, in cluster mode, starts a session's sending pad past what other
// nodes claimed since this node last used it: one KV read per login, waited
// for on the loop like a reservation, instead of a lost race that would end
// the session at its first frame.
func (h *Hub) rejoinPad(u *User) {
	if h.l.node == nil || u.sender == nil || u.session != nil {
		return // a session still open here may hold frames sealed with it
	}
	if !h.l.node.Connected() {
		// A read now would hold the loop until NATS is back or the read times out.
		h.l.log.Warn().Str("user", u.Name).Msg("cluster: NATS unreachable, shared pad mark not read; the first reservation may be lost")
		return
	}
	if err := u.sender.Rejoin(); err != nil {
		h.l.log.Warn().Err(err).Str("user", u.Name).Msg("cluster: shared pad mark not read; the first reservation may be lost")
	}
}

// clusterEnded, in cluster mode, hands the unused part of an ended session's
// sending pad reservation back to the shared mark, so the user's next
// session, on whichever node, wastes no pad, and shares how far its frames went.
func (h *Hub) clusterEnded(s *native) {
	if h.l.node == nil {
		return
	}
	if u := s.user; u != nil {
		h.shareRecv(u)
	}
	if u := s.user; u != nil && u.sender != nil && u.session == s {
		if err := u.sender.Yield(); err != nil {
			h.l.log.Warn().Err(err).Str("user", u.Name).Msg("cluster: reserved pad not handed back")
		}
	}
}
