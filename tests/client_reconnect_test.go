// The piped client across a daemon restart: it reconnects, rejoins, and its exit status counts lines.
package tests

import (
	"testing"

	"github.com/stretchr/testify/require"
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
