package otp

import (
	"fmt"
	"testing"
)

// BenchmarkReserveAll is one loop iteration's reservations for n pads at once
// (a login burst, a fan-out whose members all passed their marks): the
// durable writes of different pads, on the test's file system.
func BenchmarkReserveAll(b *testing.B) {
	for _, n := range []int{4, 32} {
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
		})
	}
}
