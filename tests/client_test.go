// The real padchat client driven through pipes, against the real daemon.
package tests

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/server"
)

// chatter is a running padchat whose stdin the test types into.
type chatter struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	seen  []string
	done  chan error
}

func startClient(t *testing.T, d *daemon, user string, extra ...string) *chatter {
	t.Helper()
	dir := server.BundleDir(d.data, user)
	args := append([]string{"--bundle", dir, "--server", d.addr}, extra...)
	c := &chatter{t: t, name: user, cmd: execCommand("padchat", args...), lines: make(chan string, 1000), done: make(chan error, 1)}
	var err error
	c.stdin, err = c.cmd.StdinPipe()
	require.NoError(t, err)
	out, err := c.cmd.StdoutPipe()
	require.NoError(t, err)
	c.cmd.Stderr = c.cmd.Stdout
	require.NoError(t, c.cmd.Start())
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		c.done <- c.cmd.Wait()
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
	})
	return c
}

func (c *chatter) say(line string) {
	c.t.Helper()
	_, err := io.WriteString(c.stdin, line+"\n")
	require.NoError(c.t, err)
}

// expect waits for an output line equal to want.
func (c *chatter) expect(want string) {
	c.t.Helper()
	c.await(fmt.Sprintf("line %q", want), 10*time.Second, func(l string) bool { return l == want })
}

// await reads output lines until one matches, failing after limit or when
// the client exits first; it returns the line.
func (c *chatter) await(what string, limit time.Duration, match func(string) bool) string {
	c.t.Helper()
	timeout := time.After(limit)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("%s exited before printing a %s; got:\n%s", c.name, what, strings.Join(c.seen, "\n"))
			}
			c.seen = append(c.seen, l)
			if match(l) {
				return l
			}
		case <-timeout:
			c.t.Fatalf("%s: no %s; got:\n%s", c.name, what, strings.Join(c.seen, "\n"))
		}
	}
}

// exit waits for the client to end and returns its error (nil for exit 0).
func (c *chatter) exit() error {
	c.t.Helper()
	for range c.lines {
	}
	select {
	case err := <-c.done:
		return err
	case <-time.After(10 * time.Second):
		c.t.Fatalf("%s did not exit", c.name)
		return nil
	}
}

func TestClientsChatThroughPipes(t *testing.T) {
	d := startServer(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		d.addUser(u, 0)
	}
	alice := startClient(t, d, "alice")
	alice.expect("-- " + server.DefaultWelcome)
	alice.expect("-- joined lobby")
	bob := startClient(t, d, "bob")
	bob.expect("-- joined lobby")
	alice.expect("-- bob joined lobby")

	alice.say("hello bob")
	bob.expect("[lobby] alice: hello bob")
	bob.say("/me waves")
	alice.expect("[lobby] * bob waves")
	bob.say("/love")
	alice.expect("[lobby] bob: ❤️")

	carol := startClient(t, d, "carol")
	carol.expect("-- joined lobby")
	alice.expect("-- carol joined lobby")
	bob.expect("-- carol joined lobby")
	carol.expect("[lobby] (history) alice: hello bob")

	alice.say("/msg bob psst")
	alice.expect("-- sent to bob (id 1)")
	bob.expect("[dm] alice: psst")
	alice.expect("-- delivered to bob (id 1)")

	carol.say("/join dev")
	carol.expect("-- joined dev")
	carol.say("/list")
	carol.expect("-- rooms: dev (1), lobby (3)")
	carol.say("/who lobby")
	carol.expect("-- in lobby: alice, bob, carol")
	carol.say("/who")
	carol.expect("-- online: alice, bob, carol")

	bob.say("/quit")
	alice.expect("-- bob quit")
	require.NoError(t, bob.exit())
	carol.say(":q")
	alice.expect("-- carol quit")
	require.NoError(t, carol.exit())
	// EOF on stdin: quit cleanly once everything typed was sent.
	alice.say("last words")
	alice.stdin.Close()
	require.NoError(t, alice.exit())
	d.waitLog(`"user":"alice","remote"`)
}

func TestClientWithWrongPadIsRefused(t *testing.T) {
	d := startServer(t)
	other := startServer(t)
	other.addUser("mallory", 0)
	dir := server.BundleDir(other.data, "mallory")
	out, err := runBin("padchat", "--bundle", dir, "--server", d.addr)
	require.Error(t, err)
	assert.Contains(t, out, "authentication failed")
}

func TestClientServerDown(t *testing.T) {
	d := startServer(t)
	dir := d.addUser("alice", 0)
	addr := d.addr
	require.NoError(t, d.stop())
	out, err := runBin("padchat", "--bundle", dir, "--server", addr)
	require.Error(t, err)
	assert.Contains(t, out, "is padchatd running?")
}

func TestClientSeesServerShutdown(t *testing.T) {
	d := startServer(t)
	d.addUser("alice", 0)
	alice := startClient(t, d, "alice")
	alice.expect("-- joined lobby")
	require.NoError(t, d.stop())
	alice.expect("-- server closing: server shutting down")
	// A shutdown is not final: the client waits for the server to come back.
	alice.expect("-- connection lost (server closed the connection); reconnecting…")
	require.NoError(t, alice.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, alice.exit())
}
