// Sender tests: exhaustion, state files, locking, resuming, reserving and burning.
package otp

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExhaustion(t *testing.T) {
	pad := newPad(t, 4096)
	s, _ := newSenderT(t, pad, SenderOptions{LowWater: 1024})
	sess := newSession()
	msg := make([]byte, 100)
	lowAt, sealed := -1, 0
	var err error
	for i := 0; ; i++ {
		if s.Low() && lowAt < 0 {
			lowAt = i
		}
		if _, err = s.Seal(nil, msg, ToServer, sess); err != nil {
			break
		}
		sealed++
	}
	require.ErrorIs(t, err, ErrPadExhausted)
	var ex *ExhaustedError
	require.True(t, errors.As(err, &ex))
	assert.Equal(t, s.Remaining(), ex.Left)
	assert.Equal(t, PadCost(len(msg)), ex.Need)
	assert.Less(t, ex.Left, ex.Need)
	assert.Equal(t, (4096-FirstOffset)/132, sealed)
	assert.GreaterOrEqual(t, lowAt, 0)
	assert.Less(t, lowAt, sealed, "Low fires before the pad runs out")
	assert.Contains(t, err.Error(), "bytes left, frame needs 132")

	// Smaller frames still fit in what is left.
	_, err = s.Seal(nil, make([]byte, ex.Left-KeySize), ToServer, sess)
	require.NoError(t, err)
	assert.Zero(t, s.Remaining())
	require.NoError(t, s.Reserve())
}

func TestStateFileErrors(t *testing.T) {
	pad := newPad(t, 1<<16)
	other := newPad(t, 1<<16)
	dir := t.TempDir()
	sendState := newState(t, pad, RoleSend)
	recvState := newState(t, pad, RoleRecv)
	otherState := newState(t, other, RoleSend)
	corrupt := filepath.Join(dir, "corrupt.state")
	require.NoError(t, os.WriteFile(corrupt, []byte("not a state file"), 0o600))
	flipped := filepath.Join(dir, "flipped.state")
	b, err := os.ReadFile(sendState)
	require.NoError(t, err)
	b[40] ^= 1
	require.NoError(t, os.WriteFile(flipped, b, 0o600))

	tests := []struct {
		name string
		path string
		want error
	}{
		{"missing", filepath.Join(dir, "missing.state"), ErrNoState},
		{"corrupt", corrupt, ErrBadState},
		{"bit flipped", flipped, ErrBadState},
		{"receiving state", recvState, ErrWrongRole},
		{"state of another pad", otherState, ErrWrongPad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenSender(pad, tt.path, SenderOptions{})
			assert.ErrorIs(t, err, tt.want)
		})
	}
	assert.ErrorIs(t, InitState(sendState, pad.ID(), RoleSend), ErrStateExists)
}

func TestPadInUse(t *testing.T) {
	pad := newPad(t, 1<<16)
	s, path := newSenderT(t, pad, SenderOptions{})
	_, err := OpenSender(pad, path, SenderOptions{})
	require.ErrorIs(t, err, ErrPadInUse)
	require.NoError(t, s.Close())
	s2, err := OpenSender(pad, path, SenderOptions{})
	require.NoError(t, err, "the lock goes with Close")
	require.NoError(t, s2.Close())
}

// crash drops a Sender as a killed process would: the lock goes, no state is written.
func crash(s *Sender) {
	s.st.f.Close()
	s.closed = true
}

func TestResume(t *testing.T) {
	pad := newPad(t, 16<<20)
	sess := newSession()
	s, path := newSenderT(t, pad, SenderOptions{ReserveStep: 4096})
	seal(t, s, make([]byte, 100), ToServer, sess)
	reserved := s.reserved
	require.Equal(t, s.Next()+4096, reserved)
	_, err := s.Seal(nil, make([]byte, 5000), ToServer, sess) // past the mark, never reserved
	require.NoError(t, err)
	require.True(t, s.Pending())
	crash(s)

	s, err = OpenSender(pad, path, SenderOptions{})
	require.NoError(t, err)
	assert.Equal(t, reserved, s.Next(), "resumes at the durable mark")
	assert.False(t, s.Pending())
	seal(t, s, make([]byte, 10), ToServer, sess)
	end := s.Next()
	require.NoError(t, s.Close())

	s, err = OpenSender(pad, path, SenderOptions{})
	require.NoError(t, err)
	assert.Equal(t, end, s.Next(), "a clean Close wastes no pad")
	require.NoError(t, s.Close())
}

func TestAdaptiveStep(t *testing.T) {
	pad := newPad(t, 64<<20)
	s, _ := newSenderT(t, pad, SenderOptions{ReserveStep: 1 << 10, MaxReserveStep: 8 << 10})
	clock := time.Unix(1000, 0)
	s.now = func() time.Time { return clock }
	sess := newSession()
	reserveAfter := func(d time.Duration) int64 {
		clock = clock.Add(d)
		_, err := s.Seal(nil, nil, ToServer, sess)
		require.NoError(t, err)
		s.next = s.reserved + 1 // used up the previous step
		require.NoError(t, s.Reserve())
		return s.Step()
	}
	assert.Equal(t, int64(1<<10), reserveAfter(0), "the first reservation uses the minimum")
	var steps []int64
	for range 5 {
		steps = append(steps, reserveAfter(100*time.Millisecond))
	}
	assert.Equal(t, []int64{2 << 10, 4 << 10, 8 << 10, 8 << 10, 8 << 10}, steps)
	assert.Equal(t, int64(8<<10), reserveAfter(10*time.Second), "steady at a moderate rate")
	assert.Equal(t, int64(4<<10), reserveAfter(2*time.Minute), "shrinks when idle")
}

func TestReserveAll(t *testing.T) {
	sess := newSession()
	var ss []*Sender
	var paths []string
	for range 4 {
		s, path := newSenderT(t, newPad(t, 1<<20), SenderOptions{ReserveStep: 4096})
		ss, paths = append(ss, s), append(paths, path)
	}
	for _, s := range ss[:3] {
		_, err := s.Seal(nil, []byte("hi"), ToClient, sess)
		require.NoError(t, err)
	}
	require.NoError(t, ReserveAll(append(ss, nil)))
	for i, s := range ss {
		assert.False(t, s.Pending())
		crash(s)
		s2, err := OpenSender(s.pad, paths[i], SenderOptions{})
		require.NoError(t, err)
		assert.Equal(t, s.reserved, s2.Next())
		require.NoError(t, s2.Close())
	}
}

func TestClosed(t *testing.T) {
	pad := newPad(t, 1<<16)
	s, _ := newSenderT(t, pad, SenderOptions{})
	r, _ := newReceiverT(t, pad, ReceiverOptions{})
	sess := newSession()
	frame := seal(t, s, []byte("x"), ToServer, sess)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err := s.Seal(nil, nil, ToServer, sess)
	assert.ErrorIs(t, err, ErrClosed)
	require.NoError(t, pad.Close())
	_, err = r.Open(nil, frame, ToServer, sess)
	assert.ErrorIs(t, err, ErrClosed)
	_, err = OpenSender(pad, "whatever", SenderOptions{})
	assert.ErrorIs(t, err, ErrClosed)
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/dev/fd") // Linux and the BSDs alike
	require.NoError(t, err)
	return len(ents)
}

// NoLock keeps no descriptor between writes and still makes every mark durable.
func TestNoLockHoldsNoDescriptorAndStaysDurable(t *testing.T) {
	pad := newPad(t, 1<<20)
	statePath := pad.Path() + ".state"
	require.NoError(t, InitState(statePath, pad.ID(), RoleSend))
	before := openFDs(t)
	s, err := OpenSender(pad, statePath, SenderOptions{NoLock: true, ReserveStep: 4096, Burn: true})
	require.NoError(t, err)
	assert.Equal(t, before, openFDs(t), "an idle NoLock sender holds no fd")
	var sess Session
	frame, err := s.Seal(nil, make([]byte, 100), ToServer, &sess)
	require.NoError(t, err)
	require.True(t, s.Pending())
	require.NoError(t, s.Reserve())
	assert.Equal(t, before, openFDs(t), "the state file is closed again after Reserve")
	info, err := ReadState(statePath)
	require.NoError(t, err)
	assert.Equal(t, s.Next()+4096, info.Mark, "the reserved mark is on disk")
	// Reopening resumes at the durable mark, past everything sealed.
	s2, err := OpenSender(pad, statePath, SenderOptions{NoLock: true})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, s2.Next(), int64(FirstOffset)+PadCost(100))
	assert.Equal(t, info.Mark, s2.Next())
	require.NoError(t, s2.Close())
	require.NoError(t, s.Close())
	_ = frame
}

// A NoLock state file re-opens by path at every write: one removed and made
// again (its account removed and re-added) is another pad's and is never written.
func TestNoLockRefusesReplacedState(t *testing.T) {
	pad := newPad(t, 1<<20)
	statePath := pad.Path() + ".state"
	require.NoError(t, InitState(statePath, pad.ID(), RoleSend))
	s, err := OpenSender(pad, statePath, SenderOptions{NoLock: true, ReserveStep: 4096})
	require.NoError(t, err)
	sess := newSession()
	_, err = s.Seal(nil, make([]byte, 100), ToServer, sess)
	require.NoError(t, err)
	// Made beside the old one and renamed over it, so it cannot get its inode.
	require.NoError(t, InitState(statePath+".new", pad.ID(), RoleSend))
	require.NoError(t, os.Rename(statePath+".new", statePath))
	_, err = s.Seal(nil, make([]byte, 5000), ToServer, sess)
	require.NoError(t, err)
	require.ErrorIs(t, s.Reserve(), ErrStateReplaced)
	info, err := ReadState(statePath)
	require.NoError(t, err)
	assert.Equal(t, int64(FirstOffset), info.Mark, "the new file was not written")
}

// countingClaim is a shared mark that takes a while to move and counts the
// Advances in flight at once.
type countingClaim struct {
	mu        sync.Mutex
	now, most int
}

func (c *countingClaim) Load() (int64, uint64, error) { return 0, 0, nil }

func (c *countingClaim) Advance(mark int64, rev uint64) (uint64, error) {
	c.mu.Lock()
	c.now++
	c.most = max(c.most, c.now)
	c.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	c.mu.Lock()
	c.now--
	c.mu.Unlock()
	return rev + 1, nil
}

// ReserveAll runs the reservations of many pads concurrently, but at most
// reserveWorkers at once: each one blocked at once holds an OS thread that the
// runtime keeps for good, so a burst of a hundred pads left a hundred threads.
func TestReserveAllBoundsConcurrency(t *testing.T) {
	sess := newSession()
	pad := newPad(t, 1<<20)
	c := &countingClaim{}
	ss := make([]*Sender, 3*reserveWorkers)
	for i := range ss {
		ss[i], _ = newSenderT(t, pad, SenderOptions{ReserveStep: 4096, MaxReserveStep: 4096, Claim: c})
		_, err := ss[i].Seal(nil, make([]byte, 100), ToClient, sess)
		require.NoError(t, err)
		require.True(t, ss[i].Pending())
	}
	require.NoError(t, ReserveAll(ss))
	for _, s := range ss {
		assert.False(t, s.Pending(), "every pad reserved")
	}
	assert.LessOrEqual(t, c.most, reserveWorkers)
	assert.Greater(t, c.most, 1, "still concurrent")
}
