// The user commands against a running daemon: each change applies at once,
// through the admin socket, with the reason shown to the session it ends.
package tests

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/internal/pcclient"
	"padchat/server"
	"padchat/wire"
)

func TestUserRemoveKicksAtOnce(t *testing.T) {
	d := startServer(t)
	// carol's bundle lives elsewhere: remove deletes the operator's copy.
	keep := filepath.Join(t.TempDir(), "carol")
	require.NoError(t, os.Rename(d.addUser("carol", 0), keep))
	carol, err := pcclient.Dial(d.addr, keep)
	require.NoError(t, err)
	t.Cleanup(func() { carol.Close() })
	request(t, carol, wire.Msg{Op: wire.OpPing})
	alice := dial(t, d, "alice")

	out, err := runBin("padchatd", "user", "remove", "carol", "--data", d.data)
	require.NoError(t, err, out)
	assert.Contains(t, out, "user carol removed; its session was closed")
	bye := expect(t, carol, "the reason, without carol doing anything", isOp(wire.OpBye))
	assert.Equal(t, wire.ByeRemoved, wire.ByeReason(bye.ID))
	assert.Contains(t, string(bye.Text), "removed by the operator")

	r := request(t, alice, wire.Msg{Op: wire.OpDM, User: []byte("carol"), Text: []byte("still there?")})
	assert.Equal(t, wire.OpError, r.Op)
	assert.Equal(t, uint32(wire.CodeNoSuchUser), r.ID, string(r.Text))
	_, err = os.Stat(filepath.Join(d.data, "users", "carol"))
	assert.True(t, os.IsNotExist(err))

	out, err = runBin("padchatd", "user", "remove", "carol", "--data", d.data)
	assert.Error(t, err, "removing a removed user fails: %s", out)
	assert.Contains(t, out, "no such user")
}

func TestUserRenewKeepsMailRefusesOldBundle(t *testing.T) {
	d := startServer(t)
	dir := d.addUser("bob", 0)
	keep := filepath.Join(t.TempDir(), "old-bob")
	require.NoError(t, exec.Command("cp", "-r", dir, keep).Run())
	old, err := pcclient.Dial(d.addr, keep)
	require.NoError(t, err)
	t.Cleanup(func() { old.Close() })
	request(t, old, wire.Msg{Op: wire.OpPing})
	// Delivered but not acknowledged: it waits in bob's mailbox.
	alice := dial(t, d, "alice")
	sendDM(t, alice, "bob", "kept across renew")
	expect(t, old, "the DM", isOp(wire.OpDirect))

	out, err := runBin("padchatd", "user", "renew", "bob", "--pad-size", "1MiB", "--server", d.addr, "--data", d.data)
	require.NoError(t, err, out)
	assert.Contains(t, out, "user bob renewed; its session was closed")
	bye := expect(t, old, "the renewed account's old session ends", isOp(wire.OpBye))
	assert.Equal(t, wire.ByeRenewed, wire.ByeReason(bye.ID))
	assert.Contains(t, string(bye.Text), "renewed")

	_, err = pcclient.Dial(d.addr, keep)
	require.Error(t, err, "the old bundle is refused from the moment of renew")
	fresh, err := pcclient.Dial(d.addr, dir)
	require.NoError(t, err, "the new bundle logs in at once\n%s", d.logs)
	m := expect(t, fresh, "the mail kept across renew", isOp(wire.OpDirect))
	assert.Equal(t, "kept across renew", string(m.Text))
	fresh.Close()

	require.NoError(t, d.stop())
	d.start()
	again, err := pcclient.Dial(d.addr, dir)
	require.NoError(t, err, "the new bundle logs in after a restart")
	again.Close()
	_, err = pcclient.Dial(d.addr, keep)
	require.Error(t, err)
}

func TestUserUnlock(t *testing.T) {
	d := startServer(t)
	dir := lockByCopy(t, d, "alice")
	_, err := pcclient.Dial(d.addr, dir)
	require.ErrorIs(t, err, pcclient.ErrRefused, "locked")

	out, err := runBin("padchatd", "user", "unlock", "alice", "--data", d.data)
	require.NoError(t, err, out)
	assert.Contains(t, out, "user alice unlocked")
	assert.Contains(t, out, "used from two places")
	a, err := pcclient.Dial(d.addr, dir)
	require.NoError(t, err, "unlocked at once\n%s", d.logs)
	request(t, a, wire.Msg{Op: wire.OpPing})
	a.Close()

	out, err = runBin("padchatd", "user", "unlock", "alice", "--data", d.data)
	assert.Error(t, err)
	assert.Contains(t, out, "not locked")
}

// user list against a running daemon: live figures, equal to the client's
// own counts within one reserve step, and each account's state.
func TestUserListLive(t *testing.T) {
	const step = 4 << 10
	d := startServer(t, "--pad-reserve", "4KiB", "--pad-reserve-max", "4KiB")
	alice := dial(t, d, "alice")
	dir := d.addUser("bob", 0)
	bob, err := pcclient.Dial(d.addr, dir)
	require.NoError(t, err)
	t.Cleanup(func() { bob.Close() })
	for i := 0; i < 30; i++ {
		sendDM(t, alice, "bob", "some words to spend pad on, a line of them")
	}
	request(t, bob, wire.Msg{Op: wire.OpPing})
	d.addUser("carol", 0)

	out, err := runBin("padchatd", "user", "list", "--json", "--data", d.data)
	require.NoError(t, err, out)
	var users []struct {
		Name     string `json:"name"`
		State    string `json:"state"`
		SendLeft int64  `json:"send_left"`
		RecvLeft int64  `json:"recv_left"`
		Live     bool   `json:"live"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &users), out)
	got := map[string]int{}
	for i, u := range users {
		got[u.Name] = i
	}
	require.Contains(t, got, "bob")
	require.Contains(t, got, "carol")
	b := users[got["bob"]]
	assert.Equal(t, "online", b.State)
	assert.True(t, b.Live)
	send, recv := bob.Left()
	assert.InDelta(t, send, b.SendLeft, step, "bob can send: the list says %d, his client %d", b.SendLeft, send)
	assert.InDelta(t, recv, b.RecvLeft, step, "bob can receive: the list says %d, his client %d", b.RecvLeft, recv)
	assert.Equal(t, "offline", users[got["carol"]].State)
	assert.InDelta(t, int64(1<<20), users[got["carol"]].SendLeft, 128, "an unused pad is whole but for its id")

	out, err = runBin("padchatd", "user", "list", "--data", d.data)
	require.NoError(t, err, out)
	assert.Regexp(t, `(?m)^bob +online +1023\.\d KiB \(~\d+ msgs\)`, out)
	assert.Regexp(t, `(?m)^carol +offline +1023\.9 KiB`, out, "never rounded up to a size it does not have")
	assert.NotContains(t, out, "?")
}

// A receive pad that runs out ends the session with a sealed reason that
// names the remedy, not a bare close.
func TestReceivePadExhaustedSaysWhy(t *testing.T) {
	d := startServer(t)
	alice := dial(t, d, "alice")
	bob, err := pcclient.Dial(d.addr, d.addUser("bob", 8<<10))
	require.NoError(t, err)
	t.Cleanup(func() { bob.Close() })
	request(t, bob, wire.Msg{Op: wire.OpPing})
	text := []byte(strings.Repeat("pad eater ", 20))
	var bye *wire.Msg
	for i := 0; i < 100 && bye == nil; i++ {
		r := request(t, alice, wire.Msg{Op: wire.OpDM, User: []byte("bob"), Text: text})
		require.Equal(t, wire.OpOK, r.Op, "the DM is stored either way: %s", r.Text)
		for bye == nil {
			var m wire.Msg
			bob.SetReadDeadline(time.Now().Add(5 * time.Second))
			require.NoError(t, bob.Recv(&m), "bob hears a reason before the end")
			if m.Op == wire.OpBye {
				bye = &m
			}
			if m.Op == wire.OpDirect {
				break // not acknowledged: each is redelivered next session, never mind
			}
		}
	}
	require.NotNil(t, bye, "an 8 KiB receive pad ran out within 100 DMs")
	assert.Equal(t, wire.ByePadExhausted, wire.ByeReason(bye.ID))
	assert.Contains(t, string(bye.Text), "padchatd user renew bob")
	assert.True(t, wire.ByeReason(bye.ID).Final())
	d.waitLog("recv pad exhausted")
}

// Many users in one command; one that cannot fit is refused before anything
// is written.
func TestUserAddMany(t *testing.T) {
	data := t.TempDir()
	out, err := runBin("padchatd", "user", "add", "u1", "u2", "u3", "--pad-size", "64KiB", "--data", data)
	require.NoError(t, err, out)
	for _, n := range []string{"u1", "u2", "u3"} {
		assert.Contains(t, out, "user "+n+" added")
		assert.FileExists(t, filepath.Join(data, "users", n, "account.id"))
	}
	assert.NotContains(t, out, "MiB", "no progress text off a terminal")

	out, err = runBin("padchatd", "user", "add", "big1", "big2", "--pad-size", "1000000GiB", "--data", data)
	require.Error(t, err)
	assert.Contains(t, out, "not enough space")
	_, err = os.Stat(filepath.Join(data, "users", "big1"))
	assert.True(t, os.IsNotExist(err), "nothing written")
}

// A send pad too short for a message: the real client refuses that line,
// keeps the session for one that fits, and a script exits non-zero.
func TestSendPadTooShortForOneLine(t *testing.T) {
	d := startServer(t)
	d.addUser("carol", 2<<10)
	carol := startClient(t, d, "carol")
	carol.expect("-- " + server.DefaultWelcome)
	carol.say(strings.Repeat("x", 2000))
	refused := carol.await("refusal", 10*time.Second, func(l string) bool { return strings.Contains(l, "not sent: that needs") })
	assert.Contains(t, refused, "padchatd user renew carol")
	carol.say("short")
	carol.stdin.Close()
	carol.await("the script's verdict", 10*time.Second, func(l string) bool {
		return strings.Contains(l, "1 of 2 lines not delivered") // the short one went through
	})
	require.Error(t, carol.exit(), "a script that lost a line exits non-zero")
}
