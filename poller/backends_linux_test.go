// The backends the shared tests run on Linux: epoll and select.
//go:build linux

package poller

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

var backends = []backend{
	{name: "epoll", open: New, hangups: true},
	{name: "select", open: NewSelect},
}

// pendingWakeSignals reads how many wake-up signals are queued, consuming them.
func pendingWakeSignals(t *testing.T, p Poller) int {
	switch p := p.(type) {
	case *epoll:
		var buf [8]byte
		_, err := unix.Read(p.wakefd, buf[:])
		require.NoError(t, err)
		return int(binary.NativeEndian.Uint64(buf[:]))
	case *selector:
		var buf [64]byte
		n, err := unix.Read(p.wakeR, buf[:])
		require.NoError(t, err)
		return n
	}
	t.Fatalf("unknown backend %T", p)
	return 0
}

// epoll refuses what is always ready; select takes it and reports it Readable.
func TestNotPollable(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "regular")
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	null, err := os.Open(os.DevNull)
	require.NoError(t, err)
	t.Cleanup(func() { null.Close() })

	for name, file := range map[string]*os.File{"regular-file": f, "dev-null": null} {
		t.Run("epoll/"+name, func(t *testing.T) {
			p := open(t, backends[0])
			err := p.Add(int(file.Fd()), Readable, 1)
			assert.ErrorIs(t, err, ErrNotPollable)
			assert.ErrorIs(t, err, unix.EPERM, "the syscall error stays visible")
		})
		t.Run("select/"+name, func(t *testing.T) {
			p := open(t, backends[1])
			require.NoError(t, p.Add(int(file.Fd()), Readable, 1))
			assert.Equal(t, []Event{{Fd: int(file.Fd()), Mask: Readable, Tag: 1}}, wait(t, p, 0))
		})
	}
}
