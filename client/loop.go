// The client's event loop: wait on stdin and the socket, read, dispatch, flush before sleeping.
package client

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"padchat/otp"
	"padchat/poller"
)

// outHigh is how much sealed output may wait for the kernel before the client
// stops reading stdin, so a long script cannot grow memory without bound.
const outHigh = 256 << 10

// client is one session's state; everything but interrupted belongs to the
// loop goroutine.
type client struct {
	cfg    Config
	user   string
	p      poller.Poller
	sock   int
	events []poller.Event

	sendPad, recvPad *otp.Pad
	sender           *otp.Sender
	recv             *otp.Receiver
	sess             otp.Session
	dec              *decoder
	seq              uint32
	pending          map[uint32]request // requests whose replies need their context
	seen             *seenDMs

	link                   link
	dlv                    delivery
	files                  files // transfers both ways (files.go, files_recv.go)
	errOut                 io.Writer
	sigFd                  int               // read end of the signal self-pipe; -1 without a terminal
	nicks                  map[string]bool   // users seen this session, for completion
	knownRooms             map[string]bool   // rooms seen in a List reply, for completion
	query                  string            // /query: plain lines go to this user as DMs
	unread                 map[string]int    // terminal: messages per room since it was current
	lastID                 map[string]uint32 // per room, the newest message id shown
	confirm                *pendingLine      // a long message waiting for y/n
	inputOn                bool              // stdin is being used (raw mode on a TTY) since the first welcome
	greeted, welcomed      bool
	byHandle               bool            // this session named us by a handle, not the pad id
	room                   string          // where plain lines go; "" when in none
	joined                 []string        // rooms joined, oldest first
	plainSeen              map[string]bool // rooms already flagged as plain text
	warnedSend, warnedRecv bool

	out      []byte // sealed output the kernel has not taken yet
	writable bool   // registered for Writable: the kernel buffer was full
	plain    []byte // scratch: one encoded message
	opened   []byte // scratch: one decrypted frame
	readBuf  []byte

	stdin
	r   renderer
	scr screen
	tty *ttyScreen // nil unless stdin and stdout are a terminal
	ed  editor

	interrupted  atomic.Bool // set by the watch goroutine
	quitting     bool        // OpQuit sent; waiting for the server to close
	quitDeadline time.Time
	done         bool
	err          error
}

// run is the loop proper; Run has connected the socket.
func (c *client) run() error {
	c.connected(false) // dial connected it and took it off the poller
	for !c.done {
		if c.interrupted.Load() {
			c.quit()
			if c.done {
				break
			}
		}
		c.beforeSleep()
		if c.done {
			break
		}
		n, err := c.p.Wait(c.events, c.timeout())
		if err != nil {
			return err
		}
		for _, ev := range c.events[:n] {
			if c.done {
				break
			}
			switch ev.Tag {
			case tagSocket:
				if c.link.state == linkConnecting {
					c.connectDone()
					continue
				}
				if ev.Mask&poller.Writable != 0 && len(c.out) > 0 {
					c.flushSocket()
				}
				if ev.Mask&poller.Readable != 0 && !c.done {
					c.readSocket()
				}
			case tagStdin:
				c.readStdin()
			case tagSignal:
				c.readSignals()
			}
		}
		if c.alwaysReadable() && !c.done {
			c.readStdin()
		}
		c.retryDue()
		if c.quitting && !time.Now().Before(c.quitDeadline) {
			c.done = true
		}
	}
	c.finish()
	return c.err
}

// beforeSleep flushes what this iteration produced: socket output (after the
// pad reservation it depends on), then the screen; and it decides whether
// stdin is worth reading.
func (c *client) beforeSleep() {
	c.askConfirm()
	c.pumpFiles()
	c.flushSocket()
	// A terminal keeps taking keys while disconnected (lines are queued); a
	// script's lines wait in the pipe until the session is back.
	up := c.welcomed || (c.tty != nil && c.inputOn)
	c.updateStdin(up && c.inputOn && !c.quitting && !c.done && len(c.out) < outHigh)
	c.scr.flush()
}

func (c *client) timeout() time.Duration {
	switch {
	case c.alwaysReadable():
		return 0
	case c.quitting:
		return max(time.Until(c.quitDeadline), 0)
	case c.link.state == linkWait:
		return max(time.Until(c.link.retryAt), 0)
	}
	return -1
}

// finish makes a last non-blocking attempt to hand queued frames (an OpQuit,
// say) to the kernel and clears the prompt row.
func (c *client) finish() {
	c.flushSocket()
	if c.tty != nil {
		c.tty.hide()
	}
	c.lostUnconfirmed()
	c.scr.flush()
	if c.err == nil && c.tty == nil && (c.dlv.lost > 0 || len(c.link.queued) > 0) {
		c.err = fmt.Errorf("%d of %d lines not delivered", c.dlv.lost+len(c.link.queued), c.dlv.lost+len(c.link.queued)+c.dlv.delivered)
	}
	if n := c.files.failed + c.files.unfinished(); c.err == nil && n > 0 && c.tty == nil {
		c.err = fmt.Errorf("%d file transfers failed or unfinished", n)
	}
}

// fail ends the session with err (the first reason wins).
func (c *client) fail(err error) {
	if c.err == nil {
		c.err = err
	}
	c.done = true
}

func (c *client) readSocket() {
	n, err := unix.Read(c.sock, c.readBuf)
	switch {
	case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
		return
	case err != nil:
		c.connLost(err)
		return
	case n == 0:
		c.connLost(nil)
		return
	}
	p := c.readBuf[:n]
	for len(p) > 0 && !c.done {
		used, it, err := c.dec.feed(p)
		p = p[used:]
		if err != nil {
			c.fail(fmt.Errorf("bad data from server: %w", err))
			return
		}
		c.onItem(it)
	}
}

// connLost handles the end of the connection: expected after /quit or a Bye,
// an error otherwise.
func (c *client) connLost(err error) {
	switch {
	case c.quitting:
		c.done = true
	case c.link.everUp && err != nil:
		c.drop(err.Error())
	case c.link.everUp:
		c.drop("server closed the connection")
	case !c.greeted:
		c.fail(errors.New("server closed the connection before its greeting (is it a padchat server?)"))
	case err != nil:
		c.fail(fmt.Errorf("connection to server lost: %w", err))
	default:
		c.fail(errors.New("server closed the connection"))
	}
}

// flushSocket writes queued output until done or the kernel buffer is full;
// only then does it ask the poller for Writable.
func (c *client) flushSocket() {
	if len(c.out) == 0 || c.sock < 0 || c.link.state != linkUp {
		return
	}
	// The durable no-reuse mark must cover every frame before it leaves.
	if c.sender.Pending() {
		if err := c.sender.Reserve(); err != nil {
			c.out = c.out[:0]
			c.fail(fmt.Errorf("reserving send pad: %w", err))
			return
		}
	}
	for len(c.out) > 0 {
		n, err := unix.Write(c.sock, c.out)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if errors.Is(err, unix.EAGAIN) {
			break
		}
		if err != nil {
			c.out = c.out[:0]
			c.connLost(err)
			return
		}
		c.out = c.out[:copy(c.out, c.out[n:])]
	}
	if want := len(c.out) > 0; want != c.writable && !c.done {
		mask := poller.Readable
		if want {
			mask |= poller.Writable
		}
		if err := c.p.Modify(c.sock, mask, tagSocket); err != nil {
			c.fail(err)
			return
		}
		c.writable = want
	}
}
