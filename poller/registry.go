// Registry is the fd → (wanted events, tag) table every backend keeps, indexed by fd number.

package poller

import (
	"os"

	"golang.org/x/sys/unix"
)

// entry is one registered descriptor. kqMerge is what the kqueue backend needs
// to merge an fd's read and write events of one Wait into one Event; elsewhere
// it is empty (first, so it costs no padding), and an entry is 16 bytes.
type entry struct {
	//lint:ignore U1000 empty but for the kqueue backend (registry_bsd.go)
	kqMerge
	tag  uint64
	want Mask
	used bool
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
		// By a quarter, not double: fds are dense and grow with the
		// connections, and the slack of a doubling is up to 16 bytes per
		// connection held for good.
		grown := make([]entry, max(fd+1, len(r.fds)+len(r.fds)/4+64))
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
