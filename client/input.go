// Reading stdin: polled when the kernel can, always readable when it cannot (files, /dev/null).
package client

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"padchat/poller"
)

// maxLineBytes bounds one input line in plain mode; longer lines are dropped
// with an error rather than sent in pieces.
const maxLineBytes = 64 << 10

// stdin is the input side of the client.
type stdin struct {
	stdinFd    int  // -1 when stdin is not an *os.File
	notPolled  bool // the poller refused it: treated as always readable (STYLE 11)
	reading    bool // wanted: registered with the poller, or read every iteration
	stdinEOF   bool
	partial    []byte // plain mode: the start of a line not yet ended
	discarding bool   // plain mode: inside an overlong line
	chunk      [4096]byte
	rawState   *term.State // the terminal's mode before raw, to restore
}

// startInput begins reading stdin once the session is up; on a terminal that
// is also when raw mode starts, so ctrl-C still interrupts a slow connect.
func (c *client) startInput() error {
	if c.tty != nil {
		st, err := term.MakeRaw(c.stdinFd)
		if err != nil {
			return err
		}
		c.rawState = st
		c.tty.active = true
		c.tty.w.WriteString(pasteOn)
		c.setRoom(c.room)
	}
	return nil
}

func (c *client) restoreTerminal() {
	if c.rawState != nil {
		_ = term.Restore(c.stdinFd, c.rawState)
		c.rawState = nil
	}
}

func (c *client) alwaysReadable() bool { return c.reading && (c.notPolled || c.stdinFd < 0) }

// updateStdin starts or stops reading stdin. A pollable stdin is removed from
// the poller while not wanted: a pipe's hang-up would otherwise wake every Wait.
func (c *client) updateStdin(want bool) {
	want = want && !c.stdinEOF
	if want == c.reading {
		return
	}
	c.reading = want
	if c.stdinFd < 0 || c.notPolled {
		return
	}
	var err error
	if want {
		err = c.p.Add(c.stdinFd, poller.Readable, tagStdin)
		if errors.Is(err, poller.ErrNotPollable) {
			c.notPolled, err = true, nil
		}
	} else {
		err = c.p.Remove(c.stdinFd)
	}
	if err != nil {
		c.fail(err)
	}
}

// readStdin makes one read: the poller said it would not block, or stdin is
// a file or an in-memory reader that never blocks.
func (c *client) readStdin() {
	if !c.reading {
		return // an event from before the last updateStdin
	}
	var n int
	var err error
	if c.stdinFd >= 0 {
		n, err = unix.Read(c.stdinFd, c.chunk[:])
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			return
		}
		if err == nil && n == 0 {
			err = io.EOF
		}
	} else {
		n, err = c.cfg.Stdin.Read(c.chunk[:])
	}
	if n > 0 {
		if c.tty != nil {
			c.onKeys(c.chunk[:n])
		} else {
			c.onText(c.chunk[:n])
		}
	}
	// Any read error (EIO from a terminal that went away) ends input like EOF.
	if err != nil && !c.done {
		c.stdinEOF = true
		c.updateStdin(false)
		if len(c.partial) > 0 && !c.discarding {
			c.input(string(c.partial), false)
		}
		c.partial = c.partial[:0]
		if c.busy() { // a script's transfers finish first (doneIfIdle quits)
			c.files.waitQuit = true
			return
		}
		c.quit()
	}
}

// onText splits piped input into lines (a trailing \r is dropped, for CRLF scripts).
func (c *client) onText(p []byte) {
	for len(p) > 0 && !c.quitting && !c.done {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if !c.discarding {
				c.partial = append(c.partial, p...)
			}
			if len(c.partial) > maxLineBytes {
				c.warn("line too long (over %d bytes), not sent", maxLineBytes)
				c.partial, c.discarding = c.partial[:0], true
			}
			return
		}
		line := append(c.partial, p[:i]...)
		p = p[i+1:]
		c.partial = line[:0]
		if c.discarding {
			c.discarding = false
			continue
		}
		c.input(string(bytes.TrimSuffix(line, []byte{'\r'})), false)
	}
}

// onKeys feeds the line editor of TTY mode.
func (c *client) onKeys(p []byte) {
	for _, b := range p {
		if c.quitting || c.done {
			return
		}
		if c.confirm != nil {
			c.confirmKey(b)
			continue
		}
		switch act, line := c.ed.key(b); act {
		case keyEdit:
			c.tty.edited()
		case keySubmit:
			c.tty.edited()
			if c.ed.hist != nil {
				if err := c.ed.hist.add(line); err != nil {
					c.warn("warning: %v", err)
				}
			}
			c.submit(line, c.ed.submitted)
		case keyRedraw:
			c.tty.w.WriteString("\x1b[H\x1b[2J") // clear the screen; the prompt follows
			c.tty.drawn = false
			c.tty.edited()
		case keyComplete:
			c.complete()
		case keySuspend:
			c.suspend()
		case keyQuit:
			c.quit()
		}
	}
}

// pasteConfirmLines: a message of more lines than this asks before it goes.
const pasteConfirmLines = 5

// pending is a long message waiting for its one-key confirmation.
type pendingLine struct {
	line   string
	pasted bool
}

// submit checks a line from the editor before it goes: an over-long one is
// refused and kept for editing, a long multi-line one asks first.
func (c *client) submit(line string, pasted bool) {
	if n := len(line); n > maxMessageBytes {
		c.warn("message too long: %d bytes, the limit is %d; not sent (still in the input line)", n, maxMessageBytes)
		c.ed.restore(line, pasted)
		return
	}
	if n := strings.Count(line, "\n") + 1; n > pasteConfirmLines {
		c.confirm = &pendingLine{line, pasted}
		c.scr.println(c.r.notice("send these %d lines as one message? y: send, any other key: keep editing", n))
		return
	}
	c.input(line, pasted)
}

func (c *client) confirmKey(b byte) {
	p := c.confirm
	c.confirm = nil
	if b == 'y' || b == 'Y' {
		c.input(p.line, p.pasted)
		return
	}
	c.scr.println(c.r.notice("not sent"))
	c.ed.restore(p.line, p.pasted)
	c.tty.edited()
	if b == 0x1b {
		c.ed.esc = escStart // the key was an escape sequence: let the editor eat the rest
	}
}
