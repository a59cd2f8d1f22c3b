package server

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/cluster"
	"padchat/internal/natstest"
	"padchat/otp"
)

// clusterLoop is a loop joined to a NATS server of its own, with n accounts
// in its index (no pads, as a daemon holds them until someone logs in).
func clusterLoop(tb testing.TB, n int) *Loop {
	tb.Helper()
	e := natstest.Start(tb, "")
	l, _ := plainLoop(tb, Config{Cluster: cluster.Options{URL: e.URL, Node: "n1", CA: e.CA, Cert: e.Cert, Key: e.Key}})
	for i := range n {
		var id otp.PadID
		id[0], id[1], id[2] = byte(i), byte(i>>8), byte(i>>16)
		l.hub.acct.add(&User{Name: fmt.Sprintf("u%05d", i), sendID: id})
	}
	return l
}

// BenchmarkClusterHeartbeat is one cluster heartbeat (each second) of a node
// with many provisioned accounts and nobody online: sharing receive marks
// should cost nothing for accounts whose pads are not open.
func BenchmarkClusterHeartbeat(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			l := clusterLoop(b, n)
			b.ReportAllocs()
			for b.Loop() {
				l.hub.heartbeat()
			}
		})
	}
}

// What a node remembers having shared is kept for open accounts only: a
// closed, parked or removed account's entry goes at the next heartbeat.
func TestClusterSharedRecvMarksKeptForOpenAccountsOnly(t *testing.T) {
	l := clusterLoop(t, 2)
	provision(t, l, "alice", 1<<16)
	alice := l.hub.acct.user("alice")
	require.NoError(t, alice.open(l.hub.acct))
	closed, removed := l.hub.acct.user("u00000"), &User{Name: "u00001"}
	w := l.copies
	w.sent[alice], w.sent[closed], w.sent[removed] = 1, 1, 1
	l.hub.shareRecvs()
	assert.Len(t, w.sent, 1)
	assert.Contains(t, w.sent, alice)

	alice.close()
	l.hub.shareRecvs()
	assert.Empty(t, w.sent)
}
