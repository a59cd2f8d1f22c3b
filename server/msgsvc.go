// The message service (docs/DIALECTS.md): one TCP connection per request, NUL-terminated string fields.
package server

import (
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// svcTimeoutMax bounds one request, and one push, from connect to close.
	// A lower --idle-timeout lowers it too.
	svcTimeoutMax = 10 * time.Second
	// svcTrailMax is what a client may send after its request (some send the
	// caller's name after CONNECTEDUSERS); it is read and dropped.
	svcTrailMax = 4096
	// svcAckMax bounds the delivery acks waiting for one sender's listener.
	svcAckMax = 4096
)

// svcMinPushPort is the lowest port the message service connects back to, so
// a CONNECT cannot aim its pushes at a local service on a privileged port.
const svcMinPushPort = "msgsvc-min-push-port"

func init() {
	registerDialect(dialect{Protocol{Name: "msgsvc", Help: "message-service listener `address` (plain text, no authentication)",
		Options: []Option{{Name: svcMinPushPort, Help: "lowest `port` the message service connects back to (1: any)",
			Default: 1024, Min: 1, Max: 65535}}}, startSvc})
}

// svc is the message service's state, owned by the loop goroutine. Users and
// mail are durable; what is in flight (pushes, acks) is not.
type svc struct {
	l       *Loop
	s       *Store
	users   map[string]*svcUser // by alias
	timeout int64               // nanoseconds a request or a push may take
	flushed []flushWait         // output waiting for a Writable before it counts as sent
}

// svcUser is a registered user .
type svcUser struct {
	svcRecord
	alias string
	addr  netip.AddrPort // the listening thread while connected; invalid when not
	epoch uint32         // bumped by every connect and disconnect: stale pushes see it
	push  *svcPush       // the delivery in flight to this user, at most one
	acks  []uint32       // delivery acks waiting for the push before them
}

func (u *svcUser) online() bool { return u.addr.IsValid() }

func startSvc(l *Loop, addr string) error {
	v := &svc{l: l, s: l.hub.store, users: map[string]*svcUser{},
		timeout: int64(min(l.cfg.IdleTimeout, svcTimeoutMax))}
	if err := v.load(); err != nil {
		return fmt.Errorf("message service store: %w", err)
	}
	ln, err := l.listen(addr, func(c *Conn) handler { return &svcConn{v: v} })
	if err != nil {
		return err
	}
	l.before = append(l.before, v.beforeSleep)
	// The console banner, with the bound address (port 0 included) as a field.
	l.log.Info().Str("dialect", "msgsvc").Str("addr", ln.addr.String()).Msg("s> init server " + ln.addr.String())
	if ap, err := netip.ParseAddrPort(ln.addr.String()); err != nil || !ap.Addr().Unmap().IsLoopback() {
		l.log.Warn().Str("dialect", "msgsvc").Str("addr", ln.addr.String()).
			Msg("message service listening beyond loopback: it has no authentication, anyone who reaches it can make the daemon connect out")
	}
	for _, u := range v.users {
		v.pump(u) // mail left from before a restart, for users still connected
	}
	return nil
}

// load reads the users into memory.
func (v *svc) load() error {
	return v.s.svcUsers(func(alias string, rec svcRecord) {
		u := &svcUser{alias: alias, svcRecord: rec}
		u.addr, _ = netip.ParseAddrPort(u.Addr)
		v.users[alias] = u
	})
}

// save writes u with this iteration's batch.
func (v *svc) save(u *svcUser) {
	u.Addr = ""
	if u.online() {
		u.Addr = u.addr.String()
	}
	v.s.putSvcUser(u.alias, &u.svcRecord)
}

// say prints one of the protocol's console lines; they are always on.
func (v *svc) say(format string, args ...any) {
	v.l.log.Info().Str("dialect", "msgsvc").Msgf("s> "+format, args...)
}

// flushWait is output that did not fit in the kernel at once: fn runs when
// the rest has been written.
type flushWait struct {
	c  *Conn
	fn func()
}

// whenFlushed writes c's queued output now and runs fn once all of it is
// written. If c closes first, fn never runs (its handler hears onClose).
func (v *svc) whenFlushed(c *Conn, fn func()) {
	if c.pending() > 0 {
		c.flush()
	}
	switch {
	case c.closed || c.dying:
	case c.pending() == 0:
		fn()
	default:
		v.flushed = append(v.flushed, flushWait{c, fn})
	}
}

// beforeSleep completes the waits whose output a Writable flushed.
func (v *svc) beforeSleep() {
	if len(v.flushed) == 0 {
		return
	}
	waits := v.flushed
	v.flushed = nil
	for _, w := range waits {
		v.whenFlushed(w.c, w.fn)
	}
}

// svcConn is one client request: decode it, answer it, then wait for the
// client to close (the protocol: the client closes the connection).
type svcConn struct {
	v       *svc
	dec     svcDecoder
	handled bool // the request is complete; more input is dropped
	trail   int  // bytes dropped after the request
}

func (h *svcConn) onData(c *Conn, b []byte) int {
	if h.handled {
		h.trail += len(b)
		if h.trail > svcTrailMax {
			c.kill(ReasonProtocol)
		}
		return len(b)
	}
	n := h.dec.feed(b)
	switch h.dec.st {
	case svcBad:
		h.v.l.log.Warn().Str("dialect", "msgsvc").Str("remote", c.remote).
			Stringer("reason", ReasonProtocol).Msg("closing connection: not a message-service request")
		c.kill(ReasonProtocol)
	case svcReady:
		h.handled = true
		h.trail = len(b) - n
		h.v.handle(c, &h.dec)
	}
	return len(b)
}

// onDeadline: one request per connection, within the service's timeout.
func (h *svcConn) onDeadline(c *Conn, now int64) int64 {
	if at := c.created + h.v.timeout; now < at {
		return at
	}
	if !h.handled {
		h.v.l.log.Warn().Str("dialect", "msgsvc").Str("remote", c.remote).
			Stringer("reason", ReasonIdle).Msg("closing connection: request incomplete")
	}
	c.kill(ReasonIdle)
	return 0
}

func (h *svcConn) onClose(*Conn) {}

// reply answers c with NUL-terminated strings, then shuts down its sending
// side so a client reading to EOF is not left waiting. The client's own
// close (or the timeout) ends the connection: closing first while it still
// sends would reset it and could lose the answer.
func (v *svc) reply(c *Conn, fields ...string) {
	if c.closed || c.dying {
		return
	}
	var b []byte
	for _, f := range fields {
		b = append(append(b, f...), 0)
	}
	c.queue(b)
	v.whenFlushed(c, func() { unix.Shutdown(c.fd, unix.SHUT_WR) })
}

// remoteIP is the address a request came from (accept's).
func remoteIP(c *Conn) netip.Addr {
	ap, err := netip.ParseAddrPort(c.remote)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
