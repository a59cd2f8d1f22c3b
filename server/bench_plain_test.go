// Micro-benchmark of the plain-text fan-out: one room message formatted for 100 line-chat members.
package server

import (
	"fmt"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkFanoutPlain100 relays Says of 100 bytes to 100 line-chat members
// (socketpairs; output queues are emptied, not written, after each batch of
// 64): hub.say, the line format and UTF-8 cleaning once, and the queue per member
// (a reference to the shared bytes).
func BenchmarkFanoutPlain100(b *testing.B) {
	l, _ := plainLoop(b, Config{})
	var peers []*plainPeer
	for i := range benchMembers + 1 {
		p := attach(b, l, unix.SOCK_STREAM, func(c *Conn) handler { return newLineChat(l.hub, c) })
		p.send(fmt.Sprintf("m%d\n", i))
		p.recv()
		peers = append(peers, p)
	}
	pub := peers[0].c.h.(*lineChat)
	room := []byte(l.cfg.PlainRoom)
	text := make([]byte, benchText)
	for i := range text {
		text[i] = 'a' + byte(i%26)
	}
	drain := func() {
		for _, c := range l.dirty {
			c.out, c.outPos, c.dirty = c.out[:0], 0, false
			clear(c.shared)
			c.shared, c.sharedN = c.shared[:0], 0
		}
		l.dirty = l.dirty[:0]
	}
	drain()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for i := range b.N {
		if _, err := l.hub.say(pub, room, text, 0); err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 {
			drain()
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	deliveries := float64(b.N) * benchMembers
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/deliveries, "allocs/delivery")
	for _, p := range peers {
		if p.c.dying || p.c.closed {
			b.Fatalf("member cut off: %v", p.c.reason)
		}
	}
}
