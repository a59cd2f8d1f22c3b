// End to end over the durable store: offline mail, delivery acks, history, restarts and crashes.
package tests

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/pcclient"
	"padchat/otp"
	"padchat/server"
	"padchat/wire"
)

func sendDM(t *testing.T, c *pcclient.Client, to, text string) uint32 {
	t.Helper()
	r := request(t, c, wire.Msg{Op: wire.OpDM, User: []byte(to), Text: []byte(text)})
	require.Equal(t, wire.OpOK, r.Op, string(r.Text))
	return r.ID
}

func TestOfflineDeliveryInOrderWithAcks(t *testing.T) {
	d := startServer(t)
	d.addUser("bob", 0)
	alice := dial(t, d, "alice")
	for i, text := range []string{"one", "two", "three"} {
		assert.Equal(t, uint32(i+1), sendDM(t, alice, "bob", text))
	}
	bob := dial(t, d, "bob")
	for i, text := range []string{"one", "two", "three"} {
		m := expect(t, bob, "stored DM", isOp(wire.OpDirect))
		assert.Equal(t, text, string(m.Text))
		assert.Equal(t, uint32(i+1), m.ID)
		_, err := bob.Send(&wire.Msg{Op: wire.OpAck, User: m.User, ID: m.ID})
		require.NoError(t, err)
		del := expect(t, alice, "delivery ack", isOp(wire.OpDelivered))
		assert.Equal(t, m.ID, del.ID)
	}
	// Acknowledged mail is gone: a new session of bob gets nothing again.
	bob.Close()
	bob = dial(t, d, "bob")
	request(t, bob, wire.Msg{Op: wire.OpPing})
	sendDM(t, alice, "bob", "four")
	m := expect(t, bob, "the next DM only", isOp(wire.OpDirect))
	assert.Equal(t, "four", string(m.Text))
}

func TestUnackedMailIsRedeliveredToTheNextSession(t *testing.T) {
	d := startServer(t)
	d.addUser("bob", 0)
	alice := dial(t, d, "alice")
	sendDM(t, alice, "bob", "hello")
	bob := dial(t, d, "bob")
	expect(t, bob, "first delivery", isOp(wire.OpDirect))
	bob.Close() // no ack
	bob = dial(t, d, "bob")
	m := expect(t, bob, "redelivery", isOp(wire.OpDirect))
	assert.Equal(t, "hello", string(m.Text))
}

func TestHistoryReplayOnJoinAndRequest(t *testing.T) {
	d := startServer(t, "--history", "3")
	alice := dial(t, d, "alice")
	join(t, alice, "dev")
	for i := 1; i <= 5; i++ {
		request(t, alice, wire.Msg{Op: wire.OpSay, Room: []byte("dev"), Text: []byte(fmt.Sprint("m", i))})
	}
	bob := dial(t, d, "bob")
	_, err := bob.Send(&wire.Msg{Op: wire.OpJoin, Room: []byte("dev")})
	require.NoError(t, err)
	for _, want := range []string{"m3", "m4", "m5"} {
		m := expect(t, bob, "history", isOp(wire.OpMessage))
		assert.Equal(t, want, string(m.Text))
		assert.NotZero(t, m.Flags&wire.FlagHistory)
	}
	_, err = bob.Send(&wire.Msg{Op: wire.OpHistory, Room: []byte("dev"), ID: 1})
	require.NoError(t, err)
	m := expect(t, bob, "history on request", isOp(wire.OpMessage))
	assert.Equal(t, "m5", string(m.Text))
}

func TestRestartKeepsUsersMailboxesAndHistory(t *testing.T) {
	d := startServer(t)
	d.addUser("bob", 0)
	alice := dial(t, d, "alice")
	join(t, alice, "dev")
	request(t, alice, wire.Msg{Op: wire.OpSay, Room: []byte("dev"), Text: []byte("before restart")})
	id := sendDM(t, alice, "bob", "kept")
	alice.Close()
	require.NoError(t, d.stop())
	d.start()
	bob := dial(t, d, "bob")
	m := expect(t, bob, "mail kept across restart", isOp(wire.OpDirect))
	assert.Equal(t, "kept", string(m.Text))
	assert.Equal(t, id, m.ID)
	join(t, bob, "dev")
	h := expect(t, bob, "history kept across restart", isOp(wire.OpMessage))
	assert.Equal(t, "before restart", string(h.Text))
	alice = dial(t, d, "alice")
	assert.Equal(t, id+1, sendDM(t, alice, "bob", "counter kept"))
}

// killAtRandom kill -9s the daemon 5 ms plus up to spread ms from now; the
// channel closes once it is dead.
func killAtRandom(d *daemon, spread int) <-chan struct{} {
	killed := make(chan struct{})
	go func() {
		time.Sleep(time.Duration(5+rand.IntN(spread)) * time.Millisecond)
		d.kill9()
		close(killed)
	}()
	return killed
}

// dmsUntilKilled sends DMs from c to `to` (pause apart) until killed closes and
// the connection ends, recording in acked the text of every id acknowledged.
func dmsUntilKilled(t *testing.T, c *pcclient.Client, to, tag string, killed <-chan struct{}, pause time.Duration, acked map[uint32]string) {
	var sent sync.Map // seq → text
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-killed:
				return
			default:
			}
			text := fmt.Sprintf("%s-%d", tag, i)
			m := wire.Msg{Op: wire.OpDM, User: []byte(to), Text: []byte(text), Seq: uint32(i + 1)}
			sent.Store(m.Seq, text)
			if _, err := c.Send(&m); err != nil {
				return
			}
			if pause > 0 {
				time.Sleep(pause)
			}
		}
	})
	for {
		var m wire.Msg
		if c.Recv(&m) != nil {
			break
		}
		if m.Op == wire.OpOK && m.ID != 0 {
			text, _ := sent.Load(m.Seq)
			_, dup := acked[m.ID]
			require.False(t, dup, "id %d acknowledged twice", m.ID)
			acked[m.ID] = text.(string)
		}
	}
	<-killed
	wg.Wait()
}

// padLedger records every pad range seen on the wire and finds overlaps.
type padLedger struct {
	mu     sync.Mutex
	ranges map[string][][2]int64
}

func (p *padLedger) hook(user string) func(otp.Direction, int64, int) {
	return func(dir otp.Direction, off int64, n int) {
		p.mu.Lock()
		defer p.mu.Unlock()
		key := fmt.Sprintf("%s/%d", user, dir)
		p.ranges[key] = append(p.ranges[key], [2]int64{off, off + otp.PadCost(n)})
	}
}

func (p *padLedger) check(t *testing.T) {
	for key, rs := range p.ranges {
		sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
		for i := 1; i < len(rs); i++ {
			require.LessOrEqual(t, rs[i-1][1], rs[i][0], "%s: pad range %v overlaps %v", key, rs[i-1], rs[i])
		}
	}
}

// TestCrashLosesNothingAcknowledged kills the daemon with SIGKILL while DMs
// flow to an offline user, 20 times; every id the sender got back must be
// delivered once at the end, and no pad byte may have been used twice.
func TestCrashLosesNothingAcknowledged(t *testing.T) {
	// Every crash wastes up to one reserve step of each pad in use: keep it small.
	d := startServer(t, "--pad-reserve", "64KiB")
	aliceDir, bobDir := d.addUser("alice", 16<<20), d.addUser("bob", 16<<20)
	ledger := &padLedger{ranges: map[string][][2]int64{}}
	acked := map[uint32]string{}
	for cycle := 0; cycle < 20; cycle++ {
		alice, err := pcclient.DialWith(d.addr, aliceDir, ledger.hook("alice"))
		require.NoError(t, err, "cycle %d\n%s", cycle, d.logs)
		killed := killAtRandom(d, 60)
		dmsUntilKilled(t, alice, "bob", fmt.Sprintf("c%d", cycle), killed, 0, acked)
		alice.Close()
		d.start()
	}
	require.NotEmpty(t, acked)
	t.Logf("%d acknowledged DMs over 20 crashes", len(acked))

	alice := dial(t, d, "alice")
	alice.OnFrame = ledger.hook("alice")
	last := sendDM(t, alice, "bob", "last")
	bob, err := pcclient.DialWith(d.addr, bobDir, ledger.hook("bob"))
	require.NoError(t, err)
	defer bob.Close()
	seen := map[uint32]bool{}
	for {
		m := expect(t, bob, "mail after the crashes", isOp(wire.OpDirect))
		require.False(t, seen[m.ID], "id %d delivered twice in one session", m.ID)
		seen[m.ID] = true
		_, err := bob.Send(&wire.Msg{Op: wire.OpAck, User: m.User, ID: m.ID})
		require.NoError(t, err)
		if text, ok := acked[m.ID]; ok {
			assert.Equal(t, text, string(m.Text))
		}
		if m.ID == last {
			break
		}
	}
	for id := range acked {
		assert.True(t, seen[id], "acknowledged id %d lost", id)
	}
	ledger.check(t)
}

var _ = server.BundleDir

// A receipt for a sender who went offline waits in the sender's mailbox, in
// the transaction that removed the acknowledged message, and goes once the
// sender acknowledges it in turn.
func TestReceiptWaitsForAnOfflineSender(t *testing.T) {
	d := startServer(t)
	d.addUser("bob", 0)
	alice := dial(t, d, "alice")
	id := sendDM(t, alice, "bob", "while you were out")
	alice.Close()
	d.waitLog(`"message":"disconnected"`)

	bob := dial(t, d, "bob")
	m := expect(t, bob, "stored DM", isOp(wire.OpDirect))
	_, err := bob.Send(&wire.Msg{Op: wire.OpAck, User: m.User, ID: m.ID})
	require.NoError(t, err)
	request(t, bob, wire.Msg{Op: wire.OpPing}) // the ack was handled and committed

	// A restart in between: the receipt is on disk, not in memory.
	require.NoError(t, d.stop())
	d.start()
	alice = dial(t, d, "alice")
	del := expect(t, alice, "the receipt kept for alice", isOp(wire.OpDelivered))
	assert.Equal(t, "bob", string(del.User))
	assert.Equal(t, id, del.ID)
	assert.NotZero(t, del.Flags&wire.FlagReceipt, "a stored receipt asks for an ack")
	_, err = alice.Send(&wire.Msg{Op: wire.OpAck, Flags: wire.FlagReceipt, User: del.User, ID: del.ID})
	require.NoError(t, err)
	request(t, alice, wire.Msg{Op: wire.OpPing})
	alice.Close()

	// Acknowledged, it is gone: the next session hears only what is new.
	alice = dial(t, d, "alice")
	sendDM(t, alice, "alice", "note to self")
	m = expect(t, alice, "the next mail", func(m *wire.Msg) bool { return m.Op == wire.OpDirect || m.Op == wire.OpDelivered })
	assert.Equal(t, wire.OpDirect, m.Op, "the receipt came back after its ack")
}

// History costs pad only for what the account has not had: an idle
// reconnect to a quiet room replays nothing, a reconnect after new messages
// replays just those, and /history still reaches older ones.
func TestIdleReconnectsSpendNoHistory(t *testing.T) {
	d := startServer(t, "--history", "50")
	alice := dial(t, d, "alice")
	join(t, alice, "dev")
	say := func(text string) {
		request(t, alice, wire.Msg{Op: wire.OpSay, Room: []byte("dev"), Text: []byte(text)})
	}
	for i := 1; i <= 20; i++ {
		say(fmt.Sprintf("an older message, number %d, of some length", i))
	}
	d.addUser("bob", 0)
	// session joins dev, waits for the join's reply and a ping's, and returns
	// the server→client pad it spent and the history messages it got.
	session := func() (spent int, history []string) {
		var mu sync.Mutex
		bob, err := pcclient.DialWith(d.addr, server.BundleDir(d.data, "bob"), func(dir otp.Direction, _ int64, n int) {
			if dir == otp.ToClient {
				mu.Lock()
				spent += otp.HeaderSize + n + otp.TagSize
				mu.Unlock()
			}
		})
		require.NoError(t, err)
		defer bob.Close()
		seq, err := bob.Send(&wire.Msg{Op: wire.OpJoin, Room: []byte("dev")})
		require.NoError(t, err)
		expect(t, bob, "joined", func(m *wire.Msg) bool {
			if m.Op == wire.OpMessage && m.Flags&wire.FlagHistory != 0 {
				history = append(history, string(m.Text))
			}
			return m.Op == wire.OpOK && m.Seq == seq
		})
		ping, err := bob.Send(&wire.Msg{Op: wire.OpPing})
		require.NoError(t, err)
		expect(t, bob, "history, then the ping's reply", func(m *wire.Msg) bool {
			if m.Op == wire.OpMessage && m.Flags&wire.FlagHistory != 0 {
				history = append(history, string(m.Text))
			}
			return m.Op == wire.OpOK && m.Seq == ping
		})
		mu.Lock()
		defer mu.Unlock()
		return spent, history
	}
	first, h := session()
	assert.Len(t, h, 20, "a first join replays the room's history")
	var idle []int
	for i := 0; i < 10; i++ {
		spent, h := session()
		assert.Empty(t, h, "reconnect %d: nothing new, nothing replayed", i+1)
		idle = append(idle, spent)
	}
	for _, s := range idle {
		assert.Equal(t, idle[0], s, "every idle reconnect costs the same: %v", idle)
	}
	assert.Less(t, idle[0]*4, first, "an idle reconnect costs a fraction of a join with history")
	t.Logf("server→client pad: first join %d B; each of 10 idle reconnects %d B (total %d B); before cursors every reconnect replayed the history as the first join did", first, idle[0], 10*idle[0])

	say("new while bob was away")
	_, h = session()
	assert.Equal(t, []string{"new while bob was away"}, h, "only what is new")

	bob := dial(t, d, "bob")
	join(t, bob, "dev")
	_, err := bob.Send(&wire.Msg{Op: wire.OpHistory, Room: []byte("dev"), ID: 3})
	require.NoError(t, err)
	for _, want := range []string{"an older message, number 19, of some length", "an older message, number 20, of some length", "new while bob was away"} {
		m := expect(t, bob, "requested history", isOp(wire.OpMessage))
		assert.Equal(t, want, string(m.Text))
	}
}
