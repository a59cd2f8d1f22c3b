package cluster_test

import (
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"padchat/cluster"
	"padchat/internal/natstest"
	"padchat/otp"
)

func connect(t *testing.T, e *natstest.Env, name string) *cluster.Node {
	n, err := cluster.Connect(cluster.Options{URL: e.URL, Node: name, CA: e.CA, Cert: e.Cert, Key: e.Key})
	require.NoError(t, err)
	t.Cleanup(n.Close)
	return n
}

type span struct{ from, to int64 }

// Two nodes hold copies of one pad and seal with it as fast as they can, each
// letting a frame "leave" only once its Reserve covered it. The ranges that
// left must never overlap: every reservation was won by compare-and-set.
func TestPadClaimRaceNoOverlap(t *testing.T) {
	e := natstest.Start(t, "")
	dir := t.TempDir()
	padA := filepath.Join(dir, "a.pad")
	id, err := otp.CreatePad(padA, 4<<20, nil)
	require.NoError(t, err)
	data, err := os.ReadFile(padA)
	require.NoError(t, err)
	padB := filepath.Join(dir, "b.pad") // the operator's copy on the other node
	require.NoError(t, os.WriteFile(padB, data, 0o600))
	for _, p := range []string{padA, padB} {
		require.NoError(t, otp.InitState(p+".state", id, otp.RoleSend))
	}

	var mu sync.Mutex
	var left []span
	lost := 0
	run := func(node string, path string) {
		n := connect(t, e, node)
		pad, err := otp.OpenPad(path)
		require.NoError(t, err)
		defer pad.Close()
		s, err := otp.OpenSender(pad, path+".state", otp.SenderOptions{ReserveStep: 4 << 10, MaxReserveStep: 4 << 10, Claim: n.PadClaim(pad.ID())})
		require.NoError(t, err)
		defer s.Close()
		sess := &otp.Session{Client: [otp.NonceSize]byte{1}, Server: [otp.NonceSize]byte{2}}
		msg := make([]byte, 200)
		var held []span
		for s.Remaining() > otp.PadCost(len(msg)) {
			from := s.Next()
			if _, err := s.Seal(nil, msg, otp.ToClient, sess); err != nil {
				break
			}
			held = append(held, span{from, s.Next()})
			if !s.Pending() {
				continue
			}
			if err := s.Reserve(); err != nil {
				require.ErrorIs(t, err, otp.ErrClaimLost)
				mu.Lock()
				lost++
				mu.Unlock()
				held = held[:0] // the gate drops them: they never leave
				continue
			}
			mu.Lock()
			left = append(left, held...)
			mu.Unlock()
			held = held[:0]
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { run("n1", padA) })
	wg.Go(func() { run("n2", padB) })
	wg.Wait()

	sort.Slice(left, func(i, j int) bool { return left[i].from < left[j].from })
	for i := 1; i < len(left); i++ {
		require.LessOrEqual(t, left[i-1].to, left[i].from, "pad range %v used twice (with %v)", left[i], left[i-1])
	}
	require.NotEmpty(t, left)
	t.Logf("%d frames left, %d reservations lost to the other node", len(left), lost)
}

// BenchmarkPadClaimAdvance: one won reservation (a KV compare-and-set round
// trip over TLS to an embedded NATS), what the loop waits for when a pad
// crosses its reserve mark in cluster mode.
func BenchmarkPadClaimAdvance(b *testing.B) {
	c := benchClaim(b)
	_, rev, err := c.Load()
	require.NoError(b, err)
	mark := int64(0)
	for b.Loop() {
		mark += 4096
		if rev, err = c.Advance(mark, rev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPadClaimLoad: one read of a pad's shared mark, what the loop waits
// for when a cluster-mode session's first frame verified (Sender.Rejoin).
func BenchmarkPadClaimLoad(b *testing.B) {
	c := benchClaim(b)
	_, err := c.Advance(4096, 0)
	require.NoError(b, err)
	for b.Loop() {
		if _, _, err = c.Load(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchClaim is a pad's shared mark on an embedded NATS over TLS.
func benchClaim(b *testing.B) otp.Claimer {
	e := natstest.Start(b, "")
	n, err := cluster.Connect(cluster.Options{URL: e.URL, Node: "bench", CA: e.CA, Cert: e.Cert, Key: e.Key})
	require.NoError(b, err)
	b.Cleanup(n.Close)
	return n.PadClaim(otp.PadID{1})
}

// --nats-replicas: a single NATS server keeps one copy and says so for more;
// a three-server cluster keeps three of every stream and bucket, and refuses
// four; out of JetStream's range is refused before dialing.
func TestReplicasValidatedAgainstTheCluster(t *testing.T) {
	opts := func(e *natstest.Env, r int) cluster.Options {
		return cluster.Options{URL: e.URL, Node: "n1", CA: e.CA, Cert: e.Cert, Key: e.Key, Replicas: r}
	}
	single := natstest.Start(t, "")
	for _, r := range []int{-1, 6} {
		_, err := cluster.Connect(opts(single, r))
		require.ErrorIs(t, err, cluster.ErrReplicas, "replicas %d", r)
	}
	_, err := cluster.Connect(opts(single, 2))
	require.ErrorIs(t, err, cluster.ErrReplicas)
	require.ErrorContains(t, err, "not in a cluster")
	n, err := cluster.Connect(opts(single, 1))
	require.NoError(t, err)
	n.Close()

	envs := natstest.StartCluster(t, 3)
	_, err = cluster.Connect(opts(envs[0], 4))
	require.ErrorIs(t, err, cluster.ErrReplicas)
	n, err = cluster.Connect(opts(envs[1], 3))
	require.NoError(t, err)
	defer n.Close()
	streams, err := n.Replicas()
	require.NoError(t, err)
	require.NotEmpty(t, streams)
	t.Logf("copies: %v", streams)
	for name, r := range streams {
		require.Equal(t, 3, r, "copies of %s", name)
	}
}
