// Pad files: creating them from crypto/rand and mapping them read-only.
package otp

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Pad is a pad file mapped read-only. Fan-out seals hundreds of MB/s of pad, so
// frames read it straight from the page cache instead of with a read per frame.
// A Pad, like the Sender and Receiver using it, belongs to one goroutine.
type Pad struct {
	path string
	data []byte // the mapping; nil once closed
	size int64
	id   PadID
}

const (
	createChunk   = 1 << 20
	progressEvery = 8 << 20
)

// CreatePad writes a new pad of size random bytes at path (mode 0600, never over an
// existing file), syncs it and its directory, and returns its id. progress, if not
// nil, is called every few MiB and once at the end. A partial pad is removed.
func CreatePad(path string, size int64, progress func(done, total int64)) (PadID, error) {
	return createPad(path, size, progress, true)
}

// CreatePadUnsynced is CreatePad without the fsyncs, for provisioning many
// pads at once: the caller makes them durable with one sync at the end.
func CreatePadUnsynced(path string, size int64, progress func(done, total int64)) (PadID, error) {
	return createPad(path, size, progress, false)
}

func createPad(path string, size int64, progress func(done, total int64), sync bool) (PadID, error) {
	var id PadID
	if size <= FirstOffset+KeySize || size > math.MaxInt {
		return id, fmt.Errorf("%w: size %d must be over %d", ErrBadPad, size, FirstOffset+KeySize)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return id, err
	}
	err = fillRandom(f, size, progress, &id)
	if err == nil && sync {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return id, err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return id, err
	}
	if !sync {
		return id, nil
	}
	return id, SyncDir(filepath.Dir(path))
}

func fillRandom(f *os.File, size int64, progress func(done, total int64), id *PadID) error {
	buf := make([]byte, createChunk)
	var done, reported int64
	for done < size {
		n := int(min(int64(len(buf)), size-done))
		rand.Read(buf[:n]) // never fails: crypto/rand aborts the program instead
		if done == 0 {
			*id = idOf(buf[:FirstOffset])
		}
		if _, err := f.Write(buf[:n]); err != nil {
			return err
		}
		done += int64(n)
		if progress != nil && (done-reported >= progressEvery || done == size) {
			progress(done, size)
			reported = done
		}
	}
	return nil
}

func idOf(head []byte) PadID {
	sum := sha256.Sum256(head)
	return PadID(sum[:IDSize])
}

// OpenPad maps the pad at path read-only. It opens and stats the file
// through unix calls, not an os.File: a server opens two pads at every login
// and parks them minutes later, and an os.File and its FileInfo were 0.4 KB
// of garbage a pad.
func OpenPad(path string) (*Pad, error) {
	fd, err := openRead(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd) // the mapping outlives the descriptor
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	size := int64(st.Size)
	if st.Mode&unix.S_IFMT != unix.S_IFREG || size <= FirstOffset+KeySize || size > math.MaxInt {
		return nil, fmt.Errorf("%w: %s: %d bytes", ErrBadPad, path, size)
	}
	// MmapPtr, not Mmap: unix.Mmap records every mapping in a package-wide
	// table (a map entry per pad, two per online user) that a server holding
	// thousands of sessions pays for in heap.
	ptr, err := unix.MmapPtr(fd, 0, nil, uintptr(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	data := unsafe.Slice((*byte)(ptr), int(size))
	// Frames walk a pad front to back; the hint only tunes read-ahead, so its
	// failure does not matter.
	_ = unix.Madvise(data, unix.MADV_SEQUENTIAL)
	return &Pad{path: path, data: data, size: size, id: idOf(data[:FirstOffset])}, nil
}

// openRead opens path read-only and close-on-exec, retrying EINTR as os.Open does.
func openRead(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func (p *Pad) ID() PadID    { return p.id }
func (p *Pad) Size() int64  { return p.size }
func (p *Pad) Path() string { return p.path }
func (p *Pad) closed() bool { return p.data == nil }

// Close unmaps the pad. Senders and Receivers on it fail with ErrClosed afterwards.
func (p *Pad) Close() error {
	if p.data == nil {
		return nil
	}
	data := p.data
	p.data = nil
	if err := unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(data)), uintptr(len(data))); err != nil {
		return os.NewSyscallError("munmap", err)
	}
	return nil
}

// ReadPadID reads only the 32 naming bytes of the pad at path.
func ReadPadID(path string) (PadID, error) {
	var id PadID
	f, err := os.Open(path)
	if err != nil {
		return id, err
	}
	defer f.Close()
	var head [FirstOffset]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return id, fmt.Errorf("%w: %s: shorter than %d bytes", ErrBadPad, path, FirstOffset)
		}
		return id, err
	}
	return idOf(head[:]), nil
}

// SyncDir makes a new or renamed directory entry durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// SyncData makes the bytes written to f durable (fdatasync on Linux, F_FULLFSYNC on darwin).
func SyncData(f *os.File) error { return syncData(f) }

// Release drops the pad's pages from the process's resident set; they stay in
// the page cache and fault back in on the next use. For pads that go idle.
func (p *Pad) Release() {
	if p.data != nil {
		_ = unix.Madvise(p.data, unix.MADV_DONTNEED)
	}
}
