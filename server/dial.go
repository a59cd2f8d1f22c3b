// Outgoing connections on the loop: a non-blocking connect, completed by the first Writable.
package server

import (
	"errors"
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// dialHandler is the handler of an outgoing connection. connected runs once:
// with nil when the connect succeeded (then c may queue output), or with the
// error that failed it, after which the loop closes c. The handler's onDeadline
// sees c while it is still connecting, so one timeout covers both phases.
type dialHandler interface {
	handler
	connected(c *Conn, err error)
}

// dial starts a connect to `to` and returns its Conn at once. An error means
// the connect never started (no route, out of fds) and h hears nothing;
// otherwise h hears the outcome, through connected or onClose.
func (l *Loop) dial(to netip.AddrPort, h dialHandler) (*Conn, error) {
	if l.nconns >= l.cfg.MaxConns {
		return nil, errDialLimit
	}
	family, sa := sockaddrOf(to)
	// Without SOCK_CLOEXEC everywhere, hold ForkLock so no fork (os/exec in
	// another goroutine) inherits the socket before it is close-on-exec.
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(family, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	// An interrupted connect goes on in the background: its outcome comes
	// with Writable, as for EINPROGRESS.
	err = unix.Connect(fd, sa)
	if err != nil && !errors.Is(err, unix.EINPROGRESS) && !errors.Is(err, unix.EINTR) {
		unix.Close(fd)
		return nil, os.NewSyscallError("connect", err)
	}
	// Even a connect that completed at once (loopback) reports through
	// Writable, so every dial takes the same path.
	c := l.addConn(fd, to.String(), func(*Conn) handler { return h })
	if c == nil {
		return nil, errDialWatch
	}
	c.dialing = true
	c.wantWritable(true) // a failure closes c, and the handler hears it in onClose
	return c, nil
}

// finishConnect reads the outcome of the connect when the socket turns
// writable. A spurious Writable (still not connected) keeps waiting.
func (c *Conn) finishConnect() {
	h := c.h.(dialHandler)
	soErr, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && soErr != 0 {
		err = os.NewSyscallError("connect", unix.Errno(soErr))
	}
	if err == nil {
		if _, perr := unix.Getpeername(c.fd); errors.Is(perr, unix.ENOTCONN) {
			return
		}
	}
	c.dialing = false
	if err != nil {
		h.connected(c, err)
		c.l.closeConn(c, ReasonWriteError, nil)
		return
	}
	c.wantWritable(false)
	if !c.closed {
		h.connected(c, nil)
	}
}

func sockaddrOf(ap netip.AddrPort) (int, unix.Sockaddr) {
	a := ap.Addr().Unmap()
	if a.Is4() {
		return unix.AF_INET, &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	}
	return unix.AF_INET6, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
}
