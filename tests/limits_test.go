// Resource limits: running out of descriptors must pause accept, not spin, and recover.
package tests

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/wire"
)

// cpuTicks is utime+stime of pid, in clock ticks (100 per second on Linux).
func cpuTicks(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	require.NoError(t, err)
	// Fields after the command name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime
}

func TestOutOfDescriptorsPausesAcceptAndRecovers(t *testing.T) {
	// A long auth timeout keeps the served connections holding their fds.
	// --max-conns above the fds: the default (half of 64) would stop accept before EMFILE.
	d := &daemon{t: t, data: t.TempDir(), nofile: 64, args: []string{"--auth-timeout", "5m", "--max-conns", "1000"}}
	t.Cleanup(d.kill)
	d.start()
	pid := d.cmd.Process.Pid
	greeted := func(c net.Conn, wait time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(wait))
		b := make([]byte, wire.GreetingSize)
		n, _ := c.Read(b)
		return n == len(b)
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	// Far more connections than the daemon has descriptors; the kernel queues
	// the rest in the listen backlog.
	for i := 0; i < 100; i++ {
		c, err := net.Dial("tcp", d.addr)
		require.NoError(t, err)
		conns = append(conns, c)
	}
	d.waitLog("out of file descriptors: accept paused")
	served := 0
	var waiting []net.Conn
	for _, c := range conns {
		if greeted(c, 50*time.Millisecond) {
			served++
		} else {
			waiting = append(waiting, c)
		}
	}
	require.Less(t, served, len(conns), "some connections must be waiting for a descriptor")
	require.Greater(t, served, 0)

	// Waiting for fds must not burn CPU: measure a second of it.
	before := cpuTicks(t, pid)
	time.Sleep(time.Second)
	used := cpuTicks(t, pid) - before
	t.Logf("%d connections served, daemon used %d ticks (1/100 s) in 1 s while out of fds", served, used)
	assert.Less(t, used, int64(20), "the daemon spins while out of descriptors")

	// Free the served ones; the queued ones must get their turn.
	for i, c := range conns {
		if !slices.Contains(waiting, c) {
			c.Close()
			conns[i] = nil
		}
	}
	recovered := 0
	for _, c := range waiting[:min(len(waiting), 20)] {
		if greeted(c, 5*time.Second) {
			recovered++
		}
	}
	assert.Greater(t, recovered, 0, "service must resume once descriptors are free\n%s", d.logs)
}

// Without --max-conns the daemon takes its connection limit from its fd
// limit, less what it keeps for listeners, store and files.
func TestMaxConnsDefaultsFromFDLimit(t *testing.T) {
	d := &daemon{t: t, data: t.TempDir(), nofile: 4096}
	t.Cleanup(d.kill)
	d.start()
	d.waitLog(`"max_conns":3584`)
}
