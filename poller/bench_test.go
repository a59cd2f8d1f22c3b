// Wait(0) cost against the number of idle fds: epoll's should stay flat, select's grows with every fd it scans.
//go:build darwin || freebsd || linux || netbsd || openbsd

package poller

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkWait registers idle+ready socketpair ends for reading and makes
// ready of them readable, then times one Wait(0), which returns the ready ones.
// select can only take fds below FD_SETSIZE (1024), so its cases stop at
// 1000 registered fds.
func BenchmarkWait(b *testing.B) {
	sizes := map[string][][2]int{
		"select": {{100, 1}, {999, 1}, {500, 500}},
	}
	native := [][2]int{{100, 1}, {10000, 1}, {10000, 1000}}
	for _, bk := range backends {
		cases, ok := sizes[bk.name]
		if !ok {
			cases = native
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("%s/idle=%d,ready=%d", bk.name, c[0], c[1]), func(b *testing.B) {
				benchWait(b, bk, c[0], c[1])
			})
		}
	}
}

func benchWait(b *testing.B, bk backend, idle, ready int) {
	total := idle + ready
	raiseFdLimit(b, total+64)
	p, err := bk.open()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	// Pair i gives ends 2i and 2i+1; a write into pair i's b end makes its a
	// end ready, so the ready ones are the a ends of the first pairs.
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for len(fds) < total {
		s, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			b.Fatal(err)
		}
		fds = append(fds, s[0], s[1])
	}
	for i, fd := range fds[:total] {
		if err := p.Add(fd, Readable, uint64(i)); err != nil {
			b.Fatalf("add fd %d: %v", fd, err)
		}
	}
	for i := range ready {
		if _, err := unix.Write(fds[2*i+1], []byte{'x'}); err != nil {
			b.Fatal(err)
		}
	}
	events := make([]Event, 2048)
	for b.Loop() {
		n, err := p.Wait(events, 0)
		if err != nil || n != ready {
			b.Fatalf("Wait = %d, %v; want %d ready", n, err, ready)
		}
	}
}

// raiseFdLimit lifts the soft RLIMIT_NOFILE to the hard one (Go does so at
// start-up on most systems already) and skips if that is still too few.
func raiseFdLimit(b *testing.B, need int) {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			b.Fatal(err)
		}
	}
	if uint64(lim.Cur) < uint64(need) {
		b.Skipf("RLIMIT_NOFILE is %d, need %d", lim.Cur, need)
	}
}
