// Kqueue backend: the native poller on darwin and the BSDs, read and write filters merged into one Event per fd.
//go:build darwin || freebsd || netbsd || openbsd

package poller

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// New returns the native backend: kqueue.
func New() (Poller, error) { return newKqueue() }

type kqueue struct {
	kq    int
	wk    kqWake // EVFILT_USER or a self-pipe, per OS
	reg   registry
	w     wakeup
	buf   []unix.Kevent_t
	batch uint64 // counts Waits, to merge one fd's two filters within one
}

func newKqueue() (*kqueue, error) {
	syscall.ForkLock.RLock()
	kq, err := unix.Kqueue()
	if err == nil {
		unix.CloseOnExec(kq)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, os.NewSyscallError("kqueue", err)
	}
	p := &kqueue{kq: kq}
	if err := p.wk.init(kq); err != nil {
		unix.Close(kq)
		return nil, err
	}
	return p, nil
}

func (p *kqueue) Backend() string { return "kqueue" }

// change applies one filter change; one at a time so a failure is known to
// belong to that filter and the other can be put back.
func (p *kqueue) change(fd, filter, flags int) error {
	var ch [1]unix.Kevent_t
	unix.SetKevent(&ch[0], fd, filter, flags)
	for {
		_, err := unix.Kevent(p.kq, ch[:], nil, nil)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENODEV):
			// The filter is not supported for this kind of file (ttys and
			// /dev/null on darwin), the kqueue twin of epoll's EPERM.
			if flags&unix.EV_ADD != 0 {
				return fmt.Errorf("%w: %w", ErrNotPollable, os.NewSyscallError("kevent", err))
			}
		}
		return os.NewSyscallError("kevent", err)
	}
}

// set moves fd's filters from the old to the new wanted events.
func (p *kqueue) set(fd int, old, want Mask) error {
	if err := p.toggle(fd, unix.EVFILT_READ, old&Readable != 0, want&Readable != 0); err != nil {
		return err
	}
	if err := p.toggle(fd, unix.EVFILT_WRITE, old&Writable != 0, want&Writable != 0); err != nil {
		// Put the read filter back, so the kernel and the registry agree.
		p.toggle(fd, unix.EVFILT_READ, want&Readable != 0, old&Readable != 0)
		return err
	}
	return nil
}

func (p *kqueue) toggle(fd, filter int, was, now bool) error {
	switch {
	case now && !was:
		return p.change(fd, filter, unix.EV_ADD)
	case was && !now:
		return p.remove(fd, filter)
	}
	return nil
}

// remove tolerates ENOENT and EBADF: closing an fd drops its filters already.
func (p *kqueue) remove(fd, filter int) error {
	err := p.change(fd, filter, unix.EV_DELETE)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EBADF) {
		return nil
	}
	return err
}

func (p *kqueue) Add(fd int, want Mask, tag uint64) error {
	if p.w.isClosed() {
		return ErrClosed
	}
	if err := p.reg.canAdd(fd, "kevent"); err != nil {
		return err
	}
	// kqueue accepts regular files but reports them ready only until EOF, so
	// a caller would never see the EOF; refuse them as epoll does.
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG {
		return fmt.Errorf("%w: fd %d is a regular file", ErrNotPollable, fd)
	}
	if err := p.set(fd, 0, want); err != nil {
		return err
	}
	p.reg.put(fd, want, tag)
	return nil
}

func (p *kqueue) Modify(fd int, want Mask, tag uint64) error {
	if p.w.isClosed() {
		return ErrClosed
	}
	e := p.reg.lookup(fd)
	if e == nil {
		return ErrNotRegistered
	}
	if err := p.set(fd, e.want, want); err != nil {
		return err
	}
	p.reg.put(fd, want, tag)
	return nil
}

// Remove deletes fd's filters, so no later kevent returns it; events already
// in the batch the caller walks are the caller's to skip. Call it before close.
func (p *kqueue) Remove(fd int) error {
	if p.w.isClosed() {
		return ErrClosed
	}
	e := p.reg.lookup(fd)
	if e == nil {
		return ErrNotRegistered
	}
	want := e.want
	p.reg.drop(fd)
	return p.set(fd, want, 0)
}

func (p *kqueue) Wait(events []Event, timeout time.Duration) (int, error) {
	if p.w.isClosed() {
		return 0, ErrClosed
	}
	if len(events) == 0 {
		return 0, ErrNoRoom
	}
	// One kevent slot per Event: merged, they never overflow events.
	if len(p.buf) < len(events) {
		p.buf = make([]unix.Kevent_t, len(events))
	}
	dl := deadlineAfter(timeout)
	for {
		left := dl.left()
		var ts *unix.Timespec
		if left >= 0 {
			t := unix.NsecToTimespec(left.Nanoseconds())
			ts = &t
		}
		n, err := unix.Kevent(p.kq, nil, p.buf[:len(events)], ts)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, os.NewSyscallError("kevent", err)
		}
		got, woke := p.collect(events, p.buf[:n])
		if got > 0 || woke || dl.left() == 0 {
			return got, nil
		}
	}
}

func (p *kqueue) collect(events []Event, raw []unix.Kevent_t) (n int, woke bool) {
	p.batch++
	for i := range raw {
		ev := &raw[i]
		if p.wk.owns(ev) {
			p.wk.drain()
			p.w.consumed()
			woke = true
			continue
		}
		fd := int(ev.Ident)
		e := p.reg.lookup(fd)
		if e == nil {
			continue
		}
		var m Mask
		switch {
		case ev.Flags&(unix.EV_EOF|unix.EV_ERROR) != 0:
			m = Readable | Writable | Hangup
		case ev.Filter == unix.EVFILT_READ:
			m = Readable
		case ev.Filter == unix.EVFILT_WRITE:
			m = Writable
		}
		if e.batch == p.batch {
			events[e.slot].Mask |= m
			continue
		}
		e.batch, e.slot = p.batch, n
		events[n] = Event{Fd: fd, Mask: m, Tag: e.tag}
		n++
	}
	return n, woke
}

func (p *kqueue) Wake() error {
	return p.w.wake(func() error { return p.wk.signal(p.kq) })
}

func (p *kqueue) Close() error {
	return p.w.shut(func() error {
		p.reg = registry{}
		return errors.Join(p.wk.close(), closeFd(p.kq))
	})
}
