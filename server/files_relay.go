// Relaying files: offers to recipients as they come online, chunks at each reader's pace, acks to the sender.
package server

import (
	"encoding/hex"

	"padchat/wire"
)

// online runs when a user's session starts: its pending offers, and the
// receipts of its own files that waited for it.
func (fs *files) online(n *native) {
	name := n.name()
	for _, t := range fs.byID {
		if r := t.recipient(name); r != nil && r.Outcome == "" {
			r.accepted, r.sent, r.got = false, 0, 0
			fs.offerTo(n, t)
		}
		if t.From == name && len(t.Receipts) > 0 {
			for _, rc := range t.Receipts {
				fs.receipt(n, t, rc)
			}
			t.Receipts = nil
			fs.tidy(t)
		}
	}
}

func (fs *files) offerTo(s *native, t *transfer) {
	sum, _ := hex.DecodeString(t.Sum)
	s.deliver(&wire.Msg{Op: wire.OpFileOffered, ID: t.ID, User: []byte(t.From), Room: []byte(t.Room),
		Time: t.Size, Text: append(sum, t.Name...)}, nil)
}

// acked tells an online sender how much of its file the server holds.
func (fs *files) acked(t *transfer) {
	if s := fs.session(t.From); s != nil {
		fs.ackTo(s, t)
	}
}

func (fs *files) ackTo(n *native, t *transfer) {
	n.deliver(&wire.Msg{Op: wire.OpFileAcked, ID: t.ID, Time: t.acked()}, nil)
}

// acked is how much of the file the server may promise to keep: all of it
// only once the finished upload is fsynced, so the last byte waits for that.
func (t *transfer) acked() int64 {
	if !t.Complete && t.have == t.Size {
		return t.Size - 1
	}
	return t.have
}

func (fs *files) pumpAll(t *transfer) {
	for _, r := range t.To {
		if s := fs.session(r.Name); s != nil {
			fs.pump(t, r, s)
		}
	}
}

// pump sends r the chunks it may have: as far as the server has the file,
// and no more than fileWindow ahead of what r has written.
func (fs *files) pump(t *transfer, r *fileRecipient, s *native) {
	for r.accepted && r.Outcome == "" && r.sent < t.have && r.sent-r.got < fileWindow && !s.c.dying {
		k := min(int64(wire.FileChunk), t.have-r.sent)
		b := fs.buf[:k]
		if _, err := t.f.ReadAt(b, r.sent); err != nil {
			fs.h.l.log.Error().Err(err).Uint32("transfer", t.ID).Msg("cannot read a file chunk")
			fs.fail(t, "the server could not read the file: "+err.Error())
			return
		}
		s.deliver(&wire.Msg{Op: wire.OpFileData, ID: t.ID, Time: r.sent, Text: b}, nil)
		r.sent += k
		fs.padUsed(r.Name, int(k), &r.padBytes)
	}
}

// session is user's native session, or nil when offline.
func (fs *files) session(user string) *native {
	if u := fs.h.acct.user(user); u != nil {
		return u.session
	}
	return nil
}
