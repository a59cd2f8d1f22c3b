// The pad state record: what a Sender has reserved or a Receiver has accepted, on disk.
package otp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"
)

// Role says which end of a pad a state file belongs to. It is fixed when the state
// is made, so one pad can never be sealed with by both ends.
type Role uint8

const (
	RoleSend Role = 1 // this side seals with the pad
	RoleRecv Role = 2 // this side opens frames sealed with it
)

func (r Role) valid() bool { return r == RoleSend || r == RoleRecv }

// A state file is two 64-byte slots inside one disk sector, each a whole record:
//
//	magic "PCST" | version u8 | role u8 | 0 u16 | pad id [16] | seq u64 |
//	mark u64 | burned u64 | 0 [12] | crc32c u32 of the 60 bytes before it
//
// (big-endian). A record of sequence number seq lives in slot seq%2, so an update
// overwrites the older record in place and syncs once: no rename, so the file's lock stays on the one inode and a
// reservation costs one data sync. If a crash tears the slot being written, the
// other still holds the record before it, which is safe to resume from: the
// write never returned, so nothing that needed it left the process.
const (
	stateMagic   = "PCST"
	stateVersion = 1
	slotSize     = 64
	stateSize    = 2 * slotSize
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// state is one record. mark is a Sender's reserved mark or a Receiver's expected
// offset; pad bytes below burned have been zeroed (or were never key).
type state struct {
	id     PadID
	role   Role
	seq    uint64
	mark   int64
	burned int64
}

func encodeSlot(b []byte, st state) {
	clear(b[:slotSize])
	copy(b, stateMagic)
	b[4] = stateVersion
	b[5] = byte(st.role)
	copy(b[8:24], st.id[:])
	binary.BigEndian.PutUint64(b[24:], st.seq)
	binary.BigEndian.PutUint64(b[32:], uint64(st.mark))
	binary.BigEndian.PutUint64(b[40:], uint64(st.burned))
	binary.BigEndian.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
}

// decodeSlot accepts only a record encodeSlot could have written.
func decodeSlot(b []byte) (state, bool) {
	var st state
	if len(b) != slotSize || string(b[:4]) != stateMagic || b[4] != stateVersion ||
		binary.BigEndian.Uint32(b[60:]) != crc32.Checksum(b[:60], castagnoli) {
		return st, false
	}
	if b[6] != 0 || b[7] != 0 || [12]byte(b[48:60]) != [12]byte{} {
		return st, false
	}
	st.role = Role(b[5])
	copy(st.id[:], b[8:24])
	st.seq = binary.BigEndian.Uint64(b[24:])
	mark, burned := binary.BigEndian.Uint64(b[32:]), binary.BigEndian.Uint64(b[40:])
	if !st.role.valid() || st.seq > math.MaxInt64 || mark > math.MaxInt64 || burned < FirstOffset || burned > mark {
		return st, false
	}
	st.mark, st.burned = int64(mark), int64(burned)
	return st, true
}

// parseState picks the newest valid record of a state file and rejects anything
// that two honest slots could not look like.
func parseState(b []byte) (state, error) {
	if len(b) != stateSize {
		return state{}, fmt.Errorf("%w: %d bytes, want %d", ErrBadState, len(b), stateSize)
	}
	a, okA := decodeSlot(b[:slotSize])
	c, okC := decodeSlot(b[slotSize:])
	okA = okA && a.seq%2 == 0
	okC = okC && c.seq%2 == 1
	switch {
	case !okA && !okC:
		return state{}, fmt.Errorf("%w: no valid record", ErrBadState)
	case !okC:
		return a, nil
	case !okA:
		return c, nil
	}
	if a.id != c.id || a.role != c.role {
		return state{}, fmt.Errorf("%w: records name different pads or roles", ErrBadState)
	}
	if a.seq < c.seq {
		a, c = c, a
	}
	if a.seq-c.seq != 1 {
		return state{}, fmt.Errorf("%w: records %d and %d are not consecutive", ErrBadState, c.seq, a.seq)
	}
	return a, nil
}

// marshalState writes st alone into its slot, the other left empty: the form a
// new state file takes.
func marshalState(st state) []byte {
	b := make([]byte, stateSize)
	i := st.seq % 2
	encodeSlot(b[i*slotSize:(i+1)*slotSize], st)
	return b
}

// InitState creates the state file for a pad that has never been used at this
// end: next = reserved = FirstOffset. It never replaces an existing file
// (ErrStateExists): a state reset to the start would make a Sender reuse pad.
func InitState(statePath string, id PadID, role Role) error {
	return initState(statePath, id, role, true)
}

// InitStateUnsynced is InitState without the fsync, for provisioning many
// users at once: the caller syncs once at the end, before anyone uses them.
func InitStateUnsynced(statePath string, id PadID, role Role) error {
	return initState(statePath, id, role, false)
}

func initState(statePath string, id PadID, role Role, sync bool) error {
	if !role.valid() {
		return fmt.Errorf("otp: invalid role %d", role)
	}
	if _, err := os.Lstat(statePath); err == nil {
		return fmt.Errorf("%w: %s", ErrStateExists, statePath)
	}
	dir := filepath.Dir(statePath)
	tmp, err := os.CreateTemp(dir, filepath.Base(statePath)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(marshalState(state{id: id, role: role, mark: FirstOffset, burned: FirstOffset}))
	if err == nil && sync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	// A hard link publishes the file only if the name is still free, where a
	// rename would silently replace a state that appeared meanwhile.
	err = os.Link(tmp.Name(), statePath)
	os.Remove(tmp.Name())
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s", ErrStateExists, statePath)
	} else if err != nil {
		return err
	}
	if !sync {
		return nil
	}
	return SyncDir(dir)
}
