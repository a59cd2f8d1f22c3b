// Errors: the sentinel errors every backend returns, to be matched with errors.Is.

package poller

import "errors"

var (
	// ErrNotPollable: the kernel cannot poll this descriptor (epoll's EPERM for
	// regular files and /dev/null). Callers treat such an fd as always readable.
	ErrNotPollable = errors.New("poller: descriptor cannot be polled")
	// ErrFdTooLarge: the select backend cannot watch fds >= FD_SETSIZE.
	ErrFdTooLarge = errors.New("poller: descriptor too large for select (>= FD_SETSIZE)")
	// ErrClosed: the poller was closed.
	ErrClosed = errors.New("poller: closed")
	// ErrNotRegistered: Modify or Remove of an fd that was never added.
	ErrNotRegistered = errors.New("poller: descriptor not registered")
	// ErrAlreadyRegistered: Add of an fd that is already watched (use Modify).
	ErrAlreadyRegistered = errors.New("poller: descriptor already registered")
	// ErrNoRoom: Wait was given an empty events slice, so it could report nothing.
	ErrNoRoom = errors.New("poller: Wait needs room for at least one event")
)
