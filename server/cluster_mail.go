// Cluster mode's direct messages: mailboxes in a JetStream stream (cluster/mail.go).
package server

import (
	"strconv"

	"padchat/wire"
)

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

// clusterDM stores a DM in the recipient's mailbox in JetStream (box, the
// account's key: a re-added name has another) and calls done with its id, the
// record's stream sequence, once JetStream has it.
func (h *Hub) clusterDM(from member, box string, text []byte, done func(id uint32, err error)) {
	rec := encodeMail(from.name(), 0, h.l.now, text)
	h.l.mailSeq++
	msgID := h.l.node.Name() + "-" + strconv.FormatInt(h.l.started, 36) + "-" + strconv.FormatUint(h.l.mailSeq, 36)
	h.l.node.Store(box, rec, msgID, func(seq uint64, err error) {
		if err != nil {
			h.l.log.Error().Err(err).Str("mailbox", box).Msg("cluster: DM not stored")
			done(0, ErrUnavailable)
			return
		}
		done(mailID(seq), nil)
	})
}

// clusterPump makes sure s follows its mailbox (every record in it reaches
// s, wherever it was stored) and delivers what waits while s has room.
func (h *Hub) clusterPump(s *native) {
	if s.user == nil || s.c.dying {
		return
	}
	if fl := h.l.follows[s]; fl != nil {
		h.drainMail(s, fl)
		return
	}
	fl := &follow{}
	h.l.follows[s] = fl
	h.followMail(s, fl)
}

// followMail subscribes s to its mailbox from the record after the last one received.
func (h *Hub) followMail(s *native, fl *follow) {
	fl.gen++
	gen := fl.gen
	fl.stop = h.l.node.Follow(s.user.key(), fl.last+1, func(seq uint64, rec []byte) {
		if h.l.follows[s] != fl || fl.gen != gen || seq <= fl.last {
			return // the session ended, an earlier subscription, or a record had already
		}
		fl.last = seq
		fl.queue = append(fl.queue, mailRecord{seq, rec})
		h.drainMail(s, fl)
	})
}

// drainMail delivers waiting records while s has room for them (the limits
// of Hub.pump), and pauses or resumes the subscription.
func (h *Hub) drainMail(s *native, fl *follow) {
	for len(fl.queue) > 0 && len(s.inflight) < maxInflight && s.c.pending() <= h.cfg.OutLimit/2 && !s.c.dying {
		r := fl.queue[0]
		fl.queue[0] = mailRecord{}
		fl.queue = fl.queue[1:]
		var msg wire.Msg
		if !decodeMail(r.rec, &msg) {
			h.l.log.Error().Str("user", s.user.Name).Uint64("seq", r.seq).Msg("corrupt mail record skipped")
			continue
		}
		if msg.Op == wire.OpDirect {
			msg.ID = mailID(r.seq)
		}
		if s.inflight == nil {
			s.inflight = map[mailRef]uint64{}
		}
		s.inflight[mailRef{string(msg.User), msg.ID, msg.Op == wire.OpDelivered}] = r.seq
		s.deliver(&msg, h.encode(&msg))
	}
	switch {
	case !fl.paused && len(fl.queue) >= maxInflight:
		fl.stop()
		fl.paused = true
	case fl.paused && len(fl.queue) < maxInflight/2:
		fl.paused = false
		h.followMail(s, fl)
	}
}

// sessionEnded, in cluster mode, ends s's mailbox subscription and hands the
// unused part of its sending pad's reservation back to the shared mark, so the
// user's next session, on whichever node, wastes no pad.
func (h *Hub) sessionEnded(s *native) {
	if h.l.node == nil {
		return
	}
	if fl := h.l.follows[s]; fl != nil {
		fl.stop()
		delete(h.l.follows, s)
	}
	if u := s.user; u != nil && u.sender != nil && u.session == s {
		if err := u.sender.Yield(); err != nil {
			h.l.log.Warn().Err(err).Str("user", u.Name).Msg("cluster: reserved pad not handed back")
		}
	}
}

// clusterForget deletes a removed account's mailbox and history cursors in
// JetStream, as the store forgets its local ones.
func (h *Hub) clusterForget(account string) {
	if h.l.node != nil {
		h.l.node.Forget(account)
	}
}

// clusterAck removes an acknowledged record from the stream; for a DM, the
// receipt goes to the sender's mailbox first, so a crash between the two
// repeats the receipt (de-duplicated by its message id) rather than losing it.
func (h *Hub) clusterAck(by *native, ref mailRef, seq uint64) {
	rcpt := by.user.Name
	if fl := h.l.follows[by]; fl != nil {
		defer h.drainMail(by, fl)
	}
	remove := func() {
		h.l.node.Remove(seq, func(err error) {
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
	h.l.node.Store(sender.key(), rec, msgID, func(_ uint64, err error) {
		if err != nil {
			h.l.log.Error().Err(err).Str("user", ref.from).Msg("cluster: receipt not stored; the DM stays for redelivery")
			return
		}
		remove()
	})
}
