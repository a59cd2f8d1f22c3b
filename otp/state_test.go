// State file tests: the record format, torn slots, and the Receiver's saved offset.
package otp

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleState() state {
	return state{id: PadID{1, 2, 3}, role: RoleSend, seq: 7, mark: 1 << 20, burned: 4096}
}

// twoSlots is a file as an update leaves it: older record and newer one.
func twoSlots(older, newer state) []byte {
	b := make([]byte, stateSize)
	encodeSlot(b[older.seq%2*slotSize:], older)
	encodeSlot(b[newer.seq%2*slotSize:], newer)
	return b
}

func TestParseState(t *testing.T) {
	st := sampleState()
	prev := st
	prev.seq, prev.mark = 6, 1<<19
	torn := twoSlots(prev, st)
	torn[st.seq%2*slotSize+33] ^= 0x40
	otherPad := st
	otherPad.id[0] = 9
	gap := st
	gap.seq = 9
	odd := make([]byte, stateSize)
	encodeSlot(odd, st) // seq 7 belongs in slot 1

	tests := []struct {
		name string
		b    []byte
		want state
		err  error
	}{
		{"fresh", marshalState(st), st, nil},
		{"two records: newest wins", twoSlots(prev, st), st, nil},
		{"torn newest: previous record", torn, prev, nil},
		{"slots of two pads", twoSlots(prev, otherPad), state{}, ErrBadState},
		{"records not consecutive", twoSlots(prev, gap), state{}, ErrBadState},
		{"record in the wrong slot", odd, state{}, ErrBadState},
		{"short", marshalState(st)[:stateSize-1], state{}, ErrBadState},
		{"long", append(marshalState(st), 0), state{}, ErrBadState},
		{"empty", nil, state{}, ErrBadState},
		{"zeros", make([]byte, stateSize), state{}, ErrBadState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseState(tt.b)
			if tt.err != nil {
				assert.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeSlotRejects(t *testing.T) {
	mutate := func(f func(b []byte)) []byte {
		b := make([]byte, slotSize)
		encodeSlot(b, sampleState())
		f(b)
		return b
	}
	resum := func(f func(b []byte)) []byte { // a change the checksum does not catch
		return mutate(func(b []byte) {
			f(b)
			binary.BigEndian.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
		})
	}
	tests := map[string][]byte{
		"checksum":       mutate(func(b []byte) { b[20] ^= 1 }),
		"magic":          resum(func(b []byte) { b[0] = 'X' }),
		"version":        resum(func(b []byte) { b[4] = 2 }),
		"role":           resum(func(b []byte) { b[5] = 3 }),
		"reserved bytes": resum(func(b []byte) { b[7] = 1 }),
		"padding":        resum(func(b []byte) { b[50] = 1 }),
		"mark over 2^63": resum(func(b []byte) { b[32] = 0x80 }),
		"burned > mark":  resum(func(b []byte) { b[40] = 0x7f }),
		"burned < 32":    resum(func(b []byte) { clear(b[40:48]) }),
	}
	for name, b := range tests {
		_, ok := decodeSlot(b)
		assert.False(t, ok, name)
	}
	_, ok := decodeSlot(resum(func([]byte) {}))
	assert.True(t, ok, "re-checksummed original")
}

func TestStateWritesAlternate(t *testing.T) {
	pad := newPad(t, 1<<20)
	s, path := newSenderT(t, pad, SenderOptions{ReserveStep: 4096, MaxReserveStep: 4096})
	sess := newSession()
	var marks []int64
	for range 3 {
		seal(t, s, make([]byte, 5000), ToServer, sess)
		marks = append(marks, s.reserved)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		st, err := parseState(b)
		require.NoError(t, err)
		assert.Equal(t, s.reserved, st.mark)
		_, ok0 := decodeSlot(b[:slotSize])
		_, ok1 := decodeSlot(b[slotSize:])
		assert.True(t, ok0 && ok1, "the previous record stays beside the new one")
	}
	assert.IsIncreasing(t, marks)
}

func TestReceiverSavesExpected(t *testing.T) {
	pad := newPad(t, 1<<20)
	s, _ := newSenderT(t, pad, SenderOptions{})
	r, path := newReceiverT(t, pad, ReceiverOptions{})
	_, err := OpenReceiver(pad, path, ReceiverOptions{})
	require.ErrorIs(t, err, ErrPadInUse)
	sess := newSession()
	f := seal(t, s, []byte("hello"), ToServer, sess)
	_, err = r.Open(nil, f, ToServer, sess)
	require.NoError(t, err)
	require.NoError(t, r.Close())

	r, err = OpenReceiver(pad, path, ReceiverOptions{})
	require.NoError(t, err)
	defer r.Close()
	assert.Equal(t, s.Next(), r.Expected())
	assert.Equal(t, pad.Size()-s.Next(), r.Remaining())
	assert.False(t, r.Low(), "a 1 MiB pad with one frame used is not low")
	_, err = r.Open(nil, f, ToServer, newSession())
	assert.ErrorIs(t, err, ErrReplay)
	_, err = OpenSender(pad, path, SenderOptions{})
	assert.ErrorIs(t, err, ErrPadInUse)
}

func TestReadStateReportsTheMark(t *testing.T) {
	pad := newPad(t, 1<<20)
	statePath := pad.Path() + ".state"
	require.NoError(t, InitState(statePath, pad.ID(), RoleSend))
	info, err := ReadState(statePath)
	require.NoError(t, err)
	assert.Equal(t, pad.ID(), info.ID)
	assert.Equal(t, RoleSend, info.Role)
	assert.Equal(t, int64(FirstOffset), info.Mark)
	_, err = ReadState(statePath + ".missing")
	assert.ErrorIs(t, err, ErrNoState)
}
