// Wakeup holds what every backend shares for Wake and Close: the coalescing flag, the closed state and the self-pipe.

package poller

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// wakeup serialises Wake against Close, so a Wake racing a Close never writes
// to a wake-up descriptor that was closed and whose number may have been
// reused by another file.
type wakeup struct {
	mu      sync.Mutex
	closed  atomic.Bool
	pending atomic.Bool // a signal is in flight and not yet consumed by Wait
}

// wake calls signal only if no earlier wake-up is pending: many Wakes between
// two Waits cost one syscall.
func (w *wakeup) wake(signal func() error) error {
	if !w.pending.CompareAndSwap(false, true) {
		if w.closed.Load() {
			return ErrClosed
		}
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Load() {
		return ErrClosed
	}
	if err := signal(); err != nil {
		w.pending.Store(false)
		return err
	}
	return nil
}

// consumed is called by Wait after it drained the wake-up descriptor. A Wake
// that lands before it finds a signal pending and sends none, but its work was
// queued before it woke, so the caller of Wait sees it; a Wake after it
// signals again. (Cleared before the drain, the drain could eat the signal of
// a Wake landing in between, leaving the flag set with nothing to clear it:
// every later Wake lost.)
func (w *wakeup) consumed() { w.pending.Store(false) }

func (w *wakeup) isClosed() bool { return w.closed.Load() }

// shut marks the poller closed and runs release once, under the lock Wake takes.
func (w *wakeup) shut(release func() error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed.Load() {
		return ErrClosed
	}
	w.closed.Store(true)
	return release()
}

// newSelfPipe returns a non-blocking, close-on-exec pipe. pipe2 is missing on
// darwin, so the flags are set afterwards under ForkLock, as package os does.
func newSelfPipe() (r, w int, err error) {
	var p [2]int
	syscall.ForkLock.RLock()
	err = unix.Pipe(p[:])
	if err == nil {
		unix.CloseOnExec(p[0])
		unix.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, -1, os.NewSyscallError("pipe", err)
	}
	for _, fd := range p {
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(p[0])
			unix.Close(p[1])
			return -1, -1, os.NewSyscallError("fcntl", err)
		}
	}
	return p[0], p[1], nil
}

// signalFd writes msg to a non-blocking wake-up descriptor (pipe or eventfd).
// EAGAIN means it is already full of signals, which is as good.
func signalFd(fd int, msg []byte) error {
	for {
		_, err := unix.Write(fd, msg)
		switch {
		case err == nil, errors.Is(err, unix.EAGAIN):
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		}
		return os.NewSyscallError("write", err)
	}
}

// drain empties a non-blocking wake-up descriptor (pipe or eventfd).
func drain(fd int) {
	var buf [64]byte
	for {
		n, err := unix.Read(fd, buf[:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n == 0 {
			return
		}
	}
}

func closeFd(fd int) error {
	if err := unix.Close(fd); err != nil {
		return os.NewSyscallError("close", err)
	}
	return nil
}
