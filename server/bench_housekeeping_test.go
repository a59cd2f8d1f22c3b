package server

import (
	"fmt"
	"testing"

	"padchat/otp"
)

// BenchmarkHousekeepingIdle is one housekeeping tick (l.tick, once a second)
// of a daemon with many provisioned accounts and nobody online: its cost
// should not grow with the accounts. The accounts are index entries only (no
// pads), as a daemon holds them until someone logs in.
func BenchmarkHousekeepingIdle(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			l, _ := plainLoop(b, Config{})
			for i := range n {
				var id otp.PadID
				id[0], id[1], id[2] = byte(i), byte(i>>8), byte(i>>16)
				l.hub.acct.add(&User{Name: fmt.Sprintf("u%05d", i), sendID: id})
			}
			b.ReportAllocs()
			for b.Loop() {
				l.tick()
			}
		})
	}
}
