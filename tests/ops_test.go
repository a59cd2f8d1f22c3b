// Operations: per-IP limits, the config file, SIGHUP reload and log reopening.
package tests

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"padchat/wire"
)

func TestPerIPLimit(t *testing.T) {
	d := startServer(t, "--max-per-ip", "3", "--per-ip-loopback")
	var held []net.Conn
	greeted := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		b := make([]byte, wire.GreetingSize)
		n, _ := c.Read(b)
		return n > 0
	}
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", d.addr)
		require.NoError(t, err)
		held = append(held, c)
		require.True(t, greeted(c), "connection %d within the limit must be served", i)
	}
	extra, err := net.Dial("tcp", d.addr)
	require.NoError(t, err)
	defer extra.Close()
	assert.False(t, greeted(extra), "the fourth connection from one IP must be refused")
	held[0].Close()
	waitFor(t, 5*time.Second, func() bool {
		c, err := net.Dial("tcp", d.addr)
		if err != nil {
			return false
		}
		defer c.Close()
		return greeted(c)
	}, "a slot to free up")
	for _, c := range held[1:] {
		c.Close()
	}
}

func TestConfigFileAndSIGHUPReload(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "padchatd.conf")
	logFile := filepath.Join(dir, "padchatd.log")
	require.NoError(t, os.WriteFile(conf, []byte("# test config\nout-limit = 100000\nmax-per-ip = 7\nlog-file = "+logFile+"\n"), 0o600))
	d := startServerLogFile(t, logFile, "--config", conf)
	require.NoError(t, os.WriteFile(conf, []byte("out-limit = 4MiB\nidle-timeout = 3m\nmax-per-ip = 9\nlog-messages = true\nlog-file = "+logFile+"\n"), 0o600))
	// logrotate: move the file away, then SIGHUP makes the daemon open a new one.
	require.NoError(t, os.Rename(logFile, logFile+".1"))
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGHUP))
	waitFor(t, 10*time.Second, func() bool {
		b, _ := os.ReadFile(logFile)
		return contains(b, `"message":"limits reloaded"`) && contains(b, `"out_limit":"4MiB"`) && contains(b, `"idle_timeout":"3m0s"`) && contains(b, `"max_per_ip":9`)
	}, "reload logged in the new log file")
	old, _ := os.ReadFile(logFile + ".1")
	assert.True(t, contains(old, "padchatd listening"))
	require.NoError(t, d.stop())
}

func TestBadConfigFileIsAClearError(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "bad.conf")
	require.NoError(t, os.WriteFile(conf, []byte("listen 127.0.0.1:1\n"), 0o600))
	out, err := runBin("padchatd", "--config", conf, "--data", t.TempDir())
	require.Error(t, err)
	assert.Contains(t, out, "want `name = value`")
}

func TestLogMessagesPrintsTheConsoleLines(t *testing.T) {
	quiet := startServer(t)
	loud := startServer(t, "--log-messages")
	for _, d := range []*daemon{quiet, loud} {
		alice := dial(t, d, "alice")
		join(t, alice, "lobby")
		request(t, alice, wire.Msg{Op: wire.OpSay, Room: []byte("lobby"), Text: []byte("secret plans")})
	}
	loud.waitLog("<alice>: secret plans")
	loud.waitLog("[SERVER] Client: alice connected!")
	assert.NotContains(t, quiet.logs.String(), "secret plans", "message text is private by default")
}

func TestCorruptStoreIsAClearError(t *testing.T) {
	data := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(data, "padchat.db"), bytes.Repeat([]byte("junk"), 4096), 0o600))
	out, err := runBin("padchatd", "--data", data, "--listen", "127.0.0.1:0")
	require.Error(t, err)
	assert.Contains(t, out, "padchat.db")
}
