// Receiving files: offers, accept or reject, a partial file that resumes, sha256 before the real name.
package client

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"padchat/internal/bytesize"
	"padchat/wire"
)

// gotEvery is how many bytes the client writes between two OpFileGot: a
// quarter of the server's window, so the window never runs dry.
const gotEvery = 4 * wire.FileChunk

// incoming is a file offered to us.
type incoming struct {
	id            uint32
	from, room    string
	name          string // as the sender gave it, made printable: never used as a path as it is
	size          int64
	sum           [32]byte
	f             *os.File // the partial file, open once accepted
	part          string
	have, gotSent int64
	h             hash.Hash
	progress
}

// onFileOffered shows an offer, and takes it at once when it resumes one
// accepted before or fits under --auto-accept.
func (c *client) onFileOffered(m *wire.Msg) {
	if len(m.Text) <= 32 {
		return
	}
	if c.files.in == nil {
		c.files.in = map[uint32]*incoming{}
	}
	in := c.files.in[m.ID]
	if in == nil {
		in = &incoming{id: m.ID, from: clean(m.User), room: clean(m.Room), name: clean(m.Text[32:]), size: m.Time}
		copy(in.sum[:], m.Text[:32])
		c.files.in[m.ID] = in
	}
	if in.f != nil { // a reconnect: carry on where the partial file ends
		in.f.Close()
		in.f = nil
		c.acceptFile(in)
		return
	}
	where := ""
	if in.room != "" {
		where = " in " + in.room
	}
	c.scr.println(c.r.notice("file offer %d from %s%s: %s, %s, sha256 %s; uses %s of your %s receive pad", in.id, in.from, where,
		in.name, bytesize.Human(in.size), hex.EncodeToString(in.sum[:]), bytesize.Human(fileCost(in.size)), bytesize.Human(c.recv.Remaining())))
	_, err := os.Stat(c.partPath(in))
	switch {
	case !c.recvPadFor(in):
	case err == nil, in.size <= c.cfg.AutoAccept:
		c.acceptFile(in)
	default:
		c.scr.println(c.r.notice("/accept %d or /reject %d", in.id, in.id))
	}
}

// recvPadFor reports whether the receive pad can take in and keep the
// reserve; if not, it says so.
func (c *client) recvPadFor(in *incoming) bool {
	left := c.recv.Remaining() - fileCost(in.size-in.have)
	if left >= padReserve {
		return true
	}
	c.warn("file %d would leave %s of receive pad, under the %s reserve: /reject %d, or ask for a new bundle first", in.id, bytesize.Human(left), bytesize.Human(padReserve), in.id)
	return false
}

// partPath is where in is written until it verifies: a hidden name that
// says it is partial, fixed by the transfer id so a restart finds it.
func (c *client) partPath(in *incoming) string {
	return filepath.Join(c.cfg.Downloads, ".padchat-"+strconv.FormatUint(uint64(in.id), 10)+".part")
}

// acceptFile opens (or reopens) the partial file and asks for the rest.
func (c *client) acceptFile(in *incoming) {
	if err := os.MkdirAll(c.cfg.Downloads, 0o700); err != nil {
		c.warn("cannot receive %s: %v", in.name, err)
		return
	}
	in.part = c.partPath(in)
	f, err := os.OpenFile(in.part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		c.warn("cannot receive %s: %v", in.name, err)
		return
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		c.warn("cannot receive %s: %v", in.name, err)
		return
	}
	in.have = min(st.Size(), in.size)
	in.h = sha256.New()
	// Nothing past what counts may stay: the file must end where its last chunk does.
	err = f.Truncate(in.have)
	if err == nil {
		_, err = io.Copy(in.h, io.NewSectionReader(f, 0, in.have))
	}
	if err != nil {
		f.Close()
		c.warn("cannot receive %s: %v", in.name, err)
		return
	}
	in.f, in.gotSent = f, in.have
	in.start(in.size, in.have)
	if in.have > 0 {
		c.scr.println(c.r.notice("receiving %s, resuming at %s", in.name, bytesize.Human(in.have)))
	}
	c.send(&wire.Msg{Op: wire.OpFileAccept, ID: in.id, Time: in.have})
}

// answerOffer carries out /accept or /reject.
func (c *client) answerOffer(id uint32, accept bool) {
	in := c.files.in[id]
	if in == nil || in.f != nil {
		c.warn("no file offer %d waiting", id)
		return
	}
	if accept {
		if c.recvPadFor(in) {
			c.acceptFile(in)
		}
		return
	}
	c.send(&wire.Msg{Op: wire.OpFileReject, ID: id})
	delete(c.files.in, id)
	c.scr.println(c.r.notice("rejected %s from %s", in.name, in.from))
}

// onFileData writes one chunk; the last one is verified before the file
// gets its name.
func (c *client) onFileData(m *wire.Msg) {
	in := c.files.in[m.ID]
	if in == nil || in.f == nil || m.Time != in.have || in.have+int64(len(m.Text)) > in.size {
		return // not ours, or from before our accept
	}
	if _, err := in.f.WriteAt(m.Text, in.have); err != nil {
		c.warn("receiving %s: %v", in.name, err)
		c.dropIn(in, true)
		return
	}
	in.h.Write(m.Text)
	in.have += int64(len(m.Text))
	if in.have < in.size {
		if in.have-in.gotSent >= gotEvery {
			in.gotSent = in.have
			c.send(&wire.Msg{Op: wire.OpFileGot, ID: in.id, Time: in.have})
		}
		c.report(&in.progress, false, in.name, in.have)
		return
	}
	c.finishFile(in)
}

func (c *client) finishFile(in *incoming) {
	if got := in.h.Sum(nil); string(got) != string(in.sum[:]) {
		c.warn("%s from %s is damaged: sha256 %s, offered as %s; discarded", in.name, in.from, hex.EncodeToString(got), hex.EncodeToString(in.sum[:]))
		c.send(&wire.Msg{Op: wire.OpFileDone, ID: in.id, Flags: wire.FlagFileBad})
		c.dropIn(in, true)
		return
	}
	err := in.f.Sync()
	if cerr := in.f.Close(); err == nil {
		err = cerr
	}
	in.f = nil
	var final string
	if err == nil {
		final, err = placeFile(c.cfg.Downloads, in.part, safeName(in.name))
	}
	if err != nil {
		c.warn("receiving %s: %v", in.name, err)
		c.files.failed++
		delete(c.files.in, in.id)
		c.doneIfIdle()
		return
	}
	c.send(&wire.Msg{Op: wire.OpFileDone, ID: in.id})
	delete(c.files.in, in.id)
	c.scr.println(c.r.notice("received %s from %s: %s (%s, sha256 verified, %s)", in.name, in.from, final, bytesize.Human(in.size), in.rate(in.size)))
	c.doneIfIdle()
}

func (c *client) dropIn(in *incoming, failed bool) {
	if in.f != nil {
		in.f.Close()
		in.f = nil
	}
	if in.part != "" {
		os.Remove(in.part)
	}
	delete(c.files.in, in.id)
	if failed {
		c.files.failed++
	}
	c.doneIfIdle()
}

// safeName turns a sender's name into one plain file name: the last path
// element, no control characters, not hidden, never empty.
func safeName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = name[strings.LastIndexByte(name, '/')+1:]
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(name, ".")
	if name == "" {
		name = "file"
	}
	return name
}

// placeFile renames the verified partial file to name in dir, or to
// "name (1).ext", "name (2).ext"… so that nothing is overwritten. A hard
// link refuses to replace an existing file, unlike a rename.
func placeFile(dir, part, name string) (string, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 0; i < 10000; i++ {
		try := name
		if i > 0 {
			try = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		p := filepath.Join(dir, try)
		err := os.Link(part, p)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return p, os.Remove(part)
	}
	return "", fmt.Errorf("no free name for %s in %s", name, dir)
}
