// Mail on one machine: mailboxes in the store's mail log, written with the loop's batch.
package server

import "padchat/wire"

// localMail keys each record by its mailbox's sequence; a session's cursor
// is native.mailNext, the key of the last record pushed to it.
type localMail struct {
	h     *Hub
	boxes mailStore
}

func (m *localMail) put(from string, to *User, text []byte, done func(id uint32, err error)) {
	h := m.h
	id := h.store.nextDMID(from)
	m.boxes.put(to.key(), encodeMail(from, id, h.l.now, text))
	h.store.after(func(err error) {
		if err != nil {
			done(0, ErrUnavailable)
			return
		}
		done(id, nil)
		h.pumpUser(to)
	})
}

// pump pushes what was committed after s's cursor while s has room for it;
// an ack or the next put pumps again.
func (m *localMail) pump(s *native) {
	h := m.h
	if s.c.dying || len(s.some().inflight) >= maxInflight {
		return
	}
	m.boxes.scan(s.user.key(), s.some().mailNext+1, func(key uint64, rec []byte) bool {
		if !h.mailRoom(s) {
			return false
		}
		s.more().mailNext = key
		h.deliverMail(s, key, rec, false)
		return true
	})
}

// ack deletes the record and, in the same transaction, stores the receipt
// for a sender who is offline; one who is online hears it once the deletion
// is durable.
func (m *localMail) ack(by *native, ref mailRef, key uint64) {
	h := m.h
	u := by.user // by may close before the commit: onClose clears by.user
	rcpt := u.Name
	sender := h.acct.user(ref.from)
	// Receipts are not acknowledged with receipts; a receipt for a sender
	// who has gone (removed) has nowhere to wait.
	keep := !ref.receipt && sender != nil && sender.session == nil
	m.boxes.delete(u.key(), key)
	if keep {
		m.boxes.put(sender.key(), appendMail(nil, mailReceipt, rcpt, ref.id, h.l.now, nil))
	}
	h.store.after(func(err error) {
		if err != nil {
			return
		}
		switch {
		case keep:
			h.pumpUser(sender) // back in the meantime
		case !ref.receipt && sender != nil && sender.session != nil:
			sender.session.deliver(&wire.Msg{Op: wire.OpDelivered, User: []byte(rcpt), ID: ref.id, Time: h.l.now}, nil)
		}
		if u.session == by {
			h.pump(by)
		}
	})
}

func (m *localMail) ended(*native) {}
