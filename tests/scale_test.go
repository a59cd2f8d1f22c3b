// Scale: 10,000 authenticated native connections held and served, then closed without leaks.
package tests

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/pcclient"
	"padchat/server"
	"padchat/wire"
)

func procFDs(t *testing.T, pid int) int {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	require.NoError(t, err)
	return len(ents)
}

func procRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// parallel runs fn(i) for i in [0, n) on workers goroutines.
func parallel(n, workers int, fn func(i int) error) error {
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					errs <- err
					for range next {
					}
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	return <-errs
}

func TestTenThousandConnections(t *testing.T) {
	const n = 10000
	d := startServer(t, "--log-level", "info")
	start := time.Now()
	require.NoError(t, parallel(n, 32, func(i int) error {
		return server.AddUser(d.data, fmt.Sprintf("s%05d", i), 4<<10, d.addr, "", nil)
	}))
	t.Logf("provisioned %d users in %v", n, time.Since(start))
	pid := d.cmd.Process.Pid
	fdsBefore, rssBefore := procFDs(t, pid), procRSS(t, pid)

	clients := make([]*pcclient.Client, n)
	start = time.Now()
	require.NoError(t, parallel(n, 64, func(i int) error {
		c, err := pcclient.Dial(d.addr, server.BundleDir(d.data, fmt.Sprintf("s%05d", i)))
		clients[i] = c
		return err
	}))
	t.Logf("%d clients authenticated in %v", n, time.Since(start))
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	// Served: every one of them gets an answer while all are connected.
	require.NoError(t, parallel(n, 64, func(i int) error {
		c := clients[i]
		seq, err := c.Send(&wire.Msg{Op: wire.OpPing})
		if err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		var m wire.Msg
		if err := c.Recv(&m); err != nil {
			return fmt.Errorf("%s: %w", c.User, err)
		}
		if m.Op != wire.OpOK || m.Seq != seq {
			return fmt.Errorf("%s: got op %d seq %d", c.User, m.Op, m.Seq)
		}
		return nil
	}))
	held := procFDs(t, pid) - fdsBefore
	rss := procRSS(t, pid) - rssBefore
	t.Logf("daemon holds %d more fds and %d KiB more RSS for %d busy connections: %d B/conn", held, rss>>10, n, rss/n)
	assert.InDelta(t, n, held, 50, "one descriptor per connection")
	// Let them be idle connections: pad pages are released after a few quiet seconds.
	time.Sleep(8 * time.Second)
	rss = procRSS(t, pid) - rssBefore
	t.Logf("after 8 s idle: %d KiB more RSS: %d B/conn", rss>>10, rss/n)

	for i, c := range clients {
		c.Close()
		clients[i] = nil
	}
	waitFor(t, 30*time.Second, func() bool { return procFDs(t, pid) <= fdsBefore }, "the daemon to close every connection (fds %d, before %d)", procFDs(t, pid), fdsBefore)
	// Still serving after the storm.
	c := dial(t, d, "s00000")
	assert.Equal(t, wire.OpOK, request(t, c, wire.Msg{Op: wire.OpPing}).Op)
}
