// UDP chat by hand: names from addresses, a session of datagrams, bye, forgetting idle peers, and its fuzz target.
package server

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"padchat/wire"
)

func udpOf(tb testing.TB, l *Loop) *udpChat {
	for _, w := range l.watchers {
		if u, ok := w.(*udpChat); ok {
			return u
		}
	}
	tb.Fatal("no UDP dialect on the loop")
	return nil
}

// udpClient is a non-blocking UDP socket on 127.0.0.1.
type udpClient struct {
	tb testing.TB
	fd int
	sa unix.Sockaddr
}

func newUDPClient(tb testing.TB) *udpClient {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	require.NoError(tb, err)
	require.NoError(tb, unix.SetNonblock(fd, true))
	unix.CloseOnExec(fd)
	tb.Cleanup(func() { unix.Close(fd) })
	require.NoError(tb, unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	sa, err := unix.Getsockname(fd)
	require.NoError(tb, err)
	return &udpClient{tb: tb, fd: fd, sa: sa}
}

// say sends one datagram to the dialect and lets the loop read it.
func (c *udpClient) say(u *udpChat, s string) {
	require.NoError(c.tb, unix.Sendto(c.fd, []byte(s), 0, u.self))
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		n, from, err := unix.Recvfrom(u.sock, u.l.rbuf, 0)
		if errors.Is(err, unix.EAGAIN) {
			time.Sleep(time.Millisecond)
			continue
		}
		require.NoError(c.tb, err)
		u.datagram(from, u.l.rbuf[:n])
		return
	}
	c.tb.Fatal("datagram did not arrive")
}

// expect reads the next n datagrams.
func (c *udpClient) expect(n int) []string {
	var out []string
	buf := make([]byte, 64<<10)
	for deadline := time.Now().Add(2 * time.Second); len(out) < n && time.Now().Before(deadline); {
		m, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil {
			time.Sleep(time.Millisecond)
			continue
		}
		out = append(out, string(buf[:m]))
	}
	return out
}

// drain returns the datagrams already waiting.
func (c *udpClient) drain() []string {
	var out []string
	buf := make([]byte, 64<<10)
	for {
		m, _, err := unix.Recvfrom(c.fd, buf, 0)
		if err != nil {
			return out
		}
		out = append(out, string(buf[:m]))
	}
}

func (c *udpClient) name() string { return udpName(c.sa) }

// join echoes the cookie of the server's challenge and returns the welcome.
func (c *udpClient) join(u *udpChat) []string {
	c.say(u, "hello\n")
	ch := c.expect(1)
	require.Len(c.tb, ch, 1)
	require.Equal(c.tb, "join ", ch[0][:5], "challenge %q", ch[0])
	c.say(u, ch[0]+"\n")
	return c.expect(1)
}

func TestUDPNames(t *testing.T) {
	v6 := func(s string) *unix.SockaddrInet6 {
		a := &unix.SockaddrInet6{Port: 5000}
		copy(a.Addr[:], netIP(t, s))
		return a
	}
	for _, tc := range []struct {
		sa        unix.Sockaddr
		name, key string
	}{
		{&unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: 5000}, "udp-127.0.0.1-5000", "127.0.0.1:5000"},
		{&unix.SockaddrInet4{Addr: [4]byte{255, 255, 255, 255}, Port: 65535}, "udp-255.255.255.255-65535", "255.255.255.255:65535"},
		{v6("::1"), "udp-__1-5000", "[::1]:5000"},
		{v6("::ffff:10.0.0.1"), "udp-10.0.0.1-5000", "10.0.0.1:5000"},
		{v6("2001:db8:85a3::8a2e:370:7334"), "", "[2001:db8:85a3::8a2e:370:7334]:5000"},
	} {
		name := udpName(tc.sa)
		assert.True(t, wire.ValidName([]byte(name)), name)
		if tc.name != "" {
			assert.Equal(t, tc.name, name)
		} else {
			assert.True(t, strings.HasPrefix(name, "udp6-"), name)
		}
		assert.Equal(t, tc.key, udpKey(tc.sa))
	}
}

func netIP(t *testing.T, s string) []byte {
	ip := net.ParseIP(s).To16()
	require.NotNil(t, ip, s)
	return ip
}

func TestUDPChatSession(t *testing.T) {
	l, _ := plainLoop(t, Config{Listeners: map[string]string{"udp": "127.0.0.1:0"}, IdleTimeout: time.Minute})
	u := udpOf(t, l)
	a, b := newUDPClient(t), newUDPClient(t)

	assert.Equal(t, []string{"Welcome to the best chat in the universe! You are " + a.name() + "; send bye to leave."}, a.join(u))
	assert.Len(t, b.join(u), 1)
	b.say(u, "hi there\n") // nc -u ends its lines
	assert.Equal(t, []string{b.name() + " joined", b.name() + ": hi there"}, a.expect(2))
	a.say(u, "how are you?")
	assert.Equal(t, []string{a.name() + ": how are you?"}, b.expect(1))
	assert.Empty(t, a.drain(), "no echo")

	a.say(u, "\x00\x01junk")
	assert.Equal(t, []string{"error: text must be UTF-8 without control characters"}, a.expect(1))
	a.say(u, strings.Repeat("x", 4097))
	assert.Equal(t, []string{"error: message too long (max 4096 bytes)"}, a.expect(1))
	assert.Empty(t, b.drain(), "errors go to the sender only")

	b.say(u, "bye")
	assert.Equal(t, []string{"bye"}, b.expect(1))
	assert.Equal(t, []string{b.name() + " left"}, a.expect(1))
	assert.Nil(t, l.hub.online[b.name()])
	assert.Len(t, u.peers, 1)

	// Silence is the goodbye: a peer quiet past the idle timeout is forgotten.
	l.now += int64(2 * time.Minute)
	l.expire()
	assert.Empty(t, u.peers)
	assert.Empty(t, l.hub.rooms["lobby"].members)
	a.say(u, "back\n") // 5 bytes pay for the 15 of a bare join line
	assert.Equal(t, "join ", a.expect(1)[0][:5], "a stranger again: challenged")
}

func TestUDPChatNameTaken(t *testing.T) {
	l, _ := plainLoop(t, Config{Listeners: map[string]string{"udp": "127.0.0.1:0"}})
	u := udpOf(t, l)
	a := newUDPClient(t)
	provision(t, l, a.name(), 64<<10) // a native account of that name
	assert.Equal(t, []string{"error: the name " + a.name() + " is in use"}, a.join(u))
	assert.Empty(t, u.peers)
}

func TestUDPChatIgnoresItself(t *testing.T) {
	l, _ := plainLoop(t, Config{Listeners: map[string]string{"udp": "127.0.0.1:0"}})
	u := udpOf(t, l)
	assert.True(t, u.isSelf(u.self))
	assert.False(t, u.isSelf(newUDPClient(t).sa))
}

func FuzzUDPChat(f *testing.F) {
	f.Add([]byte("hello"), []byte("hi\n"), []byte("bye"), uint8(0))
	f.Add([]byte("\xff\xfe"), []byte(""), []byte("bye\r\n"), uint8(1))
	f.Add([]byte(strings.Repeat("é", 3000)), []byte("\x1b[31m"), []byte("x"), uint8(2))
	l, _ := plainLoop(f, Config{Listeners: map[string]string{"udp": "127.0.0.1:0"}})
	l.hub.store.histN = 0 // keeps the end of an iteration from committing (and fsyncing) per input
	l.log = zerolog.Nop()
	u := udpOf(f, l)
	peers := []*udpClient{newUDPClient(f), newUDPClient(f), newUDPClient(f)}
	f.Fuzz(func(t *testing.T, d0, d1, d2 []byte, order uint8) {
		// The high bits of order say which peers proved their address first.
		for i, p := range peers {
			if order&(8<<i) != 0 {
				u.datagram(p.sa, []byte(udpCookiePrefix+u.cookies.mint(p.sa, l.now)))
			}
		}
		for _, p := range peers {
			p.drain()
		}
		for i, d := range [][]byte{d0, d1, d2} {
			p := peers[(int(order)+i)%3]
			stranger := u.peers[udpKey(p.sa)] == nil
			u.datagram(p.sa, d)
			if stranger {
				got := 0
				for _, r := range p.drain() {
					got += len(r)
				}
				require.LessOrEqual(t, got, udpAmplification*len(d), "a stranger got more than 3x %q", d)
			}
		}
		for _, p := range peers {
			for _, d := range p.drain() {
				require.NoError(t, checkText([]byte(d)), "datagram %q", d)
			}
		}
		for key, p := range u.peers {
			require.Equal(t, key, p.key)
			require.Equal(t, member(p), l.hub.online[p.nick])
			require.True(t, l.hub.rooms["lobby"].has(p))
		}
		for _, p := range peers {
			u.datagram(p.sa, []byte("bye"))
		}
		for _, p := range peers {
			p.drain()
		}
		require.Empty(t, u.peers)
		require.Empty(t, l.hub.online)
		require.Empty(t, l.hub.rooms["lobby"].members)
	})
}

func TestUDPCookie(t *testing.T) {
	c, err := newUDPCookies()
	require.NoError(t, err)
	a := &unix.SockaddrInet4{Addr: [4]byte{192, 0, 2, 1}, Port: 4000}
	b := &unix.SockaddrInet4{Addr: [4]byte{192, 0, 2, 1}, Port: 4001}
	now := int64(1000 * udpCookieBucket)
	line := udpCookiePrefix + c.mint(a, now)
	assert.True(t, c.valid(a, []byte(line), now))
	assert.True(t, c.valid(a, []byte(" "+line+"\r\n"), now), "nc's line end")
	assert.True(t, c.valid(a, []byte(line), now+int64(udpCookieBucket)), "the bucket before still counts")
	assert.False(t, c.valid(a, []byte(line), now+int64(2*udpCookieBucket)), "expired")
	assert.False(t, c.valid(b, []byte(line), now), "another port's cookie")
	other, err := newUDPCookies()
	require.NoError(t, err)
	assert.False(t, other.valid(a, []byte(line), now), "another key (a restart)")
	flipped := []byte(line)
	flipped[len(flipped)-1] ^= 1
	assert.False(t, c.valid(a, flipped, now), "one character off")

	for n := 0; n < 100; n++ {
		got := c.challenge(a, now, DefaultWelcome, n)
		assert.LessOrEqual(t, len(got), udpAmplification*n)
		if n >= 5 {
			assert.Contains(t, string(got), line, "%d bytes pay for the bare join line", n)
		}
	}
}

func FuzzUDPCookie(f *testing.F) {
	c, err := newUDPCookies()
	require.NoError(f, err)
	a := &unix.SockaddrInet4{Addr: [4]byte{192, 0, 2, 1}, Port: 4000}
	now := int64(1000 * udpCookieBucket)
	good := udpCookiePrefix + c.mint(a, now)
	f.Add([]byte(good))
	f.Add([]byte(good + "\r\n"))
	f.Add([]byte("join "))
	f.Add([]byte("join aaaaaaaaaa"))
	f.Add([]byte("join AAAAAAAAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cookie, ok := parseUDPCookie(b)
		if ok {
			require.Len(t, cookie, udpCookieLen)
			require.Contains(t, string(b), udpCookiePrefix+string(cookie))
		}
		if c.valid(a, b, now) {
			require.Equal(t, udpCookiePrefix+c.mint(a, now), udpCookiePrefix+string(cookie), "only the minted cookie opens")
		}
	})
}
