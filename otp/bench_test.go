// Benchmarks of Seal and Open; pads are reused on fresh state files outside the timer.
package otp

import (
	"fmt"
	"testing"
)

const benchPadSize = 32 << 20

var benchSizes = []struct {
	name string
	n    int
}{{"100B", 100}, {"4KiB", 4096}}

// freshSender opens a Sender on a new state file, so the pad can be used again.
func freshSender(b *testing.B, pad *Pad) *Sender {
	s, err := OpenSender(pad, newState(b, pad, RoleSend), SenderOptions{ReserveStep: benchPadSize})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func freshReceiver(b *testing.B, pad *Pad) *Receiver {
	r, err := OpenReceiver(pad, newState(b, pad, RoleRecv), ReceiverOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkSeal(b *testing.B) {
	pad := newPad(b, benchPadSize)
	sess := newSession()
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			s := freshSender(b, pad)
			msg := randBytes(size.n)
			dst := make([]byte, 0, size.n+Overhead)
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			for b.Loop() {
				if s.Remaining() < PadCost(size.n) {
					b.StopTimer()
					s.Close()
					s = freshSender(b, pad)
					b.StartTimer()
				}
				if _, err := s.Seal(dst, msg, ToServer, sess); err != nil {
					b.Fatal(err)
				}
			}
			s.Close()
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	pad := newPad(b, benchPadSize)
	sess := newSession()
	for _, size := range benchSizes {
		b.Run(size.name, func(b *testing.B) {
			// Seal the whole pad once; each pass opens those frames on fresh state.
			s := freshSender(b, pad)
			msg := randBytes(size.n)
			count := int((pad.Size() - FirstOffset) / PadCost(size.n))
			all := make([]byte, 0, count*(size.n+Overhead))
			frames := make([][]byte, count)
			for i := range frames {
				start := len(all)
				all, _ = s.Seal(all, msg, ToServer, sess)
				frames[i] = all[start:]
			}
			s.Close()
			r := freshReceiver(b, pad)
			dst := make([]byte, 0, size.n)
			b.SetBytes(int64(size.n))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i == len(frames) {
					b.StopTimer()
					r.Close()
					r, i = freshReceiver(b, pad), 0
					b.StartTimer()
				}
				if _, err := r.Open(dst, frames[i], ToServer, sess); err != nil {
					b.Fatal(err)
				}
				i++
			}
			r.Close()
		})
	}
}

func BenchmarkSealOpen100B(b *testing.B) {
	pad := newPad(b, benchPadSize)
	sess := newSession()
	s, r := freshSender(b, pad), freshReceiver(b, pad)
	msg := randBytes(100)
	frame := make([]byte, 0, 100+Overhead)
	dst := make([]byte, 0, 100)
	b.SetBytes(100)
	b.ReportAllocs()
	for b.Loop() {
		if s.Remaining() < PadCost(100) {
			b.StopTimer()
			s.Close()
			r.Close()
			s, r = freshSender(b, pad), freshReceiver(b, pad)
			b.StartTimer()
		}
		f, err := s.Seal(frame, msg, ToServer, sess)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Open(dst, f, ToServer, sess); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	r.Close()
}

// BenchmarkSealParts64KiB seals what one member of a flood gets in one frame:
// 64 KiB of plaintext in parts of a few messages each, as spans of the arena.
func BenchmarkSealParts64KiB(b *testing.B) {
	pad := newPad(b, benchPadSize)
	sess := newSession()
	for _, part := range []int{130, 64 << 10} {
		b.Run(fmt.Sprintf("part=%d", part), func(b *testing.B) {
			s := freshSender(b, pad)
			plain := randBytes(64 << 10)
			var parts [][]byte
			for p := plain; len(p) > 0; p = p[min(part, len(p)):] {
				parts = append(parts, p[:min(part, len(p))])
			}
			dst := make([]byte, 0, len(plain)+Overhead)
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			for b.Loop() {
				if s.Remaining() < PadCost(len(plain)) {
					b.StopTimer()
					s.Close()
					s = freshSender(b, pad)
					b.StartTimer()
				}
				if _, err := s.SealParts(dst, parts, ToServer, sess); err != nil {
					b.Fatal(err)
				}
			}
			s.Close()
		})
	}
}
