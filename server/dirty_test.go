// The flush list: a connection is listed once, however its output arrives during flushAll.
package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"padchat/wire"
)

// checkDirty asserts the flush list's invariant between iterations: each
// connection in l.dirty once, and c.dirty set exactly for those.
func checkDirty(t *testing.T, l *Loop, when string) {
	t.Helper()
	listed := map[*Conn]int{}
	for _, c := range l.dirty {
		listed[c]++
		assert.True(t, c.dirty, "%s: %s listed without its flag", when, c.remote)
	}
	for c, n := range listed {
		assert.Equal(t, 1, n, "%s: %s listed %d times", when, c.remote, n)
	}
	for _, c := range l.conns {
		if c != nil && c.dirty {
			assert.Contains(t, listed, c, "%s: %s flagged but not listed", when, c.remote)
		}
	}
}

// TestFlushListsEachConnOnce: output queued on a connection while it is
// listed or while flushAll walks the list must leave it listed once. Members
// whose peers are gone fail a write and part, and their part reaches the
// others: in flushAll's seal (default limit), where members before them are
// sealed and written already and those after not yet, or in the read's early
// write (a 4 KiB output limit). Every member left must still get the part.
func TestFlushListsEachConnOnce(t *testing.T) {
	for _, outLimit := range []int{0, 4 << 10} {
		t.Run(fmt.Sprintf("OutLimit=%d", outLimit), func(t *testing.T) { flushListsEachConnOnce(t, outLimit) })
	}
}

func flushListsEachConnOnce(t *testing.T, outLimit int) {
	l, _ := plainLoop(t, Config{OutLimit: outLimit})
	names := []string{"alice", "bob", "carol", "dave", "erin"}
	users := roomR(t, l, names...)
	for _, g := range users {
		g.n.p.c.remote = g.name
	}
	logs := map[string]*eventLog{}
	for _, g := range users[1:] {
		logs[g.name] = hears(t, l, g)
	}
	checkDirty(t, l, "after the joins")
	gone := map[int]string{1: "dave", 3: "bob"} // at these waves, their peers are gone
	for wave := range 5 {
		if name, ok := gone[wave]; ok {
			for _, g := range users {
				if g.name == name {
					require.NoError(t, unix.Shutdown(g.n.p.fd, unix.SHUT_RDWR))
				}
			}
		}
		var plain []byte
		for i := range 3 {
			text := fmt.Sprintf("w%d-%d %s", wave, i, strings.Repeat("z", 2000))
			plain = wire.Append(plain, &wire.Msg{Op: wire.OpSay, Room: []byte("r"), Text: []byte(text)})
		}
		_, err := unix.Write(users[0].n.p.fd, users[0].n.frame(t, plain))
		require.NoError(t, err)
		users[0].n.p.c.read()
		checkDirty(t, l, fmt.Sprintf("wave %d, read", wave))
		l.beforeSleep()
		checkDirty(t, l, fmt.Sprintf("wave %d, flushed", wave))
		for _, g := range users[1:] {
			if !g.n.p.c.closed {
				logs[g.name].read()
			}
		}
	}
	for _, name := range []string{"carol", "erin"} {
		got := logs[name].got
		assert.Contains(t, got, "70 r dave quit", "%s heard dave go", name)
		assert.Contains(t, got, "70 r bob quit", "%s heard bob go", name)
		assert.Contains(t, got, "67 r alice w4-2 zzzzzzz", "%s got the last wave", name)
	}
}
