// Faults: kill -9 during mixed traffic, 50 times; nothing acknowledged lost, no pad reused.
package tests

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/pcclient"
	"padchat/wire"
)

// ackedDMs collects, per recipient, the ids the server acknowledged to the sender.
type ackedDMs struct {
	mu  sync.Mutex
	ids map[string]map[uint32]string
}

func (a *ackedDMs) add(t *testing.T, to string, id uint32, text string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ids[to] == nil {
		a.ids[to] = map[uint32]string{}
	}
	_, dup := a.ids[to][id]
	assert.False(t, dup, "id %d to %s acknowledged twice", id, to)
	a.ids[to][id] = text
}

func TestKillNineUnderMixedLoad(t *testing.T) {
	const cycles = 50
	d := startServer(t, "--pad-reserve", "64KiB")
	dirs := map[string]string{}
	// alice sends as fast as the server takes it until each kill is noticed:
	// with frames sealed at flush, fast enough to use up 32 MiB in 50 cycles.
	for u, size := range map[string]int64{"alice": 128 << 20, "bob": 32 << 20, "carol": 32 << 20} {
		dirs[u] = d.addUser(u, size)
	}
	ledger := &padLedger{ranges: map[string][][2]int64{}}
	acked := &ackedDMs{ids: map[string]map[uint32]string{}}
	carolGot := map[uint32]bool{}
	for cycle := 0; cycle < cycles; cycle++ {
		alice, err := pcclient.DialWith(d.addr, dirs["alice"], ledger.hook("alice"))
		require.NoError(t, err, "cycle %d", cycle)
		carol, err := pcclient.DialWith(d.addr, dirs["carol"], ledger.hook("carol"))
		require.NoError(t, err, "cycle %d", cycle)
		join(t, alice, "ops")
		join(t, carol, "ops")

		var wg sync.WaitGroup
		wg.Add(2)
		go func() { // carol: reads room traffic, acknowledges her DMs
			defer wg.Done()
			readAndAck(carol, carolGot)
		}()
		var sent sync.Map // seq → [to, text]
		go func() {       // alice: DMs to offline bob and online carol, and room messages
			defer wg.Done()
			for i := 0; ; i++ {
				to := []string{"bob", "carol"}[i%2]
				text := fmt.Sprintf("c%d-%d", cycle, i)
				m := wire.Msg{Op: wire.OpDM, User: []byte(to), Text: []byte(text), Seq: uint32(2*i + 1000)}
				sent.Store(m.Seq, [2]string{to, text})
				if _, err := alice.Send(&m); err != nil {
					return
				}
				if _, err := alice.Send(&wire.Msg{Op: wire.OpSay, Room: []byte("ops"), Text: []byte(text), Seq: uint32(2*i + 1001)}); err != nil {
					return
				}
			}
		}()
		killed := killAtRandom(d, 75)
		for {
			var m wire.Msg
			if alice.Recv(&m) != nil {
				break
			}
			if m.Op == wire.OpOK && m.ID != 0 {
				if v, ok := sent.Load(m.Seq); ok && m.Seq%2 == 0 {
					st := v.([2]string)
					acked.add(t, st[0], m.ID, st[1])
				}
			}
		}
		<-killed
		// Unblock both goroutines, wait for them, and only then close the pads:
		// a Sender belongs to one goroutine.
		alice.Conn().Close()
		carol.Conn().Close()
		wg.Wait()
		alice.Close()
		carol.Close()
		d.start() // fails the test if the store does not open clean
	}
	t.Logf("%d cycles: %d DMs to bob, %d to carol acknowledged", cycles, len(acked.ids["bob"]), len(acked.ids["carol"]))

	// Every acknowledged DM arrives: bob's all at once, carol's rest now.
	for _, who := range []string{"bob", "carol"} {
		c, err := pcclient.DialWith(d.addr, dirs[who], ledger.hook(who))
		require.NoError(t, err)
		got := carolGot
		if who == "bob" {
			got = map[uint32]bool{}
		}
		session := map[uint32]bool{}
		// Counted down, not recounted per message: thousands of DMs are acknowledged.
		for missing := countMissing(acked.ids[who], got); missing > 0; {
			m := expect(t, c, fmt.Sprintf("%d more DMs for %s", missing, who), isOp(wire.OpDirect))
			require.False(t, session[m.ID], "%s got id %d twice in one session", who, m.ID)
			session[m.ID] = true
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
		c.Close()
	}
	ledger.check(t)
}

func countMissing(want map[uint32]string, got map[uint32]bool) int {
	n := 0
	for id := range want {
		if !got[id] {
			n++
		}
	}
	return n
}

// readAndAck reads c until its connection ends, noting in got the id of every
// DM and acknowledging it, as a client that keeps up does.
func readAndAck(c *pcclient.Client, got map[uint32]bool) {
	for {
		var m wire.Msg
		if c.Recv(&m) != nil {
			return
		}
		if m.Op == wire.OpDirect {
			got[m.ID] = true
			if _, err := c.Send(&wire.Msg{Op: wire.OpAck, User: m.User, ID: m.ID}); err != nil {
				return
			}
		}
	}
}
