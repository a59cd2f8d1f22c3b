// Select backend: the portable select(2) fallback, with a self-pipe for Wake.
//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris

package poller

import (
	"errors"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdSetSize is FD_SETSIZE, the bits in one fd_set: 1024 on Linux and macOS,
// 256 on NetBSD. select would write past its fd_set for larger fds.
const fdSetSize = int(unsafe.Sizeof(unix.FdSet{})) * 8

// NewSelect returns the select(2) backend. It watches fds below FD_SETSIZE
// only, costs O(registered fds) per Wait, and cannot see hang-ups: a closed
// peer shows as Readable and the read returns EOF.
func NewSelect() (Poller, error) {
	r, w, err := newSelfPipe()
	if err != nil {
		return nil, err
	}
	if r >= fdSetSize || w >= fdSetSize {
		unix.Close(r)
		unix.Close(w)
		return nil, ErrFdTooLarge
	}
	return &selector{wakeR: r, wakeW: w}, nil
}

type selector struct {
	wakeR, wakeW int
	reg          registry
	w            wakeup
	next         int // where the next scan starts, so a short events slice starves no fd
	rset, wset   unix.FdSet
}

func (p *selector) Backend() string { return "select" }

func (p *selector) Add(fd int, want Mask, tag uint64) error {
	if p.w.isClosed() {
		return ErrClosed
	}
	if err := p.reg.canAdd(fd, "fcntl"); err != nil {
		return err
	}
	if fd >= fdSetSize {
		return ErrFdTooLarge
	}
	// select would only fail later, for the whole set, on a bad fd.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
		return os.NewSyscallError("fcntl", err)
	}
	p.reg.put(fd, want, tag)
	return nil
}

func (p *selector) Modify(fd int, want Mask, tag uint64) error {
	if p.w.isClosed() {
		return ErrClosed
	}
	if p.reg.lookup(fd) == nil {
		return ErrNotRegistered
	}
	p.reg.put(fd, want, tag)
	return nil
}

// Remove takes effect at once: the sets are rebuilt from the registry on
// every Wait, so nothing stale survives it.
func (p *selector) Remove(fd int) error {
	if p.w.isClosed() {
		return ErrClosed
	}
	if p.reg.lookup(fd) == nil {
		return ErrNotRegistered
	}
	p.reg.drop(fd)
	return nil
}

func (p *selector) Wait(events []Event, timeout time.Duration) (int, error) {
	if p.w.isClosed() {
		return 0, ErrClosed
	}
	if len(events) == 0 {
		return 0, ErrNoRoom
	}
	dl := deadlineAfter(timeout)
	for {
		left := dl.left()
		var tv *unix.Timeval
		if left >= 0 {
			t := unix.NsecToTimeval(left.Nanoseconds())
			tv = &t
		}
		nfd := p.fill()
		_, err := unix.Select(nfd, &p.rset, &p.wset, nil, tv)
		switch {
		case err == nil:
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EBADF):
			return p.badFds(events)
		default:
			return 0, os.NewSyscallError("select", err)
		}
		got, woke := p.collect(events)
		if got > 0 || woke || dl.left() == 0 {
			return got, nil
		}
	}
}

// fill rebuilds both sets from the registry and returns select's nfds.
func (p *selector) fill() int {
	p.rset.Zero()
	p.wset.Zero()
	p.rset.Set(p.wakeR)
	top := p.wakeR
	for fd := range p.reg.fds {
		e := &p.reg.fds[fd]
		if !e.used || e.want == 0 {
			continue
		}
		if e.want&Readable != 0 {
			p.rset.Set(fd)
		}
		if e.want&Writable != 0 {
			p.wset.Set(fd)
		}
		top = max(top, fd)
	}
	return top + 1
}

func (p *selector) collect(events []Event) (n int, woke bool) {
	if p.rset.IsSet(p.wakeR) {
		drain(p.wakeR)
		p.w.consumed()
		woke = true
	}
	size := len(p.reg.fds)
	for i := 0; i < size && n < len(events); i++ {
		fd := (p.next + i) % size
		e := &p.reg.fds[fd]
		if !e.used {
			continue
		}
		var m Mask
		if e.want&Readable != 0 && p.rset.IsSet(fd) {
			m |= Readable
		}
		if e.want&Writable != 0 && p.wset.IsSet(fd) {
			m |= Writable
		}
		if m != 0 {
			events[n] = Event{Fd: fd, Mask: m, Tag: e.tag}
			n++
			if n == len(events) {
				p.next = (fd + 1) % size
			}
		}
	}
	return n, woke
}

// badFds answers select's EBADF, which does not say which fd was closed
// behind our back: each such fd is reported as a hang-up, so the caller
// removes it instead of the loop spinning on the same error.
func (p *selector) badFds(events []Event) (int, error) {
	n := 0
	for fd := range p.reg.fds {
		e := &p.reg.fds[fd]
		if !e.used || n == len(events) {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); errors.Is(err, unix.EBADF) {
			events[n] = Event{Fd: fd, Mask: Readable | Writable | Hangup, Tag: e.tag}
			n++
		}
	}
	if n == 0 {
		return 0, os.NewSyscallError("select", unix.EBADF)
	}
	return n, nil
}

func (p *selector) Wake() error {
	return p.w.wake(func() error { return signalFd(p.wakeW, []byte{1}) })
}

func (p *selector) Close() error {
	return p.w.shut(func() error {
		p.reg = registry{}
		return errors.Join(closeFd(p.wakeR), closeFd(p.wakeW))
	})
}
