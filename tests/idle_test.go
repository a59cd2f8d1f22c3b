// Idle sessions: their pads close while idle and open again on the next frame or delivery.
package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/bundle"
	"padchat/internal/crashpoint"
	"padchat/internal/pcclient"
	"padchat/otp"
	"padchat/server"
	"padchat/wire"
)

// parked counts the daemon's debug lines saying user's idle pads closed.
func parked(d *daemon, user string) int {
	n := 0
	for _, l := range strings.Split(d.logs.String(), "\n") {
		if strings.Contains(l, `"message":"idle pads closed"`) && strings.Contains(l, fmt.Sprintf(`"user":%q`, user)) {
			n++
		}
	}
	return n
}

// waitParked waits until user's pads have closed n times.
func waitParked(t *testing.T, d *daemon, user string, n int) {
	t.Helper()
	waitFor(t, 15*time.Second, func() bool { return parked(d, user) >= n }, "%s's idle pads closing (%d)", user, n)
}

// starts lists the pad offsets of user's frames in dir.
func (p *padLedger) starts(user string, dir otp.Direction) []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int64
	for _, r := range p.ranges[fmt.Sprintf("%s/%d", user, dir)] {
		out = append(out, r[0])
	}
	return out
}

// gaps lists the pad skipped between user's frames in dir, as [from, to)
// ranges: a reopened Sender that resumed past where it stopped leaves one.
func (p *padLedger) gaps(user string, dir otp.Direction) [][2]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	rs := slices.Clone(p.ranges[fmt.Sprintf("%s/%d", user, dir)])
	sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
	var out [][2]int64
	for i := 1; i < len(rs); i++ {
		if rs[i][0] > rs[i-1][1] {
			out = append(out, [2]int64{rs[i-1][1], rs[i][0]})
		}
	}
	return out
}

// An idle session's pads close (the server's sending mark written back to
// where its next frame starts) and open again on the next delivery and the
// next frame: the session goes on where it stopped, no pad byte used twice
// and none skipped, and its receive checks still hold.
func TestIdleSessionPadsCloseAndReopen(t *testing.T) {
	d := startServer(t, "--pad-reserve", "64KiB")
	dirs := map[string]string{"alice": d.addUser("alice", 0), "bob": d.addUser("bob", 0)}
	ledger := &padLedger{ranges: map[string][][2]int64{}}
	clients := map[string]*pcclient.Client{}
	for _, u := range []string{"alice", "bob"} {
		c, err := pcclient.DialWith(d.addr, dirs[u], ledger.hook(u))
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		clients[u] = c
		join(t, c, "idle")
	}
	alice, bob := clients["alice"], clients["bob"]
	waitParked(t, d, "alice", 1)
	waitParked(t, d, "bob", 1)

	// The mark on disk is where alice's next frame starts, far below the
	// reserve step the session had taken.
	st, err := otp.ReadState(filepath.Join(d.data, "users", "alice", bundle.RecvPad+bundle.StateSuffix))
	require.NoError(t, err)
	assert.Less(t, st.Mark, int64(otp.FirstOffset+64<<10), "alice's sending mark written back when her pads closed")

	// bob's frame opens his pads again; the delivery opens alice's, which
	// goes on exactly where it stopped.
	request(t, bob, wire.Msg{Op: wire.OpSay, Room: []byte("idle"), Text: []byte("wake up")})
	expect(t, alice, "bob's message", func(m *wire.Msg) bool { return m.Op == wire.OpMessage && string(m.Text) == "wake up" })
	assert.Contains(t, ledger.starts("alice", otp.ToClient), st.Mark, "a frame starts at the written-back mark")
	assert.Empty(t, ledger.gaps("alice", otp.ToClient), "no pad skipped across the reopen")
	r := request(t, alice, wire.Msg{Op: wire.OpPing})
	assert.Equal(t, wire.OpOK, r.Op)

	// Idle again, and woken by her own frame this time: the reopened Receiver
	// carries on with the session (a gap or replay check would refuse it otherwise).
	waitParked(t, d, "alice", 2)
	r = request(t, alice, wire.Msg{Op: wire.OpSay, Room: []byte("idle"), Text: []byte("still here")})
	assert.Equal(t, wire.OpOK, r.Op)
	expect(t, bob, "alice's message", func(m *wire.Msg) bool { return m.Op == wire.OpMessage && string(m.Text) == "still here" })
	assert.Empty(t, ledger.gaps("alice", otp.ToClient), "no pad skipped across the reopens")
	ledger.check(t)
}

// The daemon dies as it writes the lowered mark of an idle pad: whichever
// record the crash leaves, the restarted daemon never uses a pad byte again.
func TestIdleParkCrash(t *testing.T) {
	d := startServer(t, "--pad-reserve", "64KiB")
	dir := d.addUser("alice", 0)
	ledger := &padLedger{ranges: map[string][][2]int64{}}
	require.NoError(t, d.stop())
	for run, n := range []int{1, 2} { // the Sender's write, then the Receiver's
		d.env = []string{fmt.Sprintf("%s=%s:%d", crashpoint.Env, crashpoint.ParkWrite, n)}
		d.start()
		c, err := pcclient.DialWith(d.addr, dir, ledger.hook("alice"))
		require.NoError(t, err)
		join(t, c, fmt.Sprintf("r%d", run))
		select {
		case <-d.done:
			d.done = nil
		case <-time.After(15 * time.Second):
			t.Fatalf("run %d: the daemon did not die at %s", run, crashpoint.ParkWrite)
		}
		c.Close()
	}
	d.env = nil
	d.start()
	c, err := pcclient.DialWith(d.addr, dir, ledger.hook("alice"))
	require.NoError(t, err)
	defer c.Close()
	join(t, c, "after")
	ledger.check(t)
}

// Many idle sessions at once: all of them park, and every one is served
// when it speaks again (make soak holds 19,000 with padchat-bench idle).
func TestIdleCrowdParksAndIsServed(t *testing.T) {
	const n = 200
	d := startServer(t)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("c%d", i)
	}
	require.NoError(t, server.AddUsers(d.data, names, 64<<10, d.addr, nil))
	clients := make([]*pcclient.Client, n)
	for i, name := range names {
		c, err := pcclient.Dial(d.addr, server.BundleDir(d.data, name))
		require.NoError(t, err, name)
		t.Cleanup(func() { c.Close() })
		clients[i] = c
	}
	waitFor(t, 20*time.Second, func() bool {
		return strings.Count(d.logs.String(), `"message":"idle pads closed"`) >= n
	}, "%d sessions parking", n)
	for i, c := range clients {
		r := request(t, c, wire.Msg{Op: wire.OpPing})
		assert.Equal(t, wire.OpOK, r.Op, names[i])
	}
}

// A session whose pads closed while idle is told why it ends when its account
// is renewed or removed, as an active one is: the user command has the daemon
// open the old pads again before the files go (hold), and the Bye is sealed
// with them.
func TestIdleSessionRenewedOrRemovedGetsItsBye(t *testing.T) {
	d := startServer(t)
	dir := d.addUser("bob", 0)
	keep := filepath.Join(t.TempDir(), "old-bob")
	require.NoError(t, exec.Command("cp", "-r", dir, keep).Run())
	bob, err := pcclient.Dial(d.addr, keep)
	require.NoError(t, err)
	t.Cleanup(func() { bob.Close() })
	// carol's bundle lives elsewhere: remove deletes the operator's copy.
	keepCarol := filepath.Join(t.TempDir(), "carol")
	require.NoError(t, os.Rename(d.addUser("carol", 0), keepCarol))
	carol, err := pcclient.Dial(d.addr, keepCarol)
	require.NoError(t, err)
	t.Cleanup(func() { carol.Close() })
	waitParked(t, d, "bob", 1)
	waitParked(t, d, "carol", 1)

	out, err := runBin("padchatd", "user", "renew", "bob", "--pad-size", "1MiB", "--server", d.addr, "--data", d.data)
	require.NoError(t, err, out)
	bye := expect(t, bob, "the renewed account's parked session ends with its reason", isOp(wire.OpBye))
	assert.Equal(t, wire.ByeRenewed, wire.ByeReason(bye.ID))

	out, err = runBin("padchatd", "user", "remove", "carol", "--data", d.data)
	require.NoError(t, err, out)
	bye = expect(t, carol, "the removed account's parked session ends with its reason", isOp(wire.OpBye))
	assert.Equal(t, wire.ByeRemoved, wire.ByeReason(bye.ID))
	assert.NotContains(t, d.logs.String(), "reopening idle pads")
}
