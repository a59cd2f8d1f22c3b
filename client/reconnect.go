// Surviving a dropped connection: back off, reconnect to the same address, greet again, rejoin.
package client

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"padchat/internal/bundle"
	"padchat/poller"
	"padchat/wire"
)

// linkState is where the connection to the server stands.
type linkState uint8

const (
	linkUp         linkState = iota // a socket is connected (the session may still be starting)
	linkWait                        // no socket: waiting for retryAt
	linkConnecting                  // a non-blocking connect is under way
)

const (
	backoffFirst = 100 * time.Millisecond // the first retry comes after 100-250 ms
	backoffCap   = 4 * time.Second
)

// link is the reconnect state of the client.
type link struct {
	addr    netip.AddrPort // the address the first dial reached; reconnects go back to it
	state   linkState
	attempt int          // failed attempts since the last session came up
	retryAt time.Time    // linkWait: when to try again
	everUp  bool         // a session has been welcomed once: later drops reconnect
	rejoins int          // rejoins of this session not answered yet
	queued  []queuedLine // lines typed while disconnected, sent after the rejoin
}

// backoff is the wait before retry number attempt (0-based): 100-250 ms
// first, then doubling, capped at backoffCap, each with ±25% jitter so that
// many clients dropped by one restart do not come back in step.
func backoff(attempt int) time.Duration {
	if attempt == 0 {
		return backoffFirst + rand.N(150*time.Millisecond)
	}
	d := backoffCap
	if attempt < 6 {
		d = min(backoffFirst<<attempt, backoffCap)
	}
	return d*3/4 + rand.N(d/2)
}

// closeSocket takes the socket off the poller and closes it.
func (c *client) closeSocket() {
	if c.sock < 0 {
		return
	}
	_ = c.p.Remove(c.sock)
	unix.Close(c.sock)
	c.sock = -1
	c.writable = false
}

// beginSession starts the native session on a freshly connected socket.
func (c *client) beginSession() {
	randomNonce(&c.sess.Client)
	// The handle the last session left names us instead of the pad id
	// (docs/PROTOCOL.md §3); a refusal of it is retried once by pad id.
	c.sess.Label, c.byHandle = bundle.TakeHandle(c.cfg.Bundle)
	c.sess.Server = [len(c.sess.Server)]byte{}
	c.dec = newDecoder(c.dec.maxFrame)
	c.greeted, c.welcomed = false, false
	c.out = wire.AppendGreeting(c.out[:0], c.sess.Client)
}

// drop handles a connection that ended without a final reason: it forgets
// the session and schedules a reconnect.
func (c *client) drop(why string) {
	c.closeSocket()
	c.out = c.out[:0]
	c.pending = map[uint32]request{}
	c.lostUnconfirmed()
	if c.link.attempt == 0 {
		c.scr.println(c.r.notice("connection lost (%s); reconnecting…", why))
	}
	c.greeted, c.welcomed = false, false
	c.setPromptState()
	c.scheduleRetry()
}

func (c *client) scheduleRetry() {
	c.link.state = linkWait
	c.link.retryAt = time.Now().Add(backoff(c.link.attempt))
	c.link.attempt++
}

// retryDue is called every iteration; it starts a connect once the wait is over.
func (c *client) retryDue() {
	if c.link.state != linkWait || time.Now().Before(c.link.retryAt) || c.done {
		return
	}
	fd, err := newSocket(c.link.addr)
	if err != nil {
		c.fail(err)
		return
	}
	err = unix.Connect(fd, sockaddr(c.link.addr))
	switch {
	case err == nil:
		c.sock = fd
		c.connected(false)
	case errors.Is(err, unix.EINPROGRESS) || errors.Is(err, unix.EINTR):
		if err := c.p.Add(fd, poller.Writable, tagSocket); err != nil {
			unix.Close(fd)
			c.fail(err)
			return
		}
		c.sock, c.link.state = fd, linkConnecting
	default: // refused, unreachable: the server is not back yet
		unix.Close(fd)
		c.scheduleRetry()
	}
}

// connectDone finishes a non-blocking connect the poller reported.
func (c *client) connectDone() {
	soerr, err := unix.GetsockoptInt(c.sock, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		c.fail(os.NewSyscallError("getsockopt", err))
		return
	}
	if soerr != 0 {
		c.closeSocket()
		c.scheduleRetry()
		return
	}
	if err := c.p.Modify(c.sock, poller.Readable, tagSocket); err != nil {
		c.fail(err)
		return
	}
	c.connected(true)
}

// connected starts a session on c.sock; registered says the poller has it already.
func (c *client) connected(registered bool) {
	if !registered {
		if err := c.p.Add(c.sock, poller.Readable, tagSocket); err != nil {
			c.fail(err)
			return
		}
	}
	c.link.state = linkUp
	c.beginSession()
}

// rejoined runs when a reconnected session is welcomed: back into every room
// (the current one stays current), then the lines typed meanwhile. It says
// "reconnected" once every rejoin is answered (rejoinAnswered): from then on
// what others say in those rooms reaches this session, as a script that
// waits for the line expects.
func (c *client) rejoined() {
	c.link.attempt = 0
	c.link.rejoins = len(c.joined)
	if c.link.rejoins == 0 {
		c.scr.println(c.r.notice("reconnected"))
	}
	for _, room := range c.joined {
		c.request(&wire.Msg{Op: wire.OpJoin, Room: []byte(room)}, request{kind: cmdJoin, name: room, prev: c.room, rejoin: true})
	}
	c.setPromptState()
	c.reoffer()
	queued := c.link.queued
	c.link.queued = nil
	for _, l := range queued {
		c.input(l.text, l.verbatim)
	}
}

// rejoinAnswered counts a rejoin answered (joined or refused); the last one
// says the session is back.
func (c *client) rejoinAnswered() {
	if c.link.rejoins--; c.link.rejoins == 0 {
		c.scr.println(c.r.notice("reconnected"))
	}
}

// byeError words a final Bye.
func byeError(reason wire.ByeReason, text string) error {
	names := map[wire.ByeReason]string{
		wire.ByeReplaced: "replaced by another session", wire.ByeRemoved: "account removed",
		wire.ByeRenewed: "account renewed: this bundle is void", wire.ByeLocked: "account locked",
		wire.ByePadExhausted: "pad exhausted", wire.ByeProtocol: "protocol error",
	}
	why := names[reason]
	if why == "" {
		why = fmt.Sprintf("reason %d", reason)
	}
	if text != "" {
		why += ": " + text
	}
	return errors.New("server ended the session: " + why)
}

// setPromptState shows on a terminal's prompt that the client is offline.
func (c *client) setPromptState() { c.setRoom(c.room) }
