// Listeners: non-blocking accept on the loop, paused (not spun) when fds or slots run out.
package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"padchat/poller"
)

type listener struct {
	l      *Loop
	sock   int
	addr   net.Addr
	mk     func(*Conn) handler
	paused bool
	local  bool // a unix socket (admin.go): no per-IP limit, no TCP options
}

func (ln *listener) fd() int { return ln.sock }

// listen binds a TCP listener on addr and puts it on the loop. Each accepted
// connection gets the handler mk builds.
func (l *Loop) listen(addr string, mk func(*Conn) handler) (*listener, error) {
	return l.listenOn("tcp", addr, mk)
}

// listenOn is listen for network "tcp" or "unix" (addr is then a path).
func (l *Loop) listenOn(network, addr string, mk func(*Conn) handler) (*listener, error) {
	nl, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	// Take the descriptor out of Go's runtime poller: the loop owns it now.
	var f *os.File
	switch nl := nl.(type) {
	case *net.TCPListener:
		f, err = nl.File()
	case *net.UnixListener:
		nl.SetUnlinkOnClose(false) // the loop keeps serving the path
		f, err = nl.File()
	}
	bound := nl.Addr()
	nl.Close()
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	ln := &listener{l: l, sock: fd, addr: bound, mk: mk, local: network == "unix"}
	if err := l.p.Add(fd, readable, listenerTag|uint64(fd)); err != nil {
		unix.Close(fd)
		return nil, err
	}
	l.watchers[fd] = ln
	return ln, nil
}

// ready accepts what is waiting, a bounded batch per iteration so one busy
// listener cannot starve the clients.
func (ln *listener) ready(_ poller.Mask) {
	l := ln.l
	for i := 0; i < 256; i++ {
		if l.nconns >= l.cfg.MaxConns {
			l.log.Warn().Int("max", l.cfg.MaxConns).Msg("connection limit reached: accept paused")
			l.pauseAccept(0)
			return
		}
		fd, sa, err := acceptNonblock(ln.sock)
		switch {
		case err == nil:
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR), errors.Is(err, unix.ECONNABORTED):
			return
		case errors.Is(err, unix.EMFILE), errors.Is(err, unix.ENFILE), errors.Is(err, unix.ENOBUFS), errors.Is(err, unix.ENOMEM):
			l.log.Error().Err(err).Dur("pause", acceptPause).Msg("out of file descriptors: accept paused")
			l.pauseAccept(acceptPause)
			return
		default:
			l.log.Error().Err(err).Msg("accept")
			return
		}
		if ln.local {
			l.addConn(fd, "local", ln.mk)
			continue
		}
		ip, port := sockaddrIP(sa)
		if !l.admitIP(ip) {
			unix.Close(fd)
			l.stats.closed[ReasonTooManyConns]++
			continue
		}
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		if c := l.addConn(fd, (&net.TCPAddr{IP: ip, Port: port}).String(), ln.mk); c != nil {
			c.perIP = true
			l.perIP[c.host()]++
		}
	}
}

// pauseAccept stops watching the listeners; with d > 0 they come back after d
// (acceptTimer), otherwise when a connection closes.
func (l *Loop) pauseAccept(d time.Duration) {
	for fd, w := range l.watchers {
		if ln, ok := w.(*listener); ok && !ln.paused {
			l.p.Remove(fd)
			ln.paused = true
		}
	}
	if d > 0 {
		l.acceptTimed = true
		l.setTimer(l.acceptTimer, l.now+int64(d))
	}
}

func (l *Loop) resumeAccept() {
	l.acceptTimed = false
	l.stopTimer(l.acceptTimer)
	for fd, w := range l.watchers {
		if ln, ok := w.(*listener); ok && ln.paused {
			if err := l.p.Add(fd, readable, listenerTag|uint64(fd)); err == nil {
				ln.paused = false
			}
		}
	}
}

func sockaddrIP(sa unix.Sockaddr) (net.IP, int) {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.IP(a.Addr[:]).To16(), a.Port
	case *unix.SockaddrInet6:
		return net.IP(a.Addr[:]), a.Port
	}
	return net.IPv6unspecified, 0
}

// admitIP applies the per-IP connection limit; loopback is exempt unless
// configured otherwise, so local tools and tests are not throttled.
func (l *Loop) admitIP(ip net.IP) bool {
	if l.cfg.MaxPerIP <= 0 || (ip.IsLoopback() && !l.cfg.PerIPLoopback) {
		return true
	}
	key := ip.String()
	if l.perIP[key] < l.cfg.MaxPerIP {
		return true
	}
	l.log.Debug().Str("ip", key).Int("limit", l.cfg.MaxPerIP).Msg("per-IP connection limit: refused")
	return false
}

func (l *Loop) releaseIP(c *Conn) {
	if !c.perIP {
		return
	}
	c.perIP = false
	key := c.host()
	if l.perIP[key]--; l.perIP[key] <= 0 {
		delete(l.perIP, key)
	}
}
