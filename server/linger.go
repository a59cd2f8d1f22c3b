// Lingering: the last words of a connection the daemon closes while its peer is behind.
package server

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"padchat/poller"
)

// A connection the daemon closes (a session replaced, removed, renewed,
// locked or idle; a protocol fault) says why in its last words: a native Bye,
// an error line. When the peer is behind and its socket buffer is full, the
// close cannot write them. The session ends at once all the same (its rooms
// hear it leave, its name is free for a new one), but the socket lingers, for
// up to lingerFor (checked by the once-a-second tick), so a reader that
// catches up still gets them. Only bytes that already passed the gate linger:
// a native session's backlog was cut at its Bye (native.bye), and what was
// staged before it is sealed and durably reserved by then.
//
// A lingering socket is read too, and what arrives is thrown away: closed
// with unread input, TCP resets the connection and drops what the peer has
// not read yet, the Bye included. Once the tail is written the socket is
// shut for writing (FIN after the tail) and closes when the peer closes its
// side, or when its time is up (Apache's lingering close).
const (
	lingerFor = 2 * time.Second
	lingerMax = 256 << 10 // a longer tail is not kept: the socket closes at once
	// lingerCap bounds the sockets lingering at once, out of the fds the
	// default --max-conns leaves over (FDReserve) for logins' pad files and
	// reservations: past it, a socket closes at once, as it did before.
	lingerCap = FDReserve / 4
)

// lingerer is a closed connection's socket with the tail of its output; it is
// a watcher on the loop until the peer has it all or its time is up.
type lingerer struct {
	l     *Loop
	sock  int
	out   []byte
	until int64 // unix nanos
	done  bool
}

func (g *lingerer) fd() int { return g.sock }

// ready writes what the socket takes of the tail, then shuts it for writing,
// and drains what the peer sends until it closes its side; a socket that
// fails ends the linger.
func (g *lingerer) ready(poller.Mask) {
	if len(g.out) > 0 {
		n, err := g.l.write(g.sock, g.out)
		g.out = g.out[n:]
		switch {
		case errors.Is(err, unix.EAGAIN):
		case err != nil:
			g.l.endLinger(g)
			return
		default: // the tail is out
			g.out = nil
			unix.Shutdown(g.sock, unix.SHUT_WR)
			if err := g.l.p.Modify(g.sock, readable, listenerTag|uint64(g.sock)); err != nil {
				g.l.endLinger(g)
				return
			}
		}
	}
	buf := g.l.rbuf
	for {
		n, err := unix.Read(g.sock, buf)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return
		case err != nil || n == 0: // the peer closed (or reset) its side
			g.l.endLinger(g)
			return
		}
	}
}

// lingers reports whether c, closing for its reason after a last flush, keeps
// its socket for the rest of its output: only for the daemon's own reasons
// (a peer that quit, failed or fell too far behind gets nothing more), and
// only for a short tail the gate let through.
func (c *Conn) lingers() bool {
	switch c.reason {
	case ReasonSlowConsumer, ReasonWriteError, ReasonReadError, ReasonPeerClosed, ReasonClientQuit, ReasonShutdown:
		return false
	}
	return !c.closed && c.writable && c.held == 0 && c.later == 0 && c.pending() > 0 && c.pending() <= lingerMax &&
		len(c.l.lingerers) < lingerCap
}

// linger closes c, a connection that lingers, but for its socket, which
// becomes a watcher holding a copy of the rest of c's output.
func (l *Loop) linger(c *Conn) {
	out := make([]byte, 0, c.pending())
	out = append(out, c.out[c.outPos:]...)
	for _, b := range c.shared {
		out = append(out, b...)
	}
	if err := l.p.Modify(c.fd, readable|writable, listenerTag|uint64(c.fd)); err != nil {
		l.closeConn(c, c.reason, nil)
		return
	}
	g := &lingerer{l: l, sock: c.fd, out: out, until: l.now + int64(lingerFor)}
	c.keepSock = true
	l.closeConn(c, c.reason, nil)
	l.watchers[g.sock] = g
	l.lingerers = append(l.lingerers, g)
}

// endLinger closes a lingering socket.
func (l *Loop) endLinger(g *lingerer) {
	if g.done {
		return
	}
	g.done = true
	l.p.Remove(g.sock)
	unix.Close(g.sock)
	delete(l.watchers, g.sock)
}

// sweepLingerers closes the lingering sockets whose time is up and forgets
// the ones done (tick, once a second).
func (l *Loop) sweepLingerers() {
	keep := l.lingerers[:0]
	for _, g := range l.lingerers {
		if !g.done && l.now >= g.until {
			l.endLinger(g)
		}
		if !g.done {
			keep = append(keep, g)
		}
	}
	clear(l.lingerers[len(keep):])
	l.lingerers = keep
}
