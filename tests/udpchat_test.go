// UDP chat, end to end: datagrams in, datagrams out, bye, and peers forgotten when they go quiet.
package tests

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// udpPeer is a UDP chat client: a UDP socket that sends to the server's address.
type udpPeer struct {
	t      *testing.T
	c      *net.UDPConn
	server *net.UDPAddr
}

func dialUDP(t *testing.T, addr string) *udpPeer {
	t.Helper()
	server, err := net.ResolveUDPAddr("udp", addr)
	require.NoError(t, err)
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &udpPeer{t: t, c: c, server: server}
}

// name is how the room knows this peer: by its address.
func (p *udpPeer) name() string {
	a := p.c.LocalAddr().(*net.UDPAddr)
	return "udp-" + a.IP.String() + "-" + strconv.Itoa(a.Port)
}

func (p *udpPeer) send(s string) {
	p.t.Helper()
	_, err := p.c.WriteToUDP([]byte(s), p.server)
	require.NoError(p.t, err)
}

func (p *udpPeer) recv() string {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64<<10)
	n, from, err := p.c.ReadFromUDP(buf)
	require.NoError(p.t, err)
	assert.Equal(p.t, p.server.String(), from.String(), "replies come from the server's address")
	return string(buf[:n])
}

// recvUntil skips datagrams (notices of others) until want arrives.
func (p *udpPeer) recvUntil(want string) {
	p.t.Helper()
	var seen []string
	for len(seen) < 20 {
		s := p.recv()
		if s == want {
			return
		}
		seen = append(seen, s)
	}
	p.t.Fatalf("no datagram %q among %q", want, seen)
}

func (p *udpPeer) quiet(d time.Duration) {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 64<<10)
	n, _, err := p.c.ReadFromUDP(buf)
	var ne net.Error
	assert.True(p.t, errors.As(err, &ne) && ne.Timeout(), "want silence, got %q %v", buf[:n], err)
}

func welcomeUDP(name string) string {
	return "Welcome to the best chat in the universe! You are " + name + "; send bye to leave."
}

func TestUDPChatSession(t *testing.T) {
	d := startServer(t, "--listen-udp", "127.0.0.1:0")
	addr := dialectAddr(t, d, "udp")
	a, b := dialUDP(t, addr), dialUDP(t, addr)

	a.join()
	b.join()
	b.send("hi there\n") // nc -u ends its lines
	assert.Equal(t, b.name()+" joined", a.recv())
	assert.Equal(t, b.name()+": hi there", a.recv())
	a.send("¿cómo estás?")
	assert.Equal(t, a.name()+": ¿cómo estás?", b.recv())
	a.quiet(200 * time.Millisecond)

	a.send("\x00\x01\xffjunk")
	assert.Equal(t, "error: text must be UTF-8 without control characters", a.recv())
	a.send(strings.Repeat("x", 60000))
	assert.Equal(t, "error: message too long (max 4096 bytes)", a.recv())
	b.quiet(200 * time.Millisecond)
	a.send("still fine")
	assert.Equal(t, a.name()+": still fine", b.recv())

	b.send("bye")
	assert.Equal(t, "bye", b.recv())
	assert.Equal(t, b.name()+" left", a.recv())
	a.send("anyone?")
	b.quiet(200 * time.Millisecond)
}

func TestUDPChatIdlePeersForgotten(t *testing.T) {
	d := startServer(t, "--listen-udp", "127.0.0.1:0", "--idle-timeout", "1s")
	addr := dialectAddr(t, d, "udp")
	a, b := dialUDP(t, addr), dialUDP(t, addr)
	a.join()
	b.join()
	a.recvUntil(b.name() + " joined")
	waitFor(t, 10*time.Second, func() bool { return strings.Count(d.logs.String(), `"how":"idle"`) == 2 },
		"both peers to be forgotten\n%s", d.logs)
	// Forgotten: the next datagram is a newcomer's.
	// Notices sent before a was forgotten (b leaving) may still wait in its
	// socket: skip them, but within bounds, to the reply to this datagram.
	a.send("I am back again\n")
	var seen []string
	for len(seen) < 5 && (len(seen) == 0 || !strings.Contains(seen[len(seen)-1], "To join, send: join ")) {
		seen = append(seen, a.recv())
	}
	assert.Contains(t, seen[len(seen)-1], "To join, send: join ", "a stranger again: challenged; got %q", seen)
	a.join()
}
