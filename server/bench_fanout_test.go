// Micro-benchmark of the fan-out hot path: sealed Says in, per member one sealed frame per iteration out.
package server

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"padchat/otp"
	"padchat/wire"
)

const (
	benchMembers = 100      // receivers of every message (the publisher is one more)
	benchPadSize = 64 << 20 // one pad shared by every sender: fine for a benchmark, never for real
	benchText    = 100
)

// fanoutBench is a real Loop (from New) with Users, Conns and native sessions
// put on its hub by hand: no client sockets, no poller events. Conns write to
// /dev/null, so flushing runs the real code (one write per conn) for the price
// of a syscall that copies nothing.
type fanoutBench struct {
	l       *Loop
	dir     string
	pad     *otp.Pad
	padID   otp.PadID
	pub     *native
	members []*native
	client  *otp.Sender // the publisher's side of its send pad
	frames  []byte      // a batch of sealed Says
	devnull int
	states  int
}

func newFanoutBench(b testing.TB, history bool) *fanoutBench {
	b.Helper()
	dir := b.TempDir()
	// The real constructor: store, accounts, poller and an unused listener.
	l, err := New(Config{Listen: "127.0.0.1:0", DataDir: dir, ReserveStep: benchPadSize}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	// Config's zero HistorySize means none (the daemon's flag sets the default):
	// the hub asks the config, the store keeps its own copy of the limit.
	if history {
		l.cfg.HistorySize = DefaultHistorySize
		l.hub.store.histN = DefaultHistorySize
	}
	fb := &fanoutBench{l: l, dir: dir}
	b.Cleanup(fb.close)
	padPath := filepath.Join(dir, "shared.pad")
	if fb.padID, err = otp.CreatePad(padPath, benchPadSize, nil); err != nil {
		b.Fatal(err)
	}
	if fb.pad, err = otp.OpenPad(padPath); err != nil {
		b.Fatal(err)
	}
	if fb.devnull, err = unix.Open("/dev/null", unix.O_WRONLY, 0); err != nil {
		b.Fatal(err)
	}
	fb.pub = fb.member(b, "pub")
	fb.pub.user.receiver = fb.receiver(b)
	for i := range benchMembers {
		fb.members = append(fb.members, fb.member(b, fmt.Sprintf("m%d", i)))
	}
	for _, n := range append([]*native{fb.pub}, fb.members...) {
		if _, err := l.hub.join(n, []byte("bench")); err != nil {
			b.Fatal(err)
		}
	}
	fb.reset(b)
	return fb
}

// member is an authenticated native session on a Conn writing to /dev/null.
func (fb *fanoutBench) member(b testing.TB, name string) *native {
	l := fb.l
	l.gen++
	c := &Conn{l: l, fd: fb.devnull, gen: l.gen, remote: name, maxIn: l.cfg.MaxFrame + 1024}
	u := &User{Name: name}
	n := &native{h: l.hub, c: c, st: stFrames, user: u}
	n.sess.Client[0], n.sess.Server[0] = 1, 2
	c.h, c.s = n, n
	n.pad = u
	u.sender = fb.sender(b, otp.RoleSend)
	l.hub.startSession(u, n)
	return n
}

func (fb *fanoutBench) state(b testing.TB, role otp.Role) string {
	fb.states++
	path := filepath.Join(fb.dir, fmt.Sprintf("%d.state", fb.states))
	if err := otp.InitState(path, fb.padID, role); err != nil {
		b.Fatal(err)
	}
	return path
}

func (fb *fanoutBench) sender(b testing.TB, role otp.Role) *otp.Sender {
	s, err := otp.OpenSender(fb.pad, fb.state(b, role), otp.SenderOptions{ReserveStep: benchPadSize, MaxFrame: fb.l.cfg.MaxFrame})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func (fb *fanoutBench) receiver(b testing.TB) *otp.Receiver {
	r, err := otp.OpenReceiver(fb.pad, fb.state(b, otp.RoleRecv), otp.ReceiverOptions{MaxFrame: fb.l.cfg.MaxFrame})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// reset gives every sender and the publisher's receiver fresh state, so the
// shared pad can be walked again.
func (fb *fanoutBench) reset(b testing.TB) {
	for _, n := range append([]*native{fb.pub}, fb.members...) {
		n.user.sender.Close()
		n.user.sender = fb.sender(b, otp.RoleSend)
		n.user.reserve = false
	}
	fb.pub.user.receiver.Close()
	fb.pub.user.receiver = fb.receiver(b)
	if fb.client != nil {
		fb.client.Close()
	}
	fb.client = fb.sender(b, otp.RoleSend)
	fb.l.hub.reserve = fb.l.hub.reserve[:0]
	fb.drain()
	// One Say and one beforeSleep: every sender reserves its whole pad now
	// (one fsync each), not inside the timed loop.
	fb.seal(b, 1)
	fb.pub.onData(fb.pub.c, fb.frames)
	fb.l.beforeSleep()
	fb.drain()
}

// seal makes the publisher's next n Says as its client would send them.
func (fb *fanoutBench) seal(b testing.TB, n int) {
	text := make([]byte, benchText)
	for i := range text {
		text[i] = 'a' + byte(i%26)
	}
	fb.frames = fb.frames[:0]
	var err error
	for i := range n {
		plain := wire.Append(nil, &wire.Msg{Op: wire.OpSay, Seq: uint32(i + 1), Room: []byte("bench"), Text: text})
		if fb.frames, err = fb.client.Seal(fb.frames, plain, otp.ToServer, &fb.pub.sess); err != nil {
			b.Fatal(err)
		}
	}
}

// drain seals and reserves as a flush would, then empties every output
// queue without writing.
func (fb *fanoutBench) drain() {
	fb.l.sealHeld(fb.l.dirty, false)
	for _, c := range fb.l.dirty {
		c.out, c.outPos, c.held, c.dirty = c.out[:0], 0, 0, false
	}
	fb.l.dirty = fb.l.dirty[:0]
	fb.l.hub.store.ops = fb.l.hub.store.ops[:0]
	fb.l.hub.store.hist.reset()
}

// left is how many more messages the shared pad allows before a reset.
func (fb *fanoutBench) left() int64 {
	cost := otp.PadCost(wire.HeaderSize + len("bench") + len("pub") + benchText)
	// The publisher's client seals each Say as a frame of its own, which costs
	// more pad than the members' batched frames: the first of the two to run
	// out bounds the batch.
	return min(fb.members[0].user.sender.Remaining(), fb.client.Remaining()) / (cost + 64)
}

func (fb *fanoutBench) close() {
	for _, n := range append([]*native{fb.pub}, fb.members...) {
		if n != nil && n.user != nil {
			n.user.sender.Close()
			if n.user.receiver != nil {
				n.user.receiver.Close()
			}
		}
	}
	if fb.client != nil {
		fb.client.Close()
	}
	if fb.pad != nil {
		fb.pad.Close()
	}
	fb.l.shutdown()
	unix.Close(fb.devnull)
}

// BenchmarkFanout100 measures one Say relayed to 100 members: open + decode,
// hub.say, wire encode once, queue per member, and at the end of each batch
// one seal per member (protocol v2: one frame per member per iteration).
//
//   - queue: batches of 64, sealed and reserved, then emptied (not written).
//   - flush/batch=N: N Says per loop iteration (2048: about what one
//     iteration of a flood reads from its publishers), then the loop's beforeSleep:
//     pad reservation check and one write per member conn (to /dev/null), with
//     the real output-buffer policy.
//   - history: as queue, plus the room history record queued for the store (the
//     bbolt commit itself, an fsync, is left to the end-to-end padchat-bench).
//
// ns/delivery and allocs/delivery divide by the 100 deliveries of each Say.
func BenchmarkFanout100(b *testing.B) {
	for _, tc := range []struct {
		name    string
		batch   int
		flush   bool
		history bool
	}{
		{"queue", 64, false, false},
		{"flush/batch=1", 1, true, false},
		{"flush/batch=64", 64, true, false},
		{"flush/batch=512", 512, true, false},
		{"flush/batch=2048", 2048, true, false},
		{"history", 64, false, true},
	} {
		fb := newFanoutBench(b, tc.history)
		b.Run(tc.name, func(b *testing.B) {
			var mallocs uint64
			var ms0, ms1 runtime.MemStats
			b.ResetTimer()
			b.StopTimer()
			for remaining := b.N; remaining > 0; {
				// Seal up to a pad's worth of Says up front, outside the timer.
				n := min(remaining, int(fb.left()))
				if n < 1 {
					fb.reset(b)
					continue
				}
				fb.seal(b, n)
				size := len(fb.frames) / n
				runtime.ReadMemStats(&ms0)
				b.StartTimer()
				for off := 0; off < n; off += tc.batch {
					batch := fb.frames[off*size : min(off+tc.batch, n)*size]
					if used := fb.pub.onData(fb.pub.c, batch); used != len(batch) {
						b.Fatalf("publisher consumed %d of %d bytes (dying %v: %v)", used, len(batch), fb.pub.c.dying, fb.pub.c.reason)
					}
					if tc.flush {
						fb.l.beforeSleep()
					} else {
						fb.drain()
					}
				}
				b.StopTimer()
				runtime.ReadMemStats(&ms1)
				mallocs += ms1.Mallocs - ms0.Mallocs
				remaining -= n
			}
			deliveries := float64(b.N) * benchMembers
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "ns/delivery")
			b.ReportMetric(float64(mallocs)/deliveries, "allocs/delivery")
			for _, m := range fb.members {
				if m.c.dying || m.c.closed {
					b.Fatalf("member %s cut off: %v", m.user.Name, m.c.reason)
				}
			}
		})
	}
}
