package server

import (
	"net"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An idle native connection is a Conn and a native, kept by the thousand:
// each must stay in the 208-byte size class (Go rounds 209–224 up to 224,
// 225–240 up to 240). What few sessions use lives in nativeRare, and
// the per-IP key is a slice of the remote address, not a second string.
func TestIdleSessionSizes(t *testing.T) {
	assert.LessOrEqual(t, unsafe.Sizeof(native{}), uintptr(208), "native")
	assert.LessOrEqual(t, unsafe.Sizeof(Conn{}), uintptr(208), "Conn")
}

// A session that logs in and idles allocates no rare state; a refusal, an
// away message or mail in flight do.
func TestIdleSessionHoldsNoRareState(t *testing.T) {
	l, _ := plainLoop(t, Config{})
	_, n, _ := parkLogin(t, l, "alice")
	require.NotNil(t, n.user, "authenticated")
	assert.Nil(t, n.rare, "an idle session has no rare state")
	assert.Empty(t, n.some().away)
	assert.Zero(t, n.some().mailNext)
	n.more().away = "lunch"
	assert.Equal(t, "lunch", n.some().away)
}

// host is the per-IP key accept used to make with ip.String(): the host of
// the "ip:port" string net.TCPAddr writes, brackets off for IPv6.
func TestConnHostIsTheIP(t *testing.T) {
	for _, ip := range []net.IP{
		net.ParseIP("127.0.0.1"), net.ParseIP("192.0.2.7").To16(), net.ParseIP("::1"),
		net.ParseIP("2001:db8::42"), net.ParseIP("::ffff:198.51.100.3"), net.IPv6unspecified,
	} {
		c := &Conn{remote: (&net.TCPAddr{IP: ip, Port: 4242}).String()}
		assert.Equal(t, ip.String(), c.host(), c.remote)
	}
	assert.Empty(t, (&Conn{remote: "local"}).host())
}
