// Sending files: the pad cost shown first, chunks sealed like any frame, resumed from the server's offset.
package client

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"padchat/internal/bytesize"
	"padchat/wire"
)

// fileWindow bounds the file bytes sent and not yet acknowledged by the
// server, so the kernel, not the client's memory, holds a slow link's backlog.
const fileWindow = 16 * wire.FileChunk

// padReserve is send or receive pad a file must leave untouched: room to
// chat, and to ask for a new bundle, after the file.
const padReserve = 1 << 20

// outgoing is a file being sent.
type outgoing struct {
	path, name, to string // to: a user, or #room
	f              *os.File
	size           int64
	sum            [32]byte
	id             uint32 // 0 until the server took the offer
	sent, acked    int64
	uploaded       bool // the server holds all of it, durably
	asking         bool // the offer is on its way: its reply says where to go on
	progress
}

// files is the client's transfers, both ways.
type files struct {
	out      []*outgoing
	offers   map[uint32]*outgoing // by the offer's seq, until its reply
	in       map[uint32]*incoming
	chunk    []byte
	failed   int
	waitQuit bool // EOF came on a script's stdin: quit when the transfers are over
}

// fileCost is the pad a file of size bytes spends on one side: every chunk
// is a frame (32 bytes of MAC key) holding one message header and the chunk.
func fileCost(size int64) int64 {
	chunks := (size + wire.FileChunk - 1) / wire.FileChunk
	return size + chunks*(32+wire.HeaderSize)
}

// sendFile starts /send: it hashes the file, shows what it will cost and
// offers it, or refuses when the pad would run too low.
func (c *client) sendFile(to, path string) {
	f, err := os.Open(path)
	if err != nil {
		c.warn("cannot send %s: %v", path, err)
		return
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file")
	}
	if err == nil && st.Size() == 0 {
		err = fmt.Errorf("the file is empty")
	}
	o := &outgoing{path: path, name: filepath.Base(path), to: to, f: f}
	if err == nil {
		o.size = st.Size()
		h := sha256.New()
		_, err = io.Copy(h, f)
		h.Sum(o.sum[:0])
	}
	if err != nil {
		f.Close()
		c.warn("cannot send %s: %v", path, err)
		c.files.failed++
		return
	}
	cost, left := fileCost(o.size), c.sender.Remaining()
	c.scr.println(c.r.notice("file %s: %s, sha256 %s; uses %s of your %s send pad", o.name, bytesize.Human(o.size),
		hex.EncodeToString(o.sum[:]), bytesize.Human(cost), bytesize.Human(left)))
	if left-cost < padReserve {
		f.Close()
		c.warn("not sent: %s would leave %s of send pad, under the %s reserve; ask the operator for a new bundle", o.name, bytesize.Human(left-cost), bytesize.Human(padReserve))
		c.files.failed++
		return
	}
	c.files.out = append(c.files.out, o)
	c.offer(o)
}

// offer sends (or, after a reconnect, repeats) o's offer; the reply says
// how much of it the server already has.
func (c *client) offer(o *outgoing) {
	m := wire.Msg{Op: wire.OpFileOffer, Time: o.size, Text: append(o.sum[:], o.name...)}
	if room, ok := strings.CutPrefix(o.to, "#"); ok {
		m.Room = []byte(room)
	} else {
		m.User = []byte(o.to)
	}
	if seq, ok := c.send(&m); ok {
		o.asking = true
		if c.files.offers == nil {
			c.files.offers = map[uint32]*outgoing{}
		}
		c.files.offers[seq] = o
	}
}

// offerAnswered handles the reply to an offer; false: seq was no offer.
func (c *client) offerAnswered(m *wire.Msg) bool {
	o := c.files.offers[m.Seq]
	if o == nil {
		return false
	}
	delete(c.files.offers, m.Seq)
	o.asking = false
	if m.Op == wire.OpError {
		c.warn("%s not sent: %s", o.name, clean(m.Text))
		c.dropOut(o, true)
		return true
	}
	resumed := o.id != 0 || m.Time > 0
	o.id, o.sent, o.acked = m.ID, m.Time, m.Time
	o.start(o.size, m.Time)
	if o.acked == o.size { // the server had all of it already
		c.uploaded(o)
		return true
	}
	if resumed {
		c.scr.println(c.r.notice("sending %s to %s (id %d), resuming at %s", o.name, o.to, o.id, bytesize.Human(m.Time)))
	} else {
		c.scr.println(c.r.notice("sending %s to %s (id %d)", o.name, o.to, o.id))
	}
	c.pumpOut(o)
	return true
}

// pumpOut sends o's next chunks while the window is open.
func (c *client) pumpOut(o *outgoing) {
	if c.files.chunk == nil {
		c.files.chunk = make([]byte, wire.FileChunk)
	}
	for o.id != 0 && !o.asking && c.welcomed && o.sent < o.size && o.sent-o.acked < fileWindow && !c.done {
		n, err := o.f.ReadAt(c.files.chunk[:min(int64(wire.FileChunk), o.size-o.sent)], o.sent)
		if err != nil && n == 0 {
			c.warn("sending %s: %v", o.name, err)
			c.dropOut(o, true)
			return
		}
		if _, ok := c.send(&wire.Msg{Op: wire.OpFileChunk, ID: o.id, Time: o.sent, Text: c.files.chunk[:n]}); !ok {
			return
		}
		o.sent += int64(n)
	}
}

// fileAcked moves o's window on; the server holding all of it ends the upload.
func (c *client) fileAcked(m *wire.Msg) {
	o := c.outByID(m.ID)
	if o == nil || m.Time < o.acked {
		return
	}
	o.acked = m.Time
	if o.acked == o.size {
		c.uploaded(o)
		return
	}
	c.report(&o.progress, true, o.name, o.acked)
	c.pumpOut(o)
}

// uploaded: the server holds all of o, durably; what is left is receipts.
func (c *client) uploaded(o *outgoing) {
	o.uploaded = true
	c.scr.println(c.r.notice("%s uploaded (%s at %s); the server keeps it for %s", o.name, bytesize.Human(o.size), o.rate(o.size), o.to))
	o.f.Close()
	c.doneIfIdle()
}

func (c *client) fileReceipt(m *wire.Msg) {
	name := fmt.Sprintf("file %d", m.ID)
	o := c.outByID(m.ID)
	if o != nil {
		name = o.name
	}
	bad := m.Flags&wire.FlagFileBad != 0
	if bad {
		c.warn("%s reports %s arrived damaged (sha256 mismatch) and was discarded", clean(m.User), name)
	} else {
		c.scr.println(c.r.notice("%s %s %s", clean(m.User), clean(m.Text), name))
	}
	if o != nil && !strings.HasPrefix(o.to, "#") {
		c.dropOut(o, bad) // a user's receipt is the last word on it
	}
}

// fileFailed: the server gave up on a transfer; either direction.
func (c *client) fileFailed(m *wire.Msg) {
	if o := c.outByID(m.ID); o != nil {
		c.warn("sending %s failed: %s", o.name, clean(m.Text))
		c.dropOut(o, true)
	}
	if in := c.files.in[m.ID]; in != nil {
		c.warn("receiving %s failed: %s", in.name, clean(m.Text))
		c.dropIn(in, in.part != "") // an offer never accepted failed no download of ours
	}
}

func (c *client) outByID(id uint32) *outgoing {
	for _, o := range c.files.out {
		if o.id == id {
			return o
		}
	}
	return nil
}

func (c *client) dropOut(o *outgoing, failed bool) {
	o.f.Close()
	c.files.out = removeOut(c.files.out, o)
	if failed {
		c.files.failed++
	}
	c.doneIfIdle()
}

func removeOut(list []*outgoing, o *outgoing) []*outgoing {
	out := list[:0]
	for _, x := range list {
		if x != o {
			out = append(out, x)
		}
	}
	return out
}

// reoffer repeats the unfinished offers after a reconnect: the server
// answers with how much it has, and sending resumes there.
func (c *client) reoffer() {
	for _, o := range c.files.out {
		if !o.uploaded {
			c.offer(o)
		}
	}
}

// pumpFiles runs before the loop sleeps: windows that opened while the
// socket was busy are filled.
func (c *client) pumpFiles() {
	if len(c.out) >= outHigh {
		return
	}
	for _, o := range c.files.out {
		c.pumpOut(o)
	}
}
