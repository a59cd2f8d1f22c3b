// Lingering sockets over real TCP, where closing with unread input resets the connection.
package server

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"padchat/wire"
)

// loopbackPair is a TCP connection over 127.0.0.1: the accepted end, then
// the client's, whose receive buffer is rcvbuf bytes (set before connect, so
// the window is small from the start).
func loopbackPair(tb testing.TB, rcvbuf int) [2]int {
	tb.Helper()
	ln, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	require.NoError(tb, err)
	defer unix.Close(ln)
	require.NoError(tb, unix.Bind(ln, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(tb, unix.Listen(ln, 1))
	addr, err := unix.Getsockname(ln)
	require.NoError(tb, err)
	cl, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	require.NoError(tb, err)
	require.NoError(tb, unix.SetsockoptInt(cl, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf))
	require.NoError(tb, unix.Connect(cl, addr)) // loopback: done once the listener's backlog has it
	srv, _, err := unix.Accept(ln)
	require.NoError(tb, err)
	for _, fd := range []int{srv, cl} { // as the listener and the client do
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	return [2]int{srv, cl}
}

// TestByeLingersOverTCP is TestByeLingersForAFullSocket over a real TCP
// connection with a slow client that keeps sending: bob is behind with a
// full socket when his account is removed, and has sent bytes the server
// never reads. Closed with that input unread, TCP resets the connection and
// drops what is still queued to bob, the Bye with it; the lingering socket
// must drain the input, so that bob reads the whole tail, then the Bye, then
// an orderly end of stream.
func TestByeLingersOverTCP(t *testing.T) {
	l, _ := plainLoop(t, Config{OutLimit: 64 << 20})
	alice := gateLoginPad(t, l, "alice", 64<<20)
	tcp := attachFds(t, l, loopbackPair(t, 8<<10), nativeConn(l))
	bob := gateHello(t, l, "bob", greetNative(t, tcp, bundleSender(t, l, "bob", 64<<20)))
	alice, bob, in := backlogJoin(t, l, alice, bob)
	floodSays(t, l, alice, backlogMsgs)
	_, err := unix.Write(bob.n.p.fd, []byte("input the session will never read"))
	require.NoError(t, err)
	g := evictBehind(t, l, bob)
	require.NotEmpty(t, g.out, "part of the tail waits for bob to read")

	type result struct {
		b   []byte
		err error
	}
	got := make(chan result, 1)
	go func() { // bob, reading slowly and sending (pings, acks) as he goes
		var r result
		buf := make([]byte, 2<<10)
		for {
			n, err := unix.Read(bob.n.p.fd, buf)
			switch {
			case n > 0:
				r.b = append(r.b, buf[:n]...)
				// Once reset, a write fails (EPIPE here) and the reads
				// after it see only an end of stream: keep its error.
				if _, err := unix.Write(bob.n.p.fd, []byte("ping")); err != nil && !errors.Is(err, unix.EAGAIN) {
					r.err = err
				}
				time.Sleep(time.Millisecond)
				continue
			case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
				unix.Poll([]unix.PollFd{{Fd: int32(bob.n.p.fd), Events: unix.POLLIN}}, 100)
				continue
			}
			if r.err == nil {
				r.err = err // nil at the end of the stream
			}
			unix.Shutdown(bob.n.p.fd, unix.SHUT_WR)
			got <- r
			return
		}
	}()
	for end := time.Now().Add(10 * time.Second); !g.done && time.Now().Before(end); {
		n, err := l.p.Wait(l.events, 10*time.Millisecond)
		require.NoError(t, err)
		for _, ev := range l.events[:n] {
			l.dispatch(ev)
		}
	}
	var r result
	select {
	case r = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("bob's stream never ended")
	}
	t.Logf("bob read %d B, then %v", len(r.b), r.err)
	require.NoError(t, r.err, "bob's stream ends in order, not torn down by a reset")
	assert.True(t, g.done, "the lingering socket closed when bob closed his side")
	in.buf = append(in.buf, r.b...)
	m := in.lastMsg()
	assert.True(t, in.byeAfter, "the Bye came after the last message")
	assert.Equal(t, wire.OpBye, m.Op, "and last")
	assert.Equal(t, uint32(wire.ByeRemoved), m.ID, "with its reason")
	assert.Less(t, in.last, backlogMsgs-1, "the backlog was not sent")
	assert.Zero(t, len(in.buf), "no partial frame")
}

// TestLingerCap: at most lingerCap sockets linger at once; past that, a
// session ended while its socket is full closes at once, as it did before
// lingering. The sockets already lingering are stand-ins: only their number
// counts.
func TestLingerCap(t *testing.T) {
	for _, tc := range []struct {
		others  int
		lingers bool
	}{
		{lingerCap - 1, true},
		{lingerCap, false},
	} {
		t.Run(fmt.Sprintf("%d lingering", tc.others), func(t *testing.T) {
			l, _ := plainLoop(t, Config{OutLimit: 64 << 20})
			bob, _ := backlogFlood(t, l, backlogMsgs)
			c := bob.n.p.c
			require.True(t, c.writable, "bob's socket is full")
			for range tc.others {
				l.lingerers = append(l.lingerers, &lingerer{l: l, sock: -1, until: math.MaxInt64})
			}
			l.hub.acct.evict(bob.u, wire.ByeRemoved, "removed by the operator")
			l.beforeSleep()
			require.True(t, c.closed, "the session ended at once")
			_, kept := l.watchers[c.fd]
			assert.Equal(t, tc.lingers, kept, "bob's socket lingers")
			assert.Equal(t, min(tc.others+1, lingerCap), len(l.lingerers), "sockets lingering")
		})
	}
}
