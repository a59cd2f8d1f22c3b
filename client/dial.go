// Connecting a raw non-blocking TCP socket, waiting for it on the client's own poller.
package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"padchat/poller"
)

// dial resolves addr and connects to each of its addresses in turn. The socket
// stays raw (never a net.Conn) so the loop's reads and writes are the only
// ones on it. stopped is polled between waits so a signal can end a slow connect.
// It also returns the address that answered: reconnects go back to it.
func dial(ctx context.Context, p poller.Poller, addr string, timeout time.Duration, stopped func() bool) (int, netip.AddrPort, error) {
	var none netip.AddrPort
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return -1, none, fmt.Errorf("bad server address %q: %w", addr, err)
	}
	portNum, err := net.DefaultResolver.LookupPort(ctx, "tcp", port)
	if err != nil {
		return -1, none, fmt.Errorf("bad server address %q: %w", addr, err)
	}
	if host == "" {
		host = "localhost"
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return -1, none, fmt.Errorf("cannot connect to %s: %w", addr, err)
	}
	deadline := time.Now().Add(timeout)
	lastErr := errors.New("no addresses")
	for _, ip := range ips {
		ap := netip.AddrPortFrom(ip.Unmap(), uint16(portNum))
		fd, err := connectOne(p, ap, deadline, stopped)
		if err == nil {
			return fd, ap, nil
		}
		if errors.Is(err, errInterrupted) {
			return -1, none, err
		}
		lastErr = err
		if time.Now().After(deadline) {
			break
		}
	}
	if errors.Is(lastErr, unix.ECONNREFUSED) {
		lastErr = fmt.Errorf("%w (is padchatd running?)", lastErr)
	}
	return -1, none, fmt.Errorf("cannot connect to %s: %w", addr, lastErr)
}

// connectOne starts a non-blocking connect to ap and waits for it to finish.
func connectOne(p poller.Poller, ap netip.AddrPort, deadline time.Time, stopped func() bool) (int, error) {
	fd, err := newSocket(ap)
	if err != nil {
		return -1, err
	}
	if err := waitConnect(p, fd, sockaddr(ap), deadline, stopped); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is6() {
		return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
}

// newSocket makes a non-blocking TCP socket of ap's family.
func newSocket(ap netip.AddrPort) (int, error) {
	family := unix.AF_INET
	if ap.Addr().Is6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("fcntl", err)
	}
	// Chat messages are small and the loop already coalesces them per iteration.
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	return fd, nil
}

func waitConnect(p poller.Poller, fd int, sa unix.Sockaddr, deadline time.Time, stopped func() bool) error {
	err := unix.Connect(fd, sa)
	if err == nil {
		return nil
	}
	// EINTR leaves the connect running in the kernel, like EINPROGRESS.
	if !errors.Is(err, unix.EINPROGRESS) && !errors.Is(err, unix.EINTR) {
		return err
	}
	if err := p.Add(fd, poller.Writable, tagSocket); err != nil {
		return err
	}
	defer p.Remove(fd)
	events := make([]poller.Event, 1)
	for {
		if stopped() {
			return errInterrupted
		}
		left := time.Until(deadline)
		if left <= 0 {
			return errConnectTimeout
		}
		n, err := p.Wait(events, left)
		if err != nil {
			return err
		}
		if n > 0 {
			break
		}
	}
	soerr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return os.NewSyscallError("getsockopt", err)
	}
	if soerr != 0 {
		return unix.Errno(soerr)
	}
	return nil
}
