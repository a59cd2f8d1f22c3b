// Behaviour every backend shares, run table-driven over the backends this system has.
//go:build darwin || freebsd || linux || netbsd || openbsd

package poller

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

type backend struct {
	name    string
	open    func() (Poller, error)
	hangups bool // reports a peer's close as Hangup (select sees only Readable)
}

// long bounds waits that must end early; nothing here should come near it.
const long = 5 * time.Second

func open(t *testing.T, bk backend) Poller {
	t.Helper()
	p, err := bk.open()
	require.NoError(t, err)
	require.Equal(t, bk.name, p.Backend())
	t.Cleanup(func() { p.Close() })
	return p
}

func wait(t *testing.T, p Poller, timeout time.Duration) []Event {
	t.Helper()
	events := make([]Event, 16)
	n, err := p.Wait(events, timeout)
	require.NoError(t, err)
	return events[:n]
}

// pair is a non-blocking socketpair whose ends are closed at cleanup unless a
// test closed them first (shut sets them to -1).
type pair struct{ a, b int }

func newPair(t testing.TB) *pair {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	require.NoError(t, err)
	p := &pair{fds[0], fds[1]}
	t.Cleanup(func() { p.shut(&p.a); p.shut(&p.b) })
	require.NoError(t, unix.SetNonblock(p.a, true))
	require.NoError(t, unix.SetNonblock(p.b, true))
	return p
}

func (p *pair) shut(fd *int) {
	if *fd >= 0 {
		unix.Close(*fd)
		*fd = -1
	}
}

func write(t testing.TB, fd int) {
	t.Helper()
	_, err := unix.Write(fd, []byte{'x'})
	require.NoError(t, err)
}

func forEach(t *testing.T, test func(t *testing.T, bk backend)) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) { test(t, bk) })
	}
}

func TestReadable(t *testing.T) {
	forEach(t, func(t *testing.T, bk backend) {
		p, s := open(t, bk), newPair(t)
		require.NoError(t, p.Add(s.a, Readable, 7))
		assert.Empty(t, wait(t, p, 0))
		write(t, s.b)
		assert.Equal(t, []Event{{Fd: s.a, Mask: Readable, Tag: 7}}, wait(t, p, long))
		assert.Equal(t, []Event{{Fd: s.a, Mask: Readable, Tag: 7}}, wait(t, p, 0), "level-triggered")
	})
}

func TestWritableAfterDrain(t *testing.T) {
	forEach(t, func(t *testing.T, bk backend) {
		p, s := open(t, bk), newPair(t)
		chunk := make([]byte, 4096)
		for {
			_, err := unix.Write(s.a, chunk)
			if errors.Is(err, unix.EAGAIN) {
				break
			}
			require.NoError(t, err)
		}
		require.NoError(t, p.Add(s.a, Writable, 9))
		assert.Empty(t, wait(t, p, 10*time.Millisecond), "the buffer is full")
		for {
			_, err := unix.Read(s.b, chunk)
			if errors.Is(err, unix.EAGAIN) {
				break
			}
			require.NoError(t, err)
		}
		assert.Equal(t, []Event{{Fd: s.a, Mask: Writable, Tag: 9}}, wait(t, p, long))
	})
}

func TestPeerClose(t *testing.T) {
	// Each case returns the end to watch and a func that closes its peer.
	cases := map[string]func(t *testing.T) (int, func()){
		"socketpair": func(t *testing.T) (int, func()) {
			s := newPair(t)
			return s.a, func() { s.shut(&s.b) }
		},
		"pipe": func(t *testing.T) (int, func()) {
			var fds [2]int
			require.NoError(t, unix.Pipe(fds[:]))
			t.Cleanup(func() { unix.Close(fds[0]) })
			return fds[0], func() { unix.Close(fds[1]) }
		},
		"tcp": func(t *testing.T) (int, func()) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			t.Cleanup(func() { ln.Close() })
			client, err := net.Dial("tcp", ln.Addr().String())
			require.NoError(t, err)
			server, err := ln.Accept()
			require.NoError(t, err)
			t.Cleanup(func() { server.Close() })
			f, err := server.(*net.TCPConn).File()
			require.NoError(t, err)
			t.Cleanup(func() { f.Close() })
			return int(f.Fd()), func() { client.Close() }
		},
	}
	forEach(t, func(t *testing.T, bk backend) {
		for name, setup := range cases {
			t.Run(name, func(t *testing.T) {
				p := open(t, bk)
				fd, closePeer := setup(t)
				require.NoError(t, p.Add(fd, Readable, 3))
				closePeer()
				events := wait(t, p, long)
				require.Len(t, events, 1)
				assert.Equal(t, fd, events[0].Fd)
				assert.Equal(t, uint64(3), events[0].Tag)
				assert.NotZero(t, events[0].Mask&Readable, "a read shows the EOF")
				if bk.hangups {
					assert.Equal(t, Readable|Writable|Hangup, events[0].Mask)
				}
			})
		}
	})
}

func TestRemoveThenReuse(t *testing.T) {
	forEach(t, func(t *testing.T, bk backend) {
		p, s := open(t, bk), newPair(t)
		require.NoError(t, p.Add(s.a, Readable, 1))
		write(t, s.b) // an event is now pending in the kernel
		require.NoError(t, p.Remove(s.a))
		assert.Empty(t, wait(t, p, 0))

		num := s.a
		s.shut(&s.a)
		s.shut(&s.b)
		n := newPair(t)
		if n.a != num { // force the new socket onto the old number
			require.NoError(t, unix.Dup2(n.a, num))
			n.shut(&n.a)
			n.a = num
		}
		require.NoError(t, p.Add(num, Readable, 2))
		assert.Empty(t, wait(t, p, 0), "nothing left over from the old fd")
		write(t, n.b)
		assert.Equal(t, []Event{{Fd: num, Mask: Readable, Tag: 2}}, wait(t, p, long))
	})
}

func TestModify(t *testing.T) {
	forEach(t, func(t *testing.T, bk backend) {
		p, s := open(t, bk), newPair(t)
		require.NoError(t, p.Add(s.a, Readable, 1))
		require.NoError(t, p.Modify(s.a, Writable, 2))
		assert.Equal(t, []Event{{Fd: s.a, Mask: Writable, Tag: 2}}, wait(t, p, long))
		write(t, s.b)
		require.NoError(t, p.Modify(s.a, Readable, 3))
		assert.Equal(t, []Event{{Fd: s.a, Mask: Readable, Tag: 3}}, wait(t, p, long))
		require.NoError(t, p.Modify(s.a, Readable|Writable, 4))
		assert.Equal(t, []Event{{Fd: s.a, Mask: Readable | Writable, Tag: 4}}, wait(t, p, long),
			"both conditions in one event")
		require.NoError(t, p.Modify(s.a, 0, 5))
		assert.Empty(t, wait(t, p, 0), "nothing wanted, nothing reported")
	})
}

// A short events slice gets every ready fd in turn, none starves.
func TestShortEventsSliceRotates(t *testing.T) {
	forEach(t, func(t *testing.T, bk backend) {
		p := open(t, bk)
		want := map[int]bool{}
		for i := range 3 {
			s := newPair(t)
			require.NoError(t, p.Add(s.a, Readable, uint64(i)))
			write(t, s.b)
			want[s.a] = true
		}
		seen := map[int]bool{}
		for range 3 {
			events := make([]Event, 1)
			n, err := p.Wait(events, long)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			seen[events[0].Fd] = true
		}
		assert.Equal(t, want, seen)
	})
}

// Errors keep the syscall underneath them for logs and errors.Is.
func TestSyscallErrorsWrapped(t *testing.T) {
	forEach(t, func(t *testing.T, bk backend) {
		p := open(t, bk)
		err := p.Add(-1, Readable, 1)
		var sys *os.SyscallError
		assert.True(t, errors.As(err, &sys), "%v", err)
	})
}
