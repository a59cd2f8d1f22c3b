// The backends the shared tests run on darwin and the BSDs: kqueue and select.
//go:build darwin || freebsd || netbsd || openbsd

package poller

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

var backends = []backend{
	{name: "kqueue", open: New, hangups: true},
	{name: "select", open: NewSelect},
}

// pendingWakeSignals reads how many wake-up signals are queued; a kqueue user
// event has no count to read.
func pendingWakeSignals(t *testing.T, p Poller) int {
	switch p := p.(type) {
	case *kqueue:
		t.Skip("a kqueue user event has no count to read")
	case *selector:
		var buf [64]byte
		n, err := unix.Read(p.wakeR, buf[:])
		require.NoError(t, err)
		return n
	}
	t.Fatalf("unknown backend %T", p)
	return 0
}
