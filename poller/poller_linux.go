// Epoll backend: the native poller on Linux, level-triggered, with an eventfd for Wake.
//go:build linux

package poller

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// New returns the native backend: epoll.
func New() (Poller, error) { return newEpoll() }

type epoll struct {
	epfd   int
	wakefd int // eventfd; its readiness is consumed by Wait, never reported
	reg    registry
	w      wakeup
	buf    []unix.EpollEvent
}

func newEpoll() (*epoll, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wakefd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		unix.Close(wakefd)
		unix.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return &epoll{epfd: epfd, wakefd: wakefd}, nil
}

func (p *epoll) Backend() string { return "epoll" }

// epollBits asks for EPOLLRDHUP with reads so a TCP peer's FIN shows as
// Hangup; ERR and HUP are always reported by the kernel.
func epollBits(want Mask) uint32 {
	var bits uint32
	if want&Readable != 0 {
		bits |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if want&Writable != 0 {
		bits |= unix.EPOLLOUT
	}
	return bits
}

func (p *epoll) ctl(op, fd int, want Mask) error {
	ev := unix.EpollEvent{Events: epollBits(want), Fd: int32(fd)}
	err := unix.EpollCtl(p.epfd, op, fd, &ev)
	if err == nil {
		return nil
	}
	if errors.Is(err, unix.EPERM) {
		// Regular files and /dev/null: always ready, so epoll refuses them.
		return fmt.Errorf("%w: %w", ErrNotPollable, os.NewSyscallError("epoll_ctl", err))
	}
	return os.NewSyscallError("epoll_ctl", err)
}

func (p *epoll) Add(fd int, want Mask, tag uint64) error {
	if p.w.isClosed() {
		return ErrClosed
	}
	if err := p.reg.canAdd(fd, "epoll_ctl"); err != nil {
		return err
	}
	if err := p.ctl(unix.EPOLL_CTL_ADD, fd, want); err != nil {
		return err
	}
	p.reg.put(fd, want, tag)
	return nil
}

func (p *epoll) Modify(fd int, want Mask, tag uint64) error {
	if p.w.isClosed() {
		return ErrClosed
	}
	if p.reg.lookup(fd) == nil {
		return ErrNotRegistered
	}
	if err := p.ctl(unix.EPOLL_CTL_MOD, fd, want); err != nil {
		return err
	}
	p.reg.put(fd, want, tag)
	return nil
}

// Remove deletes fd from the epoll set, so no later epoll_wait can return it.
// Events for fd already copied into the batch the caller is walking are the
// caller's to skip (compare the tag or a generation). An fd closed before
// Remove was dropped by the kernel already (unless a dup keeps it open), so
// EBADF and ENOENT are not errors here; call Remove before closing.
func (p *epoll) Remove(fd int) error {
	if p.w.isClosed() {
		return ErrClosed
	}
	if p.reg.lookup(fd) == nil {
		return ErrNotRegistered
	}
	p.reg.drop(fd)
	err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	if err != nil && !errors.Is(err, unix.EBADF) && !errors.Is(err, unix.ENOENT) {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

func (p *epoll) Wait(events []Event, timeout time.Duration) (int, error) {
	if p.w.isClosed() {
		return 0, ErrClosed
	}
	if len(events) == 0 {
		return 0, ErrNoRoom
	}
	if len(p.buf) < len(events) {
		p.buf = make([]unix.EpollEvent, len(events))
	}
	dl := deadlineAfter(timeout)
	for {
		left := dl.left()
		n, err := unix.EpollWait(p.epfd, p.buf[:len(events)], millis(left))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, os.NewSyscallError("epoll_wait", err)
		}
		got, woke := p.collect(events, p.buf[:n])
		// Keep waiting only if nothing happened and time remains: epoll_wait
		// may return a little before a deadline it rounds to milliseconds, and
		// a spurious return must not end a Wait(-1).
		if got > 0 || woke || dl.left() == 0 {
			return got, nil
		}
	}
}

func (p *epoll) collect(events []Event, raw []unix.EpollEvent) (n int, woke bool) {
	for _, ev := range raw {
		fd := int(ev.Fd)
		if fd == p.wakefd {
			drain(p.wakefd)
			p.w.consumed()
			woke = true
			continue
		}
		e := p.reg.lookup(fd)
		if e == nil {
			continue
		}
		var m Mask
		if ev.Events&(unix.EPOLLERR|unix.EPOLLHUP|unix.EPOLLRDHUP) != 0 {
			m = Readable | Writable | Hangup
		} else {
			if ev.Events&unix.EPOLLIN != 0 {
				m |= Readable
			}
			if ev.Events&unix.EPOLLOUT != 0 {
				m |= Writable
			}
		}
		events[n] = Event{Fd: fd, Mask: m, Tag: e.tag}
		n++
	}
	return n, woke
}

// Wake adds to the eventfd counter; any non-zero 8-byte value (whatever the
// byte order) makes it readable.
func (p *epoll) Wake() error {
	return p.w.wake(func() error { return signalFd(p.wakefd, []byte{1, 0, 0, 0, 0, 0, 0, 0}) })
}

func (p *epoll) Close() error {
	return p.w.shut(func() error {
		p.reg = registry{}
		return errors.Join(closeFd(p.wakefd), closeFd(p.epfd))
	})
}
