// What the native file requests do: offer, upload, accept, relay at the reader's pace, receipts.
package server

import (
	"encoding/hex"

	"padchat/wire"
)

// command runs one file request of n.
func (fs *files) command(n *native, m *wire.Msg) {
	switch m.Op {
	case wire.OpFileOffer:
		fs.offer(n, m)
	case wire.OpFileChunk:
		fs.chunk(n, m)
	case wire.OpFileAccept, wire.OpFileReject, wire.OpFileGot, wire.OpFileDone:
		fs.answer(n, m)
	}
}

// offer registers a file (or finds the unfinished one this is a retry of)
// and replies with its id and how much of it the server already has.
func (fs *files) offer(n *native, m *wire.Msg) {
	h := fs.h
	if len(m.Text) <= 32 || len(m.Text) > 32+255 || !validText(m.Text[32:]) {
		n.replyErr(m.Seq, ErrBadRequest)
		return
	}
	size, name, sum := m.Time, string(m.Text[32:]), hex.EncodeToString(m.Text[:32])
	if size <= 0 {
		n.replyErr(m.Seq, errFileRefused("file refused: it is empty"))
		return
	}
	if size > h.cfg.FileMax {
		n.replyErr(m.Seq, errFileRefused("file refused: %s is over the server's limit of %s per file", FormatSize(size), FormatSize(h.cfg.FileMax)))
		return
	}
	// A retry (after a reconnect, a restart of either side) is the same
	// transfer, to the recipients it had, even if the room's members are not
	// all back yet.
	for _, t := range fs.byID {
		if t.From == n.name() && t.Sum == sum && t.Size == size && t.Name == name && t.Room == string(m.Room) &&
			(t.Room != "" || t.recipient(string(m.User)) != nil) && !t.settled() {
			n.deliver(&wire.Msg{Op: wire.OpOK, Seq: m.Seq, ID: t.ID, Time: t.acked()}, nil)
			return
		}
	}
	to, room, err := fs.recipients(n, m)
	if err != nil {
		n.replyErr(m.Seq, err)
		return
	}
	for _, u := range to {
		if used := fs.mailbox(u); used+size > h.cfg.FileMailbox {
			n.replyErr(m.Seq, errFileRefused("file refused: %s's file mailbox would hold %s, over the limit of %s", u, FormatSize(used+size), FormatSize(h.cfg.FileMailbox)))
			return
		}
	}
	t := &transfer{From: n.name(), Room: room, Name: name, Size: size, Sum: sum}
	for _, u := range to {
		t.To = append(t.To, &fileRecipient{Name: u})
	}
	if err := fs.create(t); err != nil {
		h.l.log.Error().Err(err).Msg("cannot create a file transfer")
		n.replyErr(m.Seq, errFileRefused("file refused: the server cannot store it now"))
		return
	}
	h.l.log.Info().Uint32("transfer", t.ID).Str("from", t.From).Strs("to", to).Int64("size", size).Msg("file offered")
	n.deliver(&wire.Msg{Op: wire.OpOK, Seq: m.Seq, ID: t.ID}, nil)
	for _, r := range t.To {
		if s := fs.session(r.Name); s != nil {
			fs.offerTo(s, t)
		}
	}
}

// recipients are the user named by an offer, or the other encrypted members
// of its room (n must be one of them) as they are now.
func (fs *files) recipients(n *native, m *wire.Msg) (to []string, room string, err error) {
	h := fs.h
	if len(m.Room) == 0 {
		if h.acct.user(string(m.User)) == nil {
			return nil, "", ErrNoSuchUser
		}
		return []string{string(m.User)}, "", nil
	}
	r := h.rooms[string(m.Room)]
	if r == nil {
		return nil, "", ErrNoSuchRoom
	}
	if !r.has(n) {
		return nil, "", ErrNotInRoom
	}
	for _, mb := range r.members {
		if mb != member(n) && !mb.plain() {
			to = append(to, mb.name())
		}
	}
	if len(to) == 0 {
		return nil, "", errFileRefused("file refused: no one else in %s can receive it", r.name)
	}
	return to, r.name, nil
}

// chunk stores one chunk of n's upload. Anything but the next expected
// offset is dropped and answered with the offset the server does expect,
// so a sender that resumes or repeats itself converges without an error.
func (fs *files) chunk(n *native, m *wire.Msg) {
	t := fs.byID[m.ID]
	if t == nil || t.From != n.name() {
		return // ended (FileFailed said why) while these chunks were on their way
	}
	if t.syncing {
		return // acknowledged when the fsync is done
	}
	if t.Complete || m.Time != t.have || len(m.Text) == 0 || len(m.Text) > wire.FileChunk || t.have+int64(len(m.Text)) > t.Size {
		fs.ackTo(n, t)
		return
	}
	if err := t.write(m.Text); err != nil {
		fs.h.l.log.Error().Err(err).Uint32("transfer", t.ID).Msg("cannot write a file chunk")
		fs.fail(t, "the server could not store the file: "+err.Error())
		return
	}
	fs.padUsed(t.From, len(m.Text), &t.padBytes)
	if t.have < t.Size {
		fs.ackTo(n, t)
		fs.pumpAll(t)
		return
	}
	fs.finish(t)
}

// finish checks a fully uploaded file against its sha256 and makes it
// durable; the sender hears the last offset only after that (drain).
func (fs *files) finish(t *transfer) {
	if !t.verified() {
		fs.h.l.log.Warn().Uint32("transfer", t.ID).Str("from", t.From).Msg("file upload does not match its sha256")
		fs.fail(t, "the file's bytes do not match its sha256; nothing was delivered")
		return
	}
	fs.syncOff(t)
}

// answer handles what a recipient says about a transfer offered to it.
func (fs *files) answer(n *native, m *wire.Msg) {
	t := fs.byID[m.ID]
	var r *fileRecipient
	if t != nil {
		r = t.recipient(n.name())
	}
	if r == nil || r.Outcome != "" {
		if m.Op == wire.OpFileAccept {
			n.replyErr(m.Seq, errNoTransfer)
		}
		return
	}
	switch m.Op {
	case wire.OpFileAccept:
		r.accepted = true
		r.sent = min(max(m.Time, 0), t.Size)
		r.got = r.sent
		fs.pump(t, r, n)
	case wire.OpFileGot:
		r.got = max(r.got, min(m.Time, r.sent))
		fs.pump(t, r, n)
	case wire.OpFileReject:
		fs.settle(t, r, fileRejected)
	case wire.OpFileDone:
		outcome := fileReceived
		if m.Flags&wire.FlagFileBad != 0 {
			outcome = fileBad
		}
		fs.settle(t, r, outcome)
	}
}

// settle records a recipient's outcome and tells the sender (now, or when
// it next connects); a transfer every recipient has settled is deleted once
// its sender has heard.
func (fs *files) settle(t *transfer, r *fileRecipient, outcome string) {
	r.Outcome, r.accepted = outcome, false
	fs.h.l.log.Info().Uint32("transfer", t.ID).Str("to", r.Name).Str("outcome", outcome).Msg("file transfer settled")
	if s := fs.session(t.From); s != nil {
		fs.receipt(s, t, fileReceipt{User: r.Name, Outcome: outcome})
	} else {
		t.Receipts = append(t.Receipts, fileReceipt{User: r.Name, Outcome: outcome})
	}
	fs.tidy(t)
}

// tidy deletes a settled transfer with no receipts left to give, or saves
// the outcomes of one that lives on.
func (fs *files) tidy(t *transfer) {
	if fs.byID[t.ID] != t {
		return // removed meanwhile: a session lookup can evict an account (forget)
	}
	if t.settled() && len(t.Receipts) == 0 {
		switch {
		case t.syncing: // drain acknowledges the upload first, then comes back here
		case !t.Complete: // everyone rejected it while it was still uploading
			fs.fail(t, "every recipient has answered before the upload ended; it stops here")
		default:
			fs.remove(t)
		}
		return
	}
	if err := t.save(); err != nil {
		fs.h.l.log.Error().Err(err).Uint32("transfer", t.ID).Msg("cannot save a file transfer's outcomes")
	}
}

func (fs *files) receipt(s *native, t *transfer, rc fileReceipt) {
	m := wire.Msg{Op: wire.OpFileReceipt, ID: t.ID, User: []byte(rc.User), Text: []byte(rc.Outcome)}
	if rc.Outcome == fileBad {
		m.Flags = wire.FlagFileBad
	}
	s.send(&m)
}

// fail ends a transfer without its file: everyone involved is told why.
func (fs *files) fail(t *transfer, why string) {
	m := wire.Msg{Op: wire.OpFileFailed, ID: t.ID, Text: []byte(why)}
	if s := fs.session(t.From); s != nil {
		s.send(&m)
	}
	for _, r := range t.To {
		if s := fs.session(r.Name); s != nil && r.Outcome == "" {
			s.send(&m)
		}
	}
	fs.remove(t)
}

// forget drops what a removed account had in the spool: its own files
// fail, and its outcome as a recipient is "account removed". A new account
// of the same name inherits nothing.
func (fs *files) forget(name string) {
	for _, t := range fs.byID {
		if t.From == name {
			fs.fail(t, "the sender's account was removed")
			continue
		}
		if r := t.recipient(name); r != nil && r.Outcome == "" {
			fs.settle(t, r, "account removed")
		}
	}
}
