// An open state file: its lock, its in-place durable updates, and burning used pad.
package otp

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"padchat/internal/crashpoint"
)

// stateFile is a locked state file and the record last made durable in it.
// burn, when set, is a write-only descriptor of the pad for zeroing used ranges.
// An unlocked stateFile (NoLock) keeps neither descriptor open between writes.
type stateFile struct {
	f       *os.File
	st      state
	burn    *os.File
	path    string
	padPath string
	doBurn  bool
	noLock  bool
	// The files first opened: an unlocked state file re-opens by path, and a
	// path whose file was removed and re-created (a removed and re-added user)
	// belongs to another pad that these writes must never touch. Only the
	// identity is kept, not an os.FileInfo: thousands of sessions hold these.
	firstState, firstPad fileID
}

// fileID is what tells one file from another: device and inode.
type fileID struct{ dev, ino uint64 }

func identify(f *os.File) (fileID, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstat(int(f.Fd()), &st)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fileID{}, os.NewSyscallError("fstat", err)
		}
		// The conversions: Dev and Ino differ in type between the BSDs and Linux.
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, nil
	}
}

// openStateFile locks and reads the state at path and checks it fits pad and role.
// With noLock the caller vouches that no other process uses the pad (padchatd
// locks its whole data dir) and the file is closed again until the next write.
func openStateFile(path string, pad *Pad, role Role, burn, noLock bool) (*stateFile, error) {
	sf := &stateFile{path: path, padPath: pad.Path(), doBurn: burn, noLock: noLock}
	if err := sf.open(); err != nil {
		return nil, err
	}
	if !noLock {
		if err := sf.lock(path); err != nil {
			sf.f.Close()
			return nil, err
		}
	}
	if err := sf.load(path, pad, role); err != nil {
		sf.f.Close()
		return nil, err
	}
	if noLock {
		return sf, sf.release()
	}
	return sf, nil
}

// open opens the state file (and the pad for burning) for reading and writing.
func (sf *stateFile) open() error {
	f, err := os.OpenFile(sf.path, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s", ErrNoState, sf.path)
		}
		return err
	}
	sf.f = f
	if sf.doBurn {
		if sf.burn, err = os.OpenFile(sf.padPath, os.O_WRONLY, 0); err != nil {
			f.Close()
			return err
		}
	}
	if err := sf.sameFiles(); err != nil {
		sf.release()
		return err
	}
	return nil
}

// sameFiles checks the open descriptors are the files first opened.
func (sf *stateFile) sameFiles() error {
	check := func(f *os.File, first *fileID) error {
		if f == nil {
			return nil
		}
		id, err := identify(f)
		if err != nil {
			return err
		}
		if *first == (fileID{}) {
			*first = id
		} else if *first != id {
			return fmt.Errorf("%w: %s", ErrStateReplaced, f.Name())
		}
		return nil
	}
	return errors.Join(check(sf.f, &sf.firstState), check(sf.burn, &sf.firstPad))
}

// release closes the descriptors of an unlocked state file after a write.
func (sf *stateFile) release() error {
	err := sf.f.Close()
	sf.f = nil
	if sf.burn != nil {
		err = errors.Join(err, sf.burn.Close())
		sf.burn = nil
	}
	return err
}

// lock takes an exclusive flock; it is released when the descriptor closes,
// including when the process dies, so a killed daemon never leaves it stale.
func (sf *stateFile) lock(path string) error {
	for {
		err := unix.Flock(int(sf.f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return fmt.Errorf("%w: %s", ErrPadInUse, path)
		}
		return os.NewSyscallError("flock", err)
	}
}

func (sf *stateFile) load(path string, pad *Pad, role Role) error {
	b := make([]byte, stateSize+1) // one extra byte to notice an overlong file
	n, err := io.ReadFull(sf.f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return err
	}
	st, err := parseState(b[:n])
	if err != nil {
		return fmt.Errorf("%w (%s)", err, path)
	}
	switch {
	case st.role != role:
		return fmt.Errorf("%w: %s", ErrWrongRole, path)
	case st.id != pad.ID():
		return fmt.Errorf("%w: %s is for pad %s, not %s", ErrWrongPad, path, st.id, pad.ID())
	case st.mark > pad.Size():
		return fmt.Errorf("%w: %s: offset %d past the pad's end %d", ErrBadState, path, st.mark, pad.Size())
	}
	sf.st = st
	return nil
}

// write makes a new record durable. The in-memory record changes only once the
// sync succeeded, so a failed write is retried into the same slot and the other
// slot keeps the last durable record. A lazy write skips the sync: only for a
// record whose loss to a crash is safe (see lower).
func (sf *stateFile) write(mark, burned int64, lazy bool) error {
	st := sf.st
	st.seq++
	st.mark, st.burned = mark, burned
	var b [slotSize]byte
	encodeSlot(b[:], st)
	if _, err := sf.f.WriteAt(b[:], int64(st.seq%2)*slotSize); err != nil {
		return err
	}
	if lazy {
		crashpoint.Hit(crashpoint.ParkWrite)
	} else {
		crashpoint.Hit(crashpoint.ReserveSync)
		if err := syncData(sf.f); err != nil {
			return err
		}
	}
	sf.st = st
	return nil
}

// zeros is the source of burn writes.
var zeros [64 << 10]byte

// burnTo zeroes the pad from the last burned offset to upto and syncs it, and
// returns the new burned offset for the next record. Only the bytes are
// overwritten: SSDs and copy-on-write file systems may keep old copies elsewhere.
func (sf *stateFile) burnTo(upto int64) (int64, error) {
	from := sf.st.burned
	if sf.burn == nil || upto <= from {
		return from, nil
	}
	for off := from; off < upto; {
		n := min(int64(len(zeros)), upto-off)
		if _, err := sf.burn.WriteAt(zeros[:n], off); err != nil {
			return from, err
		}
		off += n
	}
	if err := syncData(sf.burn); err != nil {
		return from, err
	}
	return upto, nil
}

// save burns up to used (at most mark) if asked to and records mark durably; it
// skips the write when nothing changed.
func (sf *stateFile) save(mark, used int64) error { return sf.record(mark, used, false) }

// record is save, or with lazy, a write without a sync (burning, if asked
// to, still syncs) of a Sender's mark at or below the durable one, or of a
// Receiver's expected offset. Safe because the record it replaces is safe too:
// for a Sender a crash that loses it leaves the higher mark, which only wastes
// pad, and the next reservation's sync makes it durable with its own record.
func (sf *stateFile) record(mark, used int64, lazy bool) error {
	// A Sender's mark only ever goes up durably; a Receiver's may lag (Save).
	lazy = lazy && (sf.st.role == RoleRecv || mark <= sf.st.mark)
	if mark == sf.st.mark && (!sf.doBurn || used <= sf.st.burned) {
		return nil
	}
	if sf.f == nil {
		if err := sf.open(); err != nil {
			return err
		}
		defer sf.release()
	}
	burned, err := sf.burnTo(used)
	if err != nil {
		return err
	}
	if mark == sf.st.mark && burned == sf.st.burned {
		return nil
	}
	return sf.write(mark, burned, lazy)
}

func (sf *stateFile) close() error {
	if sf.f == nil {
		return nil
	}
	var errBurn error
	if sf.burn != nil {
		errBurn = sf.burn.Close()
	}
	// Closing the descriptor releases the flock.
	return errors.Join(sf.f.Close(), errBurn)
}
