package tests

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/cluster"
	"padchat/internal/pcclient"
	"padchat/wire"
)

// jetStream is the test's own look into the cluster's JetStream.
func (c *testCluster) jetStream() jetstream.JetStream {
	nc, err := nats.Connect(c.nats.URL, nats.Secure(c.nats.ClientTLS(c.t)))
	require.NoError(c.t, err)
	c.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(c.t, err)
	return js
}

// roomHistory is how many messages of room the history stream holds and the
// stream sequence of the last (0, 0: none).
func roomHistory(t *testing.T, js jetstream.JetStream, room string) (count, last uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, cluster.HistoryStream)
	require.NoError(t, err)
	subj := "padchat.hist." + hex.EncodeToString([]byte(room))
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subj))
	require.NoError(t, err)
	if m, err := s.GetLastMsgForSubject(ctx, subj); err == nil {
		last = m.Sequence
	}
	return info.State.Subjects[subj], last
}

// cursors is every history cursor the cluster keeps, key to value.
func cursors(t *testing.T, js jetstream.JetStream) map[string]string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, cluster.CursorBucket)
	require.NoError(t, err)
	keys, err := kv.ListKeys(ctx)
	require.NoError(t, err)
	out := map[string]string{}
	for k := range keys.Keys() {
		if e, err := kv.Get(ctx, k); err == nil {
			out[k] = string(e.Value())
		}
	}
	return out
}

// cursorsAt reports whether some account's cursor is at seq.
func cursorsAt(t *testing.T, js jetstream.JetStream, seq uint64) bool {
	for _, v := range cursors(t, js) {
		if v == strconv.FormatUint(seq, 10) {
			return true
		}
	}
	return false
}

// waitDisconnected waits until d logged user's nth disconnection.
func waitDisconnected(d *daemon, user string, nth int) {
	d.t.Helper()
	waitFor(d.t, 10*time.Second, func() bool {
		n := 0
		for _, l := range strings.Split(d.logs.String(), "\n") {
			if strings.Contains(l, `"user":"`+user+`"`) && strings.Contains(l, `"message":"disconnected"`) {
				n++
			}
		}
		return n >= nth
	}, "%s disconnected %d times", user, nth)
}

// historyWithin reads the history messages of room that arrive within wait,
// skipping everything else.
func historyWithin(t *testing.T, c *pcclient.Client, room string, want int, wait time.Duration) []string {
	var got []string
	c.SetReadDeadline(time.Now().Add(wait))
	defer c.SetReadDeadline(time.Time{})
	for len(got) < want {
		var m wire.Msg
		if c.Recv(&m) != nil {
			break
		}
		if m.Op == wire.OpMessage && m.Flags&wire.FlagHistory != 0 && string(m.Room) == room {
			got = append(got, string(m.User)+": "+string(m.Text))
		}
	}
	return got
}

// Room history lives in JetStream: alice speaks on node 1, bob joins on node
// 2 and gets it. The cursor is the account's, on every node: bob back on
// node 3 gets only what was said while he was away, and after a visit in
// which he heard everything live, nothing. A topic set on node 2 is seen on
// node 3, and /list on any node counts the members of every node.
func TestClusterHistoryAndTopicsAcrossNodes(t *testing.T) {
	c := startCluster(t, 3, "alice", "bob", "carol", "dave")
	js := c.jetStream()
	alice := c.dial(0, "alice")
	join(t, alice, "dev")
	var said []string
	say := func(text string) {
		r := request(t, alice, wire.Msg{Op: wire.OpSay, Room: []byte("dev"), Text: []byte(text)})
		require.Equal(t, wire.OpOK, r.Op, "say: %s", r.Text)
		said = append(said, "alice: "+text)
	}
	for i := range 5 {
		say(fmt.Sprintf("before bob %d", i))
	}
	stored := func() {
		t.Helper()
		waitFor(t, 5*time.Second, func() bool {
			n, _ := roomHistory(t, js, "dev")
			return n == uint64(len(said))
		}, "%d messages in the history", len(said))
	}
	stored()

	bob := c.dial(1, "bob")
	join(t, bob, "dev")
	assert.Equal(t, said, historyWithin(t, bob, "dev", 5, 10*time.Second), "bob on node 2: alice's history from node 1")
	bob.Close()
	waitDisconnected(c.nodes[1], "bob", 1)

	// While bob is away.
	say("while bob was away 1")
	say("while bob was away 2")
	stored()
	bob = c.dial(2, "bob")
	join(t, bob, "dev")
	assert.Equal(t, said[5:], historyWithin(t, bob, "dev", 2, 10*time.Second), "bob on node 3: only what he missed")

	// Heard live: not replayed at the next join, on another node.
	say("heard live")
	expect(t, bob, "the live message", func(m *wire.Msg) bool { return string(m.Text) == "heard live" && m.Flags&wire.FlagHistory == 0 })
	stored()
	_, last := roomHistory(t, js, "dev")
	bob.Close()
	waitDisconnected(c.nodes[2], "bob", 1)
	waitFor(t, 5*time.Second, func() bool { return cursorsAt(t, js, last) }, "bob's cursor past what he heard")
	bob = c.dial(0, "bob")
	join(t, bob, "dev")
	say("after bob's return")
	expect(t, bob, "the live message", func(m *wire.Msg) bool { return string(m.Text) == "after bob's return" })
	assert.Empty(t, historyWithin(t, bob, "dev", 1, time.Second), "history bob had live")

	// Explicit /history from the shared stream, on a node where nobody said anything.
	carol := c.dial(2, "carol")
	join(t, carol, "dev")
	stored()
	assert.Equal(t, said, historyWithin(t, carol, "dev", len(said), 10*time.Second), "carol's first join")
	_, err := carol.Send(&wire.Msg{Op: wire.OpHistory, Room: []byte("dev"), ID: 3})
	require.NoError(t, err)
	assert.Equal(t, said[len(said)-3:], historyWithin(t, carol, "dev", 3, 10*time.Second), "/history 3")

	// A topic set on node 2 reaches carol on node 3, and a room made there later.
	dave := c.dial(1, "dave")
	join(t, dave, "dev")
	r := request(t, dave, wire.Msg{Op: wire.OpTopic, Room: []byte("dev"), Text: []byte("release on friday")})
	require.Equal(t, wire.OpOK, r.Op, "topic: %s", r.Text)
	m := expect(t, carol, "the topic", isOp(wire.OpTopicIs))
	assert.Equal(t, "release on friday", string(m.Text))
	assert.Equal(t, "dave", string(m.User))
	m = expect(t, alice, "the topic on node 1", isOp(wire.OpTopicIs))
	assert.Equal(t, "release on friday", string(m.Text))

	// /list on node 3 counts the members on every node: alice and bob (1),
	// dave (2), carol (3).
	waitFor(t, 5*time.Second, func() bool {
		r := request(t, carol, wire.Msg{Op: wire.OpList})
		return string(r.Text) == "dev\t4\n"
	}, "dev with 4 members in /list on node 3")
	r = request(t, bob, wire.Msg{Op: wire.OpPart, Room: []byte("dev")})
	require.Equal(t, wire.OpOK, r.Op)
	join(t, alice, "ops")
	waitFor(t, 5*time.Second, func() bool {
		r := request(t, carol, wire.Msg{Op: wire.OpList})
		return string(r.Text) == "dev\t3\nops\t1\n"
	}, "ops (node 1 only) in /list on node 3")

	// A room created on node 3 after the topic was set starts with it.
	carol.Close()
	waitDisconnected(c.nodes[2], "carol", 1)
	r = request(t, dave, wire.Msg{Op: wire.OpPart, Room: []byte("dev")})
	require.Equal(t, wire.OpOK, r.Op)
	r = request(t, alice, wire.Msg{Op: wire.OpPart, Room: []byte("dev")})
	require.Equal(t, wire.OpOK, r.Op)
	carol = c.dial(2, "carol")
	join(t, carol, "dev")
	m = expect(t, carol, "the topic at join", isOp(wire.OpTopicIs))
	assert.Equal(t, "release on friday", string(m.Text))
}

// streamMsgs is how many messages a stream holds.
func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	return info.State.Msgs
}

// cursorKeys is how many history cursors the cluster keeps for user's account.
func (c *testCluster) cursorKeys(js jetstream.JetStream, user string) int {
	id, err := os.ReadFile(filepath.Join(c.master, "users", user, "account.id"))
	require.NoError(c.t, err)
	prefix := hex.EncodeToString([]byte("#"+strings.TrimSpace(string(id)))) + "."
	n := 0
	for k := range cursors(c.t, js) {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// Removing an account deletes what JetStream keeps for it: the DMs waiting
// in its mailbox and its history cursors.
func TestClusterRemovedAccountLeavesNothingInJetStream(t *testing.T) {
	c := startCluster(t, 2, "alice", "dave")
	js := c.jetStream()
	alice := c.dial(0, "alice")
	join(t, alice, "dev")
	r := request(t, alice, wire.Msg{Op: wire.OpSay, Room: []byte("dev"), Text: []byte("for the history")})
	require.Equal(t, wire.OpOK, r.Op)
	waitFor(t, 5*time.Second, func() bool { n, _ := roomHistory(t, js, "dev"); return n == 1 }, "history stored")
	dave := c.dial(1, "dave")
	join(t, dave, "dev")
	require.Equal(t, []string{"alice: for the history"}, historyWithin(t, dave, "dev", 1, 10*time.Second))
	dave.Close()
	waitDisconnected(c.nodes[1], "dave", 1)
	r = request(t, alice, wire.Msg{Op: wire.OpDM, User: []byte("dave"), Text: []byte("waits in JetStream")})
	require.Equal(t, wire.OpOK, r.Op, "dm: %s", r.Text)
	require.Equal(t, uint64(1), streamMsgs(t, js, cluster.MailStream))
	waitFor(t, 5*time.Second, func() bool { return c.cursorKeys(js, "dave") == 1 }, "dave's cursor")

	out, err := runBin("padchatd", "user", "remove", "dave", "--data", c.nodes[0].data)
	require.NoError(t, err, out)
	waitFor(t, 5*time.Second, func() bool { return streamMsgs(t, js, cluster.MailStream) == 0 }, "dave's mailbox purged")
	waitFor(t, 5*time.Second, func() bool { return c.cursorKeys(js, "dave") == 0 }, "dave's cursor purged")
}
