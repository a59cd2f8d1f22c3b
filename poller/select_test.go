// Behaviour only the select backend has: its FD_SETSIZE limit and fds closed behind its back.
//go:build darwin || freebsd || linux || netbsd || openbsd

package poller

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestSelectFdTooLarge(t *testing.T) {
	p, s := open(t, backend{name: "select", open: NewSelect}), newPair(t)
	big, err := unix.FcntlInt(uintptr(s.a), unix.F_DUPFD, fdSetSize)
	require.NoError(t, err, "needs RLIMIT_NOFILE above FD_SETSIZE")
	t.Cleanup(func() { unix.Close(big) })
	require.GreaterOrEqual(t, big, fdSetSize)
	assert.ErrorIs(t, p.Add(big, Readable, 1), ErrFdTooLarge)

	// The last fd that fits still works.
	edge, err := unix.FcntlInt(uintptr(s.a), unix.F_DUPFD, fdSetSize-1)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(edge) })
	if edge != fdSetSize-1 {
		t.Skipf("fd %d is taken", fdSetSize-1)
	}
	require.NoError(t, p.Add(edge, Readable, 1))
	write(t, s.b)
	assert.Equal(t, []Event{{Fd: edge, Mask: Readable, Tag: 1}}, wait(t, p, long))
}

// An fd closed without Remove makes select fail with EBADF for the whole set;
// the backend reports that fd as hung up instead of failing every Wait.
func TestSelectClosedBehindItsBack(t *testing.T) {
	p, good, bad := open(t, backend{name: "select", open: NewSelect}), newPair(t), newPair(t)
	require.NoError(t, p.Add(good.a, Readable, 1))
	require.NoError(t, p.Add(bad.a, Readable, 2))
	num := bad.a
	bad.shut(&bad.a)
	assert.Equal(t, []Event{{Fd: num, Mask: Readable | Writable | Hangup, Tag: 2}}, wait(t, p, long))
	require.NoError(t, p.Remove(num))
	write(t, good.b)
	assert.Equal(t, []Event{{Fd: good.a, Mask: Readable, Tag: 1}}, wait(t, p, long))
}
