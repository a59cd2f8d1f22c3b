// Crash points: the daemon dies as SIGKILL would at each named point of its durability path, under mixed load.
package tests

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/crashpoint"
	"padchat/internal/pcclient"
	"padchat/wire"
)

// crashRuns is how often each point fires: PADCHAT_CRASH_RUNS (make soak), else 2.
func crashRuns(t *testing.T) int { return envCount(t, "PADCHAT_CRASH_RUNS", 2) }

// envCount is the number in the environment variable name, else def.
func envCount(t *testing.T, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, name)
		return n
	}
	return def
}

// overlaps counts, per user and direction, the pad ranges that overlap the
// one before them: each is a pad byte used twice.
func (p *padLedger) overlaps(t *testing.T) (frames, overlaps int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, rs := range p.ranges {
		frames += len(rs)
		sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
		for i := 1; i < len(rs); i++ {
			if rs[i][0] < rs[i-1][1] {
				overlaps++
				t.Errorf("%s: pad range %v overlaps %v", key, rs[i-1], rs[i])
			}
		}
	}
	return frames, overlaps
}

// TestCrashPointEveryPoint arms each crash point in turn (a random pass of it)
// while alice sends DMs to offline bob and online carol, room messages that a
// slow reader (dave) and carol receive, and history requests. After every
// crash the daemon restarts; at the end every acknowledged DM must arrive and
// no pad range seen on the wire, in either direction, may overlap another.
func TestCrashPointEveryPoint(t *testing.T) {
	runs := crashRuns(t)
	// A reserve step of 4 KiB that never grows: the pads of a busy session
	// cross their durable mark every few iterations, so crashes land on those.
	d := startServer(t, "--pad-reserve", "4KiB", "--pad-reserve-max", "4KiB")
	dirs := map[string]string{}
	// alice sends as fast as the server takes it: her pads are the big ones.
	for u, size := range map[string]int64{"alice": 128 << 20, "bob": 32 << 20, "carol": 32 << 20, "dave": 32 << 20} {
		dirs[u] = d.addUser(u, size)
	}
	require.NoError(t, d.stop())
	ledger := &padLedger{ranges: map[string][][2]int64{}}
	acked := &ackedDMs{ids: map[string]map[uint32]string{}}
	carolGot := map[uint32]bool{}
	for _, point := range crashpoint.All {
		for run := range runs {
			// The reservation of a pad happens a few times per daemon run; the
			// other points are passed many times a second under this load.
			n := 1 + rand.IntN(40)
			if point == crashpoint.ReserveSync {
				n = 1 + rand.IntN(3)
			}
			d.env = []string{fmt.Sprintf("%s=%s:%d", crashpoint.Env, point, n)}
			d.start()
			crashLoad(t, d, dirs, ledger, acked, carolGot, fmt.Sprintf("%s/%d", point, run))
		}
	}
	d.env = nil
	d.start()

	lost := 0
	for _, who := range []string{"bob", "carol"} {
		c, err := pcclient.DialWith(d.addr, dirs[who], ledger.hook(who))
		require.NoError(t, err)
		got := carolGot
		if who == "bob" {
			got = map[uint32]bool{}
		}
		missing := countMissing(acked.ids[who], got)
		for missing > 0 {
			var m wire.Msg
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if err := c.Recv(&m); err != nil {
				t.Errorf("%s: %d acknowledged DMs not delivered: %v", who, missing, err)
				break
			}
			if m.Op != wire.OpDirect {
				continue
			}
			if text, ok := acked.ids[who][m.ID]; ok {
				assert.Equal(t, text, string(m.Text))
				if !got[m.ID] {
					missing--
				}
			}
			got[m.ID] = true
			_, err := c.Send(&wire.Msg{Op: wire.OpAck, User: m.User, ID: m.ID})
			require.NoError(t, err)
		}
		lost += countMissing(acked.ids[who], got)
		c.Close()
	}
	frames, overlaps := ledger.overlaps(t)
	t.Logf("%d points x %d runs: %d frames recorded, %d overlaps, %d acked DMs (bob %d, carol %d), %d lost",
		len(crashpoint.All), runs, frames, overlaps, len(acked.ids["bob"])+len(acked.ids["carol"]),
		len(acked.ids["bob"]), len(acked.ids["carol"]), lost)
	assert.Zero(t, overlaps, "pad bytes used twice")
	assert.Zero(t, lost, "acknowledged DMs lost")
}

// crashLoad drives the mixed load until the armed daemon kills itself, and
// checks that it did die by SIGKILL.
func crashLoad(t *testing.T, d *daemon, dirs map[string]string, ledger *padLedger, acked *ackedDMs, carolGot map[uint32]bool, tag string) {
	var clients []*pcclient.Client
	dialed := func(who string) *pcclient.Client {
		c, err := pcclient.DialWith(d.addr, dirs[who], ledger.hook(who))
		if err != nil {
			return nil // the daemon may die during the handshake
		}
		clients = append(clients, c)
		return c
	}
	var wg sync.WaitGroup
	alice, carol, dave := dialed("alice"), dialed("carol"), dialed("dave")
	if alice != nil && carol != nil && dave != nil {
		for _, c := range []*pcclient.Client{carol, dave} {
			c.Send(&wire.Msg{Op: wire.OpJoin, Room: []byte("ops")})
		}
		wg.Add(3)
		go func() { // carol: reads room traffic, acknowledges her DMs
			defer wg.Done()
			readAndAck(carol, carolGot)
		}()
		go func() { // dave: a slow reader of the room
			defer wg.Done()
			for {
				var m wire.Msg
				if dave.Recv(&m) != nil {
					return
				}
				time.Sleep(200 * time.Microsecond)
			}
		}()
		var sent sync.Map // seq → [to, text]
		go func() {       // alice: DMs, room messages, history
			defer wg.Done()
			if _, err := alice.Send(&wire.Msg{Op: wire.OpJoin, Room: []byte("ops"), Seq: 1}); err != nil {
				return
			}
			for i := 0; ; i++ {
				to := []string{"bob", "carol"}[i%2]
				text := fmt.Sprintf("%s-%d", tag, i)
				m := wire.Msg{Op: wire.OpDM, User: []byte(to), Text: []byte(text), Seq: uint32(3*i + 1000)}
				sent.Store(m.Seq, [2]string{to, text})
				if _, err := alice.Send(&m); err != nil {
					return
				}
				if _, err := alice.Send(&wire.Msg{Op: wire.OpSay, Room: []byte("ops"), Text: []byte(text), Seq: uint32(3*i + 1001)}); err != nil {
					return
				}
				if i%16 == 0 {
					if _, err := alice.Send(&wire.Msg{Op: wire.OpHistory, Room: []byte("ops"), ID: 8, Seq: uint32(3*i + 1002)}); err != nil {
						return
					}
				}
			}
		}()
		for {
			var m wire.Msg
			if alice.Recv(&m) != nil {
				break
			}
			if m.Op == wire.OpOK && m.ID != 0 && m.Seq >= 1000 && (m.Seq-1000)%3 == 0 {
				if v, ok := sent.Load(m.Seq); ok {
					st := v.([2]string)
					acked.add(t, st[0], m.ID, st[1])
				}
			}
		}
	}
	var err error
	select {
	case err = <-d.done:
		d.done = nil
	case <-time.After(20 * time.Second):
		d.kill9()
		t.Fatalf("%s: crash point not reached", tag)
	}
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "%s: daemon exit: %v\n%s", tag, err, d.logs)
	ws, _ := exit.Sys().(syscall.WaitStatus)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "%s: daemon did not die by SIGKILL: %v\n%s", tag, err, d.logs)
	// Unblock the readers, wait for every goroutine, and only then close the
	// pads: a Sender belongs to one goroutine.
	for _, c := range clients {
		c.Conn().Close()
	}
	wg.Wait()
	for _, c := range clients {
		c.Close()
	}
}
