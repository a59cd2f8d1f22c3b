// The event loop: one goroutine, one poller, every listener and client socket.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"padchat/cluster"
	"padchat/internal/crashpoint"
	"padchat/poller"
)

const (
	readable = poller.Readable
	writable = poller.Writable
	// listenerTag marks poller tags that belong to a watcher (listener, UDP
	// socket) rather than a Conn.
	listenerTag = 1 << 63
	// housekeeping is the period of the loop's own chores (timers.go tick).
	housekeeping = time.Second
	// acceptPause is how long accept stays off after the process runs out of fds.
	acceptPause = 100 * time.Millisecond
	// yieldEvery is how often the loop yields to the Go scheduler (Run).
	yieldEvery = time.Millisecond
)

// watcher is a non-Conn descriptor on the loop: a listener or a datagram socket.
type watcher interface {
	ready(m poller.Mask)
	fd() int
}

// Loop owns the poller and every descriptor. Only Stop and Addr may be called
// from other goroutines.
type Loop struct {
	cfg      Config
	log      zerolog.Logger
	p        poller.Poller
	hub      *Hub
	conns    []*Conn // by fd
	watchers map[int]watcher
	native   *listener
	nconns   int
	gen      uint32
	now      int64
	yielded  int64 // l.now at the last yield (Run)
	rbuf     []byte
	dirty    []*Conn
	spare    []*Conn // the other of two dirty lists (flushAll swaps them)
	dying    []*Conn
	// lingerers are closed connections' sockets still writing their last
	// words (linger.go), in the order they closed.
	lingerers []*lingerer
	before    []func() // beforeSleep hooks of the dialects
	// reserve is the hook that makes the pad of every seal so far durable,
	// with one write for all pads. The loop runs it after sealing and before
	// any flush; the gate (Conn.flush) holds back what it did not cover.
	reserve   func()
	adminSock string // the admin socket's path while the loop serves it (admin.go)
	stopping  atomic.Bool
	addr      atomic.Value // net.Addr of the native listener
	events    []poller.Event
	stats     counters
	snap      atomic.Pointer[Snapshot]
	perIP     map[string]int // open connections per remote IP
	reload    atomic.Pointer[Limits]
	bufs      [][]byte    // output buffers of connections that went idle
	bufBytes  int         // their total capacity
	bufDrawn  bool        // a buffer was taken from bufs since the last tick
	web       *webService // the --http listener (http.go); nil when off

	// timers holds every deadline (timers.go): a Conn's in Conn.timer, firing
	// with its tag, the loop's own under ids from newTimer, which calls timerFns[id&^loopTimer].
	timers      poller.Timers
	timerFns    []func()
	tickTimer   uint64 // housekeeping (tick)
	acceptTimer uint64 // resumes accept after a pause for lack of fds
	acceptTimed bool   // accept is paused until acceptTimer fires

	node   *cluster.Node // cluster mode (cluster.go); nil when off
	posted posted        // work handed over by other goroutines (cluster.go)
	remote map[string]*remoteNode
	copies *copyWatch // what the nodes share to catch a copied bundle (cluster_locks.go)
	// shareBuf encodes what goes to the other nodes.
	shareBuf []byte
	shared   *sharedRooms // rooms' history and topics over the nodes (cluster_history.go)
}

// New opens the store and accounts under cfg.DataDir and binds the listeners.
func New(cfg Config, log zerolog.Logger) (*Loop, error) {
	cfg.setDefaults()
	newPoller := poller.New
	if cfg.SelectBackend {
		newPoller = poller.NewSelect
	}
	p, err := newPoller()
	if err != nil {
		return nil, err
	}
	l := &Loop{cfg: cfg, log: log, p: p, watchers: map[int]watcher{},
		rbuf: make([]byte, 64<<10), events: make([]poller.Event, 512), perIP: map[string]int{}}
	l.now = time.Now().UnixNano()
	l.tickTimer = l.newTimer(l.tick)
	l.setTimer(l.tickTimer, l.now+int64(housekeeping))
	l.acceptTimer = l.newTimer(l.resumeAccept)
	if err = l.startCluster(); err != nil {
		p.Close()
		return nil, err
	}
	if l.hub, err = newHub(l); err != nil {
		l.stopCluster()
		p.Close()
		return nil, err
	}
	l.reserve = l.hub.reservePads
	l.before = append(l.before, l.hub.files.drain)
	if l.native, err = l.listen(cfg.Listen, func(c *Conn) handler { return newNative(l.hub, c) }); err != nil {
		l.hub.close()
		p.Close()
		return nil, err
	}
	l.addr.Store(l.native.addr)
	l.publish()
	if err := l.startDialects(); err != nil {
		l.shutdown()
		return nil, err
	}
	if err := l.startHTTP(); err != nil {
		l.shutdown()
		return nil, err
	}
	return l, nil
}

// Addr is the native listener's bound address (useful with port 0).
func (l *Loop) Addr() net.Addr { return l.addr.Load().(net.Addr) }

// Stop asks the loop to shut down; safe from any goroutine (signal handlers).
func (l *Loop) Stop() {
	l.stopping.Store(true)
	l.p.Wake()
}

// Run serves until ctx ends or Stop is called, then shuts down cleanly.
func (l *Loop) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, l.Stop)
	defer stop()
	if err := l.startAdmin(); err != nil {
		return err
	}
	l.log.Info().Str("addr", l.Addr().String()).Str("poller", l.p.Backend()).
		Str("data", l.cfg.DataDir).Int("max_conns", l.cfg.MaxConns).Msg("padchatd listening")
	for !l.stopping.Load() {
		// The loop goroutine never blocks in the Go scheduler, only in the
		// poller's syscall, so the runtime would take it for a spinner: sysmon
		// polls every 20 µs instead of backing off to 10 ms, and preempts the
		// loop with a signal every 10 ms, often moving it to another thread.
		// On a busy machine both showed as latency (paced fan-out p99). A
		// yield well within those 10 ms avoids both; not one per iteration,
		// as each can wake an idle thread (a futex) to look for work.
		if l.now-l.yielded >= int64(yieldEvery) {
			runtime.Gosched()
			l.yielded = l.now
		}
		n, err := l.p.Wait(l.events, l.timeout())
		if err != nil {
			return fmt.Errorf("poller: %w", err)
		}
		l.now = time.Now().UnixNano()
		l.applyReload()
		l.runPosted()
		for _, ev := range l.events[:n] {
			l.dispatch(ev)
		}
		l.expire()
		l.beforeSleep()
	}
	l.shutdown()
	return nil
}

func (l *Loop) dispatch(ev poller.Event) {
	if ev.Tag&listenerTag != 0 {
		if w := l.watchers[ev.Fd]; w != nil {
			w.ready(ev.Mask)
		}
		return
	}
	if ev.Fd >= len(l.conns) {
		return
	}
	c := l.conns[ev.Fd]
	// A closed and reused fd carries a new generation: stale events are dropped.
	if c == nil || c.tag() != ev.Tag || c.closed {
		return
	}
	if c.dialing {
		// An outgoing connect completes or fails with its first Writable (dial.go).
		if ev.Mask&writable != 0 {
			c.finishConnect()
		}
		return
	}
	if ev.Mask&writable != 0 && c.pending() > 0 {
		c.flush()
	}
	if ev.Mask&readable != 0 && !c.closed && !c.dying {
		c.read()
	}
}

// beforeSleep runs once per iteration (Redis' beforeSleep). Pad use becomes
// durable before any byte leaves; then what promises nothing (room traffic,
// lists, errors) is written at once, without waiting for the store's fsync.
// The store batch commits after that, and its waiters queue the replies that
// do promise durability (DM ids, delivery acks), which go out in a second
// flush: no durable promise can leave before the commit that keeps it.
func (l *Loop) beforeSleep() {
	for _, f := range l.before {
		f()
	}
	l.flushAll()
	if l.hub.commit() {
		l.flushAll()
	}
}

// flushAll seals and reserves what is held back, closes what must close, and
// writes every connection with pending output, one write each. A connection
// whose frames already lie under its pad's durable mark (the reserve-ahead
// step usually covers an iteration) is written right after its seal, while
// its bytes are still in cache; the others wait for the reserve hook. Either
// way the bytes pass the gate (Conn.flush), which decides. Closing a
// connection can queue more (its rooms hear it leave): that is sealed and
// written in another round, up to flushRounds, else in the next iteration.
func (l *Loop) flushAll() {
	for round := 0; round < flushRounds && (len(l.dirty) > 0 || len(l.dying) > 0); round++ {
		batch := l.dirty
		l.dirty = l.spare[:0]
		l.sealHeld(batch, true)
		l.reap()
		for i, c := range batch {
			batch[i] = nil
			c.dirty = false
			if c.closed || c.dying {
				continue
			}
			c.flush()
			crashpoint.Hit(crashpoint.Flush)
			if c.held > 0 && !c.closed && !c.dirty {
				// Queued after this round's seal: the next round seals it.
				c.dirty = true
				l.dirty = append(l.dirty, c)
			}
		}
		l.spare = batch[:0]
	}
	l.reap()
}

// flushRounds bounds the seal, close and write rounds of one flushAll.
const flushRounds = 4

// sealHeld stages and seals the output of each of conns that has some and
// whose socket has taken what was sealed before (Conn.sealNow: one frame per
// connection, or a few at the frame limit), then runs the reserve hook once:
// one durable write for every pad the iteration used. With write, a
// connection whose frames already lie under its durable mark is written right
// after its seal, through the gate (flushAll), and a buffer it empties serves
// the next connection; shutdown and the benchmarks seal only.
func (l *Loop) sealHeld(conns []*Conn, write bool) {
	sealed := false
	for _, c := range conns {
		// A slow consumer's backlog is dropped, not sealed: that would
		// spend its pad on bytes nobody reads.
		if c.closed || c.reason == ReasonSlowConsumer || !c.sealNow() {
			continue
		}
		sealed = true
		if write && !c.dying && !c.closed && c.s.durable(c) {
			c.flush()
		}
	}
	if sealed {
		crashpoint.Hit(crashpoint.Sealed)
	}
	l.reserve()
}

// drainAtShutdown writes what c has queued, a backlog part by part, until
// the deadline. A slow consumer's output is dropped, not sealed (as in
// flushAll), and a pass that neither writes nor stages anything ends it: what
// is left never goes (a dying session's backlog is not staged).
func (l *Loop) drainAtShutdown(c *Conn, deadline time.Time) {
	if c.reason == ReasonSlowConsumer {
		return
	}
	for c.pending() > 0 && !c.closed && time.Now().Before(deadline) {
		before := c.pending()
		if c.held > 0 { // sealed by sealHeld, or a backlog's next part the last flush staged
			c.s.seal(c)
			l.reserve()
			if !c.s.durable(c) {
				return // not durable: it never leaves
			}
		}
		c.flush()
		switch {
		case c.writable:
			l.p.Wait(l.events, 10*time.Millisecond)
		case c.held == 0 && c.pending() >= before:
			return
		}
	}
}

func (l *Loop) reap() {
	for len(l.dying) > 0 {
		batch := l.dying
		l.dying = nil
		for _, c := range batch {
			if !c.closed {
				// Best effort, through the gate: what is queued (a Bye, an error) goes out.
				if c.pending() > 0 && c.reason != ReasonSlowConsumer {
					c.flush()
				}
				if c.lingers() { // the socket is full: it keeps the rest a while
					l.linger(c)
					continue
				}
				l.closeConn(c, c.reason, nil)
			}
		}
	}
}

// addConn puts an accepted, non-blocking socket on the loop.
func (l *Loop) addConn(fd int, remote string, mk func(*Conn) handler) *Conn {
	l.gen++
	c := &Conn{l: l, fd: fd, gen: l.gen, remote: remote, lastRead: l.now, created: l.now,
		maxIn: l.cfg.MaxFrame + 1024}
	c.h = mk(c)
	c.s, _ = c.h.(sealer)
	if fd >= len(l.conns) { // by a quarter: see poller's registry.put
		l.conns = append(l.conns, make([]*Conn, max(fd+1-len(l.conns), len(l.conns)/4+64))...)
	}
	if err := l.p.Add(fd, readable, c.tag()); err != nil {
		l.log.Warn().Err(err).Str("remote", remote).Msg("cannot watch connection")
		c.closed = true
		unix.Close(fd)
		return nil
	}
	l.conns[fd] = c
	l.nconns++
	if !isAdmin(c) {
		l.stats.accepted++
	}
	l.armConn(c)
	return c
}

// closeConn closes c at once, logs its reason once, and tells its dialect.
func (l *Loop) closeConn(c *Conn, r Reason, err error) {
	if c.closed {
		return
	}
	c.closed = true
	c.reason = r
	if !c.keepSock {
		l.p.Remove(c.fd)
		unix.Close(c.fd)
	}
	l.timers.Stop(&c.timer)
	l.conns[c.fd] = nil
	l.nconns--
	if !isAdmin(c) {
		l.stats.closed[r]++
	}
	l.releaseIP(c)
	c.out, c.in, c.shared, c.sharedN = nil, nil, nil, 0
	c.h.onClose(c)
	if err != nil && !errors.Is(err, unix.ECONNRESET) && !errors.Is(err, unix.EPIPE) {
		l.log.Debug().Err(err).Str("remote", c.remote).Msg("socket error")
	}
	if l.native.paused && !l.acceptTimed {
		l.resumeAccept()
	}
}

// shutdown stops accepting, says goodbye to every client and flushes.
func (l *Loop) shutdown() {
	l.log.Info().Int("conns", l.nconns).Msg("shutting down")
	l.stopHTTP()
	l.stopAdmin()
	for fd := range l.watchers {
		l.p.Remove(fd)
		unix.Close(fd)
	}
	l.watchers = map[int]watcher{}
	l.hub.goodbye()
	l.hub.store.commit() // all of it, due or not
	l.sealHeld(l.dirty, false)
	deadline := time.Now().Add(2 * time.Second)
	for _, c := range l.conns {
		if c != nil && !c.closed {
			l.drainAtShutdown(c, deadline)
			if !c.closed {
				l.closeConn(c, ReasonShutdown, nil)
			}
		}
	}
	l.hub.close()
	l.stopCluster()
	l.p.Close()
	l.log.Info().Msg("padchatd stopped")
}

// Output buffers of connections that went idle are kept for the next busy
// one, so a fan-out does not grow a fresh buffer for every member in every
// iteration: a flood queues a few hundred KiB per member per iteration, and a
// fresh buffer costs its page faults and its zeroing again. Small ones are
// dropped, and the pool is bounded in bytes; a pool nobody drew from for a
// housekeeping tick is let go (trimBufs), so a burst leaves no memory behind.
const (
	outBufSize   = 4 << 10
	outBufMax    = 1 << 20
	outPoolBytes = 64 << 20
)

func (l *Loop) getBuf() []byte {
	if n := len(l.bufs); n > 0 {
		b := l.bufs[n-1]
		l.bufs[n-1] = nil
		l.bufs = l.bufs[:n-1]
		l.bufBytes -= cap(b)
		l.bufDrawn = true
		return b
	}
	return make([]byte, 0, outBufSize)
}

func (l *Loop) putBuf(b []byte) {
	if c := cap(b); c >= outBufSize && c <= outBufMax && l.bufBytes+c <= outPoolBytes {
		l.bufs = append(l.bufs, b[:0])
		l.bufBytes += c
	}
}

// trimBufs lets the pool go when no connection drew from it since the last
// housekeeping tick.
func (l *Loop) trimBufs() {
	if !l.bufDrawn {
		clear(l.bufs)
		l.bufs, l.bufBytes = l.bufs[:0], 0
	}
	l.bufDrawn = false
}
