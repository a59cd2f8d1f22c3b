package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

const (
	sparseMembers = 1000
	sparsePad     = 128 << 10 // each pad: about 700 messages of sparseText at 1,000 members
	sparseText    = 100
	sparseGap     = 3 * time.Second // more than padIdle between messages
)

// BenchmarkSparseRoom is one message in a room of 1,000 members whose
// messages come sparseGap apart: the loop's work for it, from the cool timer
// that runs in the gap to the flush. Members are real accounts (pads and
// state files on disk) with sessions on Conns writing to /dev/null; the clock
// is the loop's own, moved by hand. Run it with a fixed count, e.g.
// -benchtime=300x: the pads are small. cpu-ns/op is the process's CPU time
// (user and system, every thread: the reservations' writes run beside the
// loop) per message.
func BenchmarkSparseRoom(b *testing.B) {
	dir := b.TempDir()
	l, err := New(Config{Listen: "127.0.0.1:0", DataDir: dir}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(l.shutdown)
	l.stopTimer(l.tickTimer)
	devnull, err := unix.Open("/dev/null", unix.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { unix.Close(devnull) })
	names := make([]string, sparseMembers+1)
	for i := range names {
		names[i] = fmt.Sprintf("s%04d", i)
	}
	if err := AddUsers(dir, names, sparsePad, "x", nil); err != nil {
		b.Fatal(err)
	}
	h := l.hub
	var members []*native
	for _, name := range names {
		if _, err := h.acct.sync(name); err != nil {
			b.Fatal(err)
		}
		u := h.acct.user(name)
		if err := u.open(h.acct); err != nil {
			b.Fatal(err)
		}
		l.gen++
		c := &Conn{l: l, fd: devnull, gen: l.gen, remote: name, maxIn: l.cfg.MaxFrame + 1024}
		n := &native{h: h, c: c, st: stFrames, user: u, pad: u}
		c.h, c.s = n, n
		h.startSession(u, n)
		if _, err := h.join(n, []byte("sparse")); err != nil {
			b.Fatal(err)
		}
		members = append(members, n)
	}
	l.beforeSleep()
	text := make([]byte, sparseText)
	for i := range text {
		text[i] = 'a' + byte(i%26)
	}
	pub, last := members[0], members[len(members)-1].user
	cpu := func() int64 {
		var ru unix.Rusage
		unix.Getrusage(unix.RUSAGE_SELF, &ru)
		return ru.Utime.Nano() + ru.Stime.Nano()
	}
	b.ResetTimer()
	cpu0 := cpu()
	for b.Loop() {
		l.now += int64(sparseGap)
		l.expire()
		if _, err := h.say(pub, []byte("sparse"), text, 0); err != nil {
			b.Fatal(err)
		}
		l.beforeSleep()
		if last.sender == nil || last.sender.Remaining() < 4<<10 {
			b.Fatal("a member's pad ran out: run with a smaller -benchtime=Nx")
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpu()-cpu0)/float64(b.N), "cpu-ns/op")
	open := 0
	for _, n := range members {
		if n.user.sender != nil {
			open++
		}
	}
	b.ReportMetric(float64(open), "open-at-end")
}
