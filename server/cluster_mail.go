// Cluster mode's direct messages: mailboxes in a JetStream stream (cluster/mail.go).
package server

import (
	"strconv"

	"padchat/wire"
)

// follow is a session's subscription to its mailbox in the stream.
type follow struct {
	stop func()
	last uint64 // stream sequence of the last record delivered
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

// clusterPump makes sure s follows its mailbox: every record in it reaches s,
// wherever it was stored.
func (h *Hub) clusterPump(s *native) {
	if h.l.follows[s] != nil || s.user == nil || s.c.dying {
		return
	}
	fl := &follow{}
	h.l.follows[s] = fl
	fl.stop = h.l.node.Follow(s.user.key(), func(seq uint64, rec []byte) {
		if h.l.follows[s] != fl || seq <= fl.last {
			return // the session ended, or a record delivered already
		}
		fl.last = seq
		var msg wire.Msg
		if !decodeMail(rec, &msg) {
			h.l.log.Error().Str("user", s.user.Name).Uint64("seq", seq).Msg("corrupt mail record skipped")
			return
		}
		if msg.Op == wire.OpDirect {
			msg.ID = mailID(seq)
		}
		if s.inflight == nil {
			s.inflight = map[mailRef]uint64{}
		}
		s.inflight[mailRef{string(msg.User), msg.ID, msg.Op == wire.OpDelivered}] = seq
		s.deliver(&msg, h.encode(&msg))
	})
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

// clusterAck removes an acknowledged record from the stream; for a DM, the
// receipt goes to the sender's mailbox first, so a crash between the two
// repeats the receipt (de-duplicated by its message id) rather than losing it.
func (h *Hub) clusterAck(rcpt string, ref mailRef, seq uint64) {
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
