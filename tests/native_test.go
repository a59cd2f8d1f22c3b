// End to end over the native protocol: rooms, notices, lists, DMs, forged frames, many clients.
package tests

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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

func isOp(op wire.Op) func(*wire.Msg) bool { return func(m *wire.Msg) bool { return m.Op == op } }

func TestRoomsNoticesAndLists(t *testing.T) {
	d := startServer(t)
	alice, bob := dial(t, d, "alice"), dial(t, d, "bob")
	join(t, alice, "lobby")
	join(t, bob, "lobby")
	j := expect(t, alice, "bob's join notice", isOp(wire.OpJoined))
	assert.Equal(t, "bob", string(j.User))
	assert.Equal(t, "lobby", string(j.Room))

	ok := request(t, alice, wire.Msg{Op: wire.OpSay, Room: []byte("lobby"), Text: []byte("hello bob")})
	require.Equal(t, wire.OpOK, ok.Op)
	m := expect(t, bob, "alice's message", isOp(wire.OpMessage))
	assert.Equal(t, "alice", string(m.User))
	assert.Equal(t, "hello bob", string(m.Text))
	assert.Equal(t, ok.ID, m.ID)
	assert.NotZero(t, m.Time)

	carol := dial(t, d, "carol")
	join(t, carol, "dev")
	rooms := request(t, carol, wire.Msg{Op: wire.OpList})
	assert.Equal(t, "dev\t1\nlobby\t2\n", string(rooms.Text))
	who := request(t, carol, wire.Msg{Op: wire.OpWho, Room: []byte("lobby")})
	assert.Equal(t, "alice\nbob", string(who.Text))
	everyone := request(t, carol, wire.Msg{Op: wire.OpWho})
	assert.Equal(t, "alice\nbob\ncarol", string(everyone.Text))

	// Named errors for every bad request.
	for _, tc := range []struct {
		req  wire.Msg
		code wire.Code
	}{
		{wire.Msg{Op: wire.OpSay, Room: []byte("lobby"), Text: []byte("x")}, wire.CodeNotInRoom},
		{wire.Msg{Op: wire.OpSay, Room: []byte("nowhere"), Text: []byte("x")}, wire.CodeNoSuchRoom},
		{wire.Msg{Op: wire.OpJoin, Room: []byte("bad room!")}, wire.CodeBadName},
		{wire.Msg{Op: wire.OpDM, User: []byte("nobody"), Text: []byte("x")}, wire.CodeNoSuchUser},
		{wire.Msg{Op: wire.OpSay, Room: []byte("dev"), Text: bytes.Repeat([]byte("x"), 5000)}, wire.CodeTooLong},
		{wire.Msg{Op: wire.OpWho, Room: []byte("nowhere")}, wire.CodeNoSuchRoom},
	} {
		r := request(t, carol, tc.req)
		require.Equal(t, wire.OpError, r.Op, "op %d", tc.req.Op)
		assert.Equal(t, tc.code, wire.Code(r.ID), "op %d: %s", tc.req.Op, r.Text)
		assert.NotEmpty(t, r.Text)
	}

	request(t, bob, wire.Msg{Op: wire.OpPart, Room: []byte("lobby")})
	p := expect(t, alice, "bob's part", isOp(wire.OpParted))
	assert.Equal(t, "bob/left", string(p.User)+"/"+string(p.Text))
	request(t, bob, wire.Msg{Op: wire.OpJoin, Room: []byte("lobby")})
	expect(t, alice, "bob back", isOp(wire.OpJoined))
	request(t, bob, wire.Msg{Op: wire.OpQuit})
	q := expect(t, alice, "bob's quit", isOp(wire.OpParted))
	assert.Equal(t, "bob/quit", string(q.User)+"/"+string(q.Text))
}

func TestDirectMessageOnline(t *testing.T) {
	d := startServer(t)
	alice, bob := dial(t, d, "alice"), dial(t, d, "bob")
	r := request(t, alice, wire.Msg{Op: wire.OpDM, User: []byte("bob"), Text: []byte("psst")})
	require.Equal(t, wire.OpOK, r.Op, string(r.Text))
	assert.Equal(t, uint32(1), r.ID)
	m := expect(t, bob, "the DM", isOp(wire.OpDirect))
	assert.Equal(t, "alice: psst", string(m.User)+": "+string(m.Text))
	assert.Equal(t, uint32(1), m.ID)
	_, err := bob.Send(&wire.Msg{Op: wire.OpAck, User: []byte("alice"), ID: m.ID})
	require.NoError(t, err)
	del := expect(t, alice, "delivery ack", isOp(wire.OpDelivered))
	assert.Equal(t, "bob", string(del.User))
	assert.Equal(t, uint32(1), del.ID)
}

func TestWrongPadIsRefused(t *testing.T) {
	d := startServer(t)
	other := t.TempDir()
	require.NoError(t, server.AddUser(other, "mallory", 1<<20, d.addr, "", nil))
	_, err := pcclient.Dial(d.addr, server.BundleDir(other, "mallory"))
	require.ErrorIs(t, err, pcclient.ErrRefused)
	assert.Contains(t, err.Error(), "authentication failed")
	d.waitLog(`"reason":"authentication failed"`)
}

func TestForgedFrameClosesOnlyThatConnection(t *testing.T) {
	d := startServer(t)
	alice, bob := dial(t, d, "alice"), dial(t, d, "bob")
	join(t, alice, "lobby")
	join(t, bob, "lobby")
	f, err := alice.Seal(&wire.Msg{Op: wire.OpSay, Room: []byte("lobby"), Text: []byte("forged")})
	require.NoError(t, err)
	f[len(f)-20] ^= 1 // a ciphertext bit
	require.NoError(t, alice.SendRaw(f))
	alice.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m wire.Msg
	for err == nil {
		err = alice.Recv(&m)
		require.False(t, err == nil && m.Op == wire.OpMessage, "forged message relayed")
	}
	assert.ErrorIs(t, err, io.EOF)
	d.waitLog(`"reason":"frame failed authentication"`)
	q := expect(t, bob, "alice's quit after the forgery", isOp(wire.OpParted))
	assert.Equal(t, "alice", string(q.User))
	assert.Equal(t, wire.OpOK, request(t, bob, wire.Msg{Op: wire.OpPing}).Op)
}

func TestHundredClientsReceiveEverythingInOrder(t *testing.T) {
	const clients, senders, each = 100, 4, 25
	d := startServer(t)
	cs := make([]*pcclient.Client, clients)
	for i := range cs {
		name := fmt.Sprintf("u%03d", i)
		require.NoError(t, server.AddUser(d.data, name, 256<<10, d.addr, "", nil))
		cs[i] = dial(t, d, name)
		join(t, cs[i], "big")
	}
	for _, c := range cs {
		// Drain join notices so counting below sees only messages.
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, c := range cs {
		wg.Add(1)
		go func(i int, c *pcclient.Client) {
			defer wg.Done()
			next := map[string]int{}
			want := each * senders
			if i < senders {
				want -= each // a sender does not get its own messages back
			}
			for got := 0; got < want; {
				var m wire.Msg
				if err := c.Recv(&m); err != nil {
					errs <- fmt.Errorf("%s after %d: %w", c.User, got, err)
					return
				}
				if m.Op != wire.OpMessage {
					continue
				}
				from := string(m.User)
				if exp := fmt.Sprintf("%s #%d", from, next[from]); string(m.Text) != exp {
					errs <- fmt.Errorf("%s: got %q, want %q", c.User, m.Text, exp)
					return
				}
				next[from]++
				got++
			}
		}(i, c)
	}
	for s := 0; s < senders; s++ {
		for k := 0; k < each; k++ {
			_, err := cs[s].Send(&wire.Msg{Op: wire.OpSay, Room: []byte("big"), Text: []byte(fmt.Sprintf("%s #%d", cs[s].User, k))})
			require.NoError(t, err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestSlowConsumerIsCutOff(t *testing.T) {
	d := startServer(t, "--out-limit", "65536")
	for _, u := range []string{"slow", "fast", "talker"} {
		d.addUser(u, 16<<20)
	}
	slow, fast, talker := dial(t, d, "slow"), dial(t, d, "fast"), dial(t, d, "talker")
	for _, c := range []*pcclient.Client{slow, fast, talker} {
		join(t, c, "flood")
	}
	text := bytes.Repeat([]byte("z"), 1000)
	const n = 8000 // 8 MB: past loopback socket buffers and the 64 KiB limit
	done := make(chan error, 1)
	go func() {
		got := 0
		fast.SetReadDeadline(time.Now().Add(20 * time.Second))
		for got < n {
			var m wire.Msg
			if err := fast.Recv(&m); err != nil {
				done <- fmt.Errorf("fast reader after %d: %w", got, err)
				return
			}
			if m.Op == wire.OpMessage {
				got++
			}
		}
		done <- nil
	}()
	for i := 0; i < n; i++ {
		_, err := talker.Send(&wire.Msg{Op: wire.OpSay, Room: []byte("flood"), Text: text})
		require.NoError(t, err)
	}
	require.NoError(t, <-done)
	d.waitLog(`"reason":"slow consumer: output limit reached"`)
	assert.Contains(t, d.logs.String(), `"user":"slow"`)
}

func TestSIGTERMShutsDownCleanly(t *testing.T) {
	d := startServer(t)
	alice := dial(t, d, "alice")
	join(t, alice, "lobby")
	require.NoError(t, d.stop())
	bye := expect(t, alice, "goodbye", isOp(wire.OpBye))
	assert.Contains(t, string(bye.Text), "shutting down")
	assert.Contains(t, d.logs.String(), "padchatd stopped")
	// State files were released: a second daemon can take the same data dir.
	d.start()
	require.NoError(t, d.stop())
}

func TestProvisioningCLI(t *testing.T) {
	data := t.TempDir()
	run := func(args ...string) string {
		out, err := runBin("padchatd", append([]string{"user"}, append(args, "--data", data)...)...)
		require.NoError(t, err, out)
		return out
	}
	assert.Contains(t, run("add", "zoe", "--pad-size", "256KiB"), "bundles/zoe")
	list := run("list")
	assert.Contains(t, list, "zoe")
	assert.NotContains(t, list, "?", "pad bytes left must be known:\n%s", list)
	_, err := os.Stat(filepath.Join(data, "bundles", "zoe", "send.pad"))
	require.NoError(t, err)
	out, err := runBin("padchatd", "user", "add", "zoe", "--data", data)
	require.Error(t, err)
	assert.Contains(t, out, "already exists")
	out, err = runBin("padchatd", "user", "add", "bad/name", "--data", data)
	require.Error(t, err)
	assert.Contains(t, out, "bad name")
	run("remove", "zoe")
	assert.NotContains(t, run("list"), "zoe")
}

func runBin(name string, args ...string) (string, error) {
	var out strings.Builder
	cmd := execCommand(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// A bundle copied to a second machine reuses pad; the server can tell such
// frames from replays (their tags hold for the new session) and locks the user.
func TestCopiedBundleIsDetectedAndLocked(t *testing.T) {
	d := startServer(t)
	dir := lockByCopy(t, d, "alice")
	_, err := pcclient.Dial(d.addr, dir)
	require.ErrorIs(t, err, pcclient.ErrRefused)
	assert.Contains(t, err.Error(), "user locked")
}

// lockByCopy adds name, uses its bundle, then a stale copy of it: the daemon
// sees pad used twice and locks the account. It returns the real bundle.
func lockByCopy(t *testing.T, d *daemon, name string) string {
	t.Helper()
	dir := d.addUser(name, 0)
	copyDir := filepath.Join(t.TempDir(), "copy")
	require.NoError(t, exec.Command("cp", "-r", dir, copyDir).Run())
	a, err := pcclient.Dial(d.addr, dir)
	require.NoError(t, err)
	request(t, a, wire.Msg{Op: wire.OpPing})
	a.Close()
	_, err = pcclient.Dial(d.addr, copyDir)
	require.Error(t, err)
	d.waitLog("PAD REUSE DETECTED")
	return dir
}

func TestIdlePeersArePingedAndSilentOnesClosed(t *testing.T) {
	d := startServer(t, "--idle-timeout", "3s")
	lively, silent := dial(t, d, "lively"), dial(t, d, "silent")
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		ping := expect(t, lively, "a server ping", isOp(wire.OpSrvPing))
		_, err := lively.Send(&wire.Msg{Op: wire.OpPong, Seq: ping.Seq})
		require.NoError(t, err)
	}
	bye := expect(t, silent, "an idle goodbye", isOp(wire.OpBye))
	assert.Contains(t, string(bye.Text), "idle")
	d.waitLog(`"reason":"idle timeout"`)
	assert.Equal(t, wire.OpOK, request(t, lively, wire.Msg{Op: wire.OpPing}).Op, "a peer that answers pings stays")
}
