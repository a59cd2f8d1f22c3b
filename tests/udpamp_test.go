// UDP chat is no amplifier: addresses that never prove they receive get at most 3× what they sent.
package tests

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// join makes p a member: it sends a first line and, when the server answers
// with the cookie line to echo, echoes it.
func (p *udpPeer) join() {
	p.t.Helper()
	p.send("hello\n")
	s := p.recv()
	if i := strings.Index(s, "join "); i >= 0 {
		p.send(s[i:] + "\n")
		s = p.recv()
	}
	require.Equal(p.t, welcomeUDP(p.name()), s)
}

// silentUDP is an address that sends and never answers: what a spoofed
// source looks like to the server. It counts what reaches it.
type silentUDP struct {
	c                *net.UDPConn
	bytes, datagrams int
}

func TestUDPChatAmplification(t *testing.T) {
	// 1 byte pays for no reply at all; 64 bytes pay for the longest challenge.
	for _, size := range []int{1, 64} {
		t.Run(fmt.Sprintf("%dB", size), func(t *testing.T) { udpAmplification(t, strings.Repeat("x", size)) })
	}
}

func udpAmplification(t *testing.T, probe string) {
	d := startServer(t, "--listen-udp", "127.0.0.1:0")
	addr := dialectAddr(t, d, "udp")
	server, err := net.ResolveUDPAddr("udp", addr)
	require.NoError(t, err)

	const silent = 100
	s := make([]*silentUDP, silent)
	for i := range s {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		s[i] = &silentUDP{c: c}
		_, err = c.WriteToUDP([]byte(probe), server)
		require.NoError(t, err)
	}
	// Real members chat meanwhile: room traffic and notices are what an
	// amplifier would multiply.
	a, b := dialUDP(t, addr), dialUDP(t, addr)
	a.join()
	b.join()
	a.recvUntil(b.name() + " joined")
	for i := 0; i < 20; i++ {
		msg := fmt.Sprintf("message %d of the real peers", i)
		a.send(msg)
		b.recvUntil(a.name() + ": " + msg)
	}

	var wg sync.WaitGroup
	for _, p := range s {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			for {
				p.c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				n, _, err := p.c.ReadFromUDP(buf)
				if err != nil {
					return
				}
				p.bytes += n
				p.datagrams++
			}
		}()
	}
	wg.Wait()
	var got, datagrams int
	for _, p := range s {
		got += p.bytes
		datagrams += p.datagrams
	}
	const udpIP = 28 // IPv4 + UDP headers
	sent := silent * len(probe)
	factor := float64(got) / float64(sent)
	ipFactor := float64(got+datagrams*udpIP) / float64(sent+silent*udpIP)
	t.Logf("%d silent addresses sent %d payload bytes; got %d datagrams, %d payload bytes: factor %.2f (IP bytes: %.2f)",
		silent, sent, datagrams, got, factor, ipFactor)
	assert.LessOrEqual(t, factor, 3.0, "an address that never answered got more than 3× its bytes")
}
