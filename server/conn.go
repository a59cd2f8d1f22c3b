// Conn: one client socket, its input leftovers and its output queue, owned by the loop.
package server

import (
	"bytes"
	"errors"
	"strings"

	"golang.org/x/sys/unix"

	"padchat/poller"
)

// handler is a dialect: it consumes input and hears about deadlines and the close.
type handler interface {
	// onData consumes a prefix of b and returns its length; what is left is
	// kept and offered again, with more, after the next read.
	onData(c *Conn, b []byte) int
	// onDeadline runs when the connection is added and whenever the deadline
	// it last named passes: it acts on what is due at now (auth and idle
	// timeouts, pings) and names the next deadline, in unix nanos, or 0 for
	// none. Reads only update c.lastRead; the handler reads it here.
	onDeadline(c *Conn, now int64) int64
	// onClose runs once, after the socket is gone.
	onClose(c *Conn)
}

// sealer is a handler whose output is held back and sealed at flush (the
// native dialect). Its bytes sit at the end of Conn.out, counted by held, and
// only the gate (flush) lets them join the writable part, once durable says so.
type sealer interface {
	// seal turns the held plaintext into frames in place. The pad it uses may
	// lie past the durable mark until the loop's reserve hook has run.
	seal(c *Conn)
	// durable reports whether every held byte is sealed and the pad under it
	// durably reserved, so it may leave the process.
	durable(c *Conn) bool
	// stage moves the next part of a backlog kept outside out (Conn.later)
	// into out, held, once out has drained, and schedules its seal; it
	// reports whether it did.
	stage(c *Conn) bool
}

// Conn is a client connection. Its fields belong to the loop goroutine.
//
// The fields a fan-out reads and writes for every delivery (native.push,
// queued, markDirty) come first, so they share the object's first two cache
// lines: a 200-member room touches every member's Conn per message, and
// scattered over four lines these loads were the first stall of push.
type Conn struct {
	l        *Loop
	out      []byte // queued output; out[outPos:len(out)-held] may be written now
	outPos   int
	held     int  // bytes at the end of out that may not leave yet (see flush)
	sharedN  int  // bytes in shared
	later    int  // bytes a sealer keeps queued outside out until out drains (stage)
	dirty    bool // in l.dirty: has output to flush
	writable bool // registered for Writable: the kernel buffer was full
	dying    bool // close requested; takes effect before the next flush
	closed   bool
	dialing  bool // outgoing connect in progress: its first Writable goes to finishConnect (dial.go)
	keepSock bool // closed, but its socket lingers with the last words (linger.go)
	perIP    bool // counted in l.perIP under host() while open
	reason   Reason
	fd       int
	gen      uint32
	timer    poller.Timer // its deadline (armConn), in the padding after gen
	remote   string       // host:port; its host is the per-IP key, so an idle conn holds one string, not two
	h        handler
	in       []byte   // unconsumed input from earlier reads
	shared   [][]byte // output after out, not copied: bytes other conns share (queueShared)
	s        sealer   // h, when its output is sealed at flush; else nil
	lastRead int64    // unix nanos of the last byte received
	created  int64
	maxIn    int // input bytes one message may need
}

// host is the IP of remote, the key of l.perIP: a slice of remote, not a
// string of its own. Only for accepted TCP connections, whose remote is
// "ip:port" or "[ip6]:port" (perIP is set for no other).
func (c *Conn) host() string {
	h := c.remote[:max(strings.LastIndexByte(c.remote, ':'), 0)]
	if len(h) >= 2 && h[0] == '[' {
		h = h[1 : len(h)-1]
	}
	return h
}

// pending is the number of queued, unsent output bytes, held ones included.
func (c *Conn) pending() int { return len(c.out) - c.outPos + c.sharedN + c.later }

// queue appends b, which needs no sealing, to the output and schedules a
// flush. A sealer queues clear bytes (greeting, refusal) only while it holds
// nothing back.
func (c *Conn) queue(b []byte) {
	if c.dying || c.closed {
		return
	}
	if len(c.shared) > 0 { // after shared bytes: keep the order
		c.shared = append(c.shared, bytes.Clone(b))
		c.sharedN += len(b)
	} else {
		c.out = append(c.outBuf(), b...)
	}
	c.queued()
}

// queueShared queues b without copying it: one event's bytes, formatted once
// for every member of a room (plain.go), are written from the same memory to
// each. b must never change. Bytes that follow b where b's memory goes on
// extend it, so a member's events of one iteration leave in one write. A
// sealer's output is sealed in place, so it gets a copy.
func (c *Conn) queueShared(b []byte) {
	if c.dying || c.closed || len(b) == 0 {
		return
	}
	if c.s != nil {
		c.queue(b)
		return
	}
	c.sharedN += len(b)
	if n := len(c.shared); n > 0 {
		last := c.shared[n-1]
		if cap(last) > len(last) && &last[:len(last)+1][len(last)] == &b[0] {
			c.shared[n-1] = last[:len(last)+len(b)]
			c.queued()
			return
		}
	}
	c.shared = append(c.shared, b)
	c.queued()
}

// queued must follow any direct append to c.out: it enforces the output limit
// and schedules the flush.
func (c *Conn) queued() {
	if c.pending() > c.l.cfg.OutLimit && !c.writable {
		// One big iteration may queue more than the limit for a healthy reader:
		// seal and write early, and cut off only if the kernel will not take it
		// either. The gate holds back whatever the reservation does not cover.
		// A drained socket has flush stage more of a sealer's backlog: go on
		// while the kernel takes it.
		for {
			before := c.pending()
			if c.sealNow() {
				c.l.reserve()
			}
			c.flush()
			if c.closed || c.writable || c.pending() <= c.l.cfg.OutLimit || c.pending() >= before {
				break
			}
		}
	}
	if c.pending() > c.l.cfg.OutLimit {
		c.kill(ReasonSlowConsumer)
		return
	}
	c.markDirty()
}

// sealNow gives a sealer's backlog room in a drained out (stage) and seals
// what is held, and reports whether it sealed anything.
func (c *Conn) sealNow() bool {
	if c.s == nil {
		return false
	}
	if c.held == 0 && c.later > 0 && c.outPos == len(c.out) {
		c.s.stage(c)
	}
	if c.held == 0 {
		return false
	}
	c.s.seal(c)
	return true
}

// markDirty schedules c for the end-of-iteration flush.
func (c *Conn) markDirty() {
	if !c.dirty {
		c.dirty = true
		c.l.dirty = append(c.l.dirty, c)
	}
}

// kill asks for the connection to close with reason; the loop closes it before
// its next flush, so a fan-out in progress never sees its member list change.
func (c *Conn) kill(r Reason) {
	if c.dying || c.closed {
		return
	}
	// Its last words (a reply, a Bye) wait unstaged: they go, up to
	// sealAhead; a slow consumer's backlog is dropped.
	if c.s != nil && c.later > 0 && r != ReasonSlowConsumer {
		c.s.stage(c)
	}
	c.dying = true
	c.reason = r
	c.l.dying = append(c.l.dying, c)
}

// flush is the one gate for bytes leaving the process: every write of a
// connection's output, on every path (end of iteration, Writable, the early
// write of a big iteration, the last words of a dying connection, shutdown),
// is this function. It writes out[outPos:len(out)-held] and never a held byte;
// held bytes join the writable part only when the sealer reports them sealed
// with pad that is durably reserved. So no pad byte reaches the wire before a
// crash could no longer make the daemon use it again (docs/PROTOCOL.md).
func (c *Conn) flush() {
	if c.held > 0 && c.s.durable(c) {
		c.held = 0
	}
	if end := len(c.out) - c.held; c.outPos < end {
		n, err := c.l.write(c.fd, c.out[c.outPos:end])
		c.outPos += n
		if errors.Is(err, unix.EAGAIN) {
			c.wantWritable(true)
			return
		}
		if err != nil {
			c.l.closeConn(c, ReasonWriteError, err)
			return
		}
	}
	if c.held == 0 && !c.flushShared() {
		return
	}
	c.wantWritable(false)
	if c.held > 0 || (c.later > 0 && c.s.stage(c)) {
		return // sealed at the end of the iteration, then flushed again
	}
	// An idle connection keeps no buffer: that is what lets 10,000 of them fit.
	c.l.putBuf(c.out)
	c.out, c.outPos = nil, 0
}

// flushShared writes the shared output, which follows out, and reports
// whether all of it left.
func (c *Conn) flushShared() bool {
	done, ok := 0, true
	for ok && done < len(c.shared) {
		n, err := c.l.write(c.fd, c.shared[done])
		c.sharedN -= n
		c.shared[done] = c.shared[done][n:]
		switch {
		case errors.Is(err, unix.EAGAIN):
			c.wantWritable(true)
			ok = false
		case err != nil:
			c.l.closeConn(c, ReasonWriteError, err)
			return false // closeConn let go of shared
		default:
			done++
		}
	}
	if c.closed {
		return false // wantWritable failed: closeConn let go of shared
	}
	k := copy(c.shared, c.shared[done:])
	clear(c.shared[k:])
	c.shared = c.shared[:k]
	if k == 0 && cap(c.shared) > 8 {
		c.shared = nil // a burst's list is not kept by an idle connection
	}
	return ok
}

// write writes b to fd until all of it is written, the socket is full
// (unix.EAGAIN) or it fails, and returns how much it wrote: the one write
// loop of every path out (Conn.flush, flushShared, a lingering socket).
func (l *Loop) write(fd int, b []byte) (int, error) {
	done := 0
	for done < len(b) {
		n, err := unix.Write(fd, b[done:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return done, err
		}
		done += n
		l.stats.bytesOut += uint64(n)
	}
	return done, nil
}

// room extends out, c.out, by n bytes of room (contents unspecified: the
// sealer overwrites them). A flood queues hundreds of KiB per member per
// iteration: the buffer at least doubles when it grows, so its bytes are
// copied about once, not at Go's ~1.25× steps for large slices; the new one
// comes from make, which does not clear memory fresh from the OS (growing by
// append clears the room it adds, after the kernel already did). The old one
// is left to the GC: pooled, the steps of every member's growth would fill the
// pool before the full-size buffers come back to it at flush.
func (c *Conn) room(out []byte, n int) []byte {
	k := len(out) + n
	if k <= cap(out) {
		return out[:k]
	}
	b := make([]byte, k, max(k, 2*cap(out)))
	copy(b, out)
	return b
}

// outBuf returns c.out ready to append to, from the loop's pool when empty.
func (c *Conn) outBuf() []byte {
	if c.out == nil {
		c.out = c.l.getBuf()
	}
	return c.out
}

func (c *Conn) wantWritable(on bool) {
	if c.writable == on {
		return
	}
	want := readable
	if on {
		want |= writable
	}
	if err := c.l.p.Modify(c.fd, want, c.tag()); err != nil {
		c.l.closeConn(c, ReasonWriteError, err)
		return
	}
	c.writable = on
	// Held bytes stay where they are: a sealer keeps offsets into them.
	if on && c.held == 0 && c.outPos > 0 && c.outPos > cap(c.out)/2 {
		c.out = append(c.out[:0], c.out[c.outPos:]...)
		c.outPos = 0
	}
}

// tag names c in poller events and timers: generation and fd. Its top bit
// stays clear (listenerTag, loopTimer mark what is not a Conn).
func (c *Conn) tag() uint64 { return uint64(c.gen&(1<<31-1))<<32 | uint64(uint32(c.fd)) }

// read fills the loop's shared buffer once and hands the bytes to the dialect.
// Leftovers are copied into c.in, so idle connections hold no read buffer.
func (c *Conn) read() {
	buf := c.l.rbuf
	n, err := unix.Read(c.fd, buf)
	for errors.Is(err, unix.EINTR) {
		n, err = unix.Read(c.fd, buf)
	}
	switch {
	case errors.Is(err, unix.EAGAIN):
		return
	case err != nil:
		c.l.closeConn(c, ReasonReadError, err)
		return
	case n == 0:
		c.l.closeConn(c, ReasonPeerClosed, nil)
		return
	}
	c.lastRead = c.l.now
	c.l.stats.bytesIn += uint64(n)
	data := buf[:n]
	if len(c.in) > 0 {
		c.in = append(c.in, data...)
		data = c.in
	}
	used := c.h.onData(c, data)
	rest := data[used:]
	if len(rest) > c.maxIn {
		c.kill(ReasonProtocol)
		return
	}
	if len(rest) == 0 {
		c.in = nil
		return
	}
	// Copy even when data aliases c.in: the next read may need the room.
	c.in = append(make([]byte, 0, len(rest)+512), rest...)
}
