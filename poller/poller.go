// Package poller is padchat's readiness multiplexer: one contract, one file per backend.
//
// Every backend provides exactly this:
//
//   - New() (Poller, error) picks the native backend (epoll on Linux, kqueue on
//     darwin/*BSD, select elsewhere); NewSelect() (Poller, error) gives the
//     portable select(2) fallback on any unix.
//   - Add(fd, events, tag) starts watching fd for the wanted events (Readable,
//     Writable or both). Tag is an opaque value handed back with every event for
//     that fd, so callers can find their connection without a map lookup.
//     A descriptor the kernel cannot poll (a regular file, /dev/null under epoll)
//     fails with ErrNotPollable (select takes it and reports it always ready);
//     the select backend refuses fds >= FD_SETSIZE with ErrFdTooLarge instead of
//     writing past its fd_set. Adding an fd twice fails
//     with ErrAlreadyRegistered.
//   - Modify(fd, events, tag) replaces the wanted events and tag; Remove(fd) stops
//     watching. After Remove, no later Wait returns an event for fd, even one that
//     was already pending in the kernel: a reused fd number starts clean. (Events
//     of the batch being walked were returned before the Remove; skip them by tag.)
//     Remove before closing the fd.
//   - Wait(events, timeout) blocks until at least one fd is ready, Wake is called,
//     or timeout passes (timeout < 0 waits forever, 0 polls). It fills events and
//     returns how many it filled. Each Event carries one neutral mask: Readable
//     and/or Writable; an error or hang-up on the fd reports Readable|Writable|Hangup,
//     so the next read or write surfaces the cause (as Redis does). kqueue's
//     separate read and write events for one fd are merged into one Event.
//     select cannot see hang-ups: there a closed peer is only Readable, and the
//     read returns EOF. EINTR is retried with the remaining time. An empty
//     events slice fails with ErrNoRoom.
//   - Wake() may be called from any goroutine and makes a blocked (or the next)
//     Wait return. Wake-ups coalesce: many Wake calls between two Waits cost one
//     wake-up and produce no Event.
//   - Close() releases the kernel object; every later call returns ErrClosed.
//
// A Poller is not safe for concurrent use except for Wake: one goroutine (the
// event loop) owns it. Only the backend files call unix.Epoll*, unix.Kevent and
// unix.Select.
package poller

import "time"

// Mask is a set of readiness conditions.
type Mask uint8

const (
	Readable Mask = 1 << iota
	Writable
	// Hangup is set together with Readable|Writable when the fd has an error or
	// its peer hung up; the next read or write reports which. A peer that only
	// shut down its sending side counts too: read to EOF before giving up.
	Hangup
)

// Event is one ready descriptor.
type Event struct {
	Fd   int
	Mask Mask
	Tag  uint64
}

// Poller is the contract every backend implements; see the package comment.
type Poller interface {
	Add(fd int, want Mask, tag uint64) error
	Modify(fd int, want Mask, tag uint64) error
	Remove(fd int) error
	Wait(events []Event, timeout time.Duration) (int, error)
	Wake() error
	Close() error
	// Backend names the implementation: "epoll", "kqueue" or "select".
	Backend() string
}
