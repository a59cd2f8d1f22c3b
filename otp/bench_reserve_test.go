package otp

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkReserveAll is one loop iteration's reservations for n pads at once
// (a login burst, a fan-out whose members all passed their marks): the
// durable writes of different pads, on the test's file system. threads is
// how many OS threads the process holds after the run: each sync blocked at
// once keeps one more for good (the Go runtime never ends an idle thread), which
// is what a login burst leaves in an idle daemon's memory.
func BenchmarkReserveAll(b *testing.B) {
	for _, n := range []int{4, 32, 100} {
		b.Run(fmt.Sprintf("pads=%d", n), func(b *testing.B) {
			sess := newSession()
			pad := newPad(b, 64<<20)
			ss := make([]*Sender, n)
			for i := range ss {
				ss[i], _ = newSenderT(b, pad, SenderOptions{ReserveStep: 4096, MaxReserveStep: 4096})
			}
			for b.Loop() {
				for _, s := range ss {
					if _, err := s.Seal(nil, make([]byte, 4096), ToClient, sess); err != nil {
						b.Fatal(err)
					}
				}
				if err := ReserveAll(ss); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(threads()), "threads")
		})
	}
}

// threads is the process's OS thread count (0 where /proc does not say).
func threads() int {
	b, _ := os.ReadFile("/proc/self/status")
	for l := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
