// The piped client across a daemon restart: it reconnects, rejoins, and its exit status counts lines.
package tests

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/server"
)

func TestClientSurvivesDaemonRestart(t *testing.T) {
	d := startServer(t)
	d.addUser("alice", 0)
	d.addUser("bob", 0)
	alice := startClient(t, d, "alice", "--room", "dev")
	alice.expect("-- joined dev")
	bob := startClient(t, d, "bob", "--room", "dev")
	bob.expect("-- joined dev")
	alice.say("before the restart")
	bob.expect("[dev] alice: before the restart")

	require.NoError(t, d.stop())
	alice.expect("-- connection lost (server closed the connection); reconnecting…")
	bob.expect("-- connection lost (server closed the connection); reconnecting…")
	d.start() // same data dir, same port
	alice.expect("-- reconnected")
	bob.expect("-- reconnected")

	// Written only now: delivered to bob in the room both rejoined.
	alice.say("after the restart")
	bob.expect("[dev] alice: after the restart")
	alice.stdin.Close()
	require.NoError(t, alice.exit(), "exit 0: every line was delivered")
	bob.stdin.Close()
	require.NoError(t, bob.exit())
}

func TestRemovedUsersClientExitsWithTheReason(t *testing.T) {
	d := startServer(t)
	src := d.addUser("alice", 0)
	// The client runs on its own copy of the bundle, as a user's machine would hold it.
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(src)))
	out, errOut := &lockedBuffer{}, &lockedBuffer{}
	cmd := execCommand("padchat", "--bundle", dir, "--server", d.addr)
	cmd.Stdout, cmd.Stderr = out, errOut
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(out.String(), "-- joined lobby") }, "join; stdout:\n%s", out)

	require.NoError(t, d.stop())
	_, err = server.RemoveUser(d.data, "alice")
	require.NoError(t, err)
	d.start()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("client kept going after its user was removed; stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 1, exit.ExitCode())
	assert.Contains(t, errOut.String(), "padchat: authentication failed")
}
