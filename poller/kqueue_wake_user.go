// Kqueue wake-up through an EVFILT_USER event, on the systems whose x/sys defines it.
//go:build darwin || freebsd

package poller

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// kqWake is a user event: NOTE_TRIGGER fires it, EV_CLEAR re-arms it as soon
// as kevent reports it, so there is nothing to drain or close.
type kqWake struct{}

func (kqWake) init(kq int) error { return userEvent(kq, unix.EV_ADD|unix.EV_CLEAR, 0) }

func (kqWake) signal(kq int) error { return userEvent(kq, 0, unix.NOTE_TRIGGER) }

func (kqWake) owns(ev *unix.Kevent_t) bool { return ev.Filter == unix.EVFILT_USER }

func (kqWake) drain() {}

func (kqWake) close() error { return nil }

func userEvent(kq, flags int, fflags uint32) error {
	var ch [1]unix.Kevent_t
	unix.SetKevent(&ch[0], 0, unix.EVFILT_USER, flags)
	ch[0].Fflags = fflags
	for {
		_, err := unix.Kevent(kq, ch[:], nil, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return os.NewSyscallError("kevent", err)
		}
		return nil
	}
}
