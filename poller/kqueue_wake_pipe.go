// Kqueue wake-up through a self-pipe, where x/sys has no EVFILT_USER (NetBSD, OpenBSD).
//go:build netbsd || openbsd

package poller

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// kqWake is a pipe whose read end is watched with EVFILT_READ, as Go's
// runtime does on these systems.
type kqWake struct{ r, w int }

func (k *kqWake) init(kq int) error {
	r, w, err := newSelfPipe()
	if err != nil {
		return err
	}
	k.r, k.w = r, w
	var ch [1]unix.Kevent_t
	unix.SetKevent(&ch[0], r, unix.EVFILT_READ, unix.EV_ADD)
	for {
		_, err = unix.Kevent(kq, ch[:], nil, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		unix.Close(r)
		unix.Close(w)
		return os.NewSyscallError("kevent", err)
	}
	return nil
}

func (k *kqWake) signal(int) error { return signalFd(k.w, []byte{1}) }

func (k *kqWake) owns(ev *unix.Kevent_t) bool {
	return ev.Filter == unix.EVFILT_READ && int(ev.Ident) == k.r
}

func (k *kqWake) drain() { drain(k.r) }

func (k *kqWake) close() error { return errors.Join(closeFd(k.r), closeFd(k.w)) }
