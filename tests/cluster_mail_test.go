package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/pcclient"
	"padchat/wire"
)

// sendDMs sends n DMs to `to`, a batch at a time, and waits for every OK.
func sendDMs(t *testing.T, from *pcclient.Client, to string, n int) {
	for sent := 0; sent < n; {
		batch := min(100, n-sent)
		seqs := map[uint32]bool{}
		for i := range batch {
			seq, err := from.Send(&wire.Msg{Op: wire.OpDM, User: []byte(to), Text: fmt.Appendf(nil, "dm %d", sent+i)})
			require.NoError(t, err)
			seqs[seq] = true
		}
		for len(seqs) > 0 {
			m := expect(t, from, "the DMs' OKs", func(m *wire.Msg) bool { return seqs[m.Seq] && m.Op >= wire.OpOK })
			require.Equal(t, wire.OpOK, m.Op, "dm: %s", m.Text)
			delete(seqs, m.Seq)
		}
		sent += batch
	}
}

// unackedDMs reads DMs without acknowledging them until none comes for quiet.
func unackedDMs(t *testing.T, c *pcclient.Client, quiet time.Duration) []wire.Msg {
	var got []wire.Msg
	defer c.SetReadDeadline(time.Time{})
	for {
		c.SetReadDeadline(time.Now().Add(quiet))
		var m wire.Msg
		if c.Recv(&m) != nil {
			return got
		}
		if m.Op == wire.OpDirect {
			got = append(got, clone(m))
		}
	}
}

// A recipient with a big mailbox gets as many unacknowledged DMs at once
// from a cluster node as from a standalone daemon, not the whole mailbox;
// acknowledging them brings the rest, each once. The mailbox is big enough
// that the node also pauses its subscription to it (over twice the bound).
func TestClusterMailboxInflightAsLocal(t *testing.T) {
	const total = 2600
	inflight := func(dial func(user string) *pcclient.Client) int {
		sendDMs(t, dial("alice"), "bob", total)
		bob := dial("bob")
		first := unackedDMs(t, bob, time.Second)
		seen := map[uint32]bool{}
		ack := func(m wire.Msg) {
			require.False(t, seen[m.ID], "DM %d twice", m.ID)
			seen[m.ID] = true
			_, err := bob.Send(&wire.Msg{Op: wire.OpAck, User: m.User, ID: m.ID})
			require.NoError(t, err)
		}
		for _, m := range first {
			ack(m)
		}
		for len(seen) < total {
			ack(expect(t, bob, fmt.Sprintf("DM %d of %d", len(seen)+1, total), isOp(wire.OpDirect)))
		}
		return len(first)
	}

	d := startServer(t)
	d.addUser("alice", 0)
	d.addUser("bob", 0)
	local := inflight(func(user string) *pcclient.Client { return dial(t, d, user) })

	c := startCluster(t, 2, "alice", "bob")
	node := 0
	clustered := inflight(func(user string) *pcclient.Client {
		node++
		return c.dial(node%2, user) // alice on node 2, bob on node 1
	})
	t.Logf("unacknowledged DMs at once: standalone %d, cluster %d, of %d stored", local, clustered, total)
	assert.Less(t, local, total, "the standalone daemon's bound")
	assert.Equal(t, local, clustered)
}
