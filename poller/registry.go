// Registry is the fd → (wanted events, tag) table every backend keeps, indexed by fd number.

package poller

import (
	"os"

	"golang.org/x/sys/unix"
)

// entry is one registered descriptor. batch and slot let the kqueue backend
// merge an fd's read and write events of one Wait into one Event.
type entry struct {
	want Mask
	tag  uint64
	used bool
	//lint:ignore U1000 used by the kqueue backend (poller_bsd.go), not built on Linux
	batch uint64
	//lint:ignore U1000 used by the kqueue backend (poller_bsd.go), not built on Linux
	slot int
}

// registry is a slice, not a map: fd numbers are small and dense, and a Wait
// looks up every ready fd.
type registry struct {
	fds []entry
}

func (r *registry) lookup(fd int) *entry {
	if fd < 0 || fd >= len(r.fds) || !r.fds[fd].used {
		return nil
	}
	return &r.fds[fd]
}

// canAdd is checked before the kernel is asked, so every backend refuses a
// bad or doubly added fd the same way.
func (r *registry) canAdd(fd int, op string) error {
	if fd < 0 {
		return os.NewSyscallError(op, unix.EBADF)
	}
	if r.lookup(fd) != nil {
		return ErrAlreadyRegistered
	}
	return nil
}

func (r *registry) put(fd int, want Mask, tag uint64) {
	if fd >= len(r.fds) {
		grown := make([]entry, max(fd+1, 2*len(r.fds)))
		copy(grown, r.fds)
		r.fds = grown
	}
	r.fds[fd] = entry{want: want & (Readable | Writable), tag: tag, used: true}
}

func (r *registry) drop(fd int) {
	if fd >= 0 && fd < len(r.fds) {
		r.fds[fd] = entry{}
	}
}
